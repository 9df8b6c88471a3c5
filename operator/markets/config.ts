/**
 * The one definition of a market configuration: its schema (every field, its check, a message
 * a person can act on), and the Market it becomes. The operator's configuration
 * (HYPERINDEX_MARKETS, operator/config) and every programmatic caller (tests, benchmarks,
 * the admin tool) go through it, so a market is checked one way only.
 *
 * A market is refused unless
 *  - lotSize * tickSize is divisible by 10^baseDecimals (fills never round),
 *  - every integer Lua will handle (price ticks, lots) stays below 2^53, and every order
 *    amount and price fits the contract's uint128 bounds,
 *  - it names a chain (chainId; the configuration fills it in when it serves only one).
 */
import { z } from "zod";
import { toChecksumAddress, UINT128_MAX, type Address } from "../orders";
import { MarketConfigError } from "./errors";
import type { Market, MarketConfig } from "./types";

/** Fill ids are (marketId << 48) | counter and must fit a uint64: 16 bits of market id. */
export const MAX_MARKET_ID = 0xffff;
/** Lua numbers are exact below 2^53. */
export const MAX_LUA_INTEGER = Number.MAX_SAFE_INTEGER;
export const DEFAULT_MAX_PRICE_TICKS = 1_000_000_000_000;
export const DEFAULT_MAX_LOTS = 1_000_000_000_000;
export const MAX_FEE_BPS = 10_000;
/** The contract refuses tokens with more decimals (SettlementUnsupportedDecimals). */
const MAX_DECIMALS = 36;

/** A market configuration as given: JSON (amounts as decimal strings) or code (bigints). */
export type MarketConfigInput = Omit<MarketConfig, "tickSize" | "lotSize" | "chainId"> & {
  tickSize: bigint | string;
  lotSize: bigint | string;
  chainId?: number;
};

/** One thing wrong with a market configuration: the field's path and what is wrong. */
export interface MarketConfigIssue {
  path: (string | number)[];
  message: string;
}

function custom(ctx: z.RefinementCtx, message: string): never {
  ctx.addIssue({ code: z.ZodIssueCode.custom, message });
  return z.NEVER;
}

/** A short, safe rendering of a value for an error message. */
export function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (typeof value === "number" || typeof value === "boolean" || value === null) return String(value);
  if (typeof value === "bigint") return `${value}n`;
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : typeof value;
}

const atoms = (what: string) =>
  z.unknown().transform((value, ctx): bigint => {
    if (typeof value === "bigint") return value > 0n ? value : custom(ctx, `expected ${what} above zero, got ${value}`);
    if (typeof value !== "string" || !/^(?:0|[1-9][0-9]{0,76})$/.test(value)) {
      return custom(ctx, `expected ${what} as a decimal string (e.g. "1000"), got ${show(value)}`);
    }
    const n = BigInt(value);
    return n > 0n ? n : custom(ctx, `expected ${what} above zero, got "0"`);
  });

const integer = (min: number, max: number) =>
  z.unknown().transform((value, ctx): number => {
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      return custom(ctx, `expected an integer from ${min} to ${max}, got ${show(value)}`);
    }
    return value;
  });

/** An address: 0x + 40 hex digits, mixed case only with a correct EIP-55 checksum; lower-cased. */
export const addressSchema = (what: string) =>
  z.unknown().transform((value, ctx): Address => {
    if (typeof value !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(value)) {
      return custom(ctx, `expected an address (0x + 40 hex digits), got ${show(value)}`);
    }
    const lower = value.toLowerCase() as Address;
    const body = value.slice(2);
    if (body !== body.toLowerCase() && body !== body.toUpperCase() && toChecksumAddress(lower) !== value) {
      return custom(ctx, `wrong EIP-55 checksum: ${value}`);
    }
    if (/^0x0{40}$/.test(lower)) return custom(ctx, `expected ${what}, got the zero address`);
    return lower;
  });

const marketObject = z
  .object({
    id: integer(0, MAX_MARKET_ID),
    symbol: z.unknown().transform((value, ctx): string => {
      if (typeof value !== "string" || !/^[A-Za-z0-9.]{1,16}-[A-Za-z0-9.]{1,16}$/.test(value)) {
        return custom(ctx, `expected BASE-QUOTE (e.g. "HYPE-USDC"), got ${show(value)}`);
      }
      return value;
    }),
    chainId: integer(1, MAX_LUA_INTEGER).optional(),
    baseToken: addressSchema("a token address"),
    quoteToken: addressSchema("a token address"),
    baseDecimals: integer(0, MAX_DECIMALS),
    tickSize: atoms("the tick size"),
    lotSize: atoms("the lot size"),
    minLots: integer(1, MAX_LUA_INTEGER),
    makerFeeBps: integer(0, MAX_FEE_BPS),
    takerFeeBps: integer(0, MAX_FEE_BPS),
    maxPriceTicks: integer(1, MAX_LUA_INTEGER).optional(),
    maxLots: integer(1, MAX_LUA_INTEGER).optional(),
  })
  .strict();

type ParsedMarket = z.output<typeof marketObject>;

function isComplete(m: { [K in keyof ParsedMarket]?: unknown }): m is ParsedMarket {
  return (
    typeof m.id === "number" &&
    typeof m.symbol === "string" &&
    typeof m.baseToken === "string" &&
    typeof m.quoteToken === "string" &&
    typeof m.baseDecimals === "number" &&
    typeof m.tickSize === "bigint" &&
    typeof m.lotSize === "bigint" &&
    typeof m.minLots === "number" &&
    typeof m.makerFeeBps === "number" &&
    typeof m.takerFeeBps === "number" &&
    (m.maxPriceTicks === undefined || typeof m.maxPriceTicks === "number") &&
    (m.maxLots === undefined || typeof m.maxLots === "number")
  );
}

/** Which MarketConfigError code an issue's message stands for (programmatic callers switch on it). */
type Coded = { code: "MARKET_INEXACT" | "MARKET_OUT_OF_RANGE" };

const marketSchema = marketObject.superRefine((m, ctx) => {
  // Zod runs refinements over partly invalid objects too; those issues are reported already.
  if (!isComplete(m)) return;
  const add = (path: string, message: string, params?: Coded) =>
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: [path], message: `market ${m.symbol}: ${message}`, params });
  if (m.baseToken === m.quoteToken) add("quoteToken", "quote token equals base token");
  // A fill of any whole number of lots at any whole number of ticks must be a whole number of
  // quote atoms: quote = price * amount / 10^baseDecimals, with price = k * tickSize and
  // amount = j * lotSize. That holds for every j, k iff 10^baseDecimals divides
  // tickSize * lotSize.
  const scale = 10n ** BigInt(m.baseDecimals);
  if ((m.tickSize * m.lotSize) % scale !== 0n) {
    add(
      "lotSize",
      `lotSize x tickSize = ${m.tickSize * m.lotSize} is not a multiple of 10^${m.baseDecimals}; fills would round. Raise the lot or the tick size`,
      { code: "MARKET_INEXACT" },
    );
  }
  const maxPriceTicks = m.maxPriceTicks ?? DEFAULT_MAX_PRICE_TICKS;
  const maxLots = m.maxLots ?? DEFAULT_MAX_LOTS;
  if (m.minLots > maxLots) add("minLots", `minLots ${m.minLots} is above maxLots ${maxLots}`, { code: "MARKET_OUT_OF_RANGE" });
  // The contract refuses prices and amounts above 2^128 - 1 (SkipReason.OrderOutOfRange).
  if (BigInt(maxPriceTicks) * m.tickSize > UINT128_MAX) {
    add("maxPriceTicks", `maxPriceTicks x tickSize (${BigInt(maxPriceTicks) * m.tickSize}) exceeds the contract's uint128 bound`, { code: "MARKET_OUT_OF_RANGE" });
  }
  if (BigInt(maxLots) * m.lotSize > UINT128_MAX) {
    add("maxLots", `maxLots x lotSize (${BigInt(maxLots) * m.lotSize}) exceeds the contract's uint128 bound`, { code: "MARKET_OUT_OF_RANGE" });
  }
});

/** The derived, frozen Market of a checked configuration. */
function toMarket(c: ParsedMarket, chainId: number): Market {
  const scale = 10n ** BigInt(c.baseDecimals);
  return Object.freeze({
    id: c.id,
    symbol: c.symbol,
    chainId,
    baseToken: c.baseToken,
    quoteToken: c.quoteToken,
    baseDecimals: c.baseDecimals,
    tickSize: c.tickSize,
    lotSize: c.lotSize,
    minLots: c.minLots,
    makerFeeBps: c.makerFeeBps,
    takerFeeBps: c.takerFeeBps,
    maxPriceTicks: c.maxPriceTicks ?? DEFAULT_MAX_PRICE_TICKS,
    maxLots: c.maxLots ?? DEFAULT_MAX_LOTS,
    scale,
    quotePerLotTick: (c.lotSize * c.tickSize) / scale,
  });
}

function issuesOf(error: z.ZodError): MarketConfigIssue[] {
  return error.issues.map((i) => ({ path: [...i.path], message: i.message }));
}

/**
 * Validates one market configuration (bigints may be given as decimal strings). `chainId`
 * may be omitted only when `options.defaultChainId` says which chain it is on. Throws a
 * MarketConfigError: MARKET_INEXACT (fills would round), MARKET_OUT_OF_RANGE (bounds Lua or the
 * contract cannot hold), MARKET_CONFIG_INVALID (anything else), with `details.issues`.
 */
export function parseMarketConfig(input: MarketConfigInput | MarketConfig | unknown, options: { defaultChainId?: number } = {}): Market {
  const parsed = marketSchema.safeParse(input);
  if (!parsed.success) {
    const coded = parsed.error.issues.map((i) => (i.code === z.ZodIssueCode.custom ? (i.params as Coded | undefined)?.code : undefined)).find(Boolean);
    const issues = issuesOf(parsed.error);
    throw new MarketConfigError(coded ?? "MARKET_CONFIG_INVALID", issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "), {
      details: { issues: issues.map((i) => `${i.path.join(".")}: ${i.message}`) },
    });
  }
  const chainId = parsed.data.chainId ?? options.defaultChainId;
  if (chainId === undefined) {
    throw new MarketConfigError("MARKET_CONFIG_INVALID", `market ${parsed.data.symbol}: chainId is required`, {
      details: { issues: ["chainId: required"] },
    });
  }
  return toMarket(parsed.data, chainId);
}

/**
 * Validates a list of markets (the configuration's HYPERINDEX_MARKETS): each market as
 * parseMarketConfig does, plus: ids and symbols unique, token pairs unique per chain, and
 * every market on one of `chainIds` (a market without chainId is on the only chain, if
 * there is only one). Returns the markets, or every issue with its JSON path.
 */
export function parseMarketList(json: unknown, options: { chainIds: readonly number[] }): { ok: true; markets: Market[] } | { ok: false; issues: MarketConfigIssue[] } {
  if (!Array.isArray(json)) return { ok: false, issues: [{ path: [], message: "expected a JSON array of markets" }] };
  if (json.length === 0) return { ok: false, issues: [{ path: [], message: "expected at least one market" }] };
  const issues: MarketConfigIssue[] = [];
  const markets: Market[] = [];
  const only = options.chainIds.length === 1 ? options.chainIds[0] : undefined;
  const seen = { id: new Map<unknown, number>(), symbol: new Map<unknown, number>(), pair: new Map<unknown, number>() };
  json.forEach((entry, i) => {
    const parsed = marketSchema.safeParse(entry);
    if (!parsed.success) {
      for (const issue of issuesOf(parsed.error)) issues.push({ path: [i, ...issue.path], message: issue.message });
      return;
    }
    const m = parsed.data;
    const chainId = m.chainId ?? only;
    if (chainId === undefined) {
      issues.push({ path: [i, "chainId"], message: `market ${m.symbol}: required when several chains are configured (one of ${options.chainIds.join(", ")})` });
      return;
    }
    if (!options.chainIds.includes(chainId)) {
      issues.push({ path: [i, "chainId"], message: `market ${m.symbol}: chain ${chainId} is not configured (configured: ${options.chainIds.join(", ")})` });
      return;
    }
    const keys = { id: m.id, symbol: m.symbol.toUpperCase(), pair: `${chainId}/${m.baseToken}/${m.quoteToken}` };
    for (const kind of ["id", "symbol", "pair"] as const) {
      const first = seen[kind].get(keys[kind]);
      if (first !== undefined) {
        const what = kind === "pair" ? "base and quote tokens on the same chain" : kind;
        issues.push({ path: [i, kind === "pair" ? "baseToken" : kind], message: `market ${m.symbol}: same ${what} as market [${first}]` });
      } else {
        seen[kind].set(keys[kind], i);
      }
    }
    markets.push(toMarket(m, chainId));
  });
  return issues.length > 0 ? { ok: false, issues } : { ok: true, markets };
}

/** The configuration a market was built from (bigints kept), e.g. to store or compare it. */
export function marketToConfig(market: Market): Required<MarketConfig> {
  return {
    id: market.id,
    symbol: market.symbol,
    chainId: market.chainId,
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
