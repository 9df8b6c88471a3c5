/**
 * The operator's configuration: one typed schema over the environment, parsed once at start
 * (./README.md lists every variable). Chains (./chains.ts) and markets (operator/markets) are
 * JSON lists, validated with a message naming the field at fault.
 */
export {
  loadConfig,
  chainOf,
  redactedConfig,
  redactSecretUrl,
  type OperatorConfig,
  type ChainConfig,
  type RedisConfig,
  type RateLimit,
  type LoadConfigOptions,
} from "./load";
export { ConfigError, type ConfigIssue } from "./errors";
export { Secret } from "./secret";
export { parseChainList, DEFAULT_CONFIRMATIONS, DEFAULT_SETTLEMENT_GAS_BUDGET, type ChainEntry } from "./chains";
export { CONFIG_VARIABLES, DEFAULT_LIMITS, LOG_LEVELS, APPENDFSYNC_POLICIES, envSchema, type LogLevel, type AppendFsyncPolicy } from "./schema";
