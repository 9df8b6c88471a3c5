/**
 * Cancelling orders and sweeping expired ones. A cancel concerns one account (a trader on one
 * chain) and is three short steps:
 *   1. cancel_check.lua (slot {t:chain:trader}): charge the account's "cancel" rate bucket and
 *      find the market of each hash among its own locks (cancel-all: its locked orders in the
 *      market; a lock record exists exactly while an order is open). A hash the account holds
 *      no lock for is looked up in every market of that chain this engine serves, to tell
 *      "someone else's order" (NOT_ORDER_OWNER) from "no longer open" and "unknown".
 *   2. cancel.lua (slot {m:market}): close the orders, journal each close with its remainder.
 *   3. step.lua: unlock the remainders (through the journal, exactly once, like fills).
 */
import { CLOSE_REASONS, journalKeys } from "../journal";
import type { Market } from "../markets/types";
import type { Address, Hex } from "../orders";
import { CANCEL_CHECK_SCRIPT } from "../ledger/scripts";
import { ledgerKeys, rateLimitKey } from "../ledger/keys";
import type { ScriptCall } from "../redis/scripts";
import type { EngineContext } from "./context";
import { EngineError } from "./errors";
import { bookKeys } from "./keys";
import { decodeOrderRecord } from "./record";
import { collectorFor, oweCollected, type JournalCollector } from "./match";
import { parseReplyCloses } from "./reply";
import { CANCEL_SCRIPT } from "./scripts";
import type { CancelOrdersResult, CancelRequest, CancelResult } from "./types";

const HASH_RE = /^0x[0-9a-f]{64}$/;
const STATE_TEXT: Record<string, string> = { f: "filled", c: "cancelled", t: "matching" };

function cancelCall(market: Market, now: number, mode: "orders" | "expired", a4: string | number, a5: string | number, hashes: readonly string[]): ScriptCall {
  const k = bookKeys(market.id);
  const j = journalKeys(market.id);
  return {
    script: CANCEL_SCRIPT,
    keys: [k.state, k.orders, k.bids, k.asks, k.depth, k.expiry, j.closed, j.done],
    args: [k.prefix, now, mode, a4, a5, ...hashes],
  };
}

/**
 * `rateLimited: false`: the cancel does not come from the trader (the chain cancelled the orders
 * already, see ./minNonce.ts and ./cancelNonce.ts, or the trader's withdrawal needs their funds,
 * ./withdrawal.ts) and does not charge its "cancel" bucket. `reason`: the close reason journaled,
 * "C" CANCELLED (default) or "W" WITHDRAWAL.
 */
export async function processCancel(
  ctx: EngineContext,
  request: CancelRequest,
  options: { rateLimited?: boolean; reason?: "C" | "W" } = {},
): Promise<CancelOrdersResult> {
  const trader = request.trader.toLowerCase() as Address;
  if (!/^0x[0-9a-f]{40}$/.test(trader)) throw new EngineError("ENGINE_BAD_REQUEST", "trader is not an address");
  const now = ctx.deps.clock();
  const limit = options.rateLimited === false ? null : ctx.config.cancelLimit;
  const all = "all" in request && request.all === true;
  let market: Market | undefined;
  let chainId: number;
  if (all) {
    market = ctx.markets.byId((request as { market: number }).market);
    if (!market) return { status: "rejected", code: "MARKET_UNKNOWN", message: "no such market", details: { market: (request as { market: number }).market } };
    chainId = market.chainId;
  } else {
    const asked = (request as { chainId?: number }).chainId;
    if (asked === undefined && ctx.markets.chainIds.length > 1) {
      throw new EngineError("ENGINE_BAD_REQUEST", "a cancel by order hashes must name its chain when the engine serves several", { details: { chains: ctx.markets.chainIds } });
    }
    chainId = asked ?? ctx.markets.chainIds[0];
    if (!ctx.markets.chainIds.includes(chainId)) {
      throw new EngineError("ENGINE_BAD_REQUEST", `the engine serves no market on chain ${chainId}`, { details: { chainId, chains: ctx.markets.chainIds } });
    }
  }
  const chainMarkets = ctx.markets.all.filter((m) => m.chainId === chainId);
  const hashes = all ? [] : [...new Set((request as { orderHashes: readonly Hex[] }).orderHashes.map((h) => h.toLowerCase() as Hex))];
  const wellFormed = hashes.filter((h) => HASH_RE.test(h));

  // ---- 1. rate limit, and the trader's own locks: the market of each hash, or (cancel-all)
  // the trader's orders in the market
  const cost = Math.min(all ? 1 : Math.max(1, hashes.length), limit?.capacity ?? 1);
  const [check] = await ctx.scripts.batch([
    {
      script: CANCEL_CHECK_SCRIPT,
      keys: [rateLimitKey(chainId, trader, "cancel"), ledgerKeys(chainId, trader).ord],
      args: [now, limit?.capacity ?? 0, limit?.refillPerSecond ?? 0, cost, ...(all ? ["market", market!.id] : ["hashes", ...wellFormed])],
    },
  ]);
  if (!check.ok) throw new EngineError("ENGINE_INVARIANT", `cancel check failed: ${check.error.message}`, { cause: check.error });
  const [allowed, waitMs, list] = check.value as [number, number, string[]];
  if (allowed !== 1) {
    ctx.metrics.cancels.inc({ result: "RATE_LIMITED" });
    return { status: "rejected", code: "RATE_LIMITED", message: "too many cancels: slow down", details: { retryAfterMs: waitMs } };
  }

  const results = new Map<Hex, CancelResult>();
  const byMarket = new Map<number, Hex[]>();
  const unresolved: Hex[] = [];
  if (all) {
    if (list.length > 0) byMarket.set(market!.id, list as Hex[]);
  } else {
    for (const h of hashes) {
      if (!HASH_RE.test(h)) results.set(h, notFound(h));
    }
    wellFormed.forEach((h, i) => {
      const id = list[i] === "" ? undefined : Number(list[i]);
      if (id !== undefined && ctx.markets.byId(id)?.chainId === chainId) {
        const l = byMarket.get(id) ?? [];
        l.push(h);
        byMarket.set(id, l);
      } else {
        unresolved.push(h);
      }
    });
  }

  // A hash without a lock of this account: someone else's order, one no longer open, or
  // unknown (on this chain).
  if (unresolved.length > 0) {
    const found = await Promise.all(chainMarkets.map((m) => ctx.deps.redis.hmgetBuffer(bookKeys(m.id).orders, ...unresolved)));
    unresolved.forEach((h, i) => {
      const hit = chainMarkets.findIndex((_, j) => found[j][i] !== null);
      if (hit === -1) return results.set(h, notFound(h));
      const record = decodeOrderRecord(found[hit][i]!);
      if (record.trader !== trader) {
        results.set(h, { orderHash: h, status: "rejected", code: "NOT_ORDER_OWNER", message: "the order belongs to another trader", details: {} });
      } else {
        results.set(h, notOpen(h, record.state + record.reason));
      }
    });
  }

  // ---- 2. close in each market (all markets in one round trip)
  const calls: ScriptCall[] = [];
  const callMarkets: Market[] = [];
  for (const [id, l] of byMarket) {
    const m = ctx.markets.get(id);
    calls.push(cancelCall(m, now, "orders", trader, options.reason ?? "C", l));
    callMarkets.push(m);
  }
  const collectors = new Map<number, JournalCollector>();
  const replies = calls.length > 0 ? await ctx.scripts.batch(calls) : [];
  for (let i = 0; i < replies.length; i++) {
    const reply = replies[i];
    const m = callMarkets[i];
    if (!reply.ok) throw new EngineError("ENGINE_INVARIANT", `cancel script failed in market ${m.id}: ${reply.error.message}`, { cause: reply.error });
    const [closeBefore, codes, closesFlat] = reply.value as [number, string[], unknown[]];
    const closes = parseReplyCloses(m, closesFlat, now);
    const collector = collectorFor(ctx, collectors, m);
    // Closes carry the fill counter: fills the engine has not applied yet are read first.
    const lastFc = closes.reduce((max, c) => Math.max(max, c.fillCtr), collector.seenFill);
    await collector.add(lastFc, [], closeBefore, closes);
    const remaining = new Map(closes.map((c) => [c.orderHash, c.remainingLots]));
    for (let j = 0; j < codes.length; j += 2) {
      const h = codes[j] as Hex;
      const code = codes[j + 1];
      if (code === "OK") results.set(h, { orderHash: h, status: "cancelled", market: m.id, remainingAmount: BigInt(remaining.get(h) ?? 0) * m.lotSize });
      else if (all) continue; // cancel-all reports what it cancelled
      else if (code === "NOT_OWNER") results.set(h, { orderHash: h, status: "rejected", code: "NOT_ORDER_OWNER", message: "the order belongs to another trader", details: {} });
      else if (code === "NOT_FOUND") results.set(h, notFound(h));
      else results.set(h, notOpen(h, code.slice("NOT_OPEN:".length)));
    }
  }

  // ---- 3. the remainders are unlocked by the flush that ends the task (see ./queue.ts)
  oweCollected(ctx, collectors);
  const ordered = all ? [...results.values()] : hashes.map((h) => results.get(h)!);
  for (const r of ordered) ctx.metrics.cancels.inc({ result: r.status === "cancelled" ? "cancelled" : r.code });
  return { status: "done", results: ordered };
}

function notFound(h: Hex): CancelResult {
  return { orderHash: h, status: "rejected", code: "ORDER_NOT_FOUND", message: "no such order", details: {} };
}

function notOpen(h: Hex, stateReason: string): CancelResult {
  const state = STATE_TEXT[stateReason[0]] ?? stateReason[0];
  const reason = stateReason.length > 1 ? CLOSE_REASONS[stateReason[1]] : undefined;
  return { orderHash: h, status: "rejected", code: "ORDER_NOT_OPEN", message: `the order is ${state}`, details: reason ? { state, reason } : { state } };
}

/**
 * Closes resting orders whose expiry has passed (cutoff = now + expiryMarginSeconds), up to
 * `limit` per market, and unlocks their remainders. Returns how many were closed.
 */
export async function processSweep(ctx: EngineContext, params: { market?: number; limit?: number }): Promise<number> {
  const now = ctx.deps.clock();
  const cutoff = Math.floor(now / 1000) + ctx.config.expiryMarginSeconds;
  const markets = params.market === undefined ? ctx.markets.all : [ctx.markets.get(params.market)];
  const replies = await ctx.scripts.batch(markets.map((m) => cancelCall(m, now, "expired", cutoff, params.limit ?? 1000, [])));
  const collectors = new Map<number, JournalCollector>();
  let closed = 0;
  for (let i = 0; i < markets.length; i++) {
    const reply = replies[i];
    if (!reply.ok) throw new EngineError("ENGINE_INVARIANT", `sweep failed in market ${markets[i].id}: ${reply.error.message}`, { cause: reply.error });
    const [closeBefore, , closesFlat] = reply.value as [number, string[], unknown[]];
    const closes = parseReplyCloses(markets[i], closesFlat, now);
    const collector = collectorFor(ctx, collectors, markets[i]);
    const lastFc = closes.reduce((max, c) => Math.max(max, c.fillCtr), collector.seenFill);
    await collector.add(lastFc, [], closeBefore, closes);
    closed += closes.length;
  }
  oweCollected(ctx, collectors);
  if (closed > 0) ctx.deps.logger.info({ closed }, "expired orders swept");
  return closed;
}
