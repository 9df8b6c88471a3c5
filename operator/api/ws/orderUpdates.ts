/**
 * Order updates of the orders:<trader> channel, derived from a market's journal read
 * (operator/journal readJournal): "accepted" (accepted stream), "fill" (fills stream, maker and
 * taker side, with the fee this trader paid: `fee` in `feeToken`, at `feeBps`),
 * "cancelled" (closed stream: cancelled, IOC remainder, expired, self-trade, withdrawal; with
 * the reason, the journal's CloseReason as is: WITHDRAWAL needs no mapping).
 * Cancels of every API process and of the engine's sweeps are on the closed stream, so
 * they all reach the channel.
 *
 * Each update also carries the order's filled / remaining amounts and state as the ticker
 * reads them when it builds the message (one HGET per order involved): a later fill of the
 * same order in the same tick may already be counted. A fill's `status` is "filled" when it
 * is the order's last fill in the read and nothing remains, "partially_filled" otherwise.
 */
import type { JournalRead } from "../../journal";
import type { Market } from "../../markets";
import { getOrder, type MatchingEngine, type OrderView } from "../../matching";
import type { Address, Hex } from "../../orders";
import { tradeOf } from "./streams";

export type OrderUpdate = Record<string, unknown> & { event: "accepted" | "fill" | "cancelled" | "settlement"; orderHash: Hex };

interface Pending {
  trader: Address;
  orderHash: Hex;
  build(view: OrderView | null): OrderUpdate;
}

/** Appends to `out` (trader -> updates) the updates of `read` concerning `traders`, in causal order. */
export async function collectOrderUpdates(
  deps: { engine: MatchingEngine },
  params: { market: Market; read: JournalRead; traders: ReadonlySet<string>; out: Map<Address, OrderUpdate[]> },
): Promise<void> {
  const { market, read, traders } = params;
  const pending: Pending[] = [];
  const base = { market: market.id, symbol: market.symbol };
  const state = (v: OrderView | null) => (v === null ? {} : { filledAmount: v.filledAmount, remainingAmount: v.remainingAmount, state: v.state });

  for (const a of read.accepted) {
    if (!traders.has(a.trader)) continue;
    pending.push({
      trader: a.trader,
      orderHash: a.orderHash,
      build: (v) => ({
        event: "accepted",
        orderHash: a.orderHash,
        ...base,
        seq: a.seq,
        receivedAt: a.receivedAt,
        ...(v === null ? {} : { side: v.isBuy ? "buy" : "sell", price: v.price, amount: v.amount, flags: v.flags, expiry: v.expiry }),
        ...state(v),
      }),
    });
  }
  // The last fill of each order in this read, to tell "filled" from "partially_filled".
  const lastFill = new Map<string, number>();
  for (const t of read.fills) {
    lastFill.set(t.makerHash, t.fillCtr);
    lastFill.set(t.takerHash, t.fillCtr);
  }
  for (const fill of read.fills) {
    const t = tradeOf(market, fill);
    for (const [role, trader, orderHash] of [["maker", t.maker, t.makerHash], ["taker", t.taker, t.takerHash]] as const) {
      if (!traders.has(trader)) continue;
      const isBuy = (role === "taker") === t.takerIsBuy;
      pending.push({
        trader,
        orderHash,
        build: (v) => ({
          event: "fill",
          orderHash,
          ...base,
          role,
          status: v !== null && v.remainingAmount === 0n && lastFill.get(orderHash) === fill.fillCtr ? "filled" : "partially_filled",
          fillId: t.fillId,
          side: isBuy ? "buy" : "sell",
          price: t.price,
          amount: t.amount,
          quoteAmount: t.quoteAmount,
          // What this trader paid, in what it receives: base if it bought, quote if it sold.
          fee: role === "maker" ? t.makerFee : t.takerFee,
          feeBps: role === "maker" ? t.makerFeeBps : t.takerFeeBps,
          feeToken: isBuy ? market.baseToken : market.quoteToken,
          ts: t.ts,
          ...state(v),
        }),
      });
    }
  }
  for (const c of read.closes) {
    if (!traders.has(c.trader)) continue;
    pending.push({
      trader: c.trader,
      orderHash: c.orderHash,
      build: (v) => ({ event: "cancelled", orderHash: c.orderHash, ...base, reason: c.reason, ts: c.ts, ...state(v), remainingAmount: BigInt(c.remainingLots) * market.lotSize }),
    });
  }
  if (pending.length === 0) return;

  const hashes = [...new Set(pending.map((p) => p.orderHash))];
  const views = await Promise.all(hashes.map((orderHash) => getOrder(deps.engine, { orderHash, market: market.id })));
  const viewOf = new Map(hashes.map((h, i) => [h, views[i]]));
  for (const p of pending) {
    let list = params.out.get(p.trader);
    if (list === undefined) params.out.set(p.trader, (list = []));
    list.push(p.build(viewOf.get(p.orderHash) ?? null));
  }
}
