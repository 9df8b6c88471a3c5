/**
 * The one check of an order against its market's rules: the tokens, the flags, price on a
 * tick and within the market's maximum, amount on a lot and within its minimum and maximum,
 * fee caps that cover the market's fees in every role the order can play, and an expiry in
 * the future. Order intake (operator/api) and the matching engine both run it, so the codes a
 * client sees are the same wherever an order is refused; they are the public codes of the API
 * (operator/orders/errors.ts ORDER_ERROR_HTTP_STATUS).
 *
 * On success: the order in the market's integer units and what placing it locks.
 */
import { KNOWN_ORDER_FLAGS, OrderFlags, type Address, type Order } from "../orders";
import type { Market } from "./types";

export type MarketRejectCode =
  | "MARKET_MISMATCH"
  | "FLAGS_UNKNOWN"
  | "FLAGS_CONFLICT"
  | "PRICE_ZERO"
  | "PRICE_OFF_TICK"
  | "PRICE_ABOVE_MAX"
  | "AMOUNT_ZERO"
  | "AMOUNT_OFF_LOT"
  | "AMOUNT_BELOW_MIN"
  | "AMOUNT_ABOVE_MAX"
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
  /** `field`: the order field at fault (e.g. "order.price"), and the limit it broke. */
  details: Record<string, unknown>;
}

export type MarketOrderCheck = ({ ok: true } & MarketOrder) | MarketReject;

function reject(code: MarketRejectCode, message: string, field: string, details: Record<string, unknown> = {}): MarketReject {
  return { ok: false, code, message, details: { field, ...details } };
}

/**
 * @param nowSec the caller's clock, unix seconds; an order with expiry <= nowSec + expiryMarginSec
 *   is refused: the contract settles while block.timestamp <= expiry, so an order expiring this
 *   very second cannot be matched and settled in a later block.
 */
export function checkOrderForMarket(market: Market, order: Order, nowSec: number, expiryMarginSec = 0): MarketOrderCheck {
  if (order.baseToken.toLowerCase() !== market.baseToken || order.quoteToken.toLowerCase() !== market.quoteToken) {
    return reject("MARKET_MISMATCH", `the order's tokens are not those of ${market.symbol}`, "order.baseToken", { market: market.symbol });
  }
  if ((order.flags & ~KNOWN_ORDER_FLAGS) !== 0) {
    return reject("FLAGS_UNKNOWN", `flags has unknown bits: ${order.flags} (known: PostOnly=1, IOC=2)`, "order.flags");
  }
  if (order.flags === (OrderFlags.PostOnly | OrderFlags.IOC)) {
    return reject("FLAGS_CONFLICT", "an order cannot be both PostOnly and IOC: it could never trade", "order.flags");
  }
  const units = orderUnits(market, order);
  if (!units.ok) return units;
  const { priceTicks, lots } = units;
  // An IOC order never rests, so its maker cap never applies; a PostOnly order never takes.
  if ((order.flags & OrderFlags.IOC) === 0 && order.maxMakerFeeBps < market.makerFeeBps) {
    return reject("FEE_CAP_TOO_LOW", `maxMakerFeeBps ${order.maxMakerFeeBps} is below the market's maker fee ${market.makerFeeBps}`, "order.maxMakerFeeBps", {
      makerFeeBps: market.makerFeeBps,
    });
  }
  if ((order.flags & OrderFlags.PostOnly) === 0 && order.maxTakerFeeBps < market.takerFeeBps) {
    return reject("FEE_CAP_TOO_LOW", `maxTakerFeeBps ${order.maxTakerFeeBps} is below the market's taker fee ${market.takerFeeBps}`, "order.maxTakerFeeBps", {
      takerFeeBps: market.takerFeeBps,
    });
  }
  if (order.expiry <= BigInt(nowSec + expiryMarginSec)) {
    return reject("ORDER_EXPIRED", `the order expired at ${order.expiry} (now ${nowSec})`, "order.expiry", { expiry: order.expiry, now: nowSec });
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
export function orderUnits(market: Market, order: Pick<Order, "price" | "amount">): { ok: true; priceTicks: number; lots: number } | MarketReject {
  if (order.price <= 0n) return reject("PRICE_ZERO", "price must be above zero", "order.price");
  if (order.price % market.tickSize !== 0n) {
    return reject("PRICE_OFF_TICK", `price ${order.price} is not a multiple of the tick size ${market.tickSize}`, "order.price", { tickSize: market.tickSize });
  }
  const ticks = order.price / market.tickSize;
  if (ticks > BigInt(market.maxPriceTicks)) {
    const maxPrice = BigInt(market.maxPriceTicks) * market.tickSize;
    return reject("PRICE_ABOVE_MAX", `price ${order.price} is above the market's maximum ${maxPrice}`, "order.price", { maxPrice });
  }
  if (order.amount <= 0n) return reject("AMOUNT_ZERO", "amount must be above zero", "order.amount");
  if (order.amount % market.lotSize !== 0n) {
    return reject("AMOUNT_OFF_LOT", `amount ${order.amount} is not a multiple of the lot size ${market.lotSize}`, "order.amount", { lotSize: market.lotSize });
  }
  const lots = order.amount / market.lotSize;
  if (lots < BigInt(market.minLots)) {
    const minAmount = BigInt(market.minLots) * market.lotSize;
    return reject("AMOUNT_BELOW_MIN", `amount ${order.amount} is below the minimum ${minAmount}`, "order.amount", { minAmount });
  }
  if (lots > BigInt(market.maxLots)) {
    const maxAmount = BigInt(market.maxLots) * market.lotSize;
    return reject("AMOUNT_ABOVE_MAX", `amount ${order.amount} is above the market's maximum ${maxAmount}`, "order.amount", { maxAmount });
  }
  return { ok: true, priceTicks: Number(ticks), lots: Number(lots) };
}

/** Atoms of `lots` at `priceTicks`: base = lots * lotSize, quote = lots * priceTicks * quotePerLotTick. */
export function lotsToAtoms(market: Market, lots: number | bigint, priceTicks: number | bigint): { base: bigint; quote: bigint } {
  const l = BigInt(lots);
  return { base: l * market.lotSize, quote: l * BigInt(priceTicks) * market.quotePerLotTick };
}
