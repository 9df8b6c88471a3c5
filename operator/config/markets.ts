/**
 * The raw market list of the configuration (HYPERINDEX_MARKETS or HYPERINDEX_MARKETS_FILE):
 * a JSON array, one object per market, with atom amounts as decimal strings.
 *
 *   [{ "id": 1, "symbol": "HYPE-USDC",
 *      "baseToken": "0x…", "quoteToken": "0x…", "baseDecimals": 18,
 *      "tickSize": "1000", "lotSize": "1000000000000000", "minLots": 10,
 *      "makerFeeBps": 2, "takerFeeBps": 5 }]                (maxPriceTicks, maxLots optional)
 *
 * This file checks and types the list: the shape of operator/markets' MarketConfig, so a
 * MarketSettings can be handed to it as is; ./toMarkets turns the list into Market objects
 * with that module's own checks (Lua ranges, uint128 bounds).
 */
import { z } from "zod";
import type { MarketConfig } from "../markets/types";
import { toChecksumAddress } from "../orders/codec";
import type { MarketLookup, MarketRules } from "../orders/validate";
import type { Address, Order } from "../orders/types";

/** One configured market, parsed: exactly operator/markets' MarketConfig (one definition for both). */
export type MarketSettings = MarketConfig;

/** The contract refuses tokens with more decimals (SettlementUnsupportedDecimals). */
const MAX_DECIMALS = 36;
const MAX_FEE_BPS = 10_000;
/** Fill ids carry the market id in 16 bits. */
const MAX_MARKET_ID = 0xffff;

const atoms = (what: string) =>
  z.unknown().transform((value, ctx): bigint => {
    if (typeof value !== "string" || !/^(?:0|[1-9][0-9]{0,76})$/.test(value)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `expected ${what} as a decimal string (e.g. "1000"), got ${show(value)}`,
      });
      return z.NEVER;
    }
    const n = BigInt(value);
    if (n === 0n) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected ${what} above zero, got "0"` });
      return z.NEVER;
    }
    return n;
  });

const integer = (min: number, max: number) =>
  z.unknown().transform((value, ctx): number => {
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected an integer from ${min} to ${max}, got ${show(value)}` });
      return z.NEVER;
    }
    return value;
  });

const address = z.unknown().transform((value, ctx): Address => {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(value)) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected an address (0x + 40 hex digits), got ${show(value)}` });
    return z.NEVER;
  }
  const lower = value.toLowerCase() as Address;
  const body = value.slice(2);
  if (body !== body.toLowerCase() && body !== body.toUpperCase() && toChecksumAddress(lower) !== value) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `wrong EIP-55 checksum: ${value}` });
    return z.NEVER;
  }
  if (/^0x0{40}$/.test(lower)) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: "expected a token address, got the zero address" });
    return z.NEVER;
  }
  return lower;
});

const marketSchema = z
  .object({
    id: integer(0, MAX_MARKET_ID),
    symbol: z.unknown().transform((value, ctx): string => {
      if (typeof value !== "string" || !/^[A-Za-z0-9.]{1,16}-[A-Za-z0-9.]{1,16}$/.test(value)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected BASE-QUOTE (e.g. "HYPE-USDC"), got ${show(value)}` });
        return z.NEVER;
      }
      return value;
    }),
    baseToken: address,
    quoteToken: address,
    baseDecimals: integer(0, MAX_DECIMALS),
    tickSize: atoms("the tick size"),
    lotSize: atoms("the lot size"),
    minLots: integer(1, Number.MAX_SAFE_INTEGER),
    makerFeeBps: integer(0, MAX_FEE_BPS),
    takerFeeBps: integer(0, MAX_FEE_BPS),
    maxPriceTicks: integer(1, Number.MAX_SAFE_INTEGER).optional(),
    maxLots: integer(1, Number.MAX_SAFE_INTEGER).optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    // Zod runs refinements over partly invalid objects too; those issues are reported already.
    if (!isComplete(m)) return;
    if (m.baseToken === m.quoteToken) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["quoteToken"], message: `market ${m.symbol}: quote token equals base token` });
    }
    // A fill of any whole number of lots at any whole number of ticks must be a whole number
    // of quote atoms: quote = price * amount / 10^baseDecimals, with price = k * tickSize and
    // amount = j * lotSize. That holds for every j, k iff 10^baseDecimals divides
    // tickSize * lotSize.
    const scale = 10n ** BigInt(m.baseDecimals);
    if ((m.tickSize * m.lotSize) % scale !== 0n) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ["lotSize"],
        message:
          `market ${m.symbol}: lotSize x tickSize = ${m.tickSize * m.lotSize} is not a multiple of 10^${m.baseDecimals}; ` +
          "fills would round. Raise the lot or the tick size",
      });
    }
  });

export const marketListSchema = z
  .array(marketSchema, { invalid_type_error: "expected a JSON array of markets" })
  .min(1, "expected at least one market")
  .superRefine((markets, ctx) => {
    const seen = { id: new Map<unknown, number>(), symbol: new Map<unknown, number>(), pair: new Map<unknown, number>() };
    markets.forEach((m, i) => {
      if (!isComplete(m)) return;
      const keys = { id: m.id, symbol: m.symbol, pair: `${m.baseToken}/${m.quoteToken}` };
      for (const kind of ["id", "symbol", "pair"] as const) {
        const first = seen[kind].get(keys[kind]);
        if (first !== undefined) {
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            path: [i, kind === "pair" ? "baseToken" : kind],
            message: `market ${m.symbol}: same ${kind === "pair" ? "base and quote tokens" : kind} as market [${first}]`,
          });
        } else {
          seen[kind].set(keys[kind], i);
        }
      }
    });
  });

function isComplete(m: { [K in keyof MarketSettings]?: unknown }): m is MarketSettings {
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
    typeof m.takerFeeBps === "number"
  );
}

/** What a market lookup needs of a market: a MarketSettings, or operator/markets' Market. */
export interface LookupMarket {
  baseToken: Address;
  quoteToken: Address;
  tickSize: bigint;
  lotSize: bigint;
  minLots: number | bigint;
  makerFeeBps: number;
  takerFeeBps: number;
  maxPriceTicks?: number;
  maxLots?: number;
}

/** Market lookup for order intake (../orders/validate): by (baseToken, quoteToken). */
export function createMarketLookup(markets: readonly LookupMarket[]): MarketLookup {
  const byPair = new Map<string, MarketRules>();
  for (const m of markets) {
    byPair.set(`${m.baseToken.toLowerCase()}/${m.quoteToken.toLowerCase()}`, {
      tickSize: m.tickSize,
      lotSize: m.lotSize,
      minLots: BigInt(m.minLots),
      makerFeeBps: m.makerFeeBps,
      takerFeeBps: m.takerFeeBps,
      maxPrice: m.maxPriceTicks === undefined ? undefined : BigInt(m.maxPriceTicks) * m.tickSize,
      maxAmount: m.maxLots === undefined ? undefined : BigInt(m.maxLots) * m.lotSize,
    });
  }
  return (order: Order) => byPair.get(`${order.baseToken.toLowerCase()}/${order.quoteToken.toLowerCase()}`);
}

export function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (typeof value === "number" || typeof value === "boolean" || value === null) return String(value);
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : typeof value;
}
