/**
 * HyperIndex deployed on a local JSON-RPC chain (anvil, ./anvil.ts, or any node with the
 * public test accounts): Settlement and OrderbookCommitment from the compiled artifacts
 * (`npm run compile`), two listed mock tokens (WETH 18 decimals, USDC 6), and helpers to fund
 * traders and deposit for them with their own transactions. Roles follow deploy/: account 0
 * deploys and administers, account 1 is the operator, 2 the guardian, 3 the fee recipient.
 */
import fs from "node:fs";
import path from "node:path";
import {
  createPublicClient,
  createWalletClient,
  http,
  parseEther,
  type Abi,
  type Hex,
  type PublicClient,
  type WalletClient,
  type Chain,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { Address } from "../../operator/orders";
import { TEST_KEYS } from "./anvil";

interface Artifact {
  abi: Abi;
  bytecode: Hex;
}

function artifact(file: string, name: string): Artifact {
  const p = path.join(__dirname, "../../artifacts/contracts", file, `${name}.json`);
  if (!fs.existsSync(p)) throw new Error(`${p} is missing: run npm run compile first`);
  const json = JSON.parse(fs.readFileSync(p, "utf8")) as { abi: Abi; bytecode: Hex };
  return { abi: json.abi, bytecode: json.bytecode };
}

export const SETTLEMENT_ARTIFACT = (): Artifact => artifact("Settlement.sol", "Settlement");
export const COMMITMENT_ARTIFACT = (): Artifact => artifact("OrderbookCommitment.sol", "OrderbookCommitment");
export const ERC20_ARTIFACT = (): Artifact => artifact("test/MockERC20.sol", "MockERC20");

export interface LocalDeployment {
  rpcUrl: string;
  chainId: number;
  chain: Chain;
  publicClient: PublicClient;
  settlementAddress: Address;
  commitmentAddress: Address;
  wethAddress: Address;
  usdcAddress: Address;
  /** Keys of the roles (public test keys: local chains only). */
  keys: { admin: Hex; operator: Hex; guardian: Hex; feeRecipient: Hex };
  feeRecipient: Address;
  /** Block of the Settlement deployment: where a chain watcher starts. */
  deployBlock: bigint;
  /** A wallet client for `key`. */
  wallet(key: Hex): WalletClient;
}

export interface DeployOptions {
  /** Seconds; at least the contract's MIN_WITHDRAWAL_DELAY (300). Default 300. */
  withdrawalDelay?: number;
}

/** Deploys the contracts and two listed tokens on the chain at `rpcUrl`, and waits for each receipt. */
export async function deployLocal(rpcUrl: string, options: DeployOptions = {}): Promise<LocalDeployment> {
  const probe = createPublicClient({ transport: http(rpcUrl) });
  const chainId = await probe.getChainId();
  const chain: Chain = {
    id: chainId,
    name: `local-${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  };
  const publicClient = createPublicClient({ chain, transport: http(rpcUrl) }) as PublicClient;
  const keys = { admin: TEST_KEYS[0] as Hex, operator: TEST_KEYS[1] as Hex, guardian: TEST_KEYS[2] as Hex, feeRecipient: TEST_KEYS[3] as Hex };
  const wallet = (key: Hex): WalletClient => createWalletClient({ chain, account: privateKeyToAccount(key), transport: http(rpcUrl) });
  const admin = wallet(keys.admin);
  const addr = (key: Hex) => privateKeyToAccount(key).address;
  const deploy = async (a: Artifact, args: unknown[]): Promise<Address> => {
    const hash = await admin.deployContract({ abi: a.abi, bytecode: a.bytecode, args, account: admin.account!, chain });
    const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 });
    if (receipt.contractAddress == null || receipt.status !== "success") throw new Error(`deployment failed: ${hash}`);
    return receipt.contractAddress.toLowerCase() as Address;
  };
  // Settlement does not fit a 3,000,000-gas small block: like HyperEVM, where deployments go in
  // the 30,000,000-gas big blocks, the chain's block gas limit is raised for the deployment and
  // put back after (anvil's evm_setBlockGasLimit; a node without it keeps its own limit).
  const smallLimit = (await publicClient.getBlock()).gasLimit;
  const setLimit = (limit: bigint) => publicClient.request({ method: "evm_setBlockGasLimit" as never, params: [`0x${limit.toString(16)}`] as never }).catch(() => undefined);
  if (smallLimit < 30_000_000n) {
    await setLimit(30_000_000n);
    await publicClient.request({ method: "evm_mine" as never, params: [] as never }).catch(() => undefined);
  }
  const settlement = SETTLEMENT_ARTIFACT();
  const settlementAddress = await deploy(settlement, [
    addr(keys.admin),
    3600,
    addr(keys.operator),
    3600n,
    addr(keys.guardian),
    addr(keys.feeRecipient),
    BigInt(options.withdrawalDelay ?? 300),
  ]);
  const deployBlock = await publicClient.getBlockNumber();
  const commitmentAddress = await deploy(COMMITMENT_ARTIFACT(), [addr(keys.admin), 3600, addr(keys.operator), 3600n]);
  const erc20 = ERC20_ARTIFACT();
  const wethAddress = await deploy(erc20, ["Wrapped Ether", "WETH", 18]);
  const usdcAddress = await deploy(erc20, ["USD Coin", "USDC", 6]);
  for (const token of [wethAddress, usdcAddress]) {
    const hash = await admin.writeContract({ address: settlementAddress, abi: settlement.abi, functionName: "listToken", args: [token], account: admin.account!, chain });
    await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 });
  }
  if (smallLimit < 30_000_000n) {
    await setLimit(smallLimit);
    await publicClient.request({ method: "evm_mine" as never, params: [] as never }).catch(() => undefined);
  }
  return {
    rpcUrl,
    chainId,
    chain,
    publicClient,
    settlementAddress,
    commitmentAddress,
    wethAddress,
    usdcAddress,
    keys,
    feeRecipient: addr(keys.feeRecipient).toLowerCase() as Address,
    deployBlock,
    wallet,
  };
}

export interface OnChainDeposit {
  chainId: number;
  trader: Address;
  token: Address;
  amount: bigint;
  txHash: Hex;
}

/**
 * Gives `traderKey` gas (from the admin account), mints it the amounts and deposits them into
 * the Settlement vault with its own transactions (approve + deposit). Waits for the receipts.
 */
export async function fundAndDeposit(d: LocalDeployment, traderKey: Hex, amounts: { weth: bigint; usdc: bigint }): Promise<OnChainDeposit[]> {
  const admin = d.wallet(d.keys.admin);
  const trader = d.wallet(traderKey);
  const traderAddress = trader.account!.address;
  const wait = (hash: Hex) => d.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 });
  await wait(await admin.sendTransaction({ to: traderAddress, value: parseEther("1"), account: admin.account!, chain: d.chain }));
  const erc20 = ERC20_ARTIFACT().abi;
  const settlementAbi = SETTLEMENT_ARTIFACT().abi;
  const out: OnChainDeposit[] = [];
  for (const [token, amount] of [
    [d.wethAddress, amounts.weth],
    [d.usdcAddress, amounts.usdc],
  ] as const) {
    if (amount === 0n) continue;
    await wait(await admin.writeContract({ address: token, abi: erc20, functionName: "mint", args: [traderAddress, amount], account: admin.account!, chain: d.chain }));
    await wait(await trader.writeContract({ address: token, abi: erc20, functionName: "approve", args: [d.settlementAddress, amount], account: trader.account!, chain: d.chain }));
    const hash = await trader.writeContract({ address: d.settlementAddress, abi: settlementAbi, functionName: "deposit", args: [token, amount], account: trader.account!, chain: d.chain });
    await wait(hash);
    out.push({ chainId: d.chainId, trader: traderAddress.toLowerCase() as Address, token, amount, txHash: hash });
  }
  return out;
}
