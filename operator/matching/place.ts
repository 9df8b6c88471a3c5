/**
 * Placing orders: one batch goes through three stages, each one round trip for the whole
 * batch (pipelined, one pipeline per node on a cluster):
 *
 *   1. checks (TypeScript): market, tick, lot, size, flags, fee caps, expiry;
 *   2. lock (lock.lua, one call per trader, slot {t:trader}): rate limit, duplicate nonce,
 *      funds; the lock record and the order's payload are written in the same script;
 *   3. match (match.lua, one call per market, slot {m:market}) and apply (apply.lua, one call
 *      per trader): see ./match.ts.
 *
 * Crash between 2 and 3: the lock exists with the order's payload in the trader's `pend`
 * hash, but the market never saw the order. Recovery (./recovery.ts) finds such payloads
 * and replays the match, which is idempotent (an order the market knows answers "known"), so
 * the order is matched exactly once; an order refused by then gets its lock released.
 * Crash during 3: the journal holds everything the match did; recovery applies the entries
 * past the cursor (idempotently) and drops the payloads of orders the market knows.
 */
import { lockCall, parseLockReply } from "../ledger/lock";
import type { LockOutcome } from "../ledger/types";
import { checkOrderForMarket } from "../markets/orderCheck";
import type { Address, Hex } from "../orders";
import type { MatchingEngine } from "./engine";
import { EngineError } from "./errors";
import { fillView } from "./journal";
import { matchAndApply, type MatchItem, type MatchOutcome } from "./match";
import { encodeOrderPayload } from "./payload";
import type { CloseReason, OrderState, PlaceOrderRequest, PlaceOrderResult, PlaceRejectCode } from "./types";

const HASH_RE = /^0x[0-9a-f]{64}$/;
const ADDRESS_RE = /^0x[0-9a-f]{40}$/;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export const STATE_NAMES: Record<string, OrderState> = { o: "open", f: "filled", c: "cancelled", t: "open" };

const MESSAGES: Partial<Record<PlaceRejectCode, string>> = {
  INSUFFICIENT_FUNDS: "available balance is below what the order locks",
  DUPLICATE_ORDER: "the trader already used this nonce",
  RATE_LIMITED: "too many orders: slow down",
  POST_ONLY_WOULD_CROSS: "the post-only order would take liquidity",
  MARKET_HALTED: "the market is halted",
  ORDER_EXPIRED: "the order has expired",
};

function rejected(orderHash: Hex, code: PlaceRejectCode, message: string | undefined, details: Record<string, unknown> = {}): PlaceOrderResult {
  return { status: "rejected", orderHash, code, message: message ?? MESSAGES[code] ?? code, details };
}

/** The order as its market sees it (after checkOrderForMarket passed). */
export function toMatchItem(engine: MatchingEngine, req: PlaceOrderRequest, ticks: number, lots: number): MatchItem {
  return {
    req,
    market: engine.markets.get(req.market),
    trader: req.order.trader.toLowerCase() as Address,
    hash: req.orderHash.toLowerCase() as Hex,
    side: req.order.isBuy ? "b" : "s",
    ticks,
    lots,
    flags: req.order.flags,
    expiry: Number(req.order.expiry > MAX_SAFE ? MAX_SAFE : req.order.expiry),
    payload: encodeOrderPayload({ market: req.market, receivedAt: req.receivedAt, order: req.order, signature: req.signature, orderHash: req.orderHash }),
  };
}

export async function processPlaceBatch(engine: MatchingEngine, requests: readonly PlaceOrderRequest[]): Promise<PlaceOrderResult[]> {
  const now = engine.deps.clock();
  const nowSec = Math.floor(now / 1000);
  const results: PlaceOrderResult[] = new Array(requests.length);
  engine.metrics.batchOrders.observe(requests.length);

  // ---- 1. checks
  const items: { index: number; item: MatchItem; lockAtoms: bigint; lockToken: Address }[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < requests.length; i++) {
    const req = requests[i];
    const hash = (typeof req.orderHash === "string" ? req.orderHash.toLowerCase() : "") as Hex;
    if (!HASH_RE.test(hash) || !ADDRESS_RE.test(req.order.trader.toLowerCase()) || !Number.isSafeInteger(req.receivedAt) || req.receivedAt < 0) {
      results[i] = rejected(hash, "INVALID_ORDER", "malformed order hash, trader or receivedAt");
      continue;
    }
    const market = engine.markets.byId(req.market);
    if (!market) {
      results[i] = rejected(hash, "UNKNOWN_MARKET", `no market ${String(req.market)}`, { market: req.market });
      continue;
    }
    const check = checkOrderForMarket(market, req.order, nowSec, engine.config.expiryMarginSeconds);
    if (!check.ok) {
      results[i] = rejected(hash, check.code, check.message, check.details);
      continue;
    }
    if (seen.has(hash)) {
      results[i] = rejected(hash, "DUPLICATE_ORDER", "the same order twice in one batch");
      continue;
    }
    seen.add(hash);
    items.push({ index: i, item: toMatchItem(engine, req, check.priceTicks, check.lots), lockAtoms: check.lockAtoms, lockToken: check.lockToken });
  }

  // ---- 2. lock, one call per trader (chunked), all in one round trip
  const byTrader = new Map<Address, number[]>();
  items.forEach((it, k) => {
    const list = byTrader.get(it.item.trader);
    if (list) list.push(k);
    else byTrader.set(it.item.trader, [k]);
  });
  const callIndexes: number[][] = [];
  for (const indexes of byTrader.values()) {
    for (let s = 0; s < indexes.length; s += engine.config.maxOrdersPerCall) callIndexes.push(indexes.slice(s, s + engine.config.maxOrdersPerCall));
  }
  const lockStarted = performance.now();
  const replies = await engine.scripts.batch(
    callIndexes.map((indexes) =>
      lockCall({
        trader: items[indexes[0]].item.trader,
        nowMs: now,
        limit: engine.config.placeLimit,
        orders: indexes.map((k) => {
          const { item, lockAtoms, lockToken } = items[k];
          return { orderHash: item.hash, nonce: item.req.order.nonce, marketId: item.market.id, lockToken, lockAtoms, lots: item.lots, payload: item.payload };
        }),
      }),
    ),
  );
  engine.metrics.batchSeconds.observe({ stage: "lock" }, (performance.now() - lockStarted) / 1000);
  const lockOutcomes: LockOutcome[] = new Array(items.length);
  replies.forEach((reply, c) => {
    if (!reply.ok) throw new EngineError("ENGINE_INVARIANT", `lock script failed: ${reply.error.message}`, { cause: reply.error });
    const outcomes = parseLockReply(reply.value, callIndexes[c].length);
    callIndexes[c].forEach((k, j) => (lockOutcomes[k] = outcomes[j]));
  });
  const locked: MatchItem[] = [];
  items.forEach((it, k) => {
    const o = lockOutcomes[k];
    if (o.ok) locked.push(it.item);
    else if (o.code === "RATE_LIMITED") results[it.index] = rejected(it.item.hash, o.code, undefined, { retryAfterMs: o.retryAfterMs });
    else if (o.code === "DUPLICATE_ORDER") results[it.index] = rejected(it.item.hash, o.code, undefined, { existingOrderHash: o.existingHash });
    else results[it.index] = rejected(it.item.hash, o.code, undefined, { token: it.lockToken, required: it.lockAtoms, available: o.available });
  });

  // ---- 3. match and apply
  const outcomes = locked.length > 0 ? await matchAndApply(engine, locked, { now }) : new Map<Hex, MatchOutcome>();
  for (const it of items) {
    if (results[it.index]) continue;
    results[it.index] = placeResult(it.item, outcomes.get(it.item.hash));
  }
  for (const r of results) engine.metrics.orders.inc({ result: r.status, code: r.status === "rejected" ? r.code : "" });
  return results;
}

function placeResult(item: MatchItem, o: MatchOutcome | undefined): PlaceOrderResult {
  if (!o) throw new EngineError("ENGINE_INVARIANT", "the market returned no outcome for a locked order", { details: { orderHash: item.hash } });
  if (o.status === "R") return rejected(item.hash, o.code as PlaceRejectCode, undefined);
  const market = item.market;
  const state = STATE_NAMES[o.state];
  const result: PlaceOrderResult = {
    status: "accepted",
    orderHash: item.hash,
    market: market.id,
    seq: o.seq,
    fills: o.fills.map((f) => fillView(market, f)),
    filledAmount: BigInt(item.lots - o.remLots) * market.lotSize,
    remainingAmount: BigInt(o.remLots) * market.lotSize,
    state,
  };
  // A taker only ever closes as an IOC remainder (self-trade prevention closes makers).
  if (state === "cancelled" && o.status === "A") result.closeReason = "IOC_REMAINDER" satisfies CloseReason;
  return result;
}
