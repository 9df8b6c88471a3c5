import path from "node:path";
import { Worker } from "node:worker_threads";
import type { VerifierWorkerData } from "./records";

/**
 * Starts ./worker. Under ts-node (tests, scripts) the worker is TypeScript and needs the same
 * transpile-only hook the parent uses; a compiled build runs worker.js directly.
 */
export function spawnWorker(workerData: VerifierWorkerData): Worker {
  const file = path.join(__dirname, `worker${path.extname(__filename)}`);
  if (file.endsWith(".ts")) {
    const register = require.resolve("ts-node/register/transpile-only");
    return new Worker(`require(${JSON.stringify(register)}); require(${JSON.stringify(file)});`, {
      eval: true,
      workerData,
    });
  }
  return new Worker(file, { workerData });
}
