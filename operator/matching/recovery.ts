/**
 * Crash recovery and resynchronisation: the engine continues from what Redis holds, never
 * from memory.
 *
 * On start (and after a failed batch or a reconnection) the engine:
 *  1. reloads each market's ledger cursor (appliedFill / appliedClose) from Redis and applies
 *     every journal entry after it: fills and closes the previous run matched but did not
 *     finish applying (ledger operations are idempotent, so re-applying is harmless);
 *  2. finishes a taker whose matching was cut by the fill cap (state `pending`), so the book
 *     is never left with an order half-processed;
 *  3. replays the orders locked but not confirmed as processed by their market: their signed
 *     payloads wait in the traders' `pend` hashes. On start it scans for every such hash
 *     (SCAN on each master: O(keys) once at start, pend keys exist only for in-flight orders);
 *     after a failed batch it checks just that batch's orders. The match is idempotent by
 *     order hash: an order the market already knows answers "known" and only its payload is
 *     dropped; an order it never saw is matched now (arrival order = receivedAt order); one it
 *     refuses now (expired, halted, post-only crossing) has its lock released.
 * A crash at any point of a batch therefore loses nothing the engine confirmed, and doubles
 * nothing: each order is matched once, each journal entry is applied once.
 */
import { ledgerKeys, PENDING_KEY_PATTERN } from "../ledger/keys";
import type { Hex } from "../orders";
import { masterNodes } from "../redis/client";
import type { MatchingEngine, ResyncNeed } from "./engine";
import { readCloses, readFills } from "./journal";
import { bookKeys } from "./keys";
import { applyCollected, collectorFor, matchAndApply, type JournalCollector, type MatchItem } from "./match";
import { decodeOrderPayload, type OrderPayload } from "./payload";
import { toMatchItem } from "./place";
import type { PlaceOrderRequest } from "./types";

export interface RecoveryReport {
  /** Journal entries re-read after the persisted cursors. */
  journalFills: number;
  journalCloses: number;
  /** Markets in which a cut taker was finished. */
  continuedTakers: number;
  /** Pending payloads found, and what the replay did with them. */
  pending: number;
  replayedAccepted: number;
  alreadyKnown: number;
  released: number;
}

/** Steps 1 and 2: journals caught up from the persisted cursors, cut takers finished. */
export async function syncJournals(engine: MatchingEngine): Promise<Pick<RecoveryReport, "journalFills" | "journalCloses" | "continuedTakers">> {
  const redis = engine.deps.redis;
  const collectors = new Map<number, JournalCollector>();
  const withPending: number[] = [];
  let journalFills = 0;
  let journalCloses = 0;
  for (const market of engine.markets.all) {
    const [appliedFill, appliedClose, pending] = await redis.hmget(bookKeys(market.id).state, "appliedFill", "appliedClose", "pending");
    const cursor = engine.cursor(market.id);
    cursor.fill = Number(appliedFill ?? 0);
    cursor.close = Number(appliedClose ?? 0);
    // Closes first, then fills: every fill that precedes a close we read is then read too.
    const closes = await readCloses(redis, market, cursor.close);
    const fills = await readFills(redis, market, cursor.fill);
    journalFills += fills.length;
    journalCloses += closes.length;
    await collectorFor(engine, collectors, market).add(cursor.fill, fills, cursor.close, closes);
    if (pending) withPending.push(market.id);
  }
  await applyCollected(engine, collectors, []);
  if (withPending.length > 0) await matchAndApply(engine, [], { now: engine.deps.clock(), forceMarkets: withPending });
  return { journalFills, journalCloses, continuedTakers: withPending.length };
}

async function scanPendingPayloads(engine: MatchingEngine): Promise<string[]> {
  const keys = new Set<string>();
  for (const node of masterNodes(engine.deps.redis)) {
    let cursor = "0";
    do {
      const [next, batch] = await node.scan(cursor, "MATCH", PENDING_KEY_PATTERN, "COUNT", 1000);
      for (const k of batch) keys.add(k);
      cursor = next;
    } while (cursor !== "0");
  }
  const payloads: string[] = [];
  const all = await Promise.all([...keys].map((k) => engine.deps.redis.hgetall(k)));
  for (const h of all) payloads.push(...Object.values(h));
  return payloads;
}

async function candidatePayloads(engine: MatchingEngine, candidates: readonly PlaceOrderRequest[]): Promise<string[]> {
  const valid = candidates.filter((c) => /^0x[0-9a-fA-F]{40}$/.test(c.order.trader) && /^0x[0-9a-fA-F]{64}$/.test(c.orderHash));
  const found = await Promise.all(valid.map((c) => engine.deps.redis.hget(ledgerKeys(c.order.trader).pend, c.orderHash.toLowerCase())));
  return found.filter((p): p is string => p !== null);
}

/** Step 3: replays the match of orders whose lock is pending. */
export async function replayPending(
  engine: MatchingEngine,
  source: "scan" | readonly PlaceOrderRequest[],
): Promise<Pick<RecoveryReport, "pending" | "replayedAccepted" | "alreadyKnown" | "released">> {
  const raw = source === "scan" ? await scanPendingPayloads(engine) : await candidatePayloads(engine, source);
  const payloads: OrderPayload[] = [];
  for (const text of raw) {
    try {
      const p = decodeOrderPayload(text);
      if (engine.markets.byId(p.market)) payloads.push(p);
    } catch (error) {
      engine.deps.logger.error({ err: String(error) }, "unreadable pending order payload left in place");
    }
  }
  // Original arrival order is the order they were received in.
  payloads.sort((a, b) => a.receivedAt - b.receivedAt || (a.orderHash < b.orderHash ? -1 : 1));
  const seen = new Set<Hex>();
  const items: MatchItem[] = [];
  for (const p of payloads) {
    if (seen.has(p.orderHash)) continue;
    seen.add(p.orderHash);
    const market = engine.markets.get(p.market);
    const req: PlaceOrderRequest = { order: p.order, orderHash: p.orderHash, signature: p.signature, market: p.market, receivedAt: p.receivedAt };
    items.push(toMatchItem(engine, req, Number(p.order.price / market.tickSize), Number(p.order.amount / market.lotSize)));
  }
  const report = { pending: items.length, replayedAccepted: 0, alreadyKnown: 0, released: 0 };
  if (items.length === 0) return report;
  const outcomes = await matchAndApply(engine, items, { now: engine.deps.clock() });
  for (const o of outcomes.values()) {
    if (o.status === "A") report.replayedAccepted++;
    else if (o.status === "K") report.alreadyKnown++;
    else report.released++;
  }
  return report;
}

/** Full recovery, run when the engine starts. */
export async function recoverEngine(engine: MatchingEngine): Promise<RecoveryReport> {
  const journal = await syncJournals(engine);
  const pending = await replayPending(engine, "scan");
  const report = { ...journal, ...pending };
  engine.deps.logger.info(report, "recovery done");
  return report;
}

/** What the engine runs before its next job after a failure or a reconnection. */
export async function resynchronise(engine: MatchingEngine, need: ResyncNeed): Promise<void> {
  engine.deps.logger.warn({ reason: need.reason, candidates: need.candidates.length }, "resynchronising from redis");
  await engine.scripts.load();
  await syncJournals(engine);
  if (need.candidates.length > 0) await replayPending(engine, need.candidates);
}

export { readFills, readCloses };
