/**
 * A WebSocket client watching the market as a trading screen would: the public book and trades
 * channels, and the private orders channels of a few traders (each subscription signed by its
 * trader), where a trader learns of its fills, of its orders cancelled (by itself, or to fund
 * its withdrawal: reason WITHDRAWAL) and of each fill's settlement on chain.
 */
import WebSocket from "ws";
import type { Address } from "../../operator/orders";
import type { DemoTrader } from "./trader";

export interface OrderUpdateSeen {
  event: string;
  orderHash: string;
  reason?: string;
  status?: string;
}

export class MarketWatch {
  readonly seen = { book: 0, trades: 0, tradeCount: 0, errors: [] as string[] };
  /** Order updates per trader (lower-case address). */
  readonly updates = new Map<Address, OrderUpdateSeen[]>();
  /** The last book snapshot. */
  lastBook: { bids: { price: string; amount: string }[]; asks: { price: string; amount: string }[] } | undefined;
  private constructor(private readonly ws: WebSocket) {}

  static async open(apiUrl: string, market: string, traders: readonly DemoTrader[]): Promise<MarketWatch> {
    const ws = new WebSocket(`${apiUrl.replace(/^http/, "ws")}/v1/ws`);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    const watch = new MarketWatch(ws);
    const acks = new Map<string, () => void>();
    ws.on("message", (data) => {
      const msg = JSON.parse(String(data));
      if (msg.type === "subscribed") acks.get(msg.channel)?.();
      else if (msg.type === "error") watch.seen.errors.push(`${msg.error?.code}: ${msg.error?.message}`);
      else if (msg.type === "book") {
        watch.seen.book++;
        watch.lastBook = { bids: msg.bids, asks: msg.asks };
      } else if (msg.type === "trades") {
        watch.seen.trades++;
        watch.seen.tradeCount += Array.isArray(msg.trades) ? msg.trades.length : 0;
      } else if (msg.type === "orders") {
        const list = watch.updates.get(msg.trader) ?? [];
        list.push(...msg.updates);
        watch.updates.set(msg.trader, list);
      }
    });
    const subscribe = async (channel: string, auth?: unknown): Promise<void> => {
      const acked = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ack for the WebSocket subscription ${channel}: ${watch.seen.errors.join("; ")}`)), 5_000);
        acks.set(channel, () => {
          clearTimeout(timer);
          resolve();
        });
      });
      ws.send(JSON.stringify({ op: "subscribe", channel, ...(auth === undefined ? {} : { auth }) }));
      await acked;
    };
    await subscribe(`book:${market}`);
    await subscribe(`trades:${market}`);
    for (const t of traders) await subscribe(`orders:${t.address.toLowerCase()}`, t.subscribeAuth());
    return watch;
  }

  updatesOf(trader: Address): OrderUpdateSeen[] {
    return this.updates.get(trader.toLowerCase() as Address) ?? [];
  }

  close(): void {
    this.ws.close();
  }
}
