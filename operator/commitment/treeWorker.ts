/**
 * Builds an epoch tree in a worker thread, so that closing an epoch of a million leaves never
 * stalls order intake on the main thread: the leaf digests go to the thread as one
 * transferred ArrayBuffer, the layers come back the same way (no copy, no per-node objects),
 * and the result is an ordinary CommitmentTree whose proofs are O(log n) lookups here.
 *
 * One short-lived thread per build (./proofThread): nothing to keep alive, restart or drain;
 * its start (tens of ms compiled, about 0.4 s under ts-node) is small next to a large build,
 * and small builds need no thread (IN_WORKER_FROM_LEAVES).
 *
 * The thread runs at the lowest CPU priority by default (`niceness`). Measured with
 * `npm run bench:merkle` on the 2-core machine, order intake (signature workers, Redis and
 * the main thread already fill both cores) kept 0.93-1.02 of its throughput while 1e6-leaf
 * trees were built back to back at nice 19, and 0.61 at nice 0.
 */
import path from "node:path";
import { Worker } from "node:worker_threads";
import { BaseError } from "../errors";
import { CommitmentError, type CommitmentErrorCode } from "./errors";
import { checkLeafDigests, ownedBuffer } from "./proofLayers";
import { lowerThisThreadPriority } from "./proofThreadPriority";
import type { ProofThreadJob, ProofThreadOutput } from "./proofThread";
import { CommitmentTree } from "./tree";

/** Below this many leaves a build takes a few ms: callers may build in place (./epochFile does). */
export const IN_WORKER_FROM_LEAVES = 4_096;
/** Default nice value of a proof thread: see TreeWorkerOptions.niceness. */
export const PROOF_THREAD_NICENESS = 19;

export interface TreeWorkerOptions {
  /**
   * Hand `leafDigests`' memory to the thread instead of copying it (default true). The
   * caller's buffer is then empty (its ArrayBuffer detached); the tree holds the digests.
   * A buffer that is a view into a larger ArrayBuffer is copied either way.
   */
  transfer?: boolean;
  /**
   * Nice value of the building thread, 0..19 (Linux; ignored elsewhere). Default 19: the build
   * yields every core the daemon's other threads want. Under a load that fills all cores it
   * takes correspondingly longer; 0 builds at normal priority.
   */
  niceness?: number;
}

/** The proof thread failed (crashed, ran out of memory) or ended without an answer. */
export class TreeWorkerError extends BaseError {
  override name = "TreeWorkerError" as const;
  declare readonly code: "TREE_WORKER_FAILED";

  constructor(shortMessage: string, cause?: unknown) {
    super("TREE_WORKER_FAILED", shortMessage, { cause });
  }
}

/**
 * The tree over `leafDigests` (n leaf hashes, 32 bytes each, back to back, in arrival order),
 * built in a worker thread. Rejects with CommitmentError (EMPTY_EPOCH, INVALID_LEAF) before
 * starting a thread, or TreeWorkerError.
 */
export async function buildTreeInWorker(leafDigests: Buffer, options: TreeWorkerOptions = {}): Promise<CommitmentTree> {
  checkLeafDigests(leafDigests);
  const owned = leafDigests.byteOffset === 0 && leafDigests.byteLength === leafDigests.buffer.byteLength;
  let digests: ArrayBuffer;
  if (options.transfer !== false && owned) digests = leafDigests.buffer as ArrayBuffer;
  else {
    const copy = ownedBuffer(leafDigests.length);
    leafDigests.copy(copy);
    digests = copy.buffer as ArrayBuffer;
  }
  const worker = spawnProofThread({ job: "layers", digests, niceness: options.niceness ?? PROOF_THREAD_NICENESS }, [digests]);
  const output = await proofThreadAnswer(worker, () => undefined);
  if (output.kind !== "layers") throw new TreeWorkerError(`the build thread answered ${output.kind}`);
  return treeOfLayers(output.layers);
}

/** The tree of layers transferred from a proof thread. */
export function treeOfLayers(layers: readonly ArrayBuffer[]): CommitmentTree {
  try {
    return CommitmentTree.fromLayers(layers.map((layer) => Buffer.from(layer)));
  } catch (error) {
    throw new TreeWorkerError("the proof thread answered layers of the wrong shape", error);
  }
}

/**
 * The final answer of a proof thread (anything but an `ack`, which goes to `onAck`). Rejects
 * with the thread's CommitmentError for a `failed` answer, or TreeWorkerError if the thread
 * crashed or ended without answering.
 */
export function proofThreadAnswer(worker: Worker, onAck: () => void): Promise<Exclude<ProofThreadOutput, { kind: "ack" | "failed" }>> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
    };
    worker.on("message", (output: ProofThreadOutput) => {
      if (output.kind === "ack") return onAck();
      if (output.kind === "failed") {
        return settle(() => reject(new CommitmentError(output.code as CommitmentErrorCode, output.message, { details: output.details })));
      }
      settle(() => resolve(output));
    });
    worker.once("error", (error) => settle(() => reject(new TreeWorkerError("the proof thread failed", error))));
    worker.once("exit", (exitCode) =>
      settle(() => reject(new TreeWorkerError(`the proof thread exited (code ${exitCode}) without an answer`)))
    );
  });
}

/**
 * Starts ./proofThread on `job`. Under ts-node (tests, scripts, the daemon) the thread is
 * TypeScript and needs the transpile-only hook (as operator/orders/verifier/spawn.ts does); a
 * compiled build runs the .js directly.
 */
export function spawnProofThread(job: ProofThreadJob, transferList: ArrayBuffer[] = []): Worker {
  const file = path.join(__dirname, `proofThread${path.extname(__filename)}`);
  if (file.endsWith(".ts")) {
    const register = require.resolve("ts-node/register/transpile-only");
    const renice = `(${lowerThisThreadPriority.toString()})(${Number(job.niceness)});`;
    return new Worker(`${renice} require(${JSON.stringify(register)}); require(${JSON.stringify(file)});`, {
      eval: true,
      workerData: job,
      transferList,
    });
  }
  return new Worker(file, { workerData: job, transferList });
}
