/** What buildApi receives: its dependencies and the parts of the configuration it reads. */
import type { ChainConfig, OperatorConfig } from "../config";
import type { EpochLog } from "../commitment/epochLog";
import type { ClientLimits } from "../config/load";
import type { Logger } from "../log";
import type { MarketRegistry } from "../markets";
import type { Market } from "../markets";
import type { MatchingEngine } from "../matching";
import type { Registry } from "../metrics";
import type { Clock, Erc1271Client, VerifierPool } from "../orders";
import type { RedisClient } from "../redis";
import type { LoopStatus } from "../tasks";

/** One chain's on-chain services as /health shows them: `ok` false when one of them is failing. */
export interface ChainHealth {
  chainId: number;
  ok: boolean;
  problems: string[];
}

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
  /**
   * Reads each chain for EIP-1271 cancels, by chain id; a chain without a client verifies ECDSA
   * cancels only. `chain`: the shorthand when one chain is served.
   */
  chains?: ReadonlyMap<number, Erc1271Client>;
  chain?: Erc1271Client;
  /** The daemon's background loops, reported by /health (informational). */
  tasks?: { status(): LoopStatus[] };
  /** Each chain's watcher, signer, settler and RPC client, reported by /health (operator/daemon chainServices). */
  chainHealth?: { status(): Promise<ChainHealth[]> };
  /** Each chain's epoch log (operator/commitment epochLog.ts), for /v1/proofs and /v1/epochs. */
  epochs?: ReadonlyMap<number, EpochLog>;
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
  /**
   * The WebSocket feed's name as a journal consumer (best-effort: it holds the journal's
   * retention back while it keeps up). Give each API process sharing a Redis its own.
   */
  wsConsumerName: string;
  /** How often the feed's journal cursor is saved (it restarts at the tail anyway). */
  wsCursorSaveMs: number;
  /** Horizon of a signed cancel's expiry, seconds (its replay memory lasts as long). */
  cancelMaxExpirySeconds: number;
  /** Horizon of a signed WebSocket subscription's expiry (orders:<trader>), seconds. */
  wsAuthMaxExpirySeconds: number;
  /** GET /v1/book depth: default and bound. */
  defaultBookDepth: number;
  maxBookDepth: number;
  /** Bound on the Redis ping of /health. */
  healthTimeoutMs: number;
  /** A request whose headers are not all in by then is answered 408 and closed (slow clients). */
  headersTimeoutMs: number;
  /** A request not complete by then is answered 408 and closed. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this long. */
  keepAliveTimeoutMs: number;
  /** Shutdown: how long requests in flight may take to finish (new ones get 503 meanwhile). */
  shutdownDrainMs: number;
  /** Shutdown: the least time new requests get 503 before the listener closes. */
  shutdownLingerMs: number;
}

export const DEFAULT_API_SETTINGS: Readonly<ApiSettings> = Object.freeze({
  wsTickMs: 100,
  wsBookDepth: 20,
  wsMaxBufferedBytes: 1 << 20,
  wsCloseGraceMs: 1_000,
  wsMaxSubscriptions: 100,
  wsMaxMessageBytes: 4_096,
  wsStreamBatch: 1_000,
  wsConsumerName: "ws",
  wsCursorSaveMs: 1_000,
  cancelMaxExpirySeconds: 600,
  wsAuthMaxExpirySeconds: 600,
  defaultBookDepth: 50,
  maxBookDepth: 500,
  healthTimeoutMs: 1_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  shutdownDrainMs: 10_000,
  shutdownLingerMs: 250,
});

/** The configuration the API reads; an OperatorConfig is one (pass it whole). */
export interface ApiConfig {
  /** Each chain served and its order domain (its Settlement). */
  chains: readonly (Pick<ChainConfig, "chainId" | "orderDomain"> & Partial<Pick<ChainConfig, "commitmentAddress" | "operatorPrivateKey">>)[];
  /** Every market, each on one of `chains`. */
  markets: MarketRegistry | readonly Market[];
  limits: Pick<OperatorConfig["limits"], "maxBodyBytes" | "maxOrdersPerRequest" | "maxExpirySeconds">;
  /** Per client address and WebSocket connection; DEFAULT_CLIENT_LIMITS (operator/config) for what is missing. */
  clientLimits?: Partial<ClientLimits>;
  verifier?: Pick<OperatorConfig["verifier"], "erc1271TimeoutMs">;
  api?: Partial<ApiSettings>;
}
