/**
 * The public view of a journal fill: atoms instead of ticks and lots, with fees and time. The
 * one shape of a fill in the API: the engine's placement results (POST /v1/orders `fills[]`)
 * and the WebSocket trades carry it as is.
 */
import { fillAmounts } from "../ledger/fillOps";
import type { Market } from "../markets/types";
import type { Address, Hex } from "../orders";
import type { FillEntry } from "./entries";

export interface Fill {
  /** (market << 48) | per-market counter: unique, uint64; the id settlement uses on chain. */
  fillId: bigint;
  market: number;
  makerHash: Hex;
  takerHash: Hex;
  maker: Address;
  taker: Address;
  takerIsBuy: boolean;
  /** Execution price (the maker's), quote atoms per 10^baseDecimals base atoms. */
  price: bigint;
  /** Base atoms traded. */
  amount: bigint;
  /** Quote atoms traded: amount * price / 10^baseDecimals, exact. */
  quoteAmount: bigint;
  makerFeeBps: number;
  takerFeeBps: number;
  /** Fee paid by the maker, in what it receives (base if it bought, quote if it sold). */
  makerFee: bigint;
  takerFee: bigint;
  /** When the engine matched it: unix ms, the engine's clock. */
  ts: number;
}

export function fillView(market: Market, f: FillEntry): Fill {
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
    ts: f.ts,
  };
}
