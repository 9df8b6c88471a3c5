/**
 * The market journal: the `fills` and `closed` streams the match and cancel scripts append
 * to, and how their ledger effects are applied exactly once.
 *
 * Exactly-once, step by step:
 *  - A fill or close is created once, atomically with the book change, by a market script;
 *    its counter is its stream id. Nothing else creates ledger effects of matching.
 *  - The engine applies each entry to the ledgers of the traders involved (step.lua). Every
 *    ledger operation is idempotent: a fill is skipped by an order whose lock record already
 *    saw that fill counter (or no longer exists because the order was fully applied), fees by
 *    the fee account's per-market high-water mark, a close by the absence of the lock record.
 *  - Entries of one market are applied in causal order: a close carries the fill counter at
 *    the time it happened, and is applied only after the fills up to that counter (an order's
 *    fills always precede its close).
 *  - The market's `state` hash keeps the cursor (appliedFill, appliedClose): every entry up to
 *    it has been applied. It is written after the ledger calls succeeded; a crash in between
 *    leaves it behind, and the entries after it are applied again on restart, harmlessly.
 *  - A reply lost on the wire (a script ran, its answer never came back) is detected by the
 *    counters each market script returns: an entry between the engine's cursor and the
 *    counters at the start of the call is read back from the stream and applied first.
 */
import { fillAmounts, fillLedgerOps, type FillFacts } from "../ledger/fillOps";
import type { LedgerOp } from "../ledger/types";
import type { Market } from "../markets/types";
import type { Address, Hex } from "../orders";
import type { RedisClient } from "../redis/client";
import { bookKeys } from "./keys";
import type { CloseReason, Fill } from "./types";

export interface FillEvent extends FillFacts {
  market: number;
  /** Maker's unfilled lots after the fill (only known from a match reply). */
  makerRemainingLots?: number;
}

export interface CloseEvent {
  closeCtr: number;
  market: number;
  orderHash: Hex;
  trader: Address;
  side: "b" | "s";
  priceTicks: number;
  remainingLots: number;
  reason: CloseReason;
  /** The market's fill counter when the order closed. */
  fillCtr: number;
}

export const CLOSE_REASONS: Record<string, CloseReason> = { C: "CANCELLED", I: "IOC_REMAINDER", E: "EXPIRED", S: "SELF_TRADE" };

/** The taker of a fill, as the engine knows it from the order it sent. */
export interface FillTaker {
  hash: Hex;
  trader: Address;
  side: "b" | "s";
  ticks: number;
}

/**
 * Fills from a match.lua reply (7 fields each: counter, taker index, makerHash, maker,
 * priceTicks, lots, makerRemainingLots); `takerOf(index)` gives the taker (0: the continued
 * taker, i: the i-th order of the call).
 */
export function parseReplyFills(market: Market, flat: readonly unknown[], takerOf: (index: number) => FillTaker): FillEvent[] {
  const out: FillEvent[] = new Array(flat.length / 7);
  const high = BigInt(market.id) << 48n;
  for (let i = 0, k = 0; i < flat.length; i += 7, k++) {
    const t = takerOf(flat[i + 1] as number);
    const ctr = flat[i] as number;
    out[k] = {
      market: market.id,
      fillCtr: ctr,
      fillId: high | BigInt(ctr),
      takerHash: t.hash,
      makerHash: flat[i + 2] as Hex,
      maker: flat[i + 3] as Address,
      taker: t.trader,
      takerIsBuy: t.side === "b",
      priceTicks: Number(flat[i + 4]),
      takerPriceTicks: t.ticks,
      lots: flat[i + 5] as number,
      makerRemainingLots: flat[i + 6] as number,
      makerFeeBps: market.makerFeeBps,
      takerFeeBps: market.takerFeeBps,
    };
  }
  return out;
}

/** Closes from a match.lua / cancel.lua reply (8 fields each). */
export function parseReplyCloses(market: Market, flat: readonly unknown[]): CloseEvent[] {
  const out: CloseEvent[] = [];
  for (let i = 0; i < flat.length; i += 8) {
    out.push({
      closeCtr: Number(flat[i]),
      market: market.id,
      orderHash: flat[i + 1] as Hex,
      trader: flat[i + 2] as Address,
      side: flat[i + 3] as "b" | "s",
      priceTicks: Number(flat[i + 4]),
      remainingLots: Number(flat[i + 5]),
      reason: CLOSE_REASONS[flat[i + 6] as string],
      fillCtr: Number(flat[i + 7]),
    });
  }
  return out;
}

type StreamEntry = [id: string, fields: string[]];

function fieldsOf(entry: StreamEntry): Record<string, string> {
  const f: Record<string, string> = {};
  for (let i = 0; i < entry[1].length; i += 2) f[entry[1][i]] = entry[1][i + 1];
  return f;
}

const PAGE = 1000;

async function readStream(redis: RedisClient, key: string, afterCtr: number, toCtr: number | undefined): Promise<StreamEntry[]> {
  const out: StreamEntry[] = [];
  let from = afterCtr + 1;
  for (;;) {
    if (toCtr !== undefined && from > toCtr) break;
    const page = (await redis.xrange(key, `${from}-0`, toCtr === undefined ? "+" : `${toCtr}-0`, "COUNT", PAGE)) as StreamEntry[];
    out.push(...page);
    if (page.length < PAGE) break;
    from = Number(page[page.length - 1][0].split("-")[0]) + 1;
  }
  return out;
}

/** Fills with counter in (afterCtr, toCtr] (toCtr undefined: to the end), from the stream. */
export async function readFills(redis: RedisClient, market: Market, afterCtr: number, toCtr?: number): Promise<FillEvent[]> {
  const entries = await readStream(redis, bookKeys(market.id).fills, afterCtr, toCtr);
  return entries.map((e) => {
    const f = fieldsOf(e);
    return {
      market: market.id,
      fillCtr: Number(e[0].split("-")[0]),
      fillId: BigInt(f.id),
      makerHash: f.m as Hex,
      takerHash: f.t as Hex,
      maker: f.mt as Address,
      taker: f.tt as Address,
      takerIsBuy: f.sd === "b",
      priceTicks: Number(f.px),
      takerPriceTicks: Number(f.tpx),
      lots: Number(f.l),
      makerFeeBps: Number(f.mf),
      takerFeeBps: Number(f.tf),
    };
  });
}

/** Closes with counter in (afterCtr, toCtr], from the stream. */
export async function readCloses(redis: RedisClient, market: Market, afterCtr: number, toCtr?: number): Promise<CloseEvent[]> {
  const entries = await readStream(redis, bookKeys(market.id).closed, afterCtr, toCtr);
  return entries.map((e) => {
    const f = fieldsOf(e);
    return {
      closeCtr: Number(e[0].split("-")[0]),
      market: market.id,
      orderHash: f.h as Hex,
      trader: f.t as Address,
      side: f.sd as "b" | "s",
      priceTicks: Number(f.px),
      remainingLots: Number(f.rem),
      reason: CLOSE_REASONS[f.why],
      fillCtr: Number(f.fc),
    };
  });
}

/**
 * The ledger operations of a market's journal entries, in causal order: each close after the
 * fills that preceded it. `fills` and `closes` must each be sorted by counter.
 */
export function journalLedgerOps(
  market: Market,
  fills: readonly FillEvent[],
  closes: readonly CloseEvent[],
  feeAccount: Address,
): { trader: Address; op: LedgerOp }[] {
  const out: { trader: Address; op: LedgerOp }[] = [];
  let f = 0;
  for (const c of closes) {
    while (f < fills.length && fills[f].fillCtr <= c.fillCtr) out.push(...fillLedgerOps(market, fills[f++], feeAccount));
    out.push({ trader: c.trader, op: { op: "close", orderHash: c.orderHash, remainingLots: c.remainingLots, lockToken: c.side === "b" ? market.quoteToken : market.baseToken } });
  }
  while (f < fills.length) out.push(...fillLedgerOps(market, fills[f++], feeAccount));
  return out;
}

/** The public view of a fill. */
export function fillView(market: Market, f: FillEvent): Fill {
  const a = fillAmounts(market, f);
  return {
    fillId: f.fillId,
    market: market.id,
    makerHash: f.makerHash,
    takerHash: f.takerHash,
    maker: f.maker,
    taker: f.taker,
    takerIsBuy: f.takerIsBuy,
    price: BigInt(f.priceTicks) * market.tickSize,
    amount: a.base,
    quoteAmount: a.quote,
    makerFeeBps: f.makerFeeBps,
    takerFeeBps: f.takerFeeBps,
    makerFee: a.makerFee,
    takerFee: a.takerFee,
  };
}

