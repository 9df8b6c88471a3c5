/**
 * The chain watcher: follows the Settlement and OrderbookCommitment events of one chain by
 * polling (the public HyperEVM RPC has no WebSocket), hands them to `handle` in chain order
 * once `confirmations` blocks are on top of them, and persists how far it got in Redis
 * (./watcherKeys.ts), so a restart resumes where it stopped.
 *
 * A poll (one iteration of the loop "watcher:<chainId>", operator/tasks):
 *  1. eth_blockNumber: head; safe = head - confirmations. Nothing new (safe <= processed): done,
 *     one request.
 *  2. The reorg check, one eth_getBlockByNumber: the hash of the last read's last block (its
 *     "target"), recorded when that read began, must still be the chain's. A block hash commits
 *     to all its ancestors, so this one comparison catches a reorg of ANY processed block. When
 *     a single block is new, the check reads that block instead (its parentHash is the target's
 *     hash) and the poll needs no other header.
 *  3. One eth_getBlockByNumber for the hash of `to`, the last block this poll will read (up to
 *     `maxRangesPerPoll` ranges; a catch-up continues at once in the next iteration). It is
 *     fetched BEFORE the logs, so a reorg during the read leaves a hash the next check rejects.
 *     A read left unfinished (a handler failed, the daemon died) is finished first: its target
 *     and hash are in the cursor, and it goes on from the range that was not done.
 *  4. eth_getLogs for both contracts, from processed+1 to `to`, in ranges of at most
 *     `logRangeBlocks` blocks, in order. Each range's events (./events.ts) go to `handle` in
 *     (block, logIndex) order, awaited; then the cursor moves to the range's end and the hashes
 *     of the range's blocks that had our logs are recorded (with `to`'s at the last range).
 *  So a poll with new blocks costs 2 or 3 requests plus one per range.
 *
 * First start (no cursor in Redis): from `startBlock` if given (its events included), else
 * from the block after the current safe head (the chain's history up to then is not replayed:
 * set the start block, e.g. the Settlement's deployment block, to replay it). Later starts
 * resume from the cursor and ignore `startBlock`.
 *
 * Reorgs: when the check fails, the watcher walks back through the recorded hashes (a binary
 * search, one header per step) to the fork point, the highest recorded block whose hash still
 * matches, rewinds the cursor there, logs a warning, counts it (hyperindex_watcher_reorgs_total)
 * and reads again from the fork point with ctx.reorg true up to the block it had reached. Only
 * hashes verified by an earlier check take part in the walk (the latest read's might come from
 * a chain that moved mid-read). Hashes are kept for `reorgWindowBlocks` blocks; a reorg deeper
 * than that is logged as an error and read again from below the window.
 *
 * Handlers must be idempotent by event `id`: the watcher does not dedupe, and a range is
 * handed again after a reorg (ctx.reorg true) and after a handler failure (the failed range,
 * whose events the handler may have applied in part). ctx also gives the range (fromBlock,
 * toBlock): during a re-read after a reorg `handle` is called for every range, even without
 * events, so a handler can tell which of the events it had are gone (orphaned and not
 * re-included): every event of ours in blocks fromBlock..toBlock is in `events`.
 *
 * A handler failure or an RPC failure fails the iteration: the loop backs off and the same
 * range is read again (the cursor did not move): nothing is skipped. The in-memory cursor is
 * dropped on any failure and read back from Redis, which stays the truth.
 *
 * One watcher per chain (DESIGN.md): two on the same Redis would race on the cursor.
 */
import { numberToHex } from "viem";
import type { Address, Hex } from "../orders/types";
import { createLoop, systemClock } from "../tasks";
import { decodeChainLogs, type RawLog } from "./events";
import { chainErrorOf } from "./rpcErrors";
import { createCursorStore, type WatchCursor } from "./watcherCursor";
import { watcherMetrics, type WatcherMetrics } from "./watcherMetrics";
import type { ChainWatcher, ChainWatcherDeps, ChainWatcherParams, PollResult } from "./watcherTypes";

export type { ChainEventHandler, ChainWatcher, ChainWatcherDeps, ChainWatcherParams, ChainWatcherStatus, HandleContext, PollResult } from "./watcherTypes";

interface Header {
  hash: Hex;
  parentHash: Hex;
}

export function createChainWatcher(deps: ChainWatcherDeps, params: ChainWatcherParams): ChainWatcher {
  checkParams(params);
  const chainId = params.chainId;
  const chain = String(chainId);
  const logger = deps.logger.child({ at: "watcher", chainId });
  const clock = deps.clock ?? systemClock;
  const metrics: WatcherMetrics | undefined = deps.metrics === undefined ? undefined : watcherMetrics(deps.metrics);
  const client = deps.rpc.client;
  const settlement = params.settlementAddress.toLowerCase() as Address;
  const commitment = params.commitmentAddress.toLowerCase() as Address;
  const sources = { chainId, settlementAddress: settlement, commitmentAddress: commitment };
  const store = createCursorStore({ redis: deps.redis, clock }, sources);
  const window = BigInt(params.reorgWindowBlocks ?? 256);
  const rangeBlocks = BigInt(params.logRangeBlocks);
  const pollBlocks = rangeBlocks * BigInt(params.maxRangesPerPoll ?? 10);

  let cursor: WatchCursor | undefined;
  let inFlight: Promise<PollResult> | undefined;
  const seen = { head: null as bigint | null, safe: null as bigint | null, processed: null as bigint | null, reorgs: 0, lastPollAt: null as number | null };

  async function header(blockNumber: bigint): Promise<Header | null> {
    const block = await client.request({ method: "eth_getBlockByNumber", params: [numberToHex(blockNumber), false] });
    if (block === null || block.hash === null) return null;
    return { hash: block.hash.toLowerCase() as Hex, parentHash: block.parentHash.toLowerCase() as Hex };
  }

  function progress(c: WatchCursor): void {
    seen.processed = c.block;
    metrics?.processed.set({ chain }, Number(c.block));
    if (seen.head !== null) metrics?.lag.set({ chain }, Number(seen.head - c.block));
  }

  /** The cursor of the first start: just below startBlock, or the safe head. */
  async function firstStart(safe: bigint): Promise<WatchCursor> {
    const block = params.startBlock !== undefined ? BigInt(params.startBlock) - 1n : safe < -1n ? -1n : safe;
    const c: WatchCursor = { block, base: block, target: block, hashes: new Map() };
    await store.save(c);
    logger.info(
      { startBlock: (block + 1n).toString(), settlement, commitment },
      `chain ${chainId}: no cursor in Redis, following the contracts from block ${block + 1n} (${params.startBlock !== undefined ? "the configured start block" : "the safe head"})`,
    );
    return c;
  }

  /**
   * Makes sure the blocks handed so far are still the chain's (rewinding to the fork point if
   * not): compares the chain's hash of the current read's target (which covers the handed
   * blocks: a hash commits to its ancestors) with the one recorded. `next`: the first block to
   * read; when a complete read is followed by a single new block, that block's header is the
   * check (its parentHash) and its hash is returned for the next read.
   */
  async function verify(c: WatchCursor, next: bigint, to: bigint): Promise<{ toHash?: Hex; reorg: boolean; again?: boolean }> {
    if (c.target < 0n) return { reorg: false };
    const recorded = c.targetHash;
    if (recorded === undefined) {
      // The first start (or after a reorg deeper than the window): nothing to compare with yet;
      // the chain's hash of the starting block becomes the reference.
      const h = await header(c.target);
      if (h === null) return { reorg: false, again: true };
      c.targetHash = h.hash;
      c.hashes.set(c.target, h.hash);
      await store.save(c, { record: new Map([[c.target, h.hash]]) });
      return { reorg: false };
    }
    if (c.block === c.target && to === next) {
      const h = await header(next);
      if (h !== null && h.parentHash === recorded) return { toHash: h.hash, reorg: false };
    } else {
      const h = await header(c.target);
      if (h !== null && h.hash === recorded) return { reorg: false };
    }
    return rewind(c);
  }

  /** Walks back to the fork point and moves the cursor there. */
  async function rewind(c: WatchCursor): Promise<{ reorg: boolean; again?: boolean }> {
    const old = c.block;
    // Only hashes verified by an earlier check: those at or below the current read's base.
    const candidates = [...c.hashes.keys()].filter((n) => n <= c.base).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    let lo = 0;
    let hi = candidates.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const h = await header(candidates[mid]);
      if (h !== null && h.hash === c.hashes.get(candidates[mid])) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found >= 0 && candidates[found] === c.target) {
      // The target matches after all: the node answered from another view of the chain (a load
      // balancer) a moment ago. Nothing to rewind; poll again.
      logger.warn({ block: c.target.toString() }, `chain ${chainId}: inconsistent answers about block ${c.target}; polling again`);
      return { reorg: false, again: true };
    }
    const deep = found < 0;
    const fork = deep ? (candidates.length > 0 ? candidates[0] - 1n : c.base) : candidates[found];
    const drop = [...c.hashes.keys()].filter((n) => deep || n > fork);
    for (const n of drop) c.hashes.delete(n);
    c.block = fork;
    c.base = fork;
    c.target = fork;
    const hash = c.hashes.get(fork);
    if (hash === undefined) delete c.targetHash;
    else c.targetHash = hash;
    if (fork < old) c.reorgUntil = c.reorgUntil !== undefined && c.reorgUntil > old ? c.reorgUntil : old;
    await store.save(c, { drop });
    seen.reorgs++;
    metrics?.reorgs.inc({ chain });
    const facts = { fork: fork.toString(), processed: old.toString(), depth: (old - fork).toString(), window: window.toString() };
    if (deep) {
      logger.error(facts, `chain ${chainId}: reorg deeper than the ${window}-block window: no recorded block hash matches; reading again from block ${fork + 1n}`);
    } else {
      logger.warn(facts, `chain ${chainId}: reorg detected, fork at block ${fork}; reading blocks ${fork + 1n}..${old} again`);
    }
    return { reorg: true, again: deep };
  }

  async function poll(signal?: AbortSignal): Promise<PollResult> {
    let c = cursor ?? (await store.load());
    const head = await client.getBlockNumber();
    const safe = head - BigInt(params.confirmations);
    seen.head = head;
    seen.safe = safe;
    c ??= await firstStart(safe);
    cursor = c;
    progress(c);
    /** `more` (run again at once) defaults to "blocks remain"; false when the node's answers said to wait. */
    const result = (events: number, reorg: boolean, more = safe > c.block): PollResult => {
      seen.lastPollAt = clock.now();
      progress(c);
      return { head, safeHead: safe, processedBlock: c.block, events, reorg, more };
    };
    if (safe <= c.block) return result(0, false);

    const check = await verify(c, c.block + 1n, min(safe, c.block + pollBlocks));
    // After a reorg deeper than the window: at once (the new base's hash first). After answers
    // that disagree (a node behind a load balancer lagging): on the next interval.
    if (check.again === true) return result(0, check.reorg, check.reorg);
    let to: bigint;
    let toHash: Hex | undefined;
    if (c.block < c.target) {
      // An unfinished read (a failed handler, a crash): its target was just verified; finish it.
      to = c.target;
      toHash = c.targetHash;
    } else {
      to = min(safe, c.block + pollBlocks);
      toHash = check.toHash ?? (await header(to))?.hash;
      if (toHash === undefined) return result(0, check.reorg, false); // the node does not have it (yet)
      c.base = c.block;
      c.target = to;
      c.targetHash = toHash;
    }

    let handed = 0;
    for (let from = c.block + 1n; from <= to; ) {
      if (signal?.aborted === true) break;
      const end = min(from + rangeBlocks - 1n, to);
      const logs = (await client.getLogs({ address: [settlement, commitment], fromBlock: from, toBlock: end })) as RawLog[];
      const events = decodeChainLogs(sources, logs);
      const reorg = c.reorgUntil !== undefined && from <= c.reorgUntil;
      if (events.length > 0 || reorg) await params.handle(events, { reorg, fromBlock: from, toBlock: end });
      const record = new Map<bigint, Hex>();
      for (const log of logs) record.set(log.blockNumber, log.blockHash.toLowerCase() as Hex);
      if (end === to && toHash !== undefined) record.set(to, toHash);
      for (const [n, h] of record) c.hashes.set(n, h);
      c.block = end;
      if (c.reorgUntil !== undefined && end >= c.reorgUntil) delete c.reorgUntil;
      const keepFrom = min(c.base, end - window + 1n);
      const drop = [...c.hashes.keys()].filter((n) => n < keepFrom);
      for (const n of drop) c.hashes.delete(n);
      await store.save(c, { record, drop });
      for (const e of events) metrics?.events.inc({ chain, kind: e.kind });
      handed += events.length;
      progress(c);
      if (events.length > 0) logger.debug({ from: from.toString(), to: end.toString(), events: events.length, reorg }, `chain ${chainId}: handed ${events.length} event(s) of blocks ${from}..${end}`);
      from = end + 1n;
    }
    return result(handed, check.reorg);
  }

  async function pollOnce(signal?: AbortSignal): Promise<PollResult> {
    if (inFlight !== undefined) return inFlight;
    inFlight = (async () => {
      try {
        return await poll(signal);
      } catch (error) {
        // Redis holds the truth: whatever this poll changed in memory is read back next time.
        cursor = undefined;
        // An open breaker arrives wrapped by viem: surface the ChainError itself.
        throw chainErrorOf(error) ?? error;
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  }

  const loop = createLoop(
    { logger, metrics: deps.metrics, clock, timers: deps.timers },
    {
      name: `watcher:${chainId}`,
      intervalMs: params.pollIntervalMs,
      backoff: params.backoff,
      run: async (signal) => ((await pollOnce(signal)).more ? { again: true } : undefined),
    },
  );

  return {
    loop,
    pollOnce,
    status() {
      const n = (v: bigint | null): number | null => (v === null ? null : Number(v));
      return {
        chainId,
        head: n(seen.head),
        safeHead: n(seen.safe),
        processedBlock: n(seen.processed),
        lagBlocks: seen.head === null || seen.processed === null ? null : Number(seen.head - seen.processed),
        reorgs: seen.reorgs,
        lastPollAt: seen.lastPollAt,
      };
    },
  };
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

function checkParams(params: ChainWatcherParams): void {
  const bad = (message: string): RangeError => new RangeError(`createChainWatcher(chain ${params.chainId}): ${message}`);
  const int = (v: number | undefined, lo: number) => v === undefined || (Number.isSafeInteger(v) && v >= lo);
  if (!int(params.confirmations, 0)) throw bad(`confirmations must be an integer >= 0`);
  if (!int(params.logRangeBlocks, 1)) throw bad(`logRangeBlocks must be an integer >= 1`);
  if (!int(params.reorgWindowBlocks, 1)) throw bad(`reorgWindowBlocks must be an integer >= 1`);
  if (!int(params.maxRangesPerPoll, 1)) throw bad(`maxRangesPerPoll must be an integer >= 1`);
  if (params.startBlock !== undefined && BigInt(params.startBlock) < 0n) throw bad(`startBlock must be >= 0`);
  if (typeof params.handle !== "function") throw bad(`handle must be a function`);
}
