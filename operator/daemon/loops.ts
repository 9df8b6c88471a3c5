/**
 * The daemon's own background loops (operator/tasks: never overlapping, backing off on
 * failure, drained on shutdown):
 *
 *   expiry-sweep    every HYPERINDEX_SWEEP_INTERVAL_MS: resting orders past their expiry leave
 *                   the book, their funds unlock, and the WebSocket feed says EXPIRED
 *                   (operator/matching sweepExpired; a full sweep of 1000 per market asks to
 *                   run again at once)
 *   journal-trim    every HYPERINDEX_JOURNAL_TRIM_INTERVAL_MS: the journal's retention
 *                   (operator/journal trimJournals)
 *
 * The WebSocket ticker runs on the same helper, inside the API.
 */
import { DEFAULT_RETENTION, JOURNAL_SCRIPTS, retentionMetrics, trimJournals } from "../journal";
import type { OperatorConfig } from "../config";
import { componentLogger, type Logger } from "../log";
import { bookKeys, sweepExpired, type MatchingEngine } from "../matching";
import type { Registry } from "../metrics";
import { ScriptRunner, type RedisClient } from "../redis";
import { createLoop, createLoopGroup, type LoopGroup } from "../tasks";

/** Expired orders closed per market per sweep; a sweep that closes this many runs again at once. */
const SWEEP_LIMIT = 1_000;

export interface DaemonLoopDeps {
  logger: Logger;
  metrics: Registry;
  redis: RedisClient;
  engine: MatchingEngine;
  clock?: () => number;
}

export async function createDaemonLoops(deps: DaemonLoopDeps, config: Pick<OperatorConfig, "tasks" | "journal" | "markets">): Promise<LoopGroup> {
  const logger = componentLogger(deps.logger, "tasks");
  const clock = deps.clock ?? Date.now;
  const scripts = new ScriptRunner({ redis: deps.redis, logger }, JOURNAL_SCRIPTS);
  await scripts.load();
  const metrics = retentionMetrics(deps.metrics);
  const marketIds = config.markets.map((m) => m.id);

  const sweep = createLoop(
    { logger, metrics: deps.metrics },
    {
      name: "expiry-sweep",
      intervalMs: config.tasks.sweepIntervalMs,
      run: async () => {
        const closed = await sweepExpired(deps.engine, { limit: SWEEP_LIMIT });
        return closed >= SWEEP_LIMIT ? { again: true } : undefined;
      },
    },
  );
  const trim = createLoop(
    { logger, metrics: deps.metrics },
    {
      name: "journal-trim",
      intervalMs: config.tasks.journalTrimIntervalMs,
      run: async () => {
        const results = await trimJournals(
          { scripts, logger, clock, metrics },
          {
            ...DEFAULT_RETENTION,
            maxLagEntries: config.journal.maxLagEntries,
            orderRetentionMs: config.journal.orderRetentionMs,
            markets: marketIds,
            bookKeys,
          },
        );
        return results.some((r) => r.removedOrders >= DEFAULT_RETENTION.maxOrdersPerCall) ? { again: true } : undefined;
      },
    },
  );
  return createLoopGroup([sweep, trim]);
}
