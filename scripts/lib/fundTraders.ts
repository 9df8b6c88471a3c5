/**
 * Funds many traders at once on a local deployment (./localChain.ts): what fundAndDeposit does
 * for one trader (gas, minted tokens, approve + deposit with the trader's own transactions), in
 * three rounds of blocks instead of seven blocks per trader. Each sender numbers its own
 * transactions (explicit nonces), so a round's transactions go out together and land in the
 * same block when they fit:
 *
 *   1. the admin sends every trader gas and mints its tokens;
 *   2. every trader approves the Settlement vault for each token;
 *   3. every trader deposits each token (estimated once its approvals are mined).
 *
 * The deposits are real: the operator's chain watcher credits them from the Deposited events.
 */
import { parseEther, type Hex, type TransactionReceipt } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { Address } from "../../operator/orders";
import { ERC20_ARTIFACT, SETTLEMENT_ARTIFACT, type LocalDeployment, type OnChainDeposit } from "./localChain";

export interface TraderFunding {
  key: Hex;
  /** Atoms to mint and deposit (0: none). */
  weth: bigint;
  usdc: bigint;
  /** Native gas money sent first. Default 1 ether. */
  gas?: bigint;
}

export async function fundAndDepositMany(d: LocalDeployment, traders: readonly TraderFunding[]): Promise<OnChainDeposit[]> {
  const erc20 = ERC20_ARTIFACT().abi;
  const settlementAbi = SETTLEMENT_ARTIFACT().abi;
  const wait = async (hashes: Hex[]): Promise<TransactionReceipt[]> => {
    const receipts = await Promise.all(hashes.map((hash) => d.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100, timeout: 60_000 })));
    const failed = receipts.find((r) => r.status !== "success");
    if (failed) throw new Error(`funding transaction ${failed.transactionHash} reverted`);
    return receipts;
  };
  const nonceOf = (address: Address) => d.publicClient.getTransactionCount({ address, blockTag: "pending" });
  const tokens = (t: TraderFunding) =>
    (
      [
        [d.wethAddress, t.weth],
        [d.usdcAddress, t.usdc],
      ] as const
    ).filter(([, amount]) => amount > 0n);

  // 1. Gas and tokens, from the admin: one nonce sequence, sent in order without waiting.
  const admin = d.wallet(d.keys.admin);
  let adminNonce = await nonceOf(admin.account!.address.toLowerCase() as Address);
  const round1: Hex[] = [];
  for (const t of traders) {
    const to = privateKeyToAccount(t.key).address;
    round1.push(await admin.sendTransaction({ to, value: t.gas ?? parseEther("1"), nonce: adminNonce++, account: admin.account!, chain: d.chain }));
    for (const [token, amount] of tokens(t)) {
      round1.push(await admin.writeContract({ address: token, abi: erc20, functionName: "mint", args: [to, amount], nonce: adminNonce++, account: admin.account!, chain: d.chain }));
    }
  }
  await wait(round1);

  // 2 and 3. Each trader, with its own key: approvals, then deposits (their gas estimates need
  // the approvals mined). Traders go in parallel; each numbers its own transactions.
  const perTrader = await Promise.all(
    traders.map(async (t) => {
      const wallet = d.wallet(t.key);
      const address = wallet.account!.address.toLowerCase() as Address;
      let nonce = await nonceOf(address);
      const approvals: Hex[] = [];
      for (const [token, amount] of tokens(t)) {
        approvals.push(await wallet.writeContract({ address: token, abi: erc20, functionName: "approve", args: [d.settlementAddress, amount], nonce: nonce++, account: wallet.account!, chain: d.chain }));
      }
      await wait(approvals);
      const deposits: { token: Address; amount: bigint; hash: Hex }[] = [];
      for (const [token, amount] of tokens(t)) {
        const hash = await wallet.writeContract({ address: d.settlementAddress, abi: settlementAbi, functionName: "deposit", args: [token, amount], nonce: nonce++, account: wallet.account!, chain: d.chain });
        deposits.push({ token, amount, hash });
      }
      await wait(deposits.map((x) => x.hash));
      return deposits.map((x): OnChainDeposit => ({ chainId: d.chainId, trader: address, token: x.token, amount: x.amount, txHash: x.hash }));
    }),
  );
  return perTrader.flat();
}
