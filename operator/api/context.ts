/** Everything the routes share, built once by buildApi from its deps and config. */
import { createMarketLookup } from "../config";
import type { Logger } from "../log";
import type { MatchingEngine } from "../matching";
import type { Registry } from "../metrics";
import { CancelHasher, type CancelRules, type Clock, type IntakeRules, type MarketLookup } from "../orders";
import { createErc1271Checker, type Erc1271Checker } from "../orders/verifier";
import type { RedisClient } from "../redis";
import { createApiMarkets, type ApiMarkets } from "./markets";
import { createApiMetrics, type ApiMetrics } from "./metrics";
import { DEFAULT_API_SETTINGS, type ApiConfig, type ApiDeps, type ApiSettings } from "./types";

export interface ApiContext {
  engine: MatchingEngine;
  verifier: ApiDeps["verifier"];
  redis: RedisClient;
  logger: Logger;
  registry: Registry;
  metrics: ApiMetrics;
  clock: Clock;
  config: ApiConfig;
  settings: ApiSettings;
  markets: ApiMarkets;
  /** Market rules for ../orders/validate. */
  lookup: MarketLookup;
  intakeRules: IntakeRules;
  cancelHasher: CancelHasher;
  cancelRules: CancelRules;
  erc1271?: Erc1271Checker;
}

export function createApiContext(deps: ApiDeps, config: ApiConfig, logger: Logger): ApiContext {
  const settings: ApiSettings = { ...DEFAULT_API_SETTINGS, ...config.api };
  const erc1271TimeoutMs = config.verifier?.erc1271TimeoutMs ?? 2_000;
  return {
    engine: deps.engine,
    verifier: deps.verifier,
    redis: deps.redis,
    logger,
    registry: deps.metrics,
    metrics: createApiMetrics(deps.metrics),
    clock: deps.clock ?? { now: () => Date.now() },
    config,
    settings,
    markets: createApiMarkets(config.markets),
    lookup: createMarketLookup(config.markets),
    intakeRules: { domain: config.orderDomain, maxExpirySeconds: config.limits.maxExpirySeconds },
    cancelHasher: new CancelHasher(config.orderDomain),
    cancelRules: {
      domain: config.orderDomain,
      maxExpirySeconds: BigInt(settings.cancelMaxExpirySeconds),
      maxOrderHashes: config.limits.maxOrdersPerRequest,
    },
    erc1271:
      deps.chain === undefined
        ? undefined
        : createErc1271Checker({ client: deps.chain, logger }, { verifyingContract: config.orderDomain.verifyingContract, timeoutMs: erc1271TimeoutMs }),
  };
}
