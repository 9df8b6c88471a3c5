/**
 * Reads a market's journal streams, written by the engine's scripts (operator/matching/keys.ts):
 *
 *   fills     "<fill counter>-0": id fillId (0x hex), m makerHash, t takerHash, mt maker, tt taker,
 *             sd taker side (b|s), px price ticks (maker's), tpx, l lots, mf, tf, ts ms
 *   accepted  "<seq>-0": h orderHash, t trader, ra receivedAt ms
 *   closed    "<close counter>-0": h, t, sd, px, rem lots, why (C|I|E|S), fc fill counter, ts ms
 *
 * with one XREAD per market (its three streams share the {m:<id>} slot) from a cursor kept by
 * the reader, so any number of API processes can follow the same Redis. Stream ids are the
 * counters, so a cursor is three integers.
 */
import type { MarketSettings } from "../../config";
import { bookKeys } from "../../matching";
import type { Address, Hex } from "../../orders";
import type { RedisClient } from "../../redis";
import { quoteAmount } from "../markets";

export interface StreamCursor {
  fill: number;
  accepted: number;
  close: number;
}

export interface TradeEvent {
  fillCtr: number;
  fillId: bigint;
  market: number;
  makerHash: Hex;
  takerHash: Hex;
  maker: Address;
  taker: Address;
  takerSide: "buy" | "sell";
  price: bigint;
  amount: bigint;
  quoteAmount: bigint;
  ts: number;
}

export interface AcceptedEvent {
  seq: number;
  market: number;
  orderHash: Hex;
  trader: Address;
  receivedAt: number;
}

export type CloseReasonName = "CANCELLED" | "IOC_REMAINDER" | "EXPIRED" | "SELF_TRADE";

export interface CloseEvent {
  closeCtr: number;
  market: number;
  orderHash: Hex;
  trader: Address;
  reason: CloseReasonName;
  remainingAmount: bigint;
  fillCtr: number;
  ts: number;
}

export interface MarketRead {
  trades: TradeEvent[];
  accepted: AcceptedEvent[];
  closes: CloseEvent[];
  next: StreamCursor;
}

/** The `why` letters of the closed stream (operator/matching/lua/book.lua). */
const CLOSE_REASONS: Record<string, CloseReasonName> = { C: "CANCELLED", I: "IOC_REMAINDER", E: "EXPIRED", S: "SELF_TRADE" };

type Entry = [id: string, fields: string[]];

const counterOf = (id: string): number => Number(id.slice(0, id.indexOf("-")));

/** The cursor at the streams' current ends: a reader starting here sees only what comes next. */
export async function tailCursor(redis: RedisClient, marketId: number): Promise<StreamCursor> {
  const k = bookKeys(marketId);
  const last = async (key: string): Promise<number> => {
    const entries = (await redis.xrevrange(key, "+", "-", "COUNT", 1)) as Entry[];
    return entries.length === 0 ? 0 : counterOf(entries[0][0]);
  };
  const [fill, accepted, close] = await Promise.all([last(k.fills), last(k.accepted), last(k.closed)]);
  return { fill, accepted, close };
}

/**
 * At most `count` entries of each stream after `cursor`. A close is delivered only after the
 * fills that preceded it (its fill counter is within what was read), so a capped read never
 * reports an order cancelled before its fills; the rest waits for the next read.
 */
export async function readMarket(redis: RedisClient, market: MarketSettings, cursor: StreamCursor, count: number): Promise<MarketRead> {
  const k = bookKeys(market.id);
  const reply = (await redis.xread(
    "COUNT",
    count,
    "STREAMS",
    k.fills,
    k.accepted,
    k.closed,
    `${cursor.fill}-0`,
    `${cursor.accepted}-0`,
    `${cursor.close}-0`,
  )) as [string, Entry[]][] | null;
  const byKey = new Map<string, Entry[]>(reply ?? []);
  const next = { ...cursor };

  const trades = (byKey.get(k.fills) ?? []).map((e) => {
    const f = fields(e);
    const price = BigInt(f.px) * market.tickSize;
    const amount = BigInt(f.l) * market.lotSize;
    next.fill = counterOf(e[0]);
    return {
      fillCtr: next.fill,
      fillId: BigInt(f.id),
      market: market.id,
      makerHash: f.m as Hex,
      takerHash: f.t as Hex,
      maker: f.mt as Address,
      taker: f.tt as Address,
      takerSide: f.sd === "b" ? "buy" : "sell",
      price,
      amount,
      quoteAmount: quoteAmount(market, price, amount),
      ts: Number(f.ts),
    } satisfies TradeEvent;
  });

  const accepted = (byKey.get(k.accepted) ?? []).map((e) => {
    const f = fields(e);
    next.accepted = counterOf(e[0]);
    return { seq: next.accepted, market: market.id, orderHash: f.h as Hex, trader: f.t as Address, receivedAt: Number(f.ra) } satisfies AcceptedEvent;
  });

  const closes: CloseEvent[] = [];
  for (const e of byKey.get(k.closed) ?? []) {
    const f = fields(e);
    if (Number(f.fc) > next.fill) break; // its fills are not read yet
    next.close = counterOf(e[0]);
    closes.push({
      closeCtr: next.close,
      market: market.id,
      orderHash: f.h as Hex,
      trader: f.t as Address,
      reason: CLOSE_REASONS[f.why] ?? "CANCELLED",
      remainingAmount: BigInt(f.rem) * market.lotSize,
      fillCtr: Number(f.fc),
      ts: Number(f.ts),
    });
  }
  return { trades, accepted, closes, next };
}

function fields(entry: Entry): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < entry[1].length; i += 2) out[entry[1][i]] = entry[1][i + 1];
  return out;
}
