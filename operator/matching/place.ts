/**
 * Placing orders: one batch goes through these stages, each one round trip for the whole
 * batch (pipelined, one pipeline per node on a cluster):
 *
 *   1. checks (TypeScript): market, tick, lot, size, flags, fee caps, expiry;
 *   2. intake + ledger, in one round trip: intake.lua (one call per market, slot {m:market})
 *      records each order's payload and puts its hash in the market's inbox; then step.lua
 *      (one call per account, slot {t:chain:trader}: the trader's ledger on the market's
 *      chain) applies the journal effects owed to the account by the previous batch and locks
 *      the new orders: rate limit, minimum nonce, duplicate nonce, open orders, funds.
 *      The intake commands are written first (same pipeline on one node; first pipelines on
 *      a cluster), so no lock can exist whose order is not in its market's inbox;
 *   3. match (match.lua, one call per market, ./match.ts), which takes accepted orders out of
 *      the inbox; its ledger effects are applied by the next batch's step 2, or by the flush
 *      the engine runs as soon as it is idle (./ledgerRound.ts).
 *
 * Crash between 2 and 3: the order is in the inbox, its funds locked, the market never saw it.
 * Recovery (./recovery.ts) reads the inbox: an order with a lock is matched now (the match
 * is idempotent: an order the market knows answers "known"), one without (its lock was
 * refused) is discarded. Crash during 3: the journal holds everything the match did;
 * recovery applies the entries past the cursor, idempotently.
 */
import { fillView } from "../journal";
import { accountKey, type AccountKey, type LockOutcome, type LockRequest } from "../ledger/types";
import type { ScriptCall } from "../redis/scripts";
import { checkOrderForMarket } from "../markets/orderCheck";
import type { Market } from "../markets/types";
import { OrderFlags, type Address, type Hex } from "../orders";
import type { EngineContext } from "./context";
import { EngineError } from "./errors";
import { ledgerRound } from "./ledgerRound";
import { epochOfArrival } from "./epochs";
import { matchStage, type MatchItem, type MatchOutcome } from "./match";
import { bookKeys } from "./keys";
import { encodeOrderPayload } from "./payload";
import { INTAKE_SCRIPT } from "./scripts";
import type { CloseReason, OrderState, PlaceOrderRequest, PlaceOrderResult, PlaceRejectCode } from "./types";

const HASH_RE = /^0x[0-9a-f]{64}$/;
const ADDRESS_RE = /^0x[0-9a-f]{40}$/;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export const STATE_NAMES: Record<string, OrderState> = { o: "open", f: "filled", c: "cancelled", t: "open" };

const MESSAGES: Partial<Record<PlaceRejectCode, string>> = {
  INSUFFICIENT_FUNDS: "available balance is below what the order locks",
  DUPLICATE_ORDER: "the trader already used this nonce",
  NONCE_BELOW_MINIMUM: "the nonce is below the trader's minimum nonce (orders below it are cancelled on chain)",
  NONCE_CANCELLED: "the trader cancelled this nonce on chain",
  TOO_MANY_OPEN_ORDERS: "the trader has the most open orders allowed: cancel some first",
  RATE_LIMITED: "too many orders: slow down",
  POST_ONLY_WOULD_CROSS: "the post-only order would take liquidity",
  MARKET_HALTED: "the market is halted",
  ORDER_EXPIRED: "the order has expired",
};

function rejected(orderHash: Hex, code: PlaceRejectCode, message: string | undefined, details: Record<string, unknown> = {}): PlaceOrderResult {
  return { status: "rejected", orderHash, code, message: message ?? MESSAGES[code] ?? code, details };
}

/**
 * The order as its market sees it (after checkOrderForMarket passed). `hash` and `trader`:
 * the request's, lower-case (the caller has them already).
 */
export function toMatchItem(
  ctx: EngineContext,
  req: PlaceOrderRequest,
  ticks: number,
  lots: number,
  hash = req.orderHash.toLowerCase() as Hex,
  trader = req.order.trader.toLowerCase() as Address,
): MatchItem {
  return new PreparedItem(req, ctx.markets.get(req.market), trader, hash, ticks, lots);
}

/**
 * A MatchItem whose payload is encoded when intake asks for it, not when the order is queued:
 * the string then dies young (a queued order outlives a few young-generation collections, and
 * everything it holds is copied by each of them).
 */
class PreparedItem implements MatchItem {
  readonly side: "b" | "s";
  readonly flags: number;
  readonly expiry: number;
  constructor(
    readonly req: PlaceOrderRequest,
    readonly market: Market,
    readonly trader: Address,
    readonly hash: Hex,
    readonly ticks: number,
    readonly lots: number,
  ) {
    this.side = req.order.isBuy ? "b" : "s";
    this.flags = req.order.flags;
    this.expiry = Number(req.order.expiry > MAX_SAFE ? MAX_SAFE : req.order.expiry);
  }

  get payload(): string {
    const r = this.req;
    return encodeOrderPayload({ market: r.market, receivedAt: r.receivedAt, order: r.order, signature: r.signature, orderHash: this.hash });
  }
}

/** A request after the checks that need no Redis: refused already, or ready to lock. */
export interface PreparedOrder {
  req: PlaceOrderRequest;
  rejection?: PlaceOrderResult;
  item?: MatchItem;
  lockAtoms?: bigint;
  lockToken?: Address;
}

/**
 * Step 1, pure TypeScript: the market checks, the order's payload and integer units. The
 * engine runs it when a request is queued, so this work overlaps Redis executing the batch
 * before (the queue keeps arrival order).
 */
export function prepareOrders(ctx: EngineContext, requests: readonly PlaceOrderRequest[], now: number): PreparedOrder[] {
  const nowSec = Math.floor(now / 1000);
  const out: PreparedOrder[] = new Array(requests.length);
  for (let i = 0; i < requests.length; i++) {
    const req = requests[i];
    const hash = (typeof req.orderHash === "string" ? req.orderHash.toLowerCase() : "") as Hex;
    const trader = (typeof req.order?.trader === "string" ? req.order.trader.toLowerCase() : "") as Address;
    if (!HASH_RE.test(hash) || !ADDRESS_RE.test(trader) || !Number.isSafeInteger(req.receivedAt) || req.receivedAt < 0) {
      out[i] = { req, rejection: rejected(hash, "INVALID_ORDER", "malformed order hash, trader or receivedAt") };
      continue;
    }
    const market = ctx.markets.byId(req.market);
    if (!market) {
      out[i] = { req, rejection: rejected(hash, "MARKET_UNKNOWN", `no market ${String(req.market)}`, { market: req.market }) };
      continue;
    }
    const check = checkOrderForMarket(market, req.order, nowSec, ctx.config.expiryMarginSeconds);
    if (!check.ok) {
      out[i] = { req, rejection: rejected(hash, check.code, check.message, check.details) };
      continue;
    }
    out[i] = { req, item: toMatchItem(ctx, req, check.priceTicks, check.lots, hash, trader), lockAtoms: check.lockAtoms, lockToken: check.lockToken };
  }
  return out;
}

/** Prepares and processes one batch (the engine prepares at enqueue time instead). */
export async function processPlaceBatch(ctx: EngineContext, requests: readonly PlaceOrderRequest[]): Promise<PlaceOrderResult[]> {
  return processPreparedBatch(ctx, prepareOrders(ctx, requests, ctx.deps.clock()));
}

/** A batch whose intake and ledger round are on the wire; see finishBatch. */
export interface LockPhase {
  now: number;
  results: PlaceOrderResult[];
  items: { index: number; item: MatchItem; lockAtoms: bigint; lockToken: Address }[];
  /** Per account (ledger/types accountKey), the indexes into `items` of its locks. */
  lockIndex: Map<AccountKey, number[]>;
  /** Settles when Redis answered the round (a rejection is the batch's failure). */
  locks: Promise<Map<AccountKey, LockOutcome[]>>;
}

/**
 * Steps 1 and 2: duplicates within the batch, then intake (per market) and one ledger step per
 * account (owed effects + locks), sent at once, in one round trip. Synchronous up to the send,
 * so the engine can put this batch's round on the wire while the previous batch matches.
 */
export function startLockPhase(ctx: EngineContext, prepared: readonly PreparedOrder[]): LockPhase {
  const now = ctx.deps.clock();
  const results: PlaceOrderResult[] = new Array(prepared.length);
  ctx.metrics.batchOrders.observe(prepared.length);
  const items: LockPhase["items"] = [];
  const seen = new Set<string>();
  for (let i = 0; i < prepared.length; i++) {
    const p = prepared[i];
    if (p.rejection) {
      results[i] = p.rejection;
      continue;
    }
    const item = p.item!;
    if (seen.has(item.hash)) {
      results[i] = rejected(item.hash, "DUPLICATE_ORDER", "the same order twice in one batch");
      continue;
    }
    seen.add(item.hash);
    items.push({ index: i, item, lockAtoms: p.lockAtoms!, lockToken: p.lockToken! });
  }
  const byMarket = new Map<number, MatchItem[]>();
  const locks = new Map<AccountKey, LockRequest[]>();
  const lockIndex = new Map<AccountKey, number[]>();
  items.forEach((it, k) => {
    const m = byMarket.get(it.item.market.id);
    if (m) m.push(it.item);
    else byMarket.set(it.item.market.id, [it.item]);
    const req: LockRequest = {
      orderHash: it.item.hash,
      nonce: it.item.req.order.nonce,
      marketId: it.item.market.id,
      lockToken: it.lockToken,
      lockAtoms: it.lockAtoms,
      lots: it.item.lots,
      ioc: (it.item.flags & OrderFlags.IOC) !== 0,
    };
    const account = accountKey(it.item.market.chainId, it.item.trader);
    const list = locks.get(account);
    if (list) {
      list.push(req);
      lockIndex.get(account)!.push(k);
    } else {
      locks.set(account, [req]);
      lockIndex.set(account, [k]);
    }
  });
  const intake: ScriptCall[] = [];
  for (const [id, list] of byMarket) {
    const k = bookKeys(id);
    for (let s = 0; s < list.length; s += ctx.config.maxOrdersPerCall) {
      const chunk = list.slice(s, s + ctx.config.maxOrdersPerCall);
      const args: string[] = new Array(2 * chunk.length);
      for (let j = 0; j < chunk.length; j++) {
        args[2 * j] = chunk[j].hash;
        args[2 * j + 1] = chunk[j].payload;
      }
      intake.push({ script: INTAKE_SCRIPT, keys: [k.payloads, k.inbox], args });
    }
  }
  const lockResults = items.length > 0 || ctx.state.hasOwed() ? ledgerRound(ctx, { now, intake, locks }) : Promise.resolve(new Map<AccountKey, LockOutcome[]>());
  return { now, results, items, lockIndex, locks: lockResults };
}

/** Step 3: the lock outcomes, then the match; returns the batch's results. */
export async function finishBatch(ctx: EngineContext, phase: LockPhase): Promise<PlaceOrderResult[]> {
  const { results, items } = phase;
  const lockResults = await phase.locks;
  const locked: MatchItem[] = [];
  const outcomeOf: LockOutcome[] = new Array(items.length);
  for (const [account, outcomes] of lockResults) phase.lockIndex.get(account)?.forEach((k, j) => (outcomeOf[k] = outcomes[j]));
  items.forEach((it, k) => {
    const o = outcomeOf[k];
    if (o.ok) {
      locked.push(it.item);
      return;
    }
    // Refused at the lock: it leaves the inbox with the market's next call (this batch's).
    ctx.state.addDiscards(it.item.market.id, [it.item.hash]);
    if (o.code === "RATE_LIMITED") results[it.index] = rejected(it.item.hash, o.code, undefined, { retryAfterMs: o.retryAfterMs });
    else if (o.code === "DUPLICATE_ORDER") results[it.index] = rejected(it.item.hash, o.code, undefined, { existingOrderHash: o.existingHash });
    else if (o.code === "NONCE_BELOW_MINIMUM") results[it.index] = rejected(it.item.hash, o.code, undefined, { nonce: it.item.req.order.nonce, minNonce: o.minNonce });
    else if (o.code === "NONCE_CANCELLED") results[it.index] = rejected(it.item.hash, o.code, undefined, { nonce: o.nonce });
    else if (o.code === "TOO_MANY_OPEN_ORDERS") {
      results[it.index] = rejected(it.item.hash, o.code, undefined, { openOrders: o.openOrders, maxOpenOrders: ctx.config.maxOpenOrdersPerTrader });
    }
    else results[it.index] = rejected(it.item.hash, o.code, undefined, { token: it.lockToken, required: it.lockAtoms, available: o.available });
  });

  // ---- 3. match (its ledger effects are owed to a later round)
  const outcomes = locked.length > 0 || ctx.state.hasDiscards() ? await matchStage(ctx, locked, { now: phase.now }) : new Map<Hex, MatchOutcome>();
  for (const it of items) {
    if (results[it.index]) continue;
    results[it.index] = placeResult(it.item, outcomes.get(it.item.hash));
  }
  // An order known already (a replay) is in the epoch it was accepted in: looked up.
  for (const r of results) {
    if (r.status === "accepted" && r.epoch === 0 && r.seq > 0) r.epoch = Number(await epochOfArrival(ctx.deps.redis, r.market, r.seq));
  }
  // One counter update per outcome kind, not per order (a labelled inc hashes its labels).
  let acceptedCount = 0;
  let rejections: Map<string, number> | undefined;
  for (const r of results) {
    if (r.status === "accepted") acceptedCount++;
    else (rejections ??= new Map()).set(r.code, (rejections.get(r.code) ?? 0) + 1);
  }
  if (acceptedCount > 0) ctx.metrics.orders.inc({ result: "accepted", code: "" }, acceptedCount);
  for (const [code, n] of rejections ?? []) ctx.metrics.orders.inc({ result: "rejected", code }, n);
  return results;
}

export async function processPreparedBatch(ctx: EngineContext, prepared: readonly PreparedOrder[]): Promise<PlaceOrderResult[]> {
  return finishBatch(ctx, startLockPhase(ctx, prepared));
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
    epoch: o.epoch,
    fills: o.fills.map((f) => fillView(market, f)),
    filledAmount: BigInt(item.lots - o.remLots) * market.lotSize,
    remainingAmount: BigInt(o.remLots) * market.lotSize,
    state,
  };
  // A taker only ever closes as an IOC remainder (self-trade prevention closes makers).
  if (state === "cancelled" && o.status === "A") result.closeReason = "IOC_REMAINDER" satisfies CloseReason;
  return result;
}
