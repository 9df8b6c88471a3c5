/**
 * The WebSocket feed's view of journal fills (operator/journal): the one public fill shape,
 * the journal's `fillView` (atoms, fees, `takerIsBuy`, `ts`), exactly what POST /v1/orders
 * answers in `fills[]`. The feed reads the journal as a best-effort consumer (./ticker.ts); the
 * entries' layout and decoding live in the journal, not here.
 */
import { fillView, type Fill, type FillEntry } from "../../journal";
import type { Market } from "../../markets";

export type TradeEvent = Fill;

export function tradeOf(market: Market, f: FillEntry): TradeEvent {
  return fillView(market, f);
}
