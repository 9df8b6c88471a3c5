/**
 * The markets one operator process serves: the one registry every component looks markets up
 * in (the engine by id, the API by symbol or id in paths and channels, order intake by chain
 * and token pair). Built once at start from validated configurations; refuses duplicate ids
 * or symbols, and a token pair listed twice on one chain. The same pair may trade on several
 * chains (one market each).
 */
import { marketToConfig, parseMarketConfig } from "./config";
import { MarketConfigError } from "./errors";
import type { Market, MarketConfig } from "./types";

export interface MarketRegistry {
  readonly all: readonly Market[];
  /** The chains the markets settle on, ascending. */
  readonly chainIds: readonly number[];
  /** Every token of the markets on `chainId` (all chains if omitted), lower-case, each once. */
  tokens(chainId?: number): readonly `0x${string}`[];
  byId(id: number): Market | undefined;
  /** Case-insensitive. */
  bySymbol(symbol: string): Market | undefined;
  /** "WETH-USDC", "weth-usdc" or "1" (an id): how paths and channels name a market. */
  resolve(ref: string): Market | undefined;
  /** The market of (baseToken, quoteToken) on `chainId`, case-insensitive. */
  byPair(chainId: number, baseToken: string, quoteToken: string): Market | undefined;
  /** Every market of (baseToken, quoteToken), on any chain. */
  withPair(baseToken: string, quoteToken: string): readonly Market[];
  /** byId, or throws MarketConfigError MARKET_UNKNOWN. */
  get(id: number): Market;
}

export function createMarketRegistry(configs: readonly (Market | MarketConfig | unknown)[]): MarketRegistry {
  // A ready-made Market is validated again: the registry only ever holds checked markets.
  const markets = configs.map((c) => parseMarketConfig(isMarket(c) ? marketToConfig(c) : c));
  const ids = new Map<number, Market>();
  const symbols = new Map<string, Market>();
  const pairs = new Map<string, Market>();
  const anyChain = new Map<string, Market[]>();
  for (const m of markets) {
    const pair = `${m.baseToken}/${m.quoteToken}`;
    const chainPair = `${m.chainId}/${pair}`;
    const symbol = m.symbol.toUpperCase();
    if (ids.has(m.id) || symbols.has(symbol) || pairs.has(chainPair)) {
      throw new MarketConfigError("MARKET_DUPLICATE", "two markets share an id, a symbol, or a token pair on one chain", {
        details: { id: m.id, symbol: m.symbol, chainId: m.chainId, pair },
      });
    }
    ids.set(m.id, m);
    symbols.set(symbol, m);
    pairs.set(chainPair, m);
    const list = anyChain.get(pair) ?? [];
    list.push(m);
    anyChain.set(pair, list);
  }
  const chainIds = [...new Set(markets.map((m) => m.chainId))].sort((a, b) => a - b);
  const tokenLists = new Map<number | undefined, `0x${string}`[]>();
  const tokensOf = (chainId?: number): `0x${string}`[] => {
    let list = tokenLists.get(chainId);
    if (list === undefined) {
      const on = chainId === undefined ? markets : markets.filter((m) => m.chainId === chainId);
      list = [...new Set(on.flatMap((m) => [m.baseToken, m.quoteToken]))];
      tokenLists.set(chainId, list);
    }
    return list;
  };
  return {
    all: markets,
    chainIds,
    tokens: tokensOf,
    byId: (id) => ids.get(id),
    bySymbol: (symbol) => symbols.get(symbol.toUpperCase()),
    resolve(ref) {
      if (/^(?:0|[1-9][0-9]{0,4})$/.test(ref)) return ids.get(Number(ref));
      return symbols.get(ref.toUpperCase());
    },
    byPair: (chainId, base, quote) => pairs.get(`${chainId}/${base.toLowerCase()}/${quote.toLowerCase()}`),
    withPair: (base, quote) => anyChain.get(`${base.toLowerCase()}/${quote.toLowerCase()}`) ?? [],
    get(id) {
      const m = ids.get(id);
      if (!m) throw new MarketConfigError("MARKET_UNKNOWN", `no market with id ${id}`, { details: { id } });
      return m;
    },
  };
}

export function isMarketRegistry(value: unknown): value is MarketRegistry {
  return typeof value === "object" && value !== null && "byId" in value && "resolve" in value && "all" in value;
}

function isMarket(value: unknown): value is Market {
  return typeof value === "object" && value !== null && "quotePerLotTick" in value && "scale" in value;
}
