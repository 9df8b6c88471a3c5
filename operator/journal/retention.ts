/**
 * The journal's retention: nothing is trimmed before every registered consumer that holds it
 * back has passed it, and nothing grows without bound.
 *
 *  - Each stream is trimmed up to the slowest consumer following it: every durable consumer
 *    (the engine's ledger, the settler, the epoch log), and each best-effort consumer (the
 *    WebSocket feed) that lags by at most `maxLagEntries`. A best-effort consumer further
 *    behind is skipped (it sees the gap when it reads, ./reader.ts `missed`); a durable one
 *    never is: its lag shows in `hyperindex_journal_consumer_lag_entries` and in /health.
 *  - A finished order (filled, cancelled, expired, IOC remainder, self-trade) leaves the
 *    journal's `done` list once every consumer is past the entries that finished it and it has
 *    been finished for `orderRetentionMs`: then its order record and its signed payload are
 *    dropped from the book (GET /v1/orders/:hash answers 404 for it from then on).
 *
 * One trim.lua call per market (one slot), run by the daemon on a schedule (operator/tasks).
 */
import type { Logger } from "../log";
import { Gauge, Counter, type Registry } from "../metrics";
import type { RedisClient } from "../redis/client";
import { defineScript, readLuaFile, type ScriptRunner } from "../redis/scripts";
import { LUA_ARGS } from "../redis/lua";
import { JournalError } from "./errors";
import { journalKeys } from "./keys";

export const TRIM_SCRIPT = defineScript({ name: "journal.trim", body: readLuaFile(`${__dirname}/lua`, "trim.lua"), libs: [LUA_ARGS] });
export const JOURNAL_SCRIPTS = [TRIM_SCRIPT];

export interface RetentionParams {
  /** A best-effort consumer further behind a stream's newest entry than this no longer holds it back. */
  maxLagEntries: number;
  /** A finished order's record and payload are kept at least this long (GET /v1/orders answers meanwhile). */
  orderRetentionMs: number;
  /** Finished orders dropped per market per call, at most. */
  maxOrdersPerCall: number;
}

export const DEFAULT_RETENTION: Readonly<RetentionParams> = Object.freeze({
  maxLagEntries: 100_000,
  orderRetentionMs: 3_600_000,
  maxOrdersPerCall: 10_000,
});

export interface ConsumerLag {
  consumer: string;
  stream: "fills" | "closed" | "accepted";
  /** Entries after its cursor. */
  lag: number;
  mode: "durable" | "best-effort";
  /** False: a best-effort consumer beyond the bound, no longer holding the stream back. */
  held: boolean;
}

export interface TrimResult {
  market: number;
  /** Per stream, the counter up to which it is trimmed now; null: nobody follows it (trimmed to its end). */
  trimmedTo: { fill: number | null; close: number | null; accepted: number | null };
  /** Finished orders whose record and payload were dropped. */
  removedOrders: number;
  lags: ConsumerLag[];
}

export interface RetentionMetrics {
  lag: Gauge<"market" | "consumer" | "stream">;
  skipped: Gauge<"market" | "consumer" | "stream">;
  removedOrders: Counter<"market">;
}

const metricsByRegistry = new WeakMap<Registry, RetentionMetrics>();

/** The retention's metrics in `registry` (created once per registry). */
export function retentionMetrics(registry: Registry): RetentionMetrics {
  let m = metricsByRegistry.get(registry);
  if (m === undefined) {
    m = {
      lag: new Gauge({
        name: "hyperindex_journal_consumer_lag_entries",
        help: "Journal entries after a consumer's cursor, per market, consumer and stream",
        labelNames: ["market", "consumer", "stream"],
        registers: [registry],
      }),
      skipped: new Gauge({
        name: "hyperindex_journal_consumer_skipped",
        help: "1 when a best-effort consumer lags beyond the retention bound and no longer holds the stream back",
        labelNames: ["market", "consumer", "stream"],
        registers: [registry],
      }),
      removedOrders: new Counter({
        name: "hyperindex_journal_trimmed_orders_total",
        help: "Finished orders whose record and payload the retention dropped",
        labelNames: ["market"],
        registers: [registry],
      }),
    };
    metricsByRegistry.set(registry, m);
  }
  return m;
}

export interface TrimDeps {
  scripts: ScriptRunner;
  logger: Logger;
  /** Unix ms. */
  clock: () => number;
  metrics?: RetentionMetrics;
}

/**
 * Trims the journals of `markets`; `bookKeys(id)` names each market's order records and
 * payloads (they live in the book, operator/matching). The runner must have JOURNAL_SCRIPTS.
 */
export async function trimJournals(
  deps: TrimDeps,
  params: RetentionParams & { markets: readonly number[]; bookKeys: (marketId: number) => { orders: string; payloads: string } },
): Promise<TrimResult[]> {
  const now = deps.clock();
  const calls = params.markets.map((id) => {
    const k = journalKeys(id);
    const b = params.bookKeys(id);
    return {
      script: TRIM_SCRIPT,
      keys: [k.consumers, k.fills, k.closed, k.accepted, k.done, b.orders, b.payloads],
      args: [now, params.maxLagEntries, params.orderRetentionMs, params.maxOrdersPerCall],
    };
  });
  const replies = calls.length > 0 ? await deps.scripts.batch(calls) : [];
  const results: TrimResult[] = [];
  replies.forEach((reply, i) => {
    const market = params.markets[i];
    if (!reply.ok) {
      throw new JournalError("JOURNAL_CORRUPT", `journal trim of market ${market} failed: ${reply.error.message}`, { cause: reply.error, details: { market } });
    }
    const [fill, close, accepted, removed, flat] = reply.value as [number, number, number, number, unknown[]];
    const lags: ConsumerLag[] = [];
    for (let j = 0; j < flat.length; j += 5) {
      lags.push({
        consumer: String(flat[j]),
        stream: flat[j + 1] as ConsumerLag["stream"],
        lag: Number(flat[j + 2]),
        mode: flat[j + 3] === "d" ? "durable" : "best-effort",
        held: Number(flat[j + 4]) === 1,
      });
    }
    const pos = (v: number) => (v === -1 ? null : v);
    const result: TrimResult = { market, trimmedTo: { fill: pos(fill), close: pos(close), accepted: pos(accepted) }, removedOrders: removed, lags };
    results.push(result);
    const m = deps.metrics;
    if (m !== undefined) {
      const labelMarket = String(market);
      for (const l of lags) {
        m.lag.set({ market: labelMarket, consumer: l.consumer, stream: l.stream }, l.lag);
        m.skipped.set({ market: labelMarket, consumer: l.consumer, stream: l.stream }, l.held ? 0 : 1);
      }
      if (removed > 0) m.removedOrders.inc({ market: labelMarket }, removed);
    }
    for (const l of lags) {
      if (l.lag > params.maxLagEntries) {
        deps.logger.warn(
          { market, consumer: l.consumer, stream: l.stream, lag: l.lag, maxLagEntries: params.maxLagEntries, mode: l.mode },
          l.held ? "durable journal consumer lags beyond the retention bound; its entries are kept" : "best-effort journal consumer lags beyond the retention bound; entries trimmed past it",
        );
      }
    }
  });
  return results;
}
