/** Reads: an order, a book snapshot. They do not go through the engine's queue. */
import { CLOSE_REASONS } from "../journal";
import type { Hex } from "../orders";
import type { EngineContext } from "./context";
import { bookKeys } from "./keys";
import { decodeOrderRecord } from "./record";
import { SNAPSHOT_SCRIPT } from "./scripts";
import type { BookLevel, BookSnapshot, OrderView } from "./types";

const STATES: Record<string, OrderView["state"]> = { o: "open", f: "filled", c: "cancelled", t: "matching" };

/** The order as its market knows it, or null. Without `market`, every served market is searched. */
export async function queryOrder(ctx: EngineContext, params: { orderHash: Hex; market?: number }): Promise<OrderView | null> {
  const hash = params.orderHash.toLowerCase();
  const markets = params.market === undefined ? ctx.markets.all : [ctx.markets.get(params.market)];
  const records = await Promise.all(markets.map((m) => ctx.deps.redis.hgetBuffer(bookKeys(m.id).orders, hash)));
  const i = records.findIndex((r) => r !== null);
  if (i === -1) return null;
  const m = markets[i];
  const r = decodeOrderRecord(records[i]!);
  const view: OrderView = {
    orderHash: hash as Hex,
    market: m.id,
    chainId: m.chainId,
    trader: r.trader,
    isBuy: r.side === "b",
    price: BigInt(r.ticks) * m.tickSize,
    amount: BigInt(r.lots) * m.lotSize,
    filledAmount: BigInt(r.lots - r.rem) * m.lotSize,
    remainingAmount: BigInt(r.rem) * m.lotSize,
    state: STATES[r.state],
    seq: r.seq,
    receivedAt: r.receivedAt,
    expiry: r.expiry,
    flags: r.flags,
  };
  if (r.reason) view.closeReason = CLOSE_REASONS[r.reason];
  return view;
}

/** Aggregated price levels, best first, `depth` per side. */
export async function queryBook(ctx: EngineContext, params: { market: number; depth?: number }): Promise<BookSnapshot> {
  const m = ctx.markets.get(params.market);
  const k = bookKeys(m.id);
  const depth = Math.max(1, Math.min(1000, Math.floor(params.depth ?? 50)));
  const [bids, asks] = (await ctx.scripts.call({ script: SNAPSHOT_SCRIPT, keys: [k.bids, k.asks, k.depth], args: [depth] })) as [string[], string[]];
  const levels = (flat: string[]): BookLevel[] => {
    const out: BookLevel[] = [];
    for (let i = 0; i < flat.length; i += 2) out.push({ price: BigInt(flat[i]) * m.tickSize, amount: BigInt(flat[i + 1]) * m.lotSize });
    return out;
  };
  return { market: m.id, bids: levels(bids), asks: levels(asks) };
}
