/**
 * The chain RPC's API (./rpc.ts): its dependencies, its policies, its status.
 */
import type { PublicClient } from "viem";
import type { Logger } from "../log";
import type { Registry } from "../metrics";
import type { Clock } from "../tasks";

export interface ChainRpcDeps {
  /** The daemon's logger; lines carry `at: "rpc"`, chainId and chain (the name). */
  logger: Logger;
  metrics?: Registry;
  /** For lastErrorAt and the breaker's timestamps; the breaker's own timers are real. */
  clock?: Clock;
}

export interface RetryPolicy {
  /** Attempts in all, the first included; >= 1. */
  attempts: number;
  /** Base delay before the second attempt, ms; doubles per attempt. */
  initialMs: number;
  /** Cap of the base delay, ms. */
  maxMs: number;
}

export interface BreakerPolicy {
  /** Node failures in a row that open the breaker; >= 1. */
  failureThreshold: number;
  /** How long an open breaker fails fast before it lets a probe through, ms. */
  resetMs: number;
}

export interface ChainRpcParams {
  chainId: number;
  /** For logs (ChainConfig.name). */
  name: string;
  /** May carry credentials: never logged. */
  rpcUrl: string;
  /** Attempts per minute at most (the public HyperEVM RPC allows about 100). */
  requestsPerMinute: number;
  /** Attempts in flight at once. Default 4. */
  maxConcurrent?: number;
  /** HTTP timeout of one attempt, ms. Default 10 000. */
  timeoutMs?: number;
  /** Default { attempts: 5, initialMs: 250, maxMs: 8 000 }. */
  retry?: RetryPolicy;
  /** Default { failureThreshold: 5, resetMs: 30 000 }. */
  breaker?: BreakerPolicy;
}

export type BreakerState = "closed" | "open" | "half-open";

/** For /health. Times are ms since the epoch (the deps' clock). */
export interface ChainRpcStatus {
  chainId: number;
  breaker: BreakerState;
  /** Attempts sent to the node. */
  requests: number;
  /** Attempts that failed with a node failure. */
  failures: number;
  retries: number;
  /** Node failures in a row now (the breaker opens at its threshold). */
  consecutiveFailures: number;
  lastError?: string;
  lastErrorAt?: number;
  /** Attempts left in the current minute's budget (an attempt waiting for its slot is counted as spent). */
  budget: number;
  /** Attempts waiting: for budget, or for their slot in the spacing. */
  queued: number;
}

export interface ChainRpc {
  readonly chainId: number;
  readonly name: string;
  /** Every request of this client is budgeted, retried and guarded by the breaker. */
  readonly client: PublicClient;
  status(): Promise<ChainRpcStatus>;
  /** Drops the requests still waiting for budget (they reject) and shuts the breaker down; idempotent. */
  close(): Promise<void>;
}
