/**
 * Markets: validated configurations (integer ticks and lots, exact quote per lot-tick),
 * the per-order market checks, the registry of served markets and their Redis metadata
 * (registration, halt switch).
 */
export type { Market, MarketConfig, MarketStatus } from "./types";
export {
  parseMarketConfig,
  marketToConfig,
  marketConfigJson,
  MAX_MARKET_ID,
  MAX_LUA_INTEGER,
  DEFAULT_MAX_LOTS,
  DEFAULT_MAX_PRICE_TICKS,
  MAX_FEE_BPS,
  type MarketConfigInput,
} from "./config";
export { checkOrderForMarket, orderUnits, lotsToAtoms, type MarketOrder, type MarketOrderCheck, type MarketReject, type MarketRejectCode } from "./orderCheck";
export { createMarketRegistry, type MarketRegistry } from "./registry";
export { MarketConfigError, type MarketConfigErrorCode } from "./errors";
export { marketKeys, MARKETS_KEYSPACE } from "./keys";
export { registerMarket, haltMarket, resumeMarket, getMarketStatus, type MarketStoreDeps } from "./store";
