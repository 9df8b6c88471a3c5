export { loadConfig, redactedConfig, redactSecretUrl, type OperatorConfig, type RedisConfig, type RateLimit, type LoadConfigOptions } from "./load";
export { ConfigError, type ConfigIssue } from "./errors";
export { Secret } from "./secret";
export { createMarketLookup, marketListSchema, type MarketSettings, type LookupMarket } from "./markets";
export { marketsFromConfig } from "./toMarkets";
export { CONFIG_VARIABLES, DEFAULT_LIMITS, LOG_LEVELS, APPENDFSYNC_POLICIES, envSchema, type LogLevel, type AppendFsyncPolicy } from "./schema";
