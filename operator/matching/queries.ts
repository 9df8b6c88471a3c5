/**
 * Reads: an order, a book snapshot. They do not go through the engine's queue. A Redis that
 * does not answer is EngineError ENGINE_UNAVAILABLE (nothing was read).
 */
import { CLOSE_REASONS } from "../journal";
import { BaseError } from "../errors";
import type { Market } from "../markets/types";
import type { Hex } from "../orders";
import type { EngineContext } from "./context";
import { EngineError } from "./errors";
import { decodeOrderPayload } from "./payload";
import { bookKeys } from "./keys";
import { decodeOrderRecord } from "./record";
import { SNAPSHOT_SCRIPT } from "./scripts";
import type { BookLevel, BookSnapshot, OrderView } from "./types";

const STATES: Record<string, OrderView["state"]> = { o: "open", f: "filled", c: "cancelled", t: "matching" };

/**
 * The order as its market knows it, or null. Without `market`, every served market is searched.
 * An order received but not processed yet (in its market's inbox: a batch in flight, or one
 * whose outcome a Redis failure left unknown until the engine resynchronises) is "pending".
 */
export async function queryOrder(ctx: EngineContext, params: { orderHash: Hex; market?: number }): Promise<OrderView | null> {
  const hash = params.orderHash.toLowerCase();
  const markets = params.market === undefined ? ctx.markets.all : [ctx.markets.get(params.market)];
  const records = await unavailableOnFailure(Promise.all(markets.map((m) => ctx.deps.redis.hgetBuffer(bookKeys(m.id).orders, hash))));
  const i = records.findIndex((r) => r !== null);
  if (i === -1) return pendingOrder(ctx, markets, hash as Hex);
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
  const [bids, asks] = (await unavailableOnFailure(ctx.scripts.call({ script: SNAPSHOT_SCRIPT, keys: [k.bids, k.asks, k.depth], args: [depth] }))) as [string[], string[]];
  const levels = (flat: string[]): BookLevel[] => {
    const out: BookLevel[] = [];
    for (let i = 0; i < flat.length; i += 2) out.push({ price: BigInt(flat[i]) * m.tickSize, amount: BigInt(flat[i + 1]) * m.lotSize });
    return out;
  };
  return { market: m.id, bids: levels(bids), asks: levels(asks) };
}

/** An order waiting in its market's inbox (received, not processed yet), or null. */
async function pendingOrder(ctx: EngineContext, markets: readonly Market[], hash: Hex): Promise<OrderView | null> {
  const found = await unavailableOnFailure(
    Promise.all(markets.map(async (m) => ((await ctx.deps.redis.sismember(bookKeys(m.id).inbox, hash)) === 1 ? ctx.deps.redis.hget(bookKeys(m.id).payloads, hash) : null))),
  );
  const i = found.findIndex((p) => p !== null);
  if (i === -1) return null;
  const m = markets[i];
  const p = decodeOrderPayload(found[i]!);
  return {
    orderHash: hash,
    market: m.id,
    chainId: m.chainId,
    trader: p.order.trader,
    isBuy: p.order.isBuy,
    price: p.order.price,
    amount: p.order.amount,
    filledAmount: 0n,
    remainingAmount: p.order.amount,
    state: "pending",
    seq: 0,
    receivedAt: p.receivedAt,
    expiry: Number(p.order.expiry > BigInt(Number.MAX_SAFE_INTEGER) ? BigInt(Number.MAX_SAFE_INTEGER) : p.order.expiry),
    flags: p.order.flags,
  };
}

/** A read Redis did not answer: ENGINE_UNAVAILABLE (503), not an internal error. */
async function unavailableOnFailure<T>(read: Promise<T>): Promise<T> {
  try {
    return await read;
  } catch (error) {
    if (error instanceof BaseError) throw error;
    throw new EngineError("ENGINE_UNAVAILABLE", "Redis does not answer; retry later", { cause: error });
  }
}
