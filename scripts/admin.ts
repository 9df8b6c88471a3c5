/**
 * Operator admin commands (npm run admin -- <command> ...), reading the daemon's own
 * HYPERINDEX_* environment (operator/config/README.md). Prints for people; exits non-zero on
 * failure. `npm run admin -- --help` lists the commands; `<command> --help` explains one.
 *
 *   balances <trader> [--chain <id>]         the trader's ledger per chain and token
 *   halt-market <market> <reason...>         stop intake in a market (orders refused MARKET_HALTED)
 *   resume-market <market>
 *   journal-consumers [--remove <name>]      the journal's consumers per market, their lag;
 *                                            --remove forgets one that is gone for good
 *   migrate-keyspace [--chain <id>]          moves v2 data to the v3 layout (every operator stopped)
 *   clear-old-keyspace --yes                 deletes data of older layouts
 * Repair tools (the chain watcher does this by itself; use them only to repair):
 *   credit-deposit <trader> <token> <amount-atoms> <deposit-id> [--chain <id>]
 *        credits an on-chain deposit to the ledger (idempotent by deposit id: use the id the
 *        watcher gives it, "<txHash>:<rank>", rank = the Deposited log's position among the
 *        Settlement and OrderbookCommitment logs of its transaction, 0 for a plain deposit)
 *   raise-min-nonce <trader> <min-nonce> [--chain <id>]
 *        applies an on-chain raiseMinNonce: later orders below it are refused and the trader's
 *        open orders below it cancelled. It runs beside the daemon, whose batch in flight may
 *        still hold an order below the minimum: such an order is reported not cancelled, and the
 *        command tries again (each try cancels what is left).
 * A market is named by id or symbol; --chain defaults to the only chain when one is served.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Command, InvalidArgumentError } from "commander";
import { loadConfig, type OperatorConfig } from "../operator/config";
import { listConsumers, unregisterConsumer } from "../operator/journal";
import { createLedger, creditDeposit, getBalances } from "../operator/ledger";
import { createLogger } from "../operator/log";
import { createMarketRegistry, haltMarket, resumeMarket, type Market } from "../operator/markets";
import { createEngine, setMinNonce, stopEngine, type MatchingEngine, type SetMinNonceResult } from "../operator/matching";
import { createRegistry } from "../operator/metrics";
import { checkKeyspace, clearOldKeyspace, migrateV2ToV3 } from "../operator/migration";
import { decodeAddress, type Address } from "../operator/orders";
import { createRedisClient, waitReady, type RedisClient } from "../operator/redis";

const logger = createLogger({ level: "warn" });

function wholeNumber(what: string) {
  return (text: string): bigint => {
    if (!/^(0|[1-9][0-9]*)$/.test(text)) throw new InvalidArgumentError(`${what} must be a whole number`);
    return BigInt(text);
  };
}

function chainIdArg(text: string): number {
  if (!/^[1-9][0-9]{0,15}$/.test(text)) throw new InvalidArgumentError("a chain id is a positive integer");
  return Number(text);
}

function address(what: string) {
  return (text: string): Address => {
    try {
      return decodeAddress(text, what);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  };
}

/** The chain asked, or the only one served. */
function chainOf(config: OperatorConfig, asked: number | undefined): number {
  const ids = config.chains.map((c) => c.chainId);
  if (asked === undefined) {
    if (ids.length === 1) return ids[0];
    throw new Error(`several chains are served (${ids.join(", ")}): name one with --chain`);
  }
  if (!ids.includes(asked)) throw new Error(`chain ${asked} is not configured (configured: ${ids.join(", ")})`);
  return asked;
}

function marketOf(config: OperatorConfig, ref: string): Market {
  const market = createMarketRegistry(config.markets).resolve(ref);
  if (market === undefined) throw new Error(`no market ${ref} (configured: ${config.markets.map((m) => `${m.id} ${m.symbol}`).join(", ")})`);
  return market;
}

/** Runs `work` with a Redis client of the configuration; `check`: refuse data of an older layout first. */
async function withRedis<T>(work: (redis: RedisClient, config: OperatorConfig) => Promise<T>, check = true): Promise<T> {
  const config = loadConfig(process.env);
  const password = config.redis.password?.reveal();
  const redis = createRedisClient({ logger }, config.redis.mode === "single" ? { url: config.redis.url, password } : { cluster: [...config.redis.nodes], password });
  try {
    await waitReady(redis);
    if (check) await checkKeyspace(redis);
    return await work(redis, config);
  } finally {
    redis.disconnect();
  }
}

/** Tries a few times: an order of the daemon's batch in flight is on no book yet (ORDER_NOT_FOUND). */
async function raiseMinNonce(engine: MatchingEngine, chainId: number, trader: Address, minNonce: bigint): Promise<void> {
  const cancelled: SetMinNonceResult["cancelled"] = [];
  let result: SetMinNonceResult | undefined;
  for (let attempt = 1; attempt <= 5; attempt++) {
    if (attempt > 1) await sleep(200);
    result = await setMinNonce(engine, { chainId, trader, minNonce });
    cancelled.push(...result.cancelled);
    if (result.notCancelled.every((o) => o.code === "MARKET_NOT_SERVED")) break;
  }
  console.log(`minimum nonce of ${trader} on chain ${chainId}: ${result!.minNonce}${result!.raised || cancelled.length > 0 ? "" : " (already; nothing changed)"}`);
  for (const o of cancelled) console.log(`cancelled ${o.orderHash}  market ${o.market}  nonce ${o.nonce}  remaining ${o.remainingAmount}`);
  for (const o of result!.notCancelled) console.log(`NOT cancelled ${o.orderHash}  market ${o.market}  nonce ${o.nonce}: ${o.code}`);
  if (result!.notCancelled.some((o) => o.code !== "MARKET_NOT_SERVED")) process.exitCode = 1;
}

const program = new Command("admin")
  .description("HyperIndex operator admin commands (reads the daemon's HYPERINDEX_* environment)")
  .showHelpAfterError()
  .configureOutput({ outputError: (text, write) => write(text) });

program
  .command("balances")
  .description("the trader's ledger per chain and token: available, locked, pending out, pending in")
  .argument("<trader>", "trader address", address("trader"))
  .option("--chain <id>", "only this chain", chainIdArg)
  .action((trader: Address, opts: { chain?: number }) =>
    withRedis(async (redis, config) => {
      const registry = createMarketRegistry(config.markets);
      for (const chainId of opts.chain === undefined ? registry.chainIds : [chainOf(config, opts.chain)]) {
        const balances = await getBalances({ redis }, { chainId, trader, tokens: registry.tokens(chainId) });
        for (const [token, b] of Object.entries(balances)) {
          console.log(`chain ${chainId}  ${token}  available ${b.available}  locked ${b.locked}  pendingOut ${b.pendingOut}  pendingIn ${b.pendingIn}`);
        }
      }
    }),
  );

program
  .command("halt-market")
  .description("stop intake in a market: new orders are refused MARKET_HALTED, cancels still work")
  .argument("<market>", "market id or symbol")
  .argument("<reason...>", "why (shown to clients)")
  .action((ref: string, reason: string[]) =>
    withRedis(async (redis, config) => {
      const market = marketOf(config, ref);
      await haltMarket({ redis, logger }, { marketId: market.id, reason: reason.join(" ") });
      console.log(`market ${market.id} ${market.symbol} halted`);
    }),
  );

program
  .command("resume-market")
  .description("resume intake in a halted market")
  .argument("<market>", "market id or symbol")
  .action((ref: string) =>
    withRedis(async (redis, config) => {
      const market = marketOf(config, ref);
      await resumeMarket({ redis, logger }, { marketId: market.id });
      console.log(`market ${market.id} ${market.symbol} resumed`);
    }),
  );

program
  .command("journal-consumers")
  .description("the market journal's consumers, their cursors and lag; --remove forgets one that is gone for good")
  .option("--remove <name>", "unregister this consumer in every market (it no longer holds the retention back)")
  .action((opts: { remove?: string }) =>
    withRedis(async (redis, config) => {
      for (const market of config.markets) {
        if (opts.remove !== undefined) {
          const removed = await unregisterConsumer(redis, market.id, opts.remove);
          console.log(`market ${market.id} ${market.symbol}: ${removed ? `removed ${opts.remove}` : `no consumer ${opts.remove}`}`);
          continue;
        }
        const [fill, close, seq] = await redis.hmget(`hx:v3:book:{m:${market.id}}:state`, "fill", "close", "seq");
        const head = { fill: Number(fill ?? 0), close: Number(close ?? 0), accepted: Number(seq ?? 0) };
        console.log(`market ${market.id} ${market.symbol}  newest: fill ${head.fill}  close ${head.close}  accepted ${head.accepted}`);
        for (const c of await listConsumers(redis, market.id)) {
          const lag = (v: number | null, h: number) => (v === null ? "-" : `${v} (lag ${Math.max(0, h - v)})`);
          console.log(`  ${c.name.padEnd(12)} ${c.mode.padEnd(11)} fill ${lag(c.fill, head.fill)}  close ${lag(c.close, head.close)}  accepted ${lag(c.accepted, head.accepted)}`);
        }
      }
    }),
  );

program
  .command("migrate-keyspace")
  .description("move data of the v2 layout to v3 (chains everywhere); stop every operator using this Redis first")
  .option("--chain <id>", "the chain a v2 ledger belongs to (default: the only chain served)", chainIdArg)
  .action((opts: { chain?: number }) =>
    withRedis(async (redis, config) => {
      const chainId = chainOf(config, opts.chain);
      console.log(`migrating to the v3 layout; v2 ledgers go to chain ${chainId}...`);
      const report = await migrateV2ToV3({ redis, logger }, { chainId, markets: config.markets }, (r) =>
        process.stdout.write(`\r  ledger keys ${r.ledgerKeys}  book keys ${r.bookKeys}  journal streams ${r.journalStreams}  markets ${r.markets}  `),
      );
      process.stdout.write("\n");
      console.log(
        `done: ${report.ledgerKeys} ledger keys, ${report.bookKeys} book keys, ${report.journalStreams} journal streams, ${report.markets} markets, ` +
          `${report.doneOrdersListed} finished orders listed for retention, ${report.rateBucketsDropped} rate buckets dropped`,
      );
    }, false),
  );

program
  .command("clear-old-keyspace")
  .description("delete every key of an older layout (instead of migrating it)")
  .option("--yes", "really delete")
  .action((opts: { yes?: boolean }) =>
    withRedis(async (redis) => {
      if (opts.yes !== true) throw new Error("this deletes data: run again with --yes");
      const deleted = await clearOldKeyspace(redis, (n) => process.stdout.write(`\r  deleted ${n} keys`));
      process.stdout.write("\n");
      console.log(`done: ${deleted} keys of older layouts deleted`);
    }, false),
  );

program
  .command("credit-deposit")
  .description("repair tool: credit an on-chain deposit to the ledger (idempotent by deposit id)")
  .argument("<trader>", "trader address", address("trader"))
  .argument("<token>", "token address", address("token"))
  .argument("<amount>", "amount in token atoms", wholeNumber("amount (token atoms)"))
  .argument("<depositId>", 'the chain watcher\'s id of the deposit: "<txHash>:<rank>" (rank: the log\'s position among our contracts\' logs in its transaction, 0 for a plain deposit)')
  .option("--chain <id>", "the chain of the Settlement vault that received it", chainIdArg)
  .action((trader: Address, token: Address, amount: bigint, depositId: string, opts: { chain?: number }) =>
    withRedis(async (redis, config) => {
      const chainId = chainOf(config, opts.chain);
      const credited = await creditDeposit(await createLedger({ redis, logger }), { chainId, trader, token, amount, depositId });
      console.log(credited ? `credited ${amount} of ${token} to ${trader} on chain ${chainId} (deposit ${depositId})` : `deposit ${depositId} was already credited; nothing changed`);
    }),
  );

program
  .command("raise-min-nonce")
  .description("repair tool: apply an on-chain raiseMinNonce (orders below it refused, open ones cancelled)")
  .argument("<trader>", "trader address", address("trader"))
  .argument("<minNonce>", "the new minimum nonce", wholeNumber("min-nonce"))
  .option("--chain <id>", "the chain whose Settlement raised it", chainIdArg)
  .action((trader: Address, minNonce: bigint, opts: { chain?: number }) =>
    withRedis(async (redis, config) => {
      const chainId = chainOf(config, opts.chain);
      // No recovery here: that is the daemon's job when it starts. Fee accounts are not used by a cancel.
      const engine = await createEngine(
        { redis, logger, metrics: createRegistry() },
        { markets: config.markets, feeAccount: "0x0000000000000000000000000000000000000000", recoverOnStart: false },
      );
      try {
        await raiseMinNonce(engine, chainId, trader, minNonce);
      } finally {
        await stopEngine(engine);
      }
    }),
  );

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
