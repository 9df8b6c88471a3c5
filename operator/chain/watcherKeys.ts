/**
 * Keyspace of the chain watchers (./watcher.ts), `hx:v3:watch:{c:<chainId>}:<name>`: one
 * watcher per chain, its keys under the chain's {c:<id>} hash tag (one slot: the cursor and
 * the hashes are written together in one MULTI).
 *
 *   cursor   HASH  block        the last block whose events were handed (decimal; -1: none yet)
 *                  base         the block the current (or last) read started from; its hash
 *                               was verified against the chain when the read started
 *                  target       the last block of that read (the read is complete when
 *                               block = target; after a crash or a failed handler the watcher
 *                               checks target's hash and goes on from block)
 *                  targetHash   target's hash, fetched before the read (absent only before the
 *                               first check)
 *                  reorgUntil   while events are read again after a reorg: the highest block
 *                               that was handed before the reorg (absent otherwise)
 *                  settlement, commitment   the contract addresses this cursor follows (a
 *                               cursor of other addresses is refused, never reused)
 *                  updatedAt    unix ms of the last write
 *   hashes   HASH  block number (decimal) -> block hash, for the processed blocks of the last
 *                  reorg window that the watcher knows the hash of: the end of each read
 *                  (fetched before the read) and every block with a log of ours
 *
 * Resetting a chain's watcher (a new deployment, a new start block): stop the operator,
 * `DEL` both keys, start again.
 */
import { chainTag, keyspacePrefix } from "../redis/keys";

export const WATCH_KEYSPACE = keyspacePrefix("watch", 3);

export interface WatcherKeys {
  cursor: string;
  hashes: string;
}

export function watcherKeys(chainId: number): WatcherKeys {
  const prefix = `${WATCH_KEYSPACE}:${chainTag(chainId)}:`;
  return { cursor: `${prefix}cursor`, hashes: `${prefix}hashes` };
}
