/**
 * The epoch log of one chain: what the operator received (every accepted order) and did
 * (every fill, with its final batch) goes into numbered epochs; each epoch's Merkle root is
 * committed to OrderbookCommitment through the chain's one signer, and its data file is
 * written where anyone can fetch it (GET /v1/epochs/:n/data).
 *
 * Which epoch holds what:
 *  - An order: the epoch open in its market when the market accepted it (operator/matching
 *    epochs.ts: "ep" on its journal entry, and the epoch of the operator's receipt). Its
 *    sequence number is (marketId << 48) | its arrival number in the market.
 *  - A fill: the epoch of its MATCH (the epoch open in its market when it was matched), with
 *    its FINAL batch id: the batch whose transaction settled it, or that skipped it on chain;
 *    0 for a fill left out of every batch (unwound off chain). A sealed epoch is therefore
 *    built only once each of its fills has its final outcome (settlement lag: seconds), and
 *    every fill is committed exactly once, with the batch that decided it.
 *  - Leaf order in the tree and the file: the orders (market by market, in arrival order),
 *    then the fills (market by market, by counter).
 *
 * One epoch at a time, in these steps (each recorded in Redis before the next; a crash
 * anywhere resumes from the record, never from memory):
 *   open     orders and fills come in (closes after HYPERINDEX_EPOCH_SECONDS, or at
 *            HYPERINDEX_EPOCH_MAX_LEAVES leaves; never empty)
 *   sealed   every market of the chain sealed it (seal.lua, idempotent); the ranges recorded
 *   built    leaves read from the journal, tree built off the main thread, data file written
 *            (deterministic: a rebuild after a crash gives the same bytes, the same root)
 *   sent     commitEpoch(epoch, root, leafCount, dataHash) handed to the signer under the
 *            purpose "epoch:<n>" (one transaction per purpose, ever: no second root)
 *   committed  the signer confirmed it, or the chain already holds our root for it; only now
 *            the journal's entries of the epoch may be trimmed (the consumer "epochs"), and
 *            the fills' final batch records go
 * A chain that already holds a different root for the epoch stops the log (never overwritten:
 * the contract refuses a second commit; the problem is in /health and the logs).
 *
 * Keys (one slot per chain, hx:v3:epochs:{c:<chainId>}:<name>):
 *   state        HASH  open (the open epoch), openedAt (ms), committed (last committed epoch)
 *   epoch:<n>    HASH  status, sealedAt, ranges (JSON: per market firstSeq, lastSeq,
 *                      firstFill, lastFill), root, dataHash, leafCount, file, nonce, tx,
 *                      block, committedAt
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { encodeFunctionData, type PublicClient } from "viem";
import { commitmentAbi } from "../chain/abi";
import type { Signer } from "../chain/signerTypes";
import type { Failpoints } from "../failpoints";
import { readAccepted, readFills, registerConsumer, saveCursor, type ConsumerSpec } from "../journal";
import type { Logger } from "../log";
import type { Market } from "../markets";
import { alignMarketEpoch, bookKeys, orderSequence, sealMarketEpoch, type SealedRange } from "../matching";
import { SEAL_SCRIPT } from "../matching/scripts";
import type { Address, Hex } from "../orders";
import type { RedisClient } from "../redis/client";
import { chainTag, keyspacePrefix } from "../redis/keys";
import { ScriptRunner } from "../redis/scripts";
import { settleKeys } from "../settlement/keys";
import { createLoop, type Loop } from "../tasks";
import type { Registry } from "../metrics";
import { CommitmentError } from "./errors";
import { epochMetrics } from "./metrics";
import { epochDataFileName, loadEpochForProofs, writeEpochDataFile, writeEpochDataFileInWorker } from "./epochFile";
import { IN_WORKER_FROM_LEAVES } from "./treeWorker";
import type { CommitmentLeaf, FillLeaf, OrderAcceptedLeaf } from "./leaves";
import { CommitmentTree } from "./tree";

export const EPOCHS_KEYSPACE = keyspacePrefix("epochs", 3);

/** The journal consumer that holds back trimming until an epoch is committed. */
export const EPOCH_CONSUMER: ConsumerSpec = { name: "epochs", mode: "durable", streams: ["fills", "accepted"] };

/** Gas of commitEpoch: about 75,000 (four storage words, one event); the limit leaves room. */
const COMMIT_GAS = 150_000n;
/** While a commit is in flight, how often the chain is asked whether it landed (RPC budget). */
const SENT_RECHECK_MS = 30_000;
/** Fills read per HMGET of their final batches. */
const FINAL_CHUNK = 5_000;
/** Epoch trees kept in memory to answer proofs. */
const TREE_CACHE = 2;

export type EpochStatus = "open" | "sealed" | "built" | "sent" | "committed";

export interface EpochRecord {
  epoch: bigint;
  status: EpochStatus;
  ranges?: SealedRange[];
  sealedAt?: number;
  root?: Hex;
  dataHash?: Hex;
  leafCount?: number;
  file?: string;
  nonce?: number;
  tx?: Hex;
  block?: bigint;
  committedAt?: number;
}

export interface EpochLogStatus {
  chainId: number;
  open: string;
  committed: string;
  /** The epoch between open and committed, if any, and where it stands. */
  pending: { epoch: string; status: EpochStatus; waitingFor?: string } | null;
  /** Set when the chain holds another root for an epoch: the log has stopped. */
  fault: string | null;
  loop: ReturnType<Loop["status"]>;
}

export interface EpochLogDeps {
  redis: RedisClient;
  logger: Logger;
  metrics: Registry;
  client: PublicClient;
  signer: Signer;
  failpoints?: Failpoints;
  clock?: { now(): number };
}

export interface EpochLogParams {
  chainId: number;
  commitmentAddress: Address;
  markets: readonly Market[];
  epochMs: number;
  maxLeaves: number;
  /** Directory of this chain's epoch data files. */
  dir: string;
  /** Loop period (ms). Default 1000. */
  intervalMs?: number;
}

export interface OrderProof {
  chainId: number;
  commitment: Address;
  epoch: string;
  status: EpochStatus;
  committed: boolean;
  leaf: OrderAcceptedLeaf | FillLeaf | null;
  leafIndex: number | null;
  leafHash: Hex | null;
  proof: Hex[] | null;
  root: Hex | null;
  commitTx: Hex | null;
}

export interface EpochLog {
  readonly chainId: number;
  readonly commitmentAddress: Address;
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): Promise<EpochLogStatus>;
  record(epoch: bigint): Promise<EpochRecord | undefined>;
  /** The epoch data file's path, once built. */
  filePath(epoch: bigint): Promise<string | undefined>;
  /** The proof of the leaf of `kind` keyed by `key` (sequence or fill id) in `epoch`. */
  proof(epoch: bigint, find: { kind: "order"; sequence: bigint; orderHash: Hex } | { kind: "fill"; fillId: bigint }): Promise<OrderProof>;
  readonly loop: Loop;
}

export function epochKeys(chainId: number): { state: string; epoch(n: bigint): string } {
  const prefix = `${EPOCHS_KEYSPACE}:${chainTag(chainId)}:`;
  return { state: `${prefix}state`, epoch: (n) => `${prefix}epoch:${n}` };
}

function encodeRecord(r: Partial<EpochRecord>): Record<string, string> {
  const f: Record<string, string> = {};
  if (r.status !== undefined) f.status = r.status;
  if (r.ranges !== undefined) f.ranges = JSON.stringify(r.ranges);
  if (r.sealedAt !== undefined) f.sealedAt = String(r.sealedAt);
  if (r.root !== undefined) f.root = r.root;
  if (r.dataHash !== undefined) f.dataHash = r.dataHash;
  if (r.leafCount !== undefined) f.leafCount = String(r.leafCount);
  if (r.file !== undefined) f.file = r.file;
  if (r.nonce !== undefined) f.nonce = String(r.nonce);
  if (r.tx !== undefined) f.tx = r.tx;
  if (r.block !== undefined) f.block = r.block.toString();
  if (r.committedAt !== undefined) f.committedAt = String(r.committedAt);
  return f;
}

function decodeRecord(epoch: bigint, h: Record<string, string>): EpochRecord | undefined {
  if (h.status === undefined) return undefined;
  return {
    epoch,
    status: h.status as EpochStatus,
    ...(h.ranges !== undefined ? { ranges: JSON.parse(h.ranges) as SealedRange[] } : {}),
    ...(h.sealedAt !== undefined ? { sealedAt: Number(h.sealedAt) } : {}),
    ...(h.root !== undefined ? { root: h.root as Hex } : {}),
    ...(h.dataHash !== undefined ? { dataHash: h.dataHash as Hex } : {}),
    ...(h.leafCount !== undefined ? { leafCount: Number(h.leafCount) } : {}),
    ...(h.file !== undefined ? { file: h.file } : {}),
    ...(h.nonce !== undefined ? { nonce: Number(h.nonce) } : {}),
    ...(h.tx !== undefined ? { tx: h.tx as Hex } : {}),
    ...(h.block !== undefined ? { block: BigInt(h.block) } : {}),
    ...(h.committedAt !== undefined ? { committedAt: Number(h.committedAt) } : {}),
  };
}

export function epochPurpose(epoch: bigint): string {
  return `epoch:${epoch}`;
}

export function createEpochLog(deps: EpochLogDeps, params: EpochLogParams): EpochLog {
  const { redis, signer } = deps;
  const logger = deps.logger.child({ at: "epochs", chainId: params.chainId });
  const clock = deps.clock ?? { now: () => Date.now() };
  const keys = epochKeys(params.chainId);
  const scripts = new ScriptRunner({ redis, logger }, [SEAL_SCRIPT]);
  const markets = [...params.markets].sort((a, b) => a.id - b.id);
  const marketById = new Map(markets.map((m) => [m.id, m]));
  const commitment = { address: params.commitmentAddress, abi: commitmentAbi } as const;
  let fault: string | null = null;
  let waitingFor: string | undefined;
  let nextSentCheck = 0;
  let confirmed: Promise<void> | undefined;
  const trees = new Map<string, { tree: CommitmentTree; leaves: readonly CommitmentLeaf[] }>();
  const metrics = epochMetrics(deps.metrics);
  const chain = String(params.chainId);
  const remember = (epoch: bigint, entry: { tree: CommitmentTree; leaves: readonly CommitmentLeaf[] }): void => {
    trees.set(epoch.toString(), entry);
    while (trees.size > TREE_CACHE) trees.delete(trees.keys().next().value!);
  };

  async function latestOnChain(): Promise<bigint> {
    return BigInt(await deps.client.readContract({ ...commitment, functionName: "latestEpoch" }));
  }

  async function state(): Promise<{ open: bigint; openedAt: number; committed: bigint }> {
    const [open, openedAt, committed] = await redis.hmget(keys.state, "open", "openedAt", "committed");
    if (open === null) throw new CommitmentError("EPOCH_LOG_NOT_STARTED", "the epoch log has no state: start() first");
    return { open: BigInt(open), openedAt: Number(openedAt ?? 0), committed: BigInt(committed ?? 0) };
  }

  async function loadRecord(epoch: bigint): Promise<EpochRecord | undefined> {
    return decodeRecord(epoch, await redis.hgetall(keys.epoch(epoch)));
  }

  /** Leaves (orders, then fills) in the open epoch so far, counted from the markets' counters. */
  async function openCount(open: bigint): Promise<number> {
    const counts = await Promise.all(
      markets.map(async (m) => {
        const k = bookKeys(m.id);
        const [[seq, fill], prevSeq, prevFill] = await Promise.all([
          redis.hmget(k.state, "seq", "fill"),
          open > 1n ? redis.zscore(k.epochs, (open - 1n).toString()) : Promise.resolve("0"),
          open > 1n ? redis.zscore(k.efills, (open - 1n).toString()) : Promise.resolve("0"),
        ]);
        return Number(seq ?? 0) - Number(prevSeq ?? 0) + (Number(fill ?? 0) - Number(prevFill ?? 0));
      }),
    );
    return counts.reduce((a, b) => a + b, 0);
  }

  async function seal(open: bigint): Promise<void> {
    const ranges: SealedRange[] = [];
    for (const m of markets) ranges.push(await sealMarketEpoch(scripts, m.id, open));
    const now = clock.now();
    const multi = redis.multi();
    multi.hset(keys.epoch(open), encodeRecord({ status: "sealed", ranges, sealedAt: now }));
    multi.hset(keys.state, { open: (open + 1n).toString(), openedAt: String(now) });
    await multi.exec();
    const orders = ranges.reduce((a, r) => a + Math.max(0, r.lastSeq - r.firstSeq + 1), 0);
    const fills = ranges.reduce((a, r) => a + Math.max(0, r.lastFill - r.firstFill + 1), 0);
    logger.info({ epoch: open.toString(), orders, fills }, "epoch sealed");
  }

  /** The epoch's leaves, or a reason to wait (fills whose outcome is not final yet). */
  async function gather(epoch: bigint, ranges: readonly SealedRange[]): Promise<{ leaves: CommitmentLeaf[] } | { wait: string }> {
    const orders: CommitmentLeaf[] = [];
    const fills: FillLeaf[] = [];
    let missing = 0;
    for (const r of ranges) {
      const market = marketById.get(r.market);
      if (market === undefined) throw new CommitmentError("EPOCH_MARKET_UNKNOWN", `epoch ${epoch} holds market ${r.market}, which is not configured on chain ${params.chainId}`);
      if (r.lastSeq >= r.firstSeq) {
        const entries = await readAccepted(redis, r.market, r.firstSeq - 1, r.lastSeq);
        missing += r.lastSeq - r.firstSeq + 1 - entries.length;
        for (const e of entries) {
          orders.push({ type: "orderAccepted", epoch, sequence: orderSequence(r.market, e.seq), orderHash: e.orderHash, trader: e.trader, receivedAt: BigInt(e.receivedAt) });
        }
      }
      if (r.lastFill >= r.firstFill) {
        const entries = await readFills(redis, r.market, r.firstFill - 1, r.lastFill);
        missing += r.lastFill - r.firstFill + 1 - entries.length;
        for (let i = 0; i < entries.length; i += FINAL_CHUNK) {
          const chunk = entries.slice(i, i + FINAL_CHUNK);
          const batches = await redis.hmget(settleKeys(params.chainId).final, ...chunk.map((f) => f.fillId.toString()));
          const open = batches.findIndex((b) => b === null);
          if (open >= 0) return { wait: `fill ${chunk[open].fillId} of epoch ${epoch} is not settled yet` };
          chunk.forEach((f, j) => {
            fills.push({
              type: "fill",
              epoch,
              fillId: f.fillId,
              makerHash: f.makerHash,
              takerHash: f.takerHash,
              price: BigInt(f.priceTicks) * market.tickSize,
              amount: BigInt(f.lots) * market.lotSize,
              batchId: BigInt(batches[j]!),
            });
          });
        }
      }
    }
    if (missing > 0) {
      // Entries trimmed before this chain's epoch log registered its journal consumer (data
      // from before epochs existed): committed without them, and said so.
      logger.warn({ epoch: epoch.toString(), missing }, "journal entries of the epoch were trimmed before the epoch log could read them: committed without them");
    }
    return { leaves: [...orders, ...fills] };
  }

  async function build(rec: EpochRecord): Promise<void> {
    const started = performance.now();
    const got = await gather(rec.epoch, rec.ranges ?? []);
    if ("wait" in got) {
      waitingFor = got.wait;
      return;
    }
    waitingFor = undefined;
    if (got.leaves.length === 0) {
      throw new CommitmentError("EMPTY_EPOCH", `epoch ${rec.epoch} was sealed without leaves (its journal entries are gone): it cannot be committed`);
    }
    await mkdir(params.dir, { recursive: true });
    // Large epochs are encoded, hashed, written and built in a worker thread (intake keeps the
    // main thread: bench:merkle measures it); small ones in place, where a thread's start costs more.
    const source = { epoch: rec.epoch, leaves: got.leaves };
    const written = got.leaves.length >= IN_WORKER_FROM_LEAVES ? await writeEpochDataFileInWorker(params.dir, source) : await writeEpochDataFile(params.dir, source);
    remember(rec.epoch, { tree: written.tree, leaves: got.leaves });
    deps.failpoints?.hit("epoch:after-build");
    await redis.hset(keys.epoch(rec.epoch), encodeRecord({ status: "built", root: written.root, dataHash: written.dataHash, leafCount: Number(written.leafCount), file: epochDataFileName(rec.epoch) }));
    metrics.leaves.observe({ chain }, got.leaves.length);
    metrics.buildSeconds.observe({ chain }, (performance.now() - started) / 1000);
    logger.info({ epoch: rec.epoch.toString(), root: written.root, leafCount: written.leafCount.toString(), dataHash: written.dataHash, ms: Math.round(performance.now() - started) }, "epoch built");
  }

  /** The chain's record of `epoch` compared with ours: "ours", "none" (not committed), or a fault. */
  async function onChain(rec: EpochRecord): Promise<"ours" | "none"> {
    const latest = await latestOnChain();
    if (latest < rec.epoch) {
      if (latest < rec.epoch - 1n) {
        fault = `the chain's latest epoch is ${latest}, before epoch ${rec.epoch - 1n} which this log recorded as committed`;
        metrics.faults.inc({ chain, kind: "gap" });
        throw new CommitmentError("EPOCH_GAP", fault);
      }
      return "none";
    }
    const e = await deps.client.readContract({ ...commitment, functionName: "epochOf", args: [rec.epoch] });
    if (e.root.toLowerCase() !== rec.root || e.dataHash.toLowerCase() !== rec.dataHash || BigInt(e.leafCount) !== BigInt(rec.leafCount ?? -1)) {
      fault = `epoch ${rec.epoch} is committed on chain with root ${e.root} (dataHash ${e.dataHash}, ${e.leafCount} leaves), not this log's ${rec.root}`;
      metrics.faults.inc({ chain, kind: "root_mismatch" });
      logger.error({ epoch: rec.epoch.toString(), chainRoot: e.root, ourRoot: rec.root }, "the chain holds another root for this epoch: the epoch log stops");
      throw new CommitmentError("EPOCH_ROOT_MISMATCH", fault);
    }
    return "ours";
  }

  async function send(rec: EpochRecord): Promise<void> {
    if ((await onChain(rec)) === "ours") return markCommitted(rec, undefined);
    const data = encodeFunctionData({ abi: commitmentAbi, functionName: "commitEpoch", args: [rec.epoch, rec.root!, BigInt(rec.leafCount!), rec.dataHash!] });
    const tx = await signer.submit({ purpose: epochPurpose(rec.epoch), to: params.commitmentAddress, data, gas: COMMIT_GAS });
    deps.failpoints?.hit("epoch:after-submit");
    await redis.hset(keys.epoch(rec.epoch), encodeRecord({ status: "sent", nonce: tx.nonce, tx: tx.hash }));
    logger.info({ epoch: rec.epoch.toString(), nonce: tx.nonce, tx: tx.hash }, "epoch commit sent");
    nextSentCheck = clock.now() + SENT_RECHECK_MS;
  }

  async function markCommitted(rec: EpochRecord, confirmedTx: { hash: Hex; blockNumber: bigint } | undefined): Promise<void> {
    const multi = redis.multi();
    multi.hset(keys.epoch(rec.epoch), encodeRecord({ status: "committed", committedAt: clock.now(), ...(confirmedTx ? { tx: confirmedTx.hash, block: confirmedTx.blockNumber } : {}) }));
    multi.hset(keys.state, "committed", rec.epoch.toString());
    await multi.exec();
    // The journal may now drop the epoch's entries, and the fills' final batches go.
    for (const r of rec.ranges ?? []) {
      await saveCursor(redis, r.market, EPOCH_CONSUMER, { fill: r.lastFill, close: 0, accepted: r.lastSeq });
      const ids: string[] = [];
      for (let c = r.firstFill; c <= r.lastFill; c++) ids.push(((BigInt(r.market) << 48n) | BigInt(c)).toString());
      for (let i = 0; i < ids.length; i += FINAL_CHUNK) await redis.hdel(settleKeys(params.chainId).final, ...ids.slice(i, i + FINAL_CHUNK));
    }
    waitingFor = undefined;
    metrics.committed.set({ chain }, Number(rec.epoch));
    if (rec.sealedAt !== undefined) metrics.commitLag.observe({ chain }, Math.max(0, clock.now() - rec.sealedAt) / 1000);
    logger.info({ epoch: rec.epoch.toString(), root: rec.root, tx: confirmedTx?.hash ?? rec.tx }, "epoch committed");
  }

  /** Waits for the signer's confirmation of a sent commit (also one recorded before a restart). */
  function watchSent(rec: EpochRecord): void {
    if (confirmed !== undefined || rec.nonce === undefined) return;
    confirmed = signer
      .wait(rec.nonce)
      .then(async (tx) => {
        if (tx.purpose !== epochPurpose(rec.epoch)) return;
        if (tx.result === "success") await markCommitted(rec, { hash: tx.hash, blockNumber: tx.blockNumber });
        else logger.error({ epoch: rec.epoch.toString(), tx: tx.hash }, "the epoch's commit transaction reverted; the chain is checked again");
      })
      .catch((error: unknown) => logger.warn({ err: error, epoch: rec.epoch.toString() }, "waiting for the epoch's commit failed; the chain is checked again"))
      .finally(() => {
        confirmed = undefined;
        nextSentCheck = 0;
      });
  }

  async function tick(): Promise<{ delayMs: number } | { again: true } | void> {
    if (fault !== null) return { delayMs: 60_000 };
    const st = await state();
    metrics.open.set({ chain }, Number(st.open));
    metrics.committed.set({ chain }, Number(st.committed));
    const pending = st.committed + 1n < st.open ? await loadRecord(st.committed + 1n) : undefined;
    if (pending !== undefined) {
      switch (pending.status) {
        case "sealed":
          await build(pending);
          return waitingFor === undefined ? { again: true } : undefined;
        case "built":
          await send(pending);
          return;
        case "sent":
          watchSent(pending);
          if (clock.now() >= nextSentCheck && confirmed === undefined) {
            nextSentCheck = clock.now() + SENT_RECHECK_MS;
            if ((await onChain(pending)) === "ours") await markCommitted(pending, undefined);
          }
          return;
        case "committed":
          await redis.hset(keys.state, "committed", pending.epoch.toString());
          return { again: true };
        default:
          throw new CommitmentError("EPOCH_RECORD_CORRUPT", `epoch ${pending.epoch} has status ${String(pending.status)}`);
      }
    }
    // Nothing pending: seal the open epoch when it is due and not empty.
    const count = await openCount(st.open);
    if (count > 0 && (clock.now() - st.openedAt >= params.epochMs || count >= params.maxLeaves)) await seal(st.open);
  }

  const loop = createLoop(
    { logger, metrics: deps.metrics },
    { name: `epochs:${params.chainId}`, intervalMs: params.intervalMs ?? 1_000, run: tick, backoff: { initialMs: 1_000, maxMs: 30_000 } },
  );

  return {
    loop,
    chainId: params.chainId,
    commitmentAddress: params.commitmentAddress,
    async start() {
      // First start on this Redis: continue the chain's numbering.
      if ((await redis.hget(keys.state, "open")) === null) {
        const latest = await latestOnChain();
        await redis.hsetnx(keys.state, "committed", latest.toString());
        await redis.hsetnx(keys.state, "openedAt", String(clock.now()));
        await redis.hsetnx(keys.state, "open", (latest + 1n).toString());
        logger.info({ open: (latest + 1n).toString() }, "epoch log started on this chain");
      }
      const st = await state();
      for (const m of markets) {
        await registerConsumer(redis, m.id, EPOCH_CONSUMER, "start");
        // A market behind the open epoch (new to this chain's log) joins it.
        const aligned = await alignMarketEpoch(scripts, m.id, st.open);
        if (aligned.before < st.open && (aligned.seq > 0 || aligned.fill > 0)) {
          logger.warn({ market: m.id, from: aligned.before.toString(), to: st.open.toString(), orders: aligned.seq, fills: aligned.fill }, "a market joined the epoch log late: its earlier orders and fills are in no epoch");
        }
      }
      loop.start();
    },
    stop: async () => {
      await loop.stop();
    },
    async status() {
      const st = await state();
      const p = st.committed + 1n < st.open ? await loadRecord(st.committed + 1n) : undefined;
      return {
        chainId: params.chainId,
        open: st.open.toString(),
        committed: st.committed.toString(),
        pending: p === undefined ? null : { epoch: p.epoch.toString(), status: p.status, ...(waitingFor !== undefined ? { waitingFor } : {}) },
        fault,
        loop: loop.status(),
      };
    },
    record: async (epoch) => {
      const st = await state();
      if (epoch >= st.open) return { epoch, status: "open" };
      return loadRecord(epoch);
    },
    async filePath(epoch) {
      const rec = await loadRecord(epoch);
      return rec?.file === undefined ? undefined : join(params.dir, rec.file);
    },
    async proof(epoch, find) {
      const rec = await this.record(epoch);
      const base: OrderProof = {
        chainId: params.chainId,
        commitment: params.commitmentAddress,
        epoch: epoch.toString(),
        status: rec?.status ?? "open",
        committed: rec?.status === "committed",
        leaf: null,
        leafIndex: null,
        leafHash: null,
        proof: null,
        root: rec?.root ?? null,
        commitTx: rec?.tx ?? null,
      };
      if (rec === undefined || rec.file === undefined) return base;
      let cached = trees.get(epoch.toString());
      if (cached === undefined) {
        const loaded = await loadEpochForProofs(join(params.dir, rec.file));
        if (loaded.tree.root !== rec.root) throw new CommitmentError("EPOCH_ROOT_MISMATCH", `the data file of epoch ${epoch} gives root ${loaded.tree.root}, not the recorded ${rec.root}`);
        cached = { tree: loaded.tree, leaves: loaded.leaves };
        remember(epoch, cached);
      }
      const index = cached.leaves.findIndex((l) =>
        find.kind === "order" ? l.type === "orderAccepted" && l.sequence === find.sequence : l.type === "fill" && l.fillId === find.fillId,
      );
      if (index < 0) return base;
      return { ...base, leaf: cached.leaves[index], leafIndex: index, leafHash: cached.tree.leafHash(index), proof: cached.tree.proof(index) };
    },
  };
}
