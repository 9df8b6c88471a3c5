/** The signer's public types (./signer.ts builds it). */
import type { PublicClient } from "viem";
import type { Secret } from "../config";
import type { Logger } from "../log";
import type { Registry } from "../metrics";
import type { Address, Hex } from "../orders/types";
import type { RedisClient } from "../redis";
import type { Clock } from "../tasks";
import type { TxRecord, TxStatus } from "./signerRecord";

export interface SignerDeps {
  redis: RedisClient;
  /** Standard PublicClient methods only (getBlock, getTransactionCount, estimateMaxPriorityFeePerGas, sendRawTransaction, getTransactionReceipt): the budgeted ChainRpc client plugs in here. */
  client: PublicClient;
  logger: Logger;
  metrics?: Registry;
  clock?: Clock;
}

export interface SignerParams {
  chainId: number;
  /** The chain's name, for logs (the metrics' `chain` label is the chain id). */
  name: string;
  /** Read once, with `.reveal()`, to build the signing account; never logged. */
  privateKey: Secret<Hex>;
  /** Blocks on top of a transaction's block before it is confirmed (0: confirmed when mined). */
  confirmations: number;
  /** Transactions between "sent" and "mined" at most (HyperEVM's mempool takes the next 8 nonces of a sender). Default 8. */
  maxInFlight?: number;
  /** A transaction in the node's pool and not mined after this long is replaced with higher fees. */
  stuckAfterMs: number;
  /** How much a replacement raises both fees, basis points; >= 1250 (nodes require 12.5%). */
  feeBumpBps: number;
  /** Floor of the priority fee, wei. Default 0 (HyperEVM reports a zero priority fee). */
  minPriorityFeeWei?: bigint;
  /** Ceiling of the max fee per gas, wei: the signer never signs above it; the transaction waits. */
  maxFeePerGasWei?: bigint;
  /** Period of the tracking loop. */
  pollIntervalMs: number;
  /** How long confirmed and failed records stay in Redis (wait() after a restart). Default 7 days. */
  keepConfirmedMs?: number;
}

export interface SubmitRequest {
  /** What the transaction is for, "<kind>:<id>" (e.g. "settle:42", "epoch:7"): one transaction per purpose, ever. */
  purpose: string;
  to: Address;
  data: Hex;
  gas: bigint;
}

/** A transaction the signer has recorded and sent (and keeps sending until it is confirmed). */
export interface SubmittedTx {
  nonce: number;
  /** The current attempt's hash (the latest replacement). */
  hash: Hex;
  purpose: string;
  status: TxStatus;
  /** Every attempt's hash, oldest first: any of them may be the one mined. */
  hashes: Hex[];
  /** When it was first recorded, ms. */
  sentAt: number;
  /** The current attempt's fees. */
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

export interface ConfirmedTx {
  nonce: number;
  purpose: string;
  /** The attempt that was mined. */
  hash: Hex;
  blockNumber: bigint;
  blockHash: Hex;
  result: "success" | "reverted";
  gasUsed: bigint;
  effectiveGasPrice: bigint;
  /** Attempts beyond the first (fee bumps). */
  replacements: number;
  reorgs: number;
  sentAt: number;
  confirmedAt: number;
}

/** For /health. */
export interface SignerStatus {
  address: Address;
  chainId: number;
  /** The nonce the next submit gets. */
  nextNonce: number;
  /** Sent and not yet mined (what maxInFlight bounds). */
  inFlight: number;
  /** Mined, waiting for their confirmations. */
  mined: number;
  /** Not mined longer than stuckAfterMs after their current attempt (replacement due, or waiting at the fee ceiling). */
  stuck: number;
  /** Waiting because the fee ceiling forbids the bump they need. */
  atFeeCeiling: number;
  /** Replacements since this instance started. */
  replacements: number;
  /** Submits waiting for a free slot. */
  waitingForSlot: number;
  lastError: string | null;
  lastErrorAt: number | null;
}

export interface Signer {
  readonly address: Address;
  readonly chainId: number;
  /**
   * Reconciles with Redis and the chain (takes ownership of the keyspace, reloads the records
   * in flight, resolves those the chain has mined, re-broadcasts the others' stored raw
   * transactions, sets the next nonce), then starts the tracking loop. Rejects if Redis or the
   * RPC cannot be reached (call it again).
   */
  start(): Promise<void>;
  /** Stops the tracking loop (drained); calls waiting for a slot or an outcome reject with SIGNER_STOPPED. */
  stop(): Promise<void>;
  /**
   * Waits for a slot, signs with the node's current fees at the next nonce, records the
   * transaction in Redis, then broadcasts it. Idempotent per purpose: the same purpose again
   * returns the transaction already recorded (SIGNER_PURPOSE_CONFLICT if to/data/gas differ).
   * Rejects only before anything is recorded (SIGNER_FEES_UNAVAILABLE, Redis down): then no
   * nonce was used and submitting again is safe. A failed broadcast does not reject: the
   * tracking loop sends it again.
   */
  submit(request: SubmitRequest): Promise<SubmittedTx>;
  /** The outcome of the transaction of this nonce (also one confirmed before a restart, while its record is kept). Rejects with SIGNER_NONCE_CONSUMED if another transaction took its nonce. */
  wait(nonce: number, options?: { signal?: AbortSignal }): Promise<ConfirmedTx>;
  /** Called once per confirmation, in this process (after a restart, use wait() with the nonces you recorded). Returns the unsubscribe function. */
  onConfirmed(listener: (tx: ConfirmedTx) => void): () => void;
  /** Called when a transaction fails for good (its nonce taken by a transaction the signer does not know). */
  onFailed(listener: (tx: SubmittedTx, error: Error) => void): () => void;
  /** Transactions in flight (sent or mined, not yet confirmed), by nonce. */
  pending(): SubmittedTx[];
  /** The full record of a nonce (in flight, or kept after its confirmation). */
  record(nonce: number): Promise<TxRecord | undefined>;
  status(): SignerStatus;
}
