/**
 * From configured markets to operator/markets' Market objects, with that module's own checks
 * (integer ranges Lua can hold, the contract's uint128 bounds, derived constants). main.ts
 * calls it right after loadConfig, so a market it refuses still stops the start with a
 * ConfigError naming HYPERINDEX_MARKETS[i].
 */
import { MarketConfigError, parseMarketConfig, type Market } from "../markets";
import { ConfigError } from "./errors";
import type { MarketSettings } from "./markets";

export function marketsFromConfig(markets: readonly MarketSettings[]): Market[] {
  return markets.map((settings, i) => {
    try {
      return parseMarketConfig(settings);
    } catch (error) {
      if (!(error instanceof MarketConfigError)) throw error;
      const reasons = Array.isArray(error.details.issues) ? `: ${(error.details.issues as string[]).join("; ")}` : "";
      throw new ConfigError([{ variable: `HYPERINDEX_MARKETS[${i}]`, message: `market ${settings.symbol}: ${error.message}${reasons}` }], {
        cause: error,
      });
    }
  });
}
