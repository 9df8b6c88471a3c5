/**
 * The exchange over two local chains with different chain ids, as the multi-chain tests run
 * it: two anvil nodes (HyperEVM small blocks), the contracts deployed on each (deployLocal:
 * the same deployer and nonces, so Settlement and the tokens have the SAME addresses on both
 * chains, as CREATE deployments from one key do in production), one Redis, and the operator's
 * environment with HYPERINDEX_CHAINS listing both and one market per chain on the same pair
 * of token addresses (orders name their chain with their domain). Market symbols must be
 * unique across chains, so chain A's is WETH-USDC and chain B's ETH-USDC: USDC is one asset
 * on two chains in the reconciler's totals (it takes asset symbols from market symbols), WETH
 * and ETH are two. Chain B also lists a fee-on-transfer token
 * (contracts/test/FeeOnTransferToken.sol) with a FOT-USDC market.
 *
 * The operator reaches chain A through a TCP proxy (./tcpProxy.ts): a test cuts it for an RPC
 * outage of chain A alone. The test's own clients talk to both nodes directly.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseEther, type Abi, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { loadConfig, type OperatorConfig } from "../../operator/config";
import { startOperator, type RunningOperator } from "../../operator/daemon/start";
import { createLogger, type Logger } from "../../operator/log";
import { createRegistry, type Registry } from "../../operator/metrics";
import { keccak256, type Address } from "../../operator/orders";
import { createRedisClient, type RedisClient } from "../../operator/redis";
import { DemoTrader } from "../demo/trader";
import { startAnvil, type AnvilNode } from "./anvil";
import { fundAndDepositMany } from "./fundTraders";
import { ERC20_ARTIFACT, SETTLEMENT_ARTIFACT, deployLocal, type LocalDeployment } from "./localChain";
import { freePort, startRedis, type RedisServer } from "./redisServer";
import { LOT, TICK } from "./stack";
import { startTcpProxy, type TcpProxy } from "./tcpProxy";

/** Market ids: WETH-USDC on chain A, ETH-USDC on chain B (the same token addresses), FOT-USDC on chain B. */
export const MARKET_A = 1;
export const MARKET_B = 2;
export const MARKET_FOT = 3;

export interface TwoChainsOptions {
  chainIds?: [number, number];
  /** The fee-on-transfer token's fee, basis points. Default 100 (1%). */
  fotFeeBps?: bigint;
  /** Extra or overriding HYPERINDEX_* variables. */
  env?: Record<string, string>;
}

export interface TwoChains {
  nodes: [AnvilNode, AnvilNode];
  /** [chain A, chain B]. */
  chains: [LocalDeployment, LocalDeployment];
  /** The fee-on-transfer token, listed on chain B. */
  fot: { address: Address; feeBps: bigint };
  /** In front of chain A's node: the operator's RPC of chain A. */
  proxyA: TcpProxy;
  redis: RedisServer;
  env: Record<string, string>;
  apiUrl: string;
  config(): OperatorConfig;
  startOperator(deps: { logger: Logger; metrics?: Registry }): Promise<RunningOperator>;
  redisClient(): RedisClient;
  stop(): Promise<void>;
}

function fotArtifact(): { abi: Abi; bytecode: Hex } {
  const p = path.join(__dirname, "../../artifacts/contracts/test/FeeOnTransferToken.sol/FeeOnTransferToken.json");
  if (!fs.existsSync(p)) throw new Error(`${p} is missing: run npm run compile first`);
  return JSON.parse(fs.readFileSync(p, "utf8")) as { abi: Abi; bytecode: Hex };
}
export const FOT_ARTIFACT = fotArtifact;

/** Deploys a FeeOnTransferToken (18 decimals) on `d` and lists it in its Settlement. */
async function deployFot(d: LocalDeployment, feeBps: bigint): Promise<Address> {
  const admin = d.wallet(d.keys.admin);
  const a = fotArtifact();
  const hash = await admin.deployContract({ abi: a.abi, bytecode: a.bytecode, args: [18, feeBps], account: admin.account!, chain: d.chain });
  const receipt = await d.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 });
  if (receipt.contractAddress == null || receipt.status !== "success") throw new Error(`FeeOnTransferToken deployment failed: ${hash}`);
  const token = receipt.contractAddress.toLowerCase() as Address;
  const list = await admin.writeContract({ address: d.settlementAddress, abi: SETTLEMENT_ARTIFACT().abi, functionName: "listToken", args: [token], account: admin.account!, chain: d.chain });
  const listed = await d.publicClient.waitForTransactionReceipt({ hash: list, pollingInterval: 100 });
  if (listed.status !== "success") throw new Error(`listToken(FOT) reverted: ${list}`);
  return token;
}

function market(id: number, symbol: string, chainId: number, base: Address, quote: Address): Record<string, unknown> {
  return { id, symbol, chainId, baseToken: base, quoteToken: quote, baseDecimals: 18, tickSize: TICK.toString(), lotSize: LOT.toString(), minLots: 1, makerFeeBps: 2, takerFeeBps: 5 };
}

export async function startTwoChains(options: TwoChainsOptions = {}): Promise<TwoChains> {
  const [idA, idB] = options.chainIds ?? [31337, 31338];
  const started: { stop(): Promise<unknown> }[] = [];
  try {
    const nodes = [await startAnvil({ chainId: idA, blockTime: 1, gasLimit: 3_000_000 }), await startAnvil({ chainId: idB, blockTime: 1, gasLimit: 3_000_000 })] as [AnvilNode, AnvilNode];
    started.push(...nodes);
    const chains = (await Promise.all(nodes.map((n) => deployLocal(n.url)))) as [LocalDeployment, LocalDeployment];
    const feeBps = options.fotFeeBps ?? 100n;
    const fot = { address: await deployFot(chains[1], feeBps), feeBps };
    const proxyA = await startTcpProxy(nodes[0].port);
    started.push({ stop: () => proxyA.close() });
    const redis = await startRedis();
    started.push({ stop: () => redis.destroy() });
    const [a, b] = chains;
    const entry = (d: LocalDeployment, name: string, rpcUrl: string) => ({
      chainId: d.chainId,
      name,
      rpcUrl,
      settlementAddress: d.settlementAddress,
      commitmentAddress: d.commitmentAddress,
      confirmations: 1,
      settlementGasBudget: 2_900_000,
      startBlock: Number(d.deployBlock),
    });
    const epochDir = fs.mkdtempSync(path.join(os.tmpdir(), "hyperindex-epochs-"));
    const env: Record<string, string> = {
      HYPERINDEX_REDIS_URL: redis.url,
      HYPERINDEX_CHAINS: JSON.stringify([entry(a, "alpha", proxyA.url), entry(b, "beta", b.rpcUrl)]),
      HYPERINDEX_OPERATOR_PRIVATE_KEY: a.keys.operator,
      HYPERINDEX_MARKETS: JSON.stringify([
        market(MARKET_A, "WETH-USDC", a.chainId, a.wethAddress, a.usdcAddress),
        market(MARKET_B, "ETH-USDC", b.chainId, b.wethAddress, b.usdcAddress),
        market(MARKET_FOT, "FOT-USDC", b.chainId, fot.address, b.usdcAddress),
      ]),
      HYPERINDEX_HTTP_PORT: String(await freePort()),
      HYPERINDEX_RPC_REQUESTS_PER_MINUTE: "60000",
      HYPERINDEX_CHAIN_POLL_INTERVAL_MS: "250",
      HYPERINDEX_LOG_LEVEL: "warn",
      HYPERINDEX_EPOCH_SECONDS: "5",
      HYPERINDEX_EPOCH_DIR: epochDir,
      ...options.env,
    };
    return {
      nodes,
      chains,
      fot,
      proxyA,
      redis,
      env,
      apiUrl: `http://127.0.0.1:${env.HYPERINDEX_HTTP_PORT}`,
      config: () => loadConfig(env),
      startOperator: (deps) => startOperator({ logger: deps.logger, metrics: deps.metrics ?? createRegistry() }, loadConfig(env)),
      redisClient: () => createRedisClient({ logger: createLogger({ level: "silent" }) }, { url: redis.url }),
      async stop() {
        for (const s of started.reverse()) await s.stop().catch(() => undefined);
        fs.rmSync(epochDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    throw error;
  }
}

/** The key of a test trader: the same name is the same trader (one key) on every chain. */
export function traderKey(tag: string, name: string): Buffer {
  return keccak256(Buffer.from(`twoChains:${tag}:${name}`));
}

/**
 * Traders funded with real deposits on chain `d` (./fundTraders.ts), each as a DemoTrader that
 * signs for `d`'s domain. `nonceBase`: where the trader's nonces start on this chain.
 */
export async function fundTradersOn(
  d: LocalDeployment,
  apiUrl: string,
  tag: string,
  names: readonly string[],
  amounts: { weth: bigint; usdc: bigint },
  nonceBase = 0n,
): Promise<DemoTrader[]> {
  const keys = names.map((n) => traderKey(tag, n));
  await fundAndDepositMany(
    d,
    keys.map((k) => ({ key: `0x${k.toString("hex")}` as Hex, weth: amounts.weth, usdc: amounts.usdc })),
  );
  const domain = { chainId: BigInt(d.chainId), verifyingContract: d.settlementAddress };
  return names.map((n, i) => new DemoTrader(n, keys[i], apiUrl, domain, nonceBase));
}

/** Mints `amount` of a mintable test token (MockERC20 or FeeOnTransferToken) to `to`, from the admin. */
export async function mintTo(d: LocalDeployment, token: Address, to: Address, amount: bigint): Promise<void> {
  const admin = d.wallet(d.keys.admin);
  const hash = await admin.writeContract({ address: token, abi: ERC20_ARTIFACT().abi, functionName: "mint", args: [to, amount], account: admin.account!, chain: d.chain });
  await d.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 });
}

/** `key` approves and deposits `amount` of `token` into `d`'s vault; returns the block of the deposit. */
export async function deposit(d: LocalDeployment, key: Hex, token: Address, amount: bigint): Promise<bigint> {
  const wallet = d.wallet(key);
  const wait = async (hash: Hex) => {
    const r = await d.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 });
    if (r.status !== "success") throw new Error(`transaction ${hash} reverted`);
    return r.blockNumber;
  };
  const from = privateKeyToAccount(key).address;
  const balance = await d.publicClient.getBalance({ address: from });
  if (balance < parseEther("0.1")) {
    const admin = d.wallet(d.keys.admin);
    await wait(await admin.sendTransaction({ to: from, value: parseEther("1"), account: admin.account!, chain: d.chain }));
  }
  await wait(await wallet.writeContract({ address: token, abi: ERC20_ARTIFACT().abi, functionName: "approve", args: [d.settlementAddress, amount], account: wallet.account!, chain: d.chain }));
  return wait(await wallet.writeContract({ address: d.settlementAddress, abi: SETTLEMENT_ARTIFACT().abi, functionName: "deposit", args: [token, amount], account: wallet.account!, chain: d.chain }));
}

/** `key` transfers `amount` of `token` to `to` with a plain ERC-20 transfer; returns its block. */
export async function transfer(d: LocalDeployment, key: Hex, token: Address, to: Address, amount: bigint): Promise<bigint> {
  const wallet = d.wallet(key);
  const hash = await wallet.writeContract({ address: token, abi: ERC20_ARTIFACT().abi, functionName: "transfer", args: [to, amount], account: wallet.account!, chain: d.chain });
  const r = await d.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 });
  if (r.status !== "success") throw new Error(`transfer ${hash} reverted`);
  return r.blockNumber;
}
