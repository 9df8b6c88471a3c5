/**
 * The markets one operator process serves, looked up by id, symbol or token pair.
 * Built once at start from validated configurations; refuses duplicate ids, symbols or pairs.
 */
import { marketToConfig, parseMarketConfig } from "./config";
import { MarketConfigError } from "./errors";
import type { Market, MarketConfig } from "./types";

export interface MarketRegistry {
  readonly all: readonly Market[];
  byId(id: number): Market | undefined;
  bySymbol(symbol: string): Market | undefined;
  byPair(baseToken: string, quoteToken: string): Market | undefined;
  /** byId, or throws MarketConfigError MARKET_UNKNOWN. */
  get(id: number): Market;
}

export function createMarketRegistry(configs: readonly (Market | MarketConfig | unknown)[]): MarketRegistry {
  // A ready-made Market is validated again: the registry only ever holds checked markets.
  const markets = configs.map((c) => parseMarketConfig(isMarket(c) ? marketToConfig(c) : c));
  const ids = new Map<number, Market>();
  const symbols = new Map<string, Market>();
  const pairs = new Map<string, Market>();
  for (const m of markets) {
    const pair = `${m.baseToken}/${m.quoteToken}`;
    if (ids.has(m.id) || symbols.has(m.symbol) || pairs.has(pair)) {
      throw new MarketConfigError("MARKET_DUPLICATE", "two markets share an id, a symbol or a token pair", {
        details: { id: m.id, symbol: m.symbol, pair },
      });
    }
    ids.set(m.id, m);
    symbols.set(m.symbol, m);
    pairs.set(pair, m);
  }
  return {
    all: markets,
    byId: (id) => ids.get(id),
    bySymbol: (symbol) => symbols.get(symbol),
    byPair: (base, quote) => pairs.get(`${base.toLowerCase()}/${quote.toLowerCase()}`),
    get(id) {
      const m = ids.get(id);
      if (!m) throw new MarketConfigError("MARKET_UNKNOWN", `no market with id ${id}`, { details: { id } });
      return m;
    },
  };
}

function isMarket(value: unknown): value is Market {
  return typeof value === "object" && value !== null && "quotePerLotTick" in value && "scale" in value;
}
