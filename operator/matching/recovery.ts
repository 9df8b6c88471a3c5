/**
 * Crash recovery and resynchronisation: the engine continues from what Redis holds, never
 * from memory.
 *
 * On start (and after a failed batch or a reconnection) the engine:
 *  1. reloads each market's ledger cursor (its "engine" journal consumer) from Redis and
 *     applies every journal entry after it: fills and closes a previous run matched but did not
 *     finish applying (ledger operations are idempotent, so re-applying is harmless);
 *  2. finishes a taker whose matching was cut by the fill cap (state `pending`), so the book
 *     is never left with an order half-processed;
 *  3. settles every order left in a market inbox. Intake puts an order in its market's inbox
 *     before its funds are locked, and the match takes it out, so the inbox holds exactly the
 *     orders a crash may have caught between the lock and the match (plus refused ones whose
 *     cleanup was cut short). For each: if the market knows it, it is simply taken out; if the
 *     trader holds a lock for it, the match is replayed now (in receivedAt order) — idempotent,
 *     so it is matched exactly once, and an order refused now (expired, halted, post-only
 *     crossing) gets its lock released; without a lock (refused at the lock, or released) it is
 *     discarded. The inbox is small (in-flight orders only): recovery costs O(inbox), no scan.
 * A crash at any point of a batch therefore loses nothing the engine accepted, and doubles
 * nothing: each order is matched once, each journal entry is applied once.
 */
import { loadCursor, readCloses, readFills } from "../journal";
import { ledgerKeys } from "../ledger/keys";
import { orderUnits } from "../markets/orderCheck";
import type { Hex } from "../orders";
import { ENGINE_CONSUMER, type EngineContext } from "./context";
import { EngineError } from "./errors";
import { bookKeys } from "./keys";
import { flush } from "./ledgerRound";
import { collectorFor, matchStage, oweCollected, type JournalCollector, type MatchItem } from "./match";
import { decodeOrderPayload, type OrderPayload } from "./payload";
import { toMatchItem } from "./place";
import type { ResyncNeed } from "./state";

export interface RecoveryReport {
  /** Journal entries re-read after the persisted cursors. */
  journalFills: number;
  journalCloses: number;
  /** Markets in which a cut taker was finished. */
  continuedTakers: number;
  /** Orders found in inboxes, and what became of them. */
  inbox: number;
  replayedAccepted: number;
  alreadyKnown: number;
  refusedAndReleased: number;
  discarded: number;
}

/** Steps 1 and 2: journals caught up from the persisted cursors, cut takers finished. */
export async function syncJournals(ctx: EngineContext): Promise<Pick<RecoveryReport, "journalFills" | "journalCloses" | "continuedTakers">> {
  const redis = ctx.deps.redis;
  const collectors = new Map<number, JournalCollector>();
  const withPending: number[] = [];
  let journalFills = 0;
  let journalCloses = 0;
  for (const market of ctx.markets.all) {
    const [saved, pending] = await Promise.all([loadCursor(redis, market.id, ENGINE_CONSUMER.name), redis.hget(bookKeys(market.id).state, "pending")]);
    const cursor = { fill: saved?.fill ?? 0, close: saved?.close ?? 0 };
    ctx.state.loadCursor(market.id, cursor);
    // Closes first, then fills: every fill that precedes a close we read is then read too.
    const closes = await readCloses(redis, market.id, cursor.close);
    const fills = await readFills(redis, market.id, cursor.fill);
    journalFills += fills.length;
    journalCloses += closes.length;
    await collectorFor(ctx, collectors, market).add(cursor.fill, fills, cursor.close, closes);
    if (pending) withPending.push(market.id);
  }
  oweCollected(ctx, collectors);
  if (withPending.length > 0) await matchStage(ctx, [], { now: ctx.deps.clock(), forceMarkets: withPending });
  await flush(ctx, ctx.deps.clock());
  return { journalFills, journalCloses, continuedTakers: withPending.length };
}

/** Step 3: every order left in a market inbox is matched, or discarded. */
export async function settleInboxes(ctx: EngineContext): Promise<Omit<RecoveryReport, "journalFills" | "journalCloses" | "continuedTakers">> {
  const redis = ctx.deps.redis;
  const report = { inbox: 0, replayedAccepted: 0, alreadyKnown: 0, refusedAndReleased: 0, discarded: 0 };
  const replay: { payload: OrderPayload; item: MatchItem }[] = [];
  for (const market of ctx.markets.all) {
    const k = bookKeys(market.id);
    const hashes = (await redis.smembers(k.inbox)) as Hex[];
    if (hashes.length === 0) continue;
    report.inbox += hashes.length;
    const [records, payloads] = await Promise.all([redis.hmget(k.orders, ...hashes), redis.hmget(k.payloads, ...hashes)]);
    const discard: Hex[] = [];
    const candidates: { hash: Hex; payload: OrderPayload }[] = [];
    hashes.forEach((hash, i) => {
      if (records[i] !== null || payloads[i] === null) return discard.push(hash);
      try {
        candidates.push({ hash, payload: decodeOrderPayload(payloads[i]!) });
      } catch (error) {
        ctx.deps.logger.error({ err: String(error), orderHash: hash }, "unreadable payload in inbox: discarded");
        discard.push(hash);
      }
    });
    const locks = await Promise.all(candidates.map((c) => redis.hexists(ledgerKeys(market.chainId, c.payload.order.trader).ord, c.hash)));
    candidates.forEach((c, i) => {
      if (locks[i] !== 1) return discard.push(c.hash);
      const p = c.payload;
      // Checked against this same configuration when it was placed (a market's registered
      // configuration never changes), so it fits; the check keeps ticks and lots exact.
      const units = orderUnits(market, p.order);
      if (!units.ok) throw new EngineError("ENGINE_INVARIANT", `inbox order ${c.hash} does not fit market ${market.id}: ${units.code}`, { details: units.details });
      const req = { order: p.order, orderHash: c.hash, signature: p.signature, market: p.market, receivedAt: p.receivedAt };
      replay.push({ payload: p, item: toMatchItem(ctx, req, units.priceTicks, units.lots) });
    });
    report.discarded += discard.length;
    if (discard.length > 0) ctx.state.addDiscards(market.id, discard);
  }
  // Arrival order is the order they were received in.
  replay.sort((a, b) => a.payload.receivedAt - b.payload.receivedAt || (a.item.hash < b.item.hash ? -1 : 1));
  if (replay.length === 0 && !ctx.state.hasDiscards()) return report;
  const outcomes = await matchStage(ctx, replay.map((r) => r.item), { now: ctx.deps.clock() });
  await flush(ctx, ctx.deps.clock());
  for (const { item } of replay) {
    const o = outcomes.get(item.hash);
    if (o?.status === "A") report.replayedAccepted++;
    else if (o?.status === "K") report.alreadyKnown++;
    else if (o?.status === "R") report.refusedAndReleased++;
  }
  return report;
}

/** Full recovery, run when the engine starts. */
export async function recoverEngine(ctx: EngineContext): Promise<RecoveryReport> {
  const journal = await syncJournals(ctx);
  const inbox = await settleInboxes(ctx);
  const report = { ...journal, ...inbox };
  ctx.deps.logger.info(report, "recovery done");
  return report;
}

/** What the engine runs before its next job after a failure or a reconnection. */
export async function resynchronise(ctx: EngineContext, need: ResyncNeed): Promise<void> {
  ctx.deps.logger.warn({ reason: need.reason }, "resynchronising from redis");
  await ctx.scripts.load();
  await recoverEngine(ctx);
}
