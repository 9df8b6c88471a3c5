/**
 * Epoch data files on a local filesystem (the directory a web server or bucket sync
 * publishes). Writes are atomic, so an auditor polling the directory never fetches a
 * half-written file whose hash would not match the commit.
 */
import { randomBytes } from "node:crypto";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CommitmentError } from "./errors";
import { epochCommitment, parseEpochData, serializeEpochData, type EpochCommitment, type EpochData } from "./epochData";

/** `epoch-000000000042.json`: fixed width, so a directory listing sorts by epoch. */
export function epochDataFileName(epoch: bigint): string {
  return `epoch-${epoch.toString().padStart(12, "0")}.json`;
}

/**
 * Writes the epoch data file of `data` into `dir` and returns what to commit on-chain.
 * Never replaces an existing file with different bytes (a committed epoch is immutable):
 * rewriting the same bytes is a no-op, so a restarted operator may call it again. Assumes
 * one writer per directory (the check and the rename are not one atomic step).
 */
export async function writeEpochDataFile(dir: string, data: EpochData): Promise<EpochCommitment & { path: string }> {
  const bytes = serializeEpochData(data);
  const path = join(dir, epochDataFileName(data.epoch));
  const existing = await readFile(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  if (existing !== undefined && !existing.equals(bytes)) {
    throw new CommitmentError("INVALID_EPOCH_DATA", "a different epoch data file already exists", {
      details: { path, epoch: data.epoch.toString() },
    });
  }
  if (existing === undefined) {
    const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
    try {
      await writeFile(tmp, bytes, { flag: "wx" });
      await rename(tmp, path);
    } finally {
      await rm(tmp, { force: true });
    }
  }
  // Derived from the bytes just written, through the reader an auditor uses: the commit can
  // only carry what the published file rebuilds to.
  return { ...epochCommitment(bytes), path };
}

/** Reads and validates an epoch data file; `commitment` is what epochOf must show. */
export async function readEpochDataFile(path: string): Promise<{ data: EpochData; commitment: EpochCommitment }> {
  const bytes = await readFile(path);
  return { data: parseEpochData(bytes), commitment: epochCommitment(bytes) };
}
