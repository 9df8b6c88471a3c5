/**
 * The verifier pool's public types.
 *
 * One pool verifies orders for one or more EIP-712 domains: one per chain the operator
 * settles on (name "HyperIndex", version "1", that chain's id and Settlement address). A
 * request names its chain with `chainId`; the pool hashes and checks the order in that
 * chain's domain, and asks that chain's client for EIP-1271 wallets.
 */
import type { Logger } from "../../log";
import type { Registry } from "../../metrics";
import type { OrderErrorCode } from "../errors";
import type { Hex, Order, OrderDomain } from "../types";
import type { Erc1271Client } from "./erc1271";

export interface VerifyRequest {
  order: Order;
  /** 0x-prefixed hex, as decoded by ../codec. */
  signature: Hex;
  /**
   * The chain whose domain the order is verified in (the chain of its market). Required when
   * the pool serves several domains; optional with one, which is then used. A chain the pool
   * does not serve, or none named with several domains, answers DOMAIN_CHAIN_MISMATCH.
   */
  chainId?: bigint;
}

export type VerifyResult =
  | { ok: true; orderHash: Hex; scheme: "ecdsa" | "erc1271" }
  | { ok: false; code: OrderErrorCode; message: string; orderHash?: Hex };

interface VerifierPoolBaseDeps {
  logger: Logger;
  metrics?: Registry;
}

/**
 * Chain clients read the chain for EIP-1271 wallets. An order of a chain without a client
 * gets the ECDSA verdict only. Give `chains` (client by chain id, each id one of the pool's
 * domains), or, for a one-domain pool, `chain`; never both.
 */
export type VerifierPoolDeps = VerifierPoolBaseDeps &
  (
    | {
        /** One-domain shorthand: the client of the pool's only chain. */
        chain?: Erc1271Client;
        chains?: undefined;
      }
    | {
        chain?: undefined;
        /** The client of each chain, by chain id; a chain may have none. */
        chains?: ReadonlyMap<bigint, Erc1271Client>;
      }
  );

export interface VerifierPoolOptions {
  /** Worker threads; default os.availableParallelism(). */
  size?: number;
  /** Bound on each EIP-1271 RPC request. Default 2,000 ms. */
  erc1271TimeoutMs?: number;
  /** Most EIP-1271 RPC requests in flight at once, per chain. Default 8. */
  erc1271Concurrency?: number;
  /** verify() rejects with VERIFIER_OVERLOADED past this many queued orders. Default 100,000. */
  maxQueuedOrders?: number;
  /** Largest batch sent to a worker in one message. Default 512. */
  maxOrdersPerMessage?: number;
}

/** The domains served: `domains` (1 to 255, distinct chain ids), or `domain` for `domains: [domain]`. */
export type VerifierPoolParams = VerifierPoolOptions &
  (
    | {
        /** One-domain shorthand for `domains: [domain]`. */
        domain: OrderDomain;
        domains?: undefined;
      }
    | {
        domain?: undefined;
        /** One per chain: 1 to 255 domains with distinct chain ids. */
        domains: readonly OrderDomain[];
      }
  );

export interface VerifierPoolStats {
  workers: number;
  readyWorkers: number;
  queuedOrders: number;
  inFlightBatches: number;
  pendingErc1271: number;
  crashes: number;
}

export interface VerifierPool {
  readonly size: number;
  /** Resolves once every worker has started; rejects (VERIFIER_START_FAILED) if one cannot. */
  ready(): Promise<void>;
  /** One result per request, in the same order. Rejects only with a VerifierError. */
  verify(batch: readonly VerifyRequest[]): Promise<VerifyResult[]>;
  /** Stops intake, finishes queued and in-flight work, stops the workers. Idempotent. */
  close(): Promise<void>;
  stats(): VerifierPoolStats;
}
