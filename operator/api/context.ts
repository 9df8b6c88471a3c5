/** Everything the routes share, built once by buildApi from its deps and config. */
import type { ClientLimits } from "../config/load";
import { encodeReceipt, issueReceipt, type OrderReceipt, type WireOrderReceipt } from "../commitment/receipt";
import type { Logger } from "../log";
import { createMarketRegistry, isMarketRegistry, type MarketRegistry, type OrderMarketLookup } from "../markets";
import type { MatchingEngine } from "../matching";
import type { Registry } from "../metrics";
import { CancelHasher, type CancelRules, type Clock, type IntakeRules, type OrderDomain } from "../orders";
import { createErc1271Checker, type Erc1271Checker } from "../orders/verifier";
import type { RedisClient } from "../redis";
import { resolveClientLimits } from "./clientLimits";
import { createApiMetrics, type ApiMetrics } from "./metrics";
import { DEFAULT_API_SETTINGS, type ApiConfig, type ApiDeps, type ApiSettings } from "./types";

/** One served chain, as the API needs it. */
export interface ApiChain {
  chainId: number;
  domain: OrderDomain;
  cancelHasher: CancelHasher;
  /** Cancels are verified against this chain's domain. */
  cancelRules: CancelRules;
  /** EIP-1271 cancels on this chain, if a client was given. */
  erc1271?: Erc1271Checker;
  /**
   * Signs the operator's receipt of an accepted order (operator/commitment receipt.ts), when
   * the chain's OrderbookCommitment and operator key are configured.
   */
  receipt?: (r: OrderReceipt) => WireOrderReceipt;
}

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
  /** The one registry of markets (operator/markets). */
  markets: MarketRegistry;
  /** Which market and chain an order or cancel is for (operator/markets resolveOrderMarket). */
  lookup: OrderMarketLookup;
  chains: ReadonlyMap<number, ApiChain>;
  intakeRules: IntakeRules;
  /** Per client address and WebSocket connection (./clientLimits.ts). */
  clientLimits: ClientLimits;
  tasks?: ApiDeps["tasks"];
  chainHealth?: ApiDeps["chainHealth"];
  epochs?: ApiDeps["epochs"];
}

export function createApiContext(deps: ApiDeps, config: ApiConfig, logger: Logger): ApiContext {
  const settings: ApiSettings = { ...DEFAULT_API_SETTINGS, ...config.api };
  const erc1271TimeoutMs = config.verifier?.erc1271TimeoutMs ?? 2_000;
  const markets = isMarketRegistry(config.markets) ? config.markets : createMarketRegistry(config.markets);
  const clients = deps.chains ?? (deps.chain !== undefined && config.chains.length === 1 ? new Map([[config.chains[0].chainId, deps.chain]]) : new Map());
  const chains = new Map<number, ApiChain>();
  for (const c of config.chains) {
    const client = clients.get(c.chainId);
    chains.set(c.chainId, {
      chainId: c.chainId,
      domain: c.orderDomain,
      cancelHasher: new CancelHasher(c.orderDomain),
      cancelRules: { domain: c.orderDomain, maxExpirySeconds: BigInt(settings.cancelMaxExpirySeconds), maxOrderHashes: config.limits.maxOrdersPerRequest },
      receipt: receiptSigner(c),
      erc1271:
        client === undefined
          ? undefined
          : createErc1271Checker({ client, logger }, { verifyingContract: c.orderDomain.verifyingContract, timeoutMs: erc1271TimeoutMs }),
    });
  }
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
    markets,
    lookup: { markets, domains: new Map(config.chains.map((c) => [c.chainId, c.orderDomain])) },
    chains,
    intakeRules: { maxExpirySeconds: config.limits.maxExpirySeconds },
    clientLimits: resolveClientLimits(config.clientLimits),
    tasks: deps.tasks,
    chainHealth: deps.chainHealth,
    epochs: deps.epochs,
  };
}

/** The receipt signer of a chain (the operator key, read once here: the API signs every acceptance). */
function receiptSigner(c: ApiConfig["chains"][number]): ((r: OrderReceipt) => WireOrderReceipt) | undefined {
  if (c.commitmentAddress === undefined || c.operatorPrivateKey === undefined) return undefined;
  const key = Buffer.from(c.operatorPrivateKey.reveal().slice(2), "hex");
  const domain = { chainId: BigInt(c.chainId), verifyingContract: c.commitmentAddress };
  return (r) => encodeReceipt(issueReceipt(key, domain, r));
}
