/**
 * The WebSocket feed's view of journal entries (operator/journal): fills as trades, in atoms.
 * The feed reads the journal as a best-effort consumer (./ticker.ts); the entries' layout and
 * decoding live in the journal, not here.
 */
import type { FillEntry } from "../../journal";
import type { Market } from "../../markets";
import type { Address, Hex } from "../../orders";
import { quoteAmount } from "../markets";

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

export function tradeOf(market: Market, f: FillEntry): TradeEvent {
  const price = BigInt(f.priceTicks) * market.tickSize;
  const amount = BigInt(f.lots) * market.lotSize;
  return {
    fillCtr: f.fillCtr,
    fillId: f.fillId,
    market: market.id,
    makerHash: f.makerHash,
    takerHash: f.takerHash,
    maker: f.maker,
    taker: f.taker,
    takerSide: f.takerIsBuy ? "buy" : "sell",
    price,
    amount,
    quoteAmount: quoteAmount(market, price, amount),
    ts: f.ts,
  };
}
