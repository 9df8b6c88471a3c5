/**
 * Parses and validates market configurations. A market is refused unless
 *  - lotSize * tickSize is divisible by 10^baseDecimals (fills never round), and
 *  - every integer Lua will handle (price ticks, lots, counters) stays below 2^53, and every
 *    order amount and price fits the contract's uint128 bounds.
 */
import { z } from "zod";
import { UINT128_MAX, type Address } from "../orders";
import { MarketConfigError } from "./errors";
import type { Market, MarketConfig } from "./types";

/** Fill ids are (marketId << 48) | counter and must fit a uint64: 16 bits of market id. */
export const MAX_MARKET_ID = 0xffff;
/** Lua numbers are exact below 2^53. */
export const MAX_LUA_INTEGER = Number.MAX_SAFE_INTEGER;
export const DEFAULT_MAX_PRICE_TICKS = 1_000_000_000_000;
export const DEFAULT_MAX_LOTS = 1_000_000_000_000;
export const MAX_FEE_BPS = 10_000;
const MAX_DECIMALS = 36;

const atoms = z.union([z.bigint(), z.string().regex(/^(0|[1-9][0-9]{0,77})$/).transform((s) => BigInt(s))]);
const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/)
  .transform((s) => s.toLowerCase() as Address);
const int = (min: number, max: number) => z.number().int().min(min).max(max);

const marketConfigSchema = z
  .object({
    id: int(0, MAX_MARKET_ID),
    symbol: z.string().regex(/^[A-Za-z0-9.]{1,16}-[A-Za-z0-9.]{1,16}$/),
    baseToken: address,
    quoteToken: address,
    baseDecimals: int(0, MAX_DECIMALS),
    tickSize: atoms,
    lotSize: atoms,
    minLots: int(1, MAX_LUA_INTEGER),
    makerFeeBps: int(0, MAX_FEE_BPS),
    takerFeeBps: int(0, MAX_FEE_BPS),
    maxPriceTicks: int(1, MAX_LUA_INTEGER).optional(),
    maxLots: int(1, MAX_LUA_INTEGER).optional(),
  })
  .strict();

export type MarketConfigInput = z.input<typeof marketConfigSchema>;

/** Validates one market configuration (bigints may be given as decimal strings). */
export function parseMarketConfig(input: MarketConfigInput | MarketConfig | unknown): Market {
  const parsed = marketConfigSchema.safeParse(input);
  if (!parsed.success) {
    throw new MarketConfigError("MARKET_CONFIG_INVALID", "market configuration is invalid", {
      details: { issues: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`) },
    });
  }
  const c = parsed.data;
  const details = { market: c.symbol, id: c.id };
  if (c.baseToken === c.quoteToken) {
    throw new MarketConfigError("MARKET_CONFIG_INVALID", "base and quote token are the same", { details });
  }
  if (c.tickSize <= 0n || c.lotSize <= 0n) {
    throw new MarketConfigError("MARKET_CONFIG_INVALID", "tickSize and lotSize must be positive", { details });
  }
  const scale = 10n ** BigInt(c.baseDecimals);
  const lotTick = c.lotSize * c.tickSize;
  if (lotTick % scale !== 0n) {
    throw new MarketConfigError(
      "MARKET_INEXACT",
      "lotSize * tickSize is not divisible by 10^baseDecimals: fills would round",
      { details: { ...details, lotSize: c.lotSize, tickSize: c.tickSize, baseDecimals: c.baseDecimals } },
    );
  }
  const maxPriceTicks = c.maxPriceTicks ?? DEFAULT_MAX_PRICE_TICKS;
  const maxLots = c.maxLots ?? DEFAULT_MAX_LOTS;
  if (c.minLots > maxLots) {
    throw new MarketConfigError("MARKET_OUT_OF_RANGE", "minLots is above maxLots", { details: { ...details, minLots: c.minLots, maxLots } });
  }
  // The contract refuses prices and amounts above 2^128 - 1 (SkipReason.OrderOutOfRange).
  if (BigInt(maxPriceTicks) * c.tickSize > UINT128_MAX || BigInt(maxLots) * c.lotSize > UINT128_MAX) {
    throw new MarketConfigError("MARKET_OUT_OF_RANGE", "maxPriceTicks or maxLots exceed the uint128 bounds of the contract", {
      details: { ...details, maxPriceTicks, maxLots },
    });
  }
  return Object.freeze({
    id: c.id,
    symbol: c.symbol,
    baseToken: c.baseToken,
    quoteToken: c.quoteToken,
    baseDecimals: c.baseDecimals,
    tickSize: c.tickSize,
    lotSize: c.lotSize,
    minLots: c.minLots,
    makerFeeBps: c.makerFeeBps,
    takerFeeBps: c.takerFeeBps,
    maxPriceTicks,
    maxLots,
    scale,
    quotePerLotTick: lotTick / scale,
  });
}

/** The configuration a market was built from (bigints kept), e.g. to store or compare it. */
export function marketToConfig(market: Market): Required<MarketConfig> {
  return {
    id: market.id,
    symbol: market.symbol,
    baseToken: market.baseToken,
    quoteToken: market.quoteToken,
    baseDecimals: market.baseDecimals,
    tickSize: market.tickSize,
    lotSize: market.lotSize,
    minLots: market.minLots,
    makerFeeBps: market.makerFeeBps,
    takerFeeBps: market.takerFeeBps,
    maxPriceTicks: market.maxPriceTicks,
    maxLots: market.maxLots,
  };
}

/** Canonical JSON of a market's configuration (bigints as decimal strings, fixed key order). */
export function marketConfigJson(market: Market): string {
  const c = marketToConfig(market);
  return JSON.stringify({ ...c, tickSize: c.tickSize.toString(), lotSize: c.lotSize.toString() });
}
