/**
 * The balance reconciler from the command line (npm run reconcile -- --once [--json]): one
 * round over every configured chain, read with the daemon's own HYPERINDEX_* environment
 * (operator/config/README.md) and the same code as the daemon's loop (operator/reconciler),
 * printed as a table per chain and token (ledger, in flight, on chain, drift, solvency), or as
 * JSON with --json (amounts as decimal strings).
 *
 * It only reads: it halts nothing unless --halt is given (the daemon's loop does that).
 * Exit code: 0 every chain reconciles, 1 drift or insolvency on a chain, 2 no drift but a chain
 * could not be read (unknown), 3 the command failed (configuration, Redis).
 * Without --once, a round every HYPERINDEX_RECONCILE_INTERVAL_MS until Ctrl-C.
 */
import { Command } from "commander";
import { createChainClients } from "../operator/chain";
import { loadConfig } from "../operator/config";
import { createLogger } from "../operator/log";
import { createRegistry } from "../operator/metrics";
import type { Address } from "../operator/orders";
import { closeRedis, createRedisClient, waitReady } from "../operator/redis";
import { createReconciler, formatReport, reconcilerParamsOf, reportJson, type RoundResult } from "../operator/reconciler";
import { reconcilerSettlementAbi } from "../operator/reconciler/abi";

const program = new Command()
  .name("reconcile")
  .description("compare the off-chain ledger with the on-chain vaults of every configured chain")
  .option("--once", "one round, then exit with its verdict")
  .option("--json", "print the report as JSON")
  .option("--halt", "halt the affected markets on an alert, as the daemon does (default: report only)")
  .parse();

const opts = program.opts<{ once?: boolean; json?: boolean; halt?: boolean }>();

function exitCode(r: RoundResult): number {
  return r.report.status === "drift" ? 1 : r.report.status === "unknown" ? 2 : 0;
}

async function main(): Promise<number> {
  const config = loadConfig(process.env);
  const logger = createLogger({ level: opts.json ? "silent" : config.logLevel === "info" ? "warn" : config.logLevel });
  const metrics = createRegistry();
  const password = config.redis.password?.reveal();
  const redis = createRedisClient({ logger }, config.redis.mode === "single" ? { url: config.redis.url, password } : { cluster: [...config.redis.nodes], password });
  const chains = createChainClients(config.chains, new Map(), { logger, metrics });
  try {
    await waitReady(redis, config.redis.timeoutMs);
    const feeAccounts = new Map<number, Address>();
    for (const c of chains.values()) {
      try {
        feeAccounts.set(c.chainId, ((await c.client.readContract({ address: c.settlement.address, abi: reconcilerSettlementAbi, functionName: "feeRecipient" })) as string).toLowerCase() as Address);
      } catch {
        // an unreachable chain: its read below reports it unknown
      }
    }
    const params = reconcilerParamsOf(config);
    const reconciler = createReconciler({ redis, logger, metrics, chains, markets: config.markets, feeAccounts }, { ...params, haltOnDrift: opts.halt === true });
    const print = (r: RoundResult): void => {
      if (opts.json) console.log(JSON.stringify(reportJson(r.report, { rpcRequests: r.rpcRequests, roundMs: r.roundMs, halts: r.halts })));
      else console.log(formatReport(r.report, { rpcRequests: r.rpcRequests, roundMs: r.roundMs }) + (r.halts.length > 0 ? `\nhalted: ${r.halts.map((h) => `${h.marketId} ${h.symbol}`).join(", ")}` : ""));
    };
    if (opts.once) {
      const r = await reconciler.runOnce();
      print(r);
      return exitCode(r);
    }
    let code = 0;
    let stopping = false;
    process.once("SIGINT", () => (stopping = true));
    process.once("SIGTERM", () => (stopping = true));
    while (!stopping) {
      const r = await reconciler.runOnce();
      print(r);
      code = exitCode(r);
      const until = Date.now() + params.intervalMs;
      while (!stopping && Date.now() < until) await new Promise((res) => setTimeout(res, 200));
    }
    return code;
  } finally {
    for (const c of chains.values()) await c.rpc?.close();
    await closeRedis(redis);
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`reconcile failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(3);
  },
);
