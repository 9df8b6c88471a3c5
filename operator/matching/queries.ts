/** Reads: an order, a book snapshot. They do not go through the engine's queue. */
import type { Address, Hex } from "../orders";
import type { MatchingEngine } from "./engine";
import { CLOSE_REASONS } from "./journal";
import { bookKeys } from "./keys";
import { SNAPSHOT_SCRIPT } from "./scripts";
import type { BookLevel, BookSnapshot, OrderView } from "./types";

const STATES: Record<string, OrderView["state"]> = { o: "open", f: "filled", c: "cancelled", t: "matching" };

/** The order as its market knows it, or null. Without `market`, every served market is searched. */
export async function queryOrder(engine: MatchingEngine, params: { orderHash: Hex; market?: number }): Promise<OrderView | null> {
  const hash = params.orderHash.toLowerCase();
  const markets = params.market === undefined ? engine.markets.all : [engine.markets.get(params.market)];
  const records = await Promise.all(markets.map((m) => engine.deps.redis.hget(bookKeys(m.id).orders, hash)));
  const i = records.findIndex((r) => r !== null);
  if (i === -1) return null;
  const m = markets[i];
  const [side, ticks, lots, rem, seq, flags, expiry, state, trader, recv, reason] = records[i]!.split("|");
  const view: OrderView = {
    orderHash: hash as Hex,
    market: m.id,
    trader: trader as Address,
    isBuy: side === "b",
    price: BigInt(ticks) * m.tickSize,
    amount: BigInt(lots) * m.lotSize,
    filledAmount: BigInt(Number(lots) - Number(rem)) * m.lotSize,
    remainingAmount: BigInt(rem) * m.lotSize,
    state: STATES[state],
    seq: Number(seq),
    receivedAt: Number(recv),
    expiry: Number(expiry),
    flags: Number(flags),
  };
  if (reason) view.closeReason = CLOSE_REASONS[reason];
  return view;
}

/** Aggregated price levels, best first, `depth` per side. */
export async function queryBook(engine: MatchingEngine, params: { market: number; depth?: number }): Promise<BookSnapshot> {
  const m = engine.markets.get(params.market);
  const k = bookKeys(m.id);
  const depth = Math.max(1, Math.min(1000, Math.floor(params.depth ?? 50)));
  const [bids, asks] = (await engine.scripts.call({ script: SNAPSHOT_SCRIPT, keys: [k.bids, k.asks, k.depth], args: [depth] })) as [string[], string[]];
  const levels = (flat: string[]): BookLevel[] => {
    const out: BookLevel[] = [];
    for (let i = 0; i < flat.length; i += 2) out.push({ price: BigInt(flat[i]) * m.tickSize, amount: BigInt(flat[i + 1]) * m.lotSize });
    return out;
  };
  return { market: m.id, bids: levels(bids), asks: levels(asks) };
}
