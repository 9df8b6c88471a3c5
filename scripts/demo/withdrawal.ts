/**
 * The escape hatch, as a trader uses it without the operator's help, while the others trade:
 *
 *   1. its own transaction Settlement.requestWithdrawal(token, amount); the operator's chain
 *      watcher sees WithdrawalRequested and holds the amount in the ledger, cancelling the
 *      trader's newest resting orders that lock the token if its available balance falls short
 *      (close reason WITHDRAWAL on the trader's WebSocket channel);
 *   2. finalizing before the delay is refused by the contract (SettlementWithdrawalNotReady);
 *   3. time moves past the delay on anvil (evm_increaseTime delay + 1, evm_mine);
 *   4. its own transaction Settlement.finalizeWithdrawal(trader, token): the vault pays it;
 *      the watcher sees Withdrawn and the ledger consumes the hold;
 *   5. the tokens are in the trader's wallet (ERC20 balanceOf).
 */
import { BaseError, ContractFunctionRevertedError, type Hex } from "viem";
import type { Address } from "../../operator/orders";
import { ERC20_ARTIFACT, SETTLEMENT_ARTIFACT } from "../lib/localChain";
import type { Stack } from "../lib/stack";
import { units, until } from "./stats";
import { get, type DemoTrader } from "./trader";
import type { MarketWatch } from "./watch";

export interface WithdrawalReport {
  symbol: string;
  amount: bigint;
  delaySeconds: bigint;
  /** The ledger just before the request, once the hold was in place, and once finalized. */
  before: LedgerView;
  held: LedgerView;
  after: LedgerView;
  /** Orders the operator cancelled to fund the hold (reason WITHDRAWAL on the WebSocket feed). */
  cancelledForWithdrawal: number;
  /** The contract's answer to a finalize before the delay. */
  earlyFinalize: string;
  requestTx: Hex;
  finalizeTx: Hex;
  walletBefore: bigint;
  walletAfter: bigint;
  seconds: number;
}

export interface LedgerView {
  available: bigint;
  locked: bigint;
  withdrawalRequested?: bigint;
  withdrawalHold?: bigint;
}

export async function escapeHatch(
  deps: { stack: Stack; apiUrl: string; watch: MarketWatch; log: (line: string) => void },
  params: { trader: DemoTrader; token: Address; symbol: string; decimals: number; amount: bigint },
): Promise<WithdrawalReport> {
  const started = Date.now();
  const { stack, log } = deps;
  const { trader, token, symbol, decimals, amount } = params;
  const chain = stack.chain;
  const settlement = { address: chain.settlementAddress, abi: SETTLEMENT_ARTIFACT().abi } as const;
  const erc20 = { address: token, abi: ERC20_ARTIFACT().abi } as const;
  const wallet = chain.wallet(trader.keyHex as Hex);
  const account = wallet.account!;
  const fmt = (v: bigint | undefined) => (v === undefined ? "-" : `${units(v, decimals, 2)} ${symbol}`);
  const ledger = async (): Promise<LedgerView> => {
    const { body } = await get(`${deps.apiUrl}/v1/accounts/${trader.address}/balances`);
    const b = body.chains[0].balances[token];
    const opt = (v: string | undefined) => (v === undefined ? undefined : BigInt(v));
    return { available: BigInt(b.available), locked: BigInt(b.locked), withdrawalRequested: opt(b.withdrawalRequested), withdrawalHold: opt(b.withdrawalHold) };
  };
  const mined = async (hash: Hex) => {
    const receipt = await chain.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100, timeout: 30_000 });
    if (receipt.status !== "success") throw new Error(`transaction ${hash} reverted`);
    return receipt;
  };
  const walletBalance = async () => (await chain.publicClient.readContract({ ...erc20, functionName: "balanceOf", args: [trader.address] })) as bigint;

  const delaySeconds = (await chain.publicClient.readContract({ ...settlement, functionName: "withdrawalDelay" })) as bigint;
  const walletBefore = await walletBalance();
  const before = await ledger();
  log(`  withdrawal: ${trader.name} has ${fmt(before.available)} available and ${fmt(before.locked)} locked in resting asks; it asks for ${fmt(amount)} back`);

  // 1. The request, the trader's own transaction.
  const requestTx = await wallet.writeContract({ ...settlement, functionName: "requestWithdrawal", args: [token, amount], account, chain: chain.chain });
  const requestReceipt = await mined(requestTx);
  log(`  withdrawal: ${trader.name} sent Settlement.requestWithdrawal(${symbol}, ${units(amount, decimals, 2)}) itself, block ${requestReceipt.blockNumber} (tx ${requestTx.slice(0, 10)}…)`);
  const held = await until("the ledger's withdrawal hold", 20_000, async () => {
    const v = await ledger();
    return v.withdrawalRequested === amount && v.withdrawalHold === amount ? v : undefined;
  });
  const withdrawalCancels = () => deps.watch.updatesOf(trader.address).filter((u) => u.event === "cancelled" && u.reason === "WITHDRAWAL").length;
  // The WebSocket ticker reports the cancels within a tick or two.
  await until("the WITHDRAWAL cancels on the WebSocket feed", 3_000, async () => withdrawalCancels() > 0 || before.available >= amount).catch(() => undefined);
  const cancelledForWithdrawal = withdrawalCancels();
  log(
    `  withdrawal: the chain watcher saw WithdrawalRequested; ledger: hold ${fmt(held.withdrawalHold)} of ${fmt(held.withdrawalRequested)} requested, ` +
      `available ${fmt(held.available)}, locked ${fmt(held.locked)}; ${cancelledForWithdrawal} resting order(s) cancelled to fund it (WITHDRAWAL on its WebSocket channel)`,
  );

  // 2. Too early: the contract refuses.
  let earlyFinalize = "accepted (unexpected)";
  try {
    await chain.publicClient.simulateContract({ ...settlement, functionName: "finalizeWithdrawal", args: [trader.address, token], account });
  } catch (error) {
    const revert = error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : undefined;
    earlyFinalize = revert instanceof ContractFunctionRevertedError ? `refused: ${revert.data?.errorName ?? revert.shortMessage}` : `refused: ${(error as Error).message.split("\n")[0]}`;
  }
  log(`  withdrawal: finalizing now (before the ${delaySeconds} s delay) is ${earlyFinalize}`);
  if (!earlyFinalize.startsWith("refused")) throw new Error("the contract let a withdrawal be finalized before its delay");

  // 3. Time passes on the chain (anvil keeps mining every second after the jump).
  await stack.node.rpc("evm_increaseTime", [Number(delaySeconds) + 1]);
  await stack.node.rpc("evm_mine", []);
  log(`  withdrawal: anvil's clock moved ${Number(delaySeconds) + 1} s ahead (evm_increaseTime, evm_mine)`);

  // 4. The trader finalizes it itself: no operator involved.
  const finalizeTx = await wallet.writeContract({ ...settlement, functionName: "finalizeWithdrawal", args: [trader.address, token], account, chain: chain.chain });
  const finalizeReceipt = await mined(finalizeTx);
  const after = await until("the ledger to finalize the withdrawal", 20_000, async () => {
    const v = await ledger();
    return v.withdrawalRequested === undefined ? v : undefined;
  });
  const walletAfter = await walletBalance();
  log(
    `  withdrawal: ${trader.name} sent Settlement.finalizeWithdrawal(${trader.name}, ${symbol}) itself, block ${finalizeReceipt.blockNumber}; the watcher saw Withdrawn; ` +
      `ledger: hold released, available ${fmt(after.available)}, locked ${fmt(after.locked)}`,
  );
  log(`  withdrawal: ${trader.name}'s wallet holds ${fmt(walletAfter)} (balanceOf; ${fmt(walletBefore)} before)`);
  if (walletAfter - walletBefore !== amount) throw new Error(`the wallet received ${walletAfter - walletBefore} atoms, not ${amount}`);
  return { symbol, amount, delaySeconds, before, held, after, cancelledForWithdrawal, earlyFinalize, requestTx, finalizeTx, walletBefore, walletAfter, seconds: (Date.now() - started) / 1000 };
}
