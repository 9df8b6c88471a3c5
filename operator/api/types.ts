/** What buildApi receives: its dependencies and the parts of the configuration it reads. */
import type { MarketSettings, OperatorConfig } from "../config";
import type { Logger } from "../log";
import type { MatchingEngine } from "../matching";
import type { Registry } from "../metrics";
import type { Clock, Erc1271Client, OrderDomain, VerifierPool } from "../orders";
import type { RedisClient } from "../redis";

export interface ApiDeps {
  engine: MatchingEngine;
  /** Verifies order signatures; /health reports whether its workers run. */
  verifier: Pick<VerifierPool, "verify" | "stats">;
  /** Cancel replay memory, the WebSocket stream reads, /health. May be the engine's client. */
  redis: RedisClient;
  logger: Logger;
  /** The daemon's registry: the API records into it and serves it at /metrics. */
  metrics: Registry;
  /** Wall clock, unix ms (order receipt time, expiry checks). Default Date.now. */
  clock?: Clock;
  /** Reads the chain for EIP-1271 cancels; without it only ECDSA cancels verify. */
  chain?: Erc1271Client;
}

/** Settings of the API itself, all with defaults (DEFAULT_API_SETTINGS). */
export interface ApiSettings {
  /** WebSocket ticker period: at most one book / trades / orders message per channel per tick. */
  wsTickMs: number;
  /** Levels per side in a WebSocket book snapshot. */
  wsBookDepth: number;
  /** A connection with more unsent bytes than this is a slow consumer: closed with 4001. */
  wsMaxBufferedBytes: number;
  /** How long a slow consumer gets to take its close frame before the socket is destroyed. */
  wsCloseGraceMs: number;
  /** Subscriptions per connection. */
  wsMaxSubscriptions: number;
  /** Largest message a client may send (bytes); larger closes the connection with 1009. */
  wsMaxMessageBytes: number;
  /** Entries read per stream per market per tick (the rest waits for the next tick). */
  wsStreamBatch: number;
  /** Horizon of a signed cancel's expiry, seconds (its replay memory lasts as long). */
  cancelMaxExpirySeconds: number;
  /** GET /v1/book depth: default and bound. */
  defaultBookDepth: number;
  maxBookDepth: number;
  /** Bound on the Redis ping of /health. */
  healthTimeoutMs: number;
}

export const DEFAULT_API_SETTINGS: Readonly<ApiSettings> = Object.freeze({
  wsTickMs: 100,
  wsBookDepth: 20,
  wsMaxBufferedBytes: 1 << 20,
  wsCloseGraceMs: 1_000,
  wsMaxSubscriptions: 100,
  wsMaxMessageBytes: 4_096,
  wsStreamBatch: 1_000,
  cancelMaxExpirySeconds: 600,
  defaultBookDepth: 50,
  maxBookDepth: 500,
  healthTimeoutMs: 1_000,
});

/** The configuration the API reads; an OperatorConfig is one (pass it whole). */
export interface ApiConfig {
  orderDomain: OrderDomain;
  markets: readonly MarketSettings[];
  limits: Pick<OperatorConfig["limits"], "maxBodyBytes" | "maxOrdersPerRequest" | "maxExpirySeconds">;
  verifier?: Pick<OperatorConfig["verifier"], "erc1271TimeoutMs">;
  api?: Partial<ApiSettings>;
}
