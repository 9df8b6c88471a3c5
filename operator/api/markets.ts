/**
 * The markets as the API names them: by symbol (case-insensitive) or id in paths and channels,
 * by token pair in orders and cancels. Built once from the configured list.
 */
import type { MarketSettings } from "../config";
import type { Address } from "../orders";

export interface ApiMarkets {
  readonly all: readonly MarketSettings[];
  byId(id: number): MarketSettings | undefined;
  byPair(baseToken: string, quoteToken: string): MarketSettings | undefined;
  /** "WETH-USDC", "weth-usdc" or "1". */
  resolve(ref: string): MarketSettings | undefined;
}

export function createApiMarkets(markets: readonly MarketSettings[]): ApiMarkets {
  const ids = new Map<number, MarketSettings>();
  const symbols = new Map<string, MarketSettings>();
  const pairs = new Map<string, MarketSettings>();
  for (const m of markets) {
    ids.set(m.id, m);
    symbols.set(m.symbol.toUpperCase(), m);
    pairs.set(`${m.baseToken.toLowerCase()}/${m.quoteToken.toLowerCase()}`, m);
  }
  return {
    all: markets,
    byId: (id) => ids.get(id),
    byPair: (base, quote) => pairs.get(`${base.toLowerCase()}/${quote.toLowerCase()}`),
    resolve(ref) {
      if (/^(?:0|[1-9][0-9]{0,4})$/.test(ref)) return ids.get(Number(ref));
      return symbols.get(ref.toUpperCase());
    },
  };
}

/** Quote atoms of `amount` base atoms at `price`: exact in a valid market (see operator/config). */
export function quoteAmount(market: MarketSettings, price: bigint, amount: bigint): bigint {
  return (price * amount) / 10n ** BigInt(market.baseDecimals);
}

/** GET /v1/markets entry. */
export function marketView(m: MarketSettings, status: { status: string; reason: string } | undefined): Record<string, unknown> {
  return {
    id: m.id,
    symbol: m.symbol,
    baseToken: m.baseToken.toLowerCase() as Address,
    quoteToken: m.quoteToken.toLowerCase() as Address,
    baseDecimals: m.baseDecimals,
    tickSize: m.tickSize,
    lotSize: m.lotSize,
    minLots: m.minLots,
    minAmount: BigInt(m.minLots) * m.lotSize,
    makerFeeBps: m.makerFeeBps,
    takerFeeBps: m.takerFeeBps,
    ...(m.maxPriceTicks === undefined ? {} : { maxPrice: BigInt(m.maxPriceTicks) * m.tickSize }),
    ...(m.maxLots === undefined ? {} : { maxAmount: BigInt(m.maxLots) * m.lotSize }),
    status: status?.status ?? "unregistered",
    ...(status?.status === "halted" ? { haltReason: status.reason } : {}),
  };
}
