/**
 * Markets: the one configuration schema (integer ticks and lots, exact quote per lot-tick, the
 * chain each settles on), the one check of an order against its market (whose codes are the
 * API's), the one registry of served markets, and their Redis metadata (registration, halt
 * switch).
 */
export type { Market, MarketConfig, MarketStatus } from "./types";
export {
  parseMarketConfig,
  parseMarketList,
  marketToConfig,
  marketConfigJson,
  addressSchema,
  MAX_MARKET_ID,
  MAX_LUA_INTEGER,
  DEFAULT_MAX_LOTS,
  DEFAULT_MAX_PRICE_TICKS,
  MAX_FEE_BPS,
  type MarketConfigInput,
  type MarketConfigIssue,
} from "./config";
export { checkOrderForMarket, orderUnits, lotsToAtoms, type MarketOrder, type MarketOrderCheck, type MarketReject, type MarketRejectCode } from "./orderCheck";
export { createMarketRegistry, isMarketRegistry, type MarketRegistry } from "./registry";
export { MarketConfigError, type MarketConfigErrorCode } from "./errors";
export { marketKeys, MARKETS_KEYSPACE } from "./keys";
export { registerMarket, haltMarket, resumeMarket, getMarketStatus, type MarketStoreDeps } from "./store";
export { resolveOrderMarket, resolveDomainChain, type OrderMarketLookup } from "./resolve";
