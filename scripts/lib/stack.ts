/**
 * The whole exchange on one machine, as the demo, the settlement benchmark and the end-to-end
 * and fault tests run it: anvil configured like HyperEVM small blocks (3,000,000 gas, one block
 * per second), the contracts deployed, a Redis with AOF, and the operator's environment
 * (HYPERINDEX_*) for one chain and one WETH-USDC market. The operator runs in this process
 * (startOperator) or as a child process (`operator/main.ts`, so that a test can kill -9 it).
 *
 * Nothing here is a stand-in: the operator talks to the node over JSON-RPC and to Redis over
 * TCP exactly as in production.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createPublicClient, http, type Hex, type PublicClient } from "viem";
import { loadConfig, type OperatorConfig } from "../../operator/config";
import { startOperator, type RunningOperator } from "../../operator/daemon/start";
import { getBalances, vaultBalanceOf } from "../../operator/ledger";
import type { Logger } from "../../operator/log";
import { createRegistry, type Registry } from "../../operator/metrics";
import type { Address } from "../../operator/orders";
import { createRedisClient, type RedisClient } from "../../operator/redis";
import { settleKeys } from "../../operator/settlement/keys";
import { startAnvil, type AnvilNode, type AnvilOptions } from "./anvil";
import { deployLocal, SETTLEMENT_ARTIFACT, type DeployOptions, type LocalDeployment } from "./localChain";
import { freePort, startRedis, type RedisServer } from "./redisServer";

export const WETH = 10n ** 18n;
export const USDC = 10n ** 6n;
export const TICK = 10_000n;
export const LOT = 10n ** 15n;

export interface StackOptions {
  anvil?: AnvilOptions;
  deploy?: DeployOptions;
  /** Extra or overriding HYPERINDEX_* variables. */
  env?: Record<string, string>;
}

export interface Stack {
  node: AnvilNode;
  chain: LocalDeployment;
  redis: RedisServer;
  /** The operator's environment (HYPERINDEX_*). */
  env: Record<string, string>;
  config(): OperatorConfig;
  /** The operator in this process. */
  startOperator(deps: { logger: Logger; metrics?: Registry }): Promise<RunningOperator>;
  /** The operator as a child process (`npm run operator`'s entry point), logging to `logFile`. */
  spawnOperator(logFile?: string): Promise<OperatorProcess>;
  /** A Redis client of the stack's Redis (closed by the caller). */
  redisClient(): RedisClient;
  /** Every (trader, token) whose on-chain vault balance differs from the ledger's, and the settler's unresolved fills. */
  checkVaults(traders: readonly Address[]): Promise<VaultCheck>;
  stop(): Promise<void>;
}

export interface OperatorProcess {
  url: string;
  child: ChildProcess;
  /** SIGKILL, no warning. */
  kill(): Promise<void>;
  /** SIGTERM, and waits for the exit (its code). */
  stop(): Promise<number | null>;
}

export interface VaultCheck {
  ok: boolean;
  mismatches: { trader: Address; token: Address; vault: bigint; ledger: bigint }[];
  /** Fills the settler has not resolved yet (in a batch, to retry, or to unwind). */
  unresolvedFills: number;
  /** Sum over the traders of pendingIn + pendingOut still in the ledger. */
  pending: bigint;
}

export function marketsJson(chain: LocalDeployment): string {
  return JSON.stringify([
    {
      id: 1,
      symbol: "WETH-USDC",
      chainId: chain.chainId,
      baseToken: chain.wethAddress,
      quoteToken: chain.usdcAddress,
      baseDecimals: 18,
      tickSize: TICK.toString(),
      lotSize: LOT.toString(),
      minLots: 1,
      makerFeeBps: 2,
      takerFeeBps: 5,
    },
  ]);
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const node = await startAnvil({ blockTime: 1, gasLimit: 3_000_000, ...options.anvil });
  let redis: RedisServer | undefined;
  try {
    const chain = await deployLocal(node.url, options.deploy);
    redis = await startRedis();
    const env: Record<string, string> = {
      HYPERINDEX_REDIS_URL: redis.url,
      HYPERINDEX_RPC_URL: node.url,
      HYPERINDEX_CHAIN_ID: String(chain.chainId),
      HYPERINDEX_SETTLEMENT_ADDRESS: chain.settlementAddress,
      HYPERINDEX_COMMITMENT_ADDRESS: chain.commitmentAddress,
      HYPERINDEX_OPERATOR_PRIVATE_KEY: chain.keys.operator,
      HYPERINDEX_MARKETS: marketsJson(chain),
      HYPERINDEX_HTTP_PORT: String(await freePort()),
      HYPERINDEX_START_BLOCK: String(chain.deployBlock),
      // A local node: no public RPC budget; confirmations 1 (anvil never reorgs by itself).
      HYPERINDEX_RPC_REQUESTS_PER_MINUTE: "60000",
      HYPERINDEX_CONFIRMATIONS: "1",
      HYPERINDEX_CHAIN_POLL_INTERVAL_MS: "250",
      HYPERINDEX_SETTLEMENT_GAS_BUDGET: "2900000",
      HYPERINDEX_LOG_LEVEL: "warn",
      // Epochs: short, so tests and the demo see them committed; files in a directory of their own.
      HYPERINDEX_EPOCH_SECONDS: "5",
      HYPERINDEX_EPOCH_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "hyperindex-epochs-")),
      // The reconciler every 2 s: every test that trades also checks it raises no false alarm.
      HYPERINDEX_RECONCILE_INTERVAL_MS: "2000",
      ...options.env,
    };
    const stack: Stack = {
      node,
      chain,
      redis,
      env,
      config: () => loadConfig(env),
      startOperator: (deps) => startOperator({ logger: deps.logger, metrics: deps.metrics ?? createRegistry() }, loadConfig(env)),
      spawnOperator: (logFile) => spawnOperator(env, logFile),
      redisClient: () => createRedisClient({ logger: silentLogger() }, { url: redis!.url }),
      checkVaults: (traders) => checkVaults(chain, redis!, traders),
      async stop() {
        await redis?.destroy();
        await node.stop();
        if (options.env?.HYPERINDEX_EPOCH_DIR === undefined) fs.rmSync(env.HYPERINDEX_EPOCH_DIR, { recursive: true, force: true });
      },
    };
    return stack;
  } catch (error) {
    await redis?.destroy();
    await node.stop();
    throw error;
  }
}

function silentLogger(): Logger {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require("../../operator/log").createLogger({ level: "silent" });
}

async function spawnOperator(env: Record<string, string>, logFile?: string): Promise<OperatorProcess> {
  const root = path.join(__dirname, "..", "..");
  const fs = await import("node:fs");
  const out = logFile === undefined ? "ignore" : fs.openSync(logFile, "a");
  const child = spawn(process.execPath, [require.resolve("ts-node/dist/bin.js"), "--transpile-only", path.join(root, "operator", "main.ts")], {
    cwd: root,
    env: { ...process.env, ...env, HYPERINDEX_LOG_LEVEL: env.HYPERINDEX_LOG_LEVEL ?? "info" },
    stdio: ["ignore", out, out],
  });
  const url = `http://127.0.0.1:${env.HYPERINDEX_HTTP_PORT}`;
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the operator exited with code ${child.exitCode} while starting${logFile ? ` (see ${logFile})` : ""}`);
    try {
      const r = await fetch(`${url}/health`);
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the operator did not start within 60 s${logFile ? ` (see ${logFile})` : ""}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    child,
    async kill() {
      child.kill("SIGKILL");
      await exited;
    },
    async stop() {
      child.kill("SIGTERM");
      return exited;
    },
  };
}

async function checkVaults(chain: LocalDeployment, redis: RedisServer, traders: readonly Address[]): Promise<VaultCheck> {
  const client = createRedisClient({ logger: silentLogger() }, { url: redis.url });
  try {
    const tokens = [chain.wethAddress, chain.usdcAddress];
    const owners = [...new Set([...traders.map((t) => t.toLowerCase() as Address), chain.feeRecipient])];
    const onChain = (await chain.publicClient.readContract({
      address: chain.settlementAddress,
      abi: SETTLEMENT_ARTIFACT().abi,
      functionName: "balancesOf",
      args: [owners.flatMap((o) => tokens.map(() => o)), owners.flatMap(() => tokens)],
    })) as bigint[];
    const mismatches: VaultCheck["mismatches"] = [];
    let pending = 0n;
    for (const [i, owner] of owners.entries()) {
      const balances = await getBalances({ redis: client }, { chainId: chain.chainId, trader: owner, tokens });
      for (const [j, token] of tokens.entries()) {
        const b = balances[token];
        pending += b.pendingIn + b.pendingOut;
        const vault = onChain[i * tokens.length + j];
        const ledger = vaultBalanceOf(b);
        if (vault !== ledger) mismatches.push({ trader: owner, token, vault, ledger });
      }
    }
    const k = settleKeys(chain.chainId);
    const unresolvedFills = (await client.hlen(k.fills)) + (await client.hlen(k.retry)) + (await client.hlen(k.drop));
    return { ok: mismatches.length === 0 && unresolvedFills === 0 && pending === 0n, mismatches, unresolvedFills, pending };
  } finally {
    client.disconnect();
  }
}

/** A public client of the stack's node. */
export function nodeClient(url: string): PublicClient {
  return createPublicClient({ transport: http(url) }) as PublicClient;
}

export type { Hex };
