/**
 * The chain watcher's API (./watcher.ts): what it needs, what it hands, what it reports.
 */
import type { Logger } from "../log";
import type { Registry } from "../metrics";
import type { Address } from "../orders/types";
import type { RedisClient } from "../redis/client";
import type { BackoffPolicy, Clock, Loop, Timers } from "../tasks";
import type { ChainEvent } from "./events";
import type { ChainRpc } from "./rpcTypes";

export interface HandleContext {
  /** The range is read again after a reorg: some events may be handed a second time, some of the first time may be gone. */
  reorg: boolean;
  /** The blocks this call covers (every event of ours in them is in `events`). */
  fromBlock: bigint;
  toBlock: bigint;
}

export type ChainEventHandler = (events: ChainEvent[], ctx: HandleContext) => Promise<void>;

export interface ChainWatcherDeps {
  redis: RedisClient;
  rpc: ChainRpc;
  logger: Logger;
  metrics?: Registry;
  clock?: Clock;
  /** The loop's timers (tests). */
  timers?: Timers;
}

export interface ChainWatcherParams {
  chainId: number;
  settlementAddress: Address;
  commitmentAddress: Address;
  /** Blocks on top of a block before its events are handed (0: the head's own). */
  confirmations: number;
  /** Blocks per eth_getLogs at most. */
  logRangeBlocks: number;
  pollIntervalMs: number;
  /** First start only: the first block read. Default: the current safe head + 1. */
  startBlock?: number | bigint;
  /** Blocks whose hashes are kept to find a fork point. Default 256. */
  reorgWindowBlocks?: number;
  /** eth_getLogs ranges per poll at most; a catch-up continues in the next iteration at once. Default 10. */
  maxRangesPerPoll?: number;
  /** The loop's backoff after a failed poll (operator/tasks defaults). */
  backoff?: Partial<BackoffPolicy>;
  handle: ChainEventHandler;
}

/** For /health; block numbers as numbers (JSON), null before the first poll. */
export interface ChainWatcherStatus {
  chainId: number;
  head: number | null;
  safeHead: number | null;
  processedBlock: number | null;
  /** head - processedBlock. */
  lagBlocks: number | null;
  reorgs: number;
  /** When the last successful poll ended (ms since the epoch). */
  lastPollAt: number | null;
}

export interface PollResult {
  head: bigint;
  safeHead: bigint;
  /** The last block whose events were handed. */
  processedBlock: bigint;
  /** Events handed in this poll. */
  events: number;
  /** A reorg was detected in this poll. */
  reorg: boolean;
  /** Blocks up to the safe head remain to be read (the loop runs again at once). */
  more: boolean;
}

export interface ChainWatcher {
  readonly loop: Loop;
  status(): ChainWatcherStatus;
  /** One poll (what the loop runs); concurrent calls share the poll in flight. */
  pollOnce(signal?: AbortSignal): Promise<PollResult>;
}
