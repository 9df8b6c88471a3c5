/**
 * Verifier worker thread: receives batches of records (./records), answers with one result
 * record per order. It holds no state but the domain separators (one per domain of the pool,
 * by domain index, computed once at start) and a keccak sponge, so a crashed worker is simply
 * replaced. A message it does not understand, or a record naming a domain it lacks, is a bug
 * in the pool: it throws, the worker dies, and the pool rejects that worker's in-flight batches.
 */
import { parentPort, workerData } from "node:worker_threads";
import { domainSeparator } from "../hash";
import { createKeccak256 } from "../keccak";
import { VerifierError } from "../errors";
import { verifyRecords, type VerifierWorkerData, type VerifyMessage, type WorkerMessage } from "./records";

const port = parentPort;
if (port === null) throw new VerifierError("VERIFIER_START_FAILED", "verifier worker: must run in a worker thread");
const data = workerData as VerifierWorkerData;
const separators = data.domains.map((d) => domainSeparator({ chainId: BigInt(d.chainId), verifyingContract: d.verifyingContract }));
const keccak = createKeccak256();

port.on("message", (message: VerifyMessage) => {
  if (message === null || typeof message !== "object" || message.kind !== "verify") {
    throw new VerifierError("VERIFIER_WORKER_CRASHED", `verifier worker: unexpected message ${JSON.stringify(message)?.slice(0, 100)}`);
  }
  const results = verifyRecords(keccak, separators, Buffer.from(message.records), message.count);
  const reply: WorkerMessage = { kind: "result", id: message.id, results: results.buffer as ArrayBuffer };
  port.postMessage(reply, [results.buffer as ArrayBuffer]);
});

const ready: WorkerMessage = { kind: "ready", keccak: keccak.implementation };
port.postMessage(ready);
