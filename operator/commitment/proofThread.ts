/**
 * The worker thread behind ./treeWorker and ./epochFile writeEpochDataFileInWorker: the CPU
 * work of closing an epoch, off the daemon's main thread. One job per thread, named in
 * workerData, then the thread ends; it holds nothing between jobs.
 *
 *  layers     receives the leaf digests (a transferred ArrayBuffer), answers the tree layers
 *             (./proofLayers), each a transferred ArrayBuffer.
 *  epochFile  receives leaves in batches (acknowledging each, so the sender keeps only a few
 *             in flight), encodes them into a temporary file (./epochData EpochDataEncoder:
 *             ~8 us a leaf, the keccaks mostly), syncs it, builds the layers over the digests
 *             and answers the summary and the layers. Publishing the file (rename) is left to
 *             the caller. A leaf that fails its checks is answered as `failed` with the
 *             CommitmentError's code, message and details, for the caller to rethrow.
 *
 * The thread runs at a lowered CPU priority (./proofThreadPriority; set before ts-node
 * compiles it, and again here for a compiled build): the job takes only the CPU that order
 * intake leaves idle, instead of a fair share of a busy machine.
 *
 * Imports stay light (the layer builder and the native keccak); the epoch file job loads the
 * leaf encoder when it starts.
 */
import { closeSync, fdatasyncSync, openSync, writeSync } from "node:fs";
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import type { CommitmentLeaf } from "./leaves";
import type { EpochDataSummary } from "./epochData";
import { buildLayers } from "./proofLayers";
import { lowerThisThreadPriority } from "./proofThreadPriority";

export type ProofThreadJob =
  | { job: "layers"; digests: ArrayBuffer; niceness: number }
  | { job: "epochFile"; tmpPath: string; epoch: bigint; expectedLeaves: number; niceness: number };

/** Messages to an epochFile thread. */
export type EpochFileInput = { kind: "leaves"; leaves: CommitmentLeaf[] } | { kind: "end" };

/** Messages from the thread. */
export type ProofThreadOutput =
  | { kind: "layers"; layers: ArrayBuffer[] }
  | { kind: "ack" }
  | { kind: "epochFile"; summary: Omit<EpochDataSummary, "leafDigests">; layers: ArrayBuffer[] }
  | { kind: "failed"; code: string; message: string; details: Record<string, unknown> };

/** Bytes encoded between two file writes. */
const WRITE_CHUNK_BYTES = 1 << 20;

function transferLayers(port: MessagePort, layers: Buffer[], reply: (buffers: ArrayBuffer[]) => ProofThreadOutput): void {
  const buffers = layers.map((layer) => layer.buffer as ArrayBuffer); // owned buffers (proofLayers.ownedBuffer)
  port.postMessage(reply(buffers), buffers);
}

async function runEpochFile(port: MessagePort, job: Extract<ProofThreadJob, { job: "epochFile" }>): Promise<void> {
  const { EpochDataEncoder } = await import("./epochData"); // the heavy imports, only for this job
  const fd = openSync(job.tmpPath, "wx");
  // Set before the descriptor is closed: a batch arriving after a failure must never write to
  // a descriptor number the process may have reused.
  let closed = false;
  try {
    const encoder = new EpochDataEncoder(job.epoch, job.expectedLeaves);
    const writeAll = (bytes: Buffer) => {
      for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off);
    };
    await new Promise<void>((resolve, reject) => {
      port.on("message", (message: EpochFileInput) => {
        if (closed) return;
        try {
          if (message.kind === "end") {
            closed = true;
            return resolve();
          }
          for (const leaf of message.leaves) {
            encoder.add(leaf);
            if (encoder.pendingBytes >= WRITE_CHUNK_BYTES) writeAll(encoder.take());
          }
          port.postMessage({ kind: "ack" } satisfies ProofThreadOutput);
        } catch (error) {
          closed = true;
          reject(error);
        }
      });
    });
    port.removeAllListeners("message");
    const last = encoder.take();
    const { tail, summary } = encoder.finish();
    writeAll(Buffer.concat([last, tail]));
    fdatasyncSync(fd);
    const { leafDigests, ...rest } = summary;
    transferLayers(port, buildLayers(leafDigests), (layers) => ({ kind: "epochFile", summary: rest, layers }));
  } finally {
    closed = true;
    closeSync(fd);
  }
}

async function run(port: MessagePort, job: ProofThreadJob): Promise<void> {
  lowerThisThreadPriority(job.niceness);
  try {
    if (job.job === "layers") transferLayers(port, buildLayers(Buffer.from(job.digests)), (layers) => ({ kind: "layers", layers }));
    else await runEpochFile(port, job);
  } catch (error) {
    // A domain error (a leaf out of range, an empty epoch) goes back whole; anything else
    // ends the thread with it, and the caller rejects with TreeWorkerError.
    const e = error as { name?: unknown; code?: unknown; message?: unknown; details?: unknown };
    if (e?.name !== "CommitmentError") throw error;
    port.postMessage({ kind: "failed", code: String(e.code), message: String(e.message), details: (e.details ?? {}) as Record<string, unknown> } satisfies ProofThreadOutput);
  }
}

const port = parentPort;
if (port === null) throw new Error("proofThread: must run in a worker thread");
// Any other failure is an unhandled rejection: it ends the thread, and the caller's "error"
// handler receives it.
void run(port, workerData as ProofThreadJob);
