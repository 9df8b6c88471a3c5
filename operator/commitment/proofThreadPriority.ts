/**
 * Renices the calling OS thread only (Linux: setpriority on its thread id, never the process),
 * best effort. Plain JavaScript on purpose: spawnProofThread runs its source first thing in
 * the new thread, before ts-node compiles anything, so that the compiling (about a second of
 * CPU per thread under ts-node) is already at low priority. ./proofThread calls it too.
 */
export function lowerThisThreadPriority(niceness: number): void {
  if (!(niceness > 0) || process.platform !== "linux") return;
  try {
    const self = require("node:fs").readlinkSync("/proc/thread-self"); // "<pid>/task/<tid>"
    const tid = Number(self.slice(self.lastIndexOf("/") + 1));
    if (Number.isInteger(tid) && tid !== process.pid) require("node:os").setPriority(tid, niceness);
  } catch {
    // Without it the job still runs, at normal priority.
  }
}
