/**
 * What a market requires of an order, checked in TypeScript before anything touches Redis:
 * the tokens, the flags, price on a tick, amount on a lot and within size bounds, fee caps
 * that cover the market's fees in every role the order can play, and an expiry in the future.
 * On success, the order in the market's integer units and what placing it locks.
 */
import { KNOWN_ORDER_FLAGS, OrderFlags, type Address, type Order } from "../orders";
import type { Market } from "./types";

export type MarketRejectCode =
  | "MARKET_MISMATCH"
  | "INVALID_FLAGS"
  | "OFF_TICK"
  | "OFF_LOT"
  | "BELOW_MIN_SIZE"
  | "PRICE_OUT_OF_RANGE"
  | "SIZE_OUT_OF_RANGE"
  | "FEE_CAP_TOO_LOW"
  | "ORDER_EXPIRED";

export interface MarketOrder {
  priceTicks: number;
  lots: number;
  /** The token the order locks: quote for a buy, base for a sell. */
  lockToken: Address;
  /** Exactly what it can spend: lots * priceTicks * quotePerLotTick quote, or lots * lotSize base. */
  lockAtoms: bigint;
  /** Lock per lot: each filled lot consumes exactly this much of the lock (see ledger). */
  lockPerLot: bigint;
}

export interface MarketReject {
  ok: false;
  code: MarketRejectCode;
  message: string;
  details: Record<string, unknown>;
}

export type MarketOrderCheck = ({ ok: true } & MarketOrder) | MarketReject;

function reject(code: MarketRejectCode, message: string, details: Record<string, unknown> = {}): MarketReject {
  return { ok: false, code, message, details };
}

/**
 * @param nowSec the caller's clock, unix seconds; an order with expiry < nowSec + expiryMarginSec
 *   is refused (it could expire before its fills settle).
 */
export function checkOrderForMarket(market: Market, order: Order, nowSec: number, expiryMarginSec = 0): MarketOrderCheck {
  if (order.baseToken.toLowerCase() !== market.baseToken || order.quoteToken.toLowerCase() !== market.quoteToken) {
    return reject("MARKET_MISMATCH", `the order's tokens are not those of ${market.symbol}`, { market: market.symbol });
  }
  if ((order.flags & ~KNOWN_ORDER_FLAGS) !== 0 || order.flags === (OrderFlags.PostOnly | OrderFlags.IOC)) {
    return reject("INVALID_FLAGS", "unknown flag bits, or post-only together with IOC", { flags: order.flags });
  }
  const units = orderUnits(market, order);
  if (!units.ok) return units;
  const { priceTicks, lots } = units;
  const canTake = (order.flags & OrderFlags.PostOnly) === 0;
  const canRest = (order.flags & OrderFlags.IOC) === 0;
  if ((canTake && order.maxTakerFeeBps < market.takerFeeBps) || (canRest && order.maxMakerFeeBps < market.makerFeeBps)) {
    return reject("FEE_CAP_TOO_LOW", "the order's fee caps are below the market's fees", {
      makerFeeBps: market.makerFeeBps,
      takerFeeBps: market.takerFeeBps,
    });
  }
  if (order.expiry < BigInt(nowSec + expiryMarginSec)) {
    return reject("ORDER_EXPIRED", "the order has expired", { expiry: order.expiry, now: nowSec });
  }
  const lockPerLot = order.isBuy ? BigInt(priceTicks) * market.quotePerLotTick : market.lotSize;
  return {
    ok: true,
    priceTicks,
    lots,
    lockToken: order.isBuy ? market.quoteToken : market.baseToken,
    lockAtoms: BigInt(lots) * lockPerLot,
    lockPerLot,
  };
}

/**
 * The order's price in ticks and amount in lots, both exact and within the market's bounds
 * (at most 2^53 - 1: safe as numbers, and as Lua integers); else the reason. Part of
 * checkOrderForMarket; recovery uses it alone on orders read back from Redis.
 */
export function orderUnits(
  market: Market,
  order: Pick<Order, "price" | "amount">,
): { ok: true; priceTicks: number; lots: number } | MarketReject {
  if (order.price <= 0n || order.price % market.tickSize !== 0n) {
    return reject("OFF_TICK", "price is not a positive multiple of the tick size", { price: order.price, tickSize: market.tickSize });
  }
  const ticks = order.price / market.tickSize;
  if (ticks > BigInt(market.maxPriceTicks)) {
    return reject("PRICE_OUT_OF_RANGE", "price is above the market's maximum", { price: order.price, maxPrice: BigInt(market.maxPriceTicks) * market.tickSize });
  }
  if (order.amount <= 0n || order.amount % market.lotSize !== 0n) {
    return reject("OFF_LOT", "amount is not a positive multiple of the lot size", { amount: order.amount, lotSize: market.lotSize });
  }
  const lots = order.amount / market.lotSize;
  if (lots < BigInt(market.minLots)) {
    return reject("BELOW_MIN_SIZE", "amount is below the market's minimum", { amount: order.amount, minAmount: BigInt(market.minLots) * market.lotSize });
  }
  if (lots > BigInt(market.maxLots)) {
    return reject("SIZE_OUT_OF_RANGE", "amount is above the market's maximum", { amount: order.amount, maxAmount: BigInt(market.maxLots) * market.lotSize });
  }
  return { ok: true, priceTicks: Number(ticks), lots: Number(lots) };
}

/** Atoms of `lots` at `priceTicks`: base = lots * lotSize, quote = lots * priceTicks * quotePerLotTick. */
export function lotsToAtoms(market: Market, lots: number | bigint, priceTicks: number | bigint): { base: bigint; quote: bigint } {
  const l = BigInt(lots);
  return { base: l * market.lotSize, quote: l * BigInt(priceTicks) * market.quotePerLotTick };
}
