/** The verifier pool's public types. */
import type { Logger } from "../../log";
import type { Registry } from "../../metrics";
import type { OrderErrorCode } from "../errors";
import type { Hex, Order, OrderDomain } from "../types";
import type { Erc1271Client } from "./erc1271";

export interface VerifyRequest {
  order: Order;
  /** 0x-prefixed hex, as decoded by ../codec. */
  signature: Hex;
}

export type VerifyResult =
  | { ok: true; orderHash: Hex; scheme: "ecdsa" | "erc1271" }
  | { ok: false; code: OrderErrorCode; message: string; orderHash?: Hex };

export interface VerifierPoolDeps {
  logger: Logger;
  /** Reads the chain for EIP-1271 wallets; without it only ECDSA signatures can verify. */
  chain?: Erc1271Client;
  metrics?: Registry;
}

export interface VerifierPoolParams {
  domain: OrderDomain;
  /** Worker threads; default os.availableParallelism(). */
  size?: number;
  /** Bound on each EIP-1271 RPC request. Default 2,000 ms. */
  erc1271TimeoutMs?: number;
  /** Most EIP-1271 RPC requests in flight at once. Default 8. */
  erc1271Concurrency?: number;
  /** verify() rejects with VERIFIER_OVERLOADED past this many queued orders. Default 100,000. */
  maxQueuedOrders?: number;
  /** Largest batch sent to a worker in one message. Default 512. */
  maxOrdersPerMessage?: number;
}

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
