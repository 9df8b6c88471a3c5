/**
 * Epoch data files on a local filesystem (the directory a web server or bucket sync
 * publishes). Writes are atomic, so an auditor polling the directory never fetches a
 * half-written file whose hash would not match the commit.
 *
 * Both directions stream (./epochData EpochDataEncoder, EpochDataDecoder): a file of a
 * million leaves (~240 MB) is written from an iterator of leaves and read back a chunk at a
 * time, never held whole. Encoding costs ~8 us a leaf (two keccaks of each leaf, mostly), so
 * a daemon closes a large epoch with writeEpochDataFileInWorker: its main thread only hands
 * over the leaves (~1 us each) and gets back the commitment and the tree.
 */
import createKeccakHash from "keccak";
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import type { Hex } from "../orders";
import { CommitmentError } from "./errors";
import { EpochDataDecoder, EpochDataEncoder, type EpochCommitment, type EpochData, type EpochDataSummary } from "./epochData";
import type { CommitmentLeaf } from "./leaves";
import type { EpochFileInput } from "./proofThread";
import { CommitmentTree } from "./tree";
import {
  IN_WORKER_FROM_LEAVES,
  PROOF_THREAD_NICENESS,
  TreeWorkerError,
  buildTreeInWorker,
  proofThreadAnswer,
  spawnProofThread,
  treeOfLayers,
} from "./treeWorker";

/** Bytes encoded or read between two writes / yields: ~1,000 leaves, a few ms of CPU. */
const CHUNK_BYTES = 256 * 1024;
/** Leaves per message to the worker, and messages not yet acknowledged: bounds the memory in flight. */
const BATCH_LEAVES = 1_024;
const BATCHES_IN_FLIGHT = 4;

/** `epoch-000000000042.json`: fixed width, so a directory listing sorts by epoch. */
export function epochDataFileName(epoch: bigint): string {
  return `epoch-${epoch.toString().padStart(12, "0")}.json`;
}

/** The leaves of one epoch, in arrival order, from an array or any (async) iterator. */
export interface EpochLeafSource {
  epoch: bigint;
  leaves: Iterable<CommitmentLeaf> | AsyncIterable<CommitmentLeaf>;
  /** How many leaves to expect, if known (an array's length is): sizes the digest buffer once. */
  expectedLeaves?: number;
}

/** Builds the tree of a file's leaf digests. */
export type TreeBuilder = (leafDigests: Buffer) => Promise<CommitmentTree>;

/** In place below IN_WORKER_FROM_LEAVES leaves (a few ms), else in a worker thread. */
export const defaultTreeBuilder: TreeBuilder = (leafDigests) =>
  leafDigests.length / 32 < IN_WORKER_FROM_LEAVES
    ? Promise.resolve(CommitmentTree.fromLeafDigests(leafDigests))
    : buildTreeInWorker(leafDigests);

/** What a written (or read) file commits to, with its tree for proofs. */
export interface EpochFileCommitment extends EpochCommitment {
  path: string;
  byteLength: number;
  tree: CommitmentTree;
}

const expectedLeaves = (source: EpochLeafSource): number =>
  source.expectedLeaves ?? (Array.isArray(source.leaves) ? source.leaves.length : 0);

/**
 * Writes the epoch data file of `source` into `dir`, in this thread (yielding at every chunk
 * written), and returns what to commit on-chain, and the tree. Never replaces an existing file
 * with different bytes (a committed epoch is immutable): rewriting the same bytes is a no-op,
 * so a restarted operator may call it again. Assumes one writer per directory (the check and
 * the rename are not one atomic step).
 *
 * The root and data hash come from the encoder that produced the bytes, leaf by leaf (the
 * digests it hashes are those the reader rebuilds: a round-trip test pins the two together),
 * and the file is synced to disk before it is renamed into place: a commit never names a
 * file that a crash could lose.
 */
export async function writeEpochDataFile(
  dir: string,
  source: EpochLeafSource,
  options: { buildTree?: TreeBuilder } = {}
): Promise<EpochFileCommitment> {
  const path = join(dir, epochDataFileName(source.epoch));
  const tmp = tmpPathFor(path);
  try {
    let summary: EpochDataSummary;
    const file = await open(tmp, "wx");
    try {
      const encoder = new EpochDataEncoder(source.epoch, expectedLeaves(source));
      for await (const leaf of source.leaves) {
        encoder.add(leaf);
        if (encoder.pendingBytes >= CHUNK_BYTES) await file.write(encoder.take());
      }
      const last = encoder.take();
      const finished = encoder.finish();
      await file.write(Buffer.concat([last, finished.tail]));
      await file.datasync();
      summary = finished.summary;
    } finally {
      await file.close();
    }
    await publish(tmp, path, summary.dataHash, source.epoch);
    const tree = await (options.buildTree ?? defaultTreeBuilder)(summary.leafDigests);
    return { ...commitmentOf(summary, tree), path, byteLength: summary.byteLength, tree };
  } finally {
    await rm(tmp, { force: true });
  }
}

/**
 * writeEpochDataFile with the encoding, hashing, writing and tree building in a worker thread
 * (./proofThread, at the lowest CPU priority by default): this thread only iterates `source`
 * and posts its leaves in batches, a few batches in flight at most. Same result, same errors
 * (CommitmentError for a leaf that fails its checks; TreeWorkerError if the thread dies).
 */
export async function writeEpochDataFileInWorker(
  dir: string,
  source: EpochLeafSource,
  options: { niceness?: number } = {}
): Promise<EpochFileCommitment> {
  const path = join(dir, epochDataFileName(source.epoch));
  const tmp = tmpPathFor(path);
  const worker = spawnProofThread({
    job: "epochFile",
    tmpPath: tmp,
    epoch: source.epoch,
    expectedLeaves: expectedLeaves(source),
    niceness: options.niceness ?? PROOF_THREAD_NICENESS,
  });
  let unacknowledged = 0;
  let wake: (() => void) | undefined;
  const answer = proofThreadAnswer(worker, () => {
    unacknowledged -= 1;
    wake?.();
  });
  let failed = false;
  answer.catch(() => {
    failed = true; // the sender stops feeding a thread that gave up, and wakes if it waits
    wake?.();
  });
  const post = (message: EpochFileInput) => worker.postMessage(message);
  try {
    let batch: CommitmentLeaf[] = [];
    for await (const leaf of source.leaves) {
      batch.push(leaf);
      if (batch.length < BATCH_LEAVES) continue;
      while (unacknowledged >= BATCHES_IN_FLIGHT && !failed) await new Promise<void>((resolve) => (wake = resolve));
      if (failed) break;
      post({ kind: "leaves", leaves: batch });
      unacknowledged += 1;
      batch = [];
    }
    if (!failed) {
      if (batch.length > 0) post({ kind: "leaves", leaves: batch });
      post({ kind: "end" });
    }
    const output = await answer;
    if (output.kind !== "epochFile") throw new TreeWorkerError(`the proof thread answered ${output.kind}`);
    const tree = treeOfLayers(output.layers);
    await publish(tmp, path, output.summary.dataHash, source.epoch);
    return { ...commitmentOf(output.summary, tree), path, byteLength: output.summary.byteLength, tree };
  } finally {
    await worker.terminate();
    await rm(tmp, { force: true });
  }
}

function tmpPathFor(path: string): string {
  return `${path}.${randomBytes(6).toString("hex")}.tmp`;
}

/** Renames the written `tmp` to `path`, unless `path` holds these bytes already; refuses other bytes. */
async function publish(tmp: string, path: string, dataHash: Hex, epoch: bigint): Promise<void> {
  const existing = await fileDataHash(path);
  if (existing === undefined) return rename(tmp, path);
  if (existing !== dataHash) {
    throw new CommitmentError("INVALID_EPOCH_DATA", "a different epoch data file already exists", {
      details: { path, epoch: epoch.toString() },
    });
  }
}

/** keccak of the file at `path` (streamed), or undefined if there is none. */
async function fileDataHash(path: string): Promise<Hex | undefined> {
  const hash = createKeccakHash("keccak256");
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  return `0x${hash.digest().toString("hex")}`;
}

function commitmentOf(summary: Pick<EpochDataSummary, "epoch" | "leafCount" | "dataHash">, tree: CommitmentTree): EpochCommitment {
  return { epoch: summary.epoch, root: tree.root, leafCount: BigInt(summary.leafCount), dataHash: summary.dataHash };
}

/**
 * Reads and validates an epoch data file, leaves and all (for small epochs: a million leaf
 * objects take ~1 GB; see readEpochCommitment); `commitment` is what epochOf must show.
 */
export async function readEpochDataFile(path: string): Promise<{ data: EpochData; commitment: EpochCommitment }> {
  const decoder = new EpochDataDecoder({ keepLeaves: true });
  decoder.push(await readFile(path));
  const summary = decoder.finish();
  return {
    data: { epoch: summary.epoch, leaves: summary.leaves! },
    commitment: commitmentOf(summary, CommitmentTree.fromLeafDigests(summary.leafDigests)),
  };
}

/**
 * What the epoch data file at `path` commits to, and its tree, read a chunk at a time without
 * keeping its leaves (~16 us a leaf in this thread, yielding between chunks): an auditor's
 * check of a large epoch, or a restarted operator's. Throws like parseEpochData.
 */
export async function readEpochCommitment(
  path: string,
  options: { buildTree?: TreeBuilder } = {}
): Promise<EpochFileCommitment> {
  const decoder = new EpochDataDecoder();
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK_BYTES })) {
    decoder.push(chunk as Buffer);
    await nextTurn();
  }
  const summary = decoder.finish();
  const tree = await (options.buildTree ?? defaultTreeBuilder)(summary.leafDigests);
  return { ...commitmentOf(summary, tree), path, byteLength: summary.byteLength, tree };
}

/**
 * An epoch data file's leaves and tree, for serving proofs: read a chunk at a time, yielding
 * between chunks (a large file never blocks the caller's event loop for long), the tree built
 * in a worker thread from IN_WORKER_FROM_LEAVES leaves. Memory: about 1 KB a leaf.
 */
export async function loadEpochForProofs(path: string): Promise<{ epoch: bigint; leaves: CommitmentLeaf[]; tree: CommitmentTree }> {
  const decoder = new EpochDataDecoder({ keepLeaves: true });
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK_BYTES })) {
    decoder.push(chunk as Buffer);
    await nextTurn();
  }
  const summary = decoder.finish();
  return { epoch: summary.epoch, leaves: summary.leaves!, tree: await defaultTreeBuilder(summary.leafDigests) };
}
