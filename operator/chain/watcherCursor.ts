/**
 * The chain watcher's persisted cursor (layout: ./watcherKeys.ts): where it is, the hashes it
 * checks reorgs against, and whether it is reading again after a reorg. The watcher keeps the
 * same state in memory (one watcher per chain) and writes each change with one MULTI.
 */
import type { RedisClient } from "../redis/client";
import type { Address, Hex } from "../orders/types";
import type { Clock } from "../tasks";
import { ChainError } from "./errors";
import { watcherKeys, type WatcherKeys } from "./watcherKeys";

export interface WatchCursor {
  /** The last block whose events were handed; -1n: none. */
  block: bigint;
  /** Where the current (or last) read started; its hash was verified when the read started. */
  base: bigint;
  /** The last block of the current (or last) read: the read is complete when block == target. */
  target: bigint;
  /** `target`'s hash, fetched before the read; undefined only before the first check (first start, or after a reorg deeper than the window). */
  targetHash?: Hex;
  /** Set while reading again after a reorg: blocks up to it are handed with ctx.reorg true. */
  reorgUntil?: bigint;
  /** Known hashes of processed blocks in the reorg window, by block number. */
  hashes: Map<bigint, Hex>;
}

export interface CursorStore {
  readonly keys: WatcherKeys;
  /** The persisted cursor, or undefined on the first start. Refuses a cursor of other contracts. */
  load(): Promise<WatchCursor | undefined>;
  /** Writes the cursor's fields, adds `record` to the hashes and deletes `drop` from them, atomically. */
  save(cursor: WatchCursor, change?: { record?: ReadonlyMap<bigint, Hex>; drop?: readonly bigint[] }): Promise<void>;
}

export function createCursorStore(deps: { redis: RedisClient; clock: Clock }, params: { chainId: number; settlementAddress: Address; commitmentAddress: Address }): CursorStore {
  const keys = watcherKeys(params.chainId);
  const settlement = params.settlementAddress.toLowerCase();
  const commitment = params.commitmentAddress.toLowerCase();
  return {
    keys,
    async load() {
      const [fields, hashes] = await Promise.all([deps.redis.hgetall(keys.cursor), deps.redis.hgetall(keys.hashes)]);
      if (fields.block === undefined) return undefined;
      if (fields.settlement !== settlement || fields.commitment !== commitment) {
        throw new ChainError(
          "CHAIN_WATCHER_CURSOR_MISMATCH",
          `the chain watcher's cursor of chain ${params.chainId} (${keys.cursor}) follows Settlement ${fields.settlement} and OrderbookCommitment ${fields.commitment}, ` +
            `not the configured ${settlement} and ${commitment}: to follow the new contracts from their start block, stop the operator and DEL ${keys.cursor} ${keys.hashes}`,
          { details: { chainId: params.chainId, persisted: { settlement: fields.settlement, commitment: fields.commitment }, configured: { settlement, commitment } } },
        );
      }
      const map = new Map<bigint, Hex>();
      for (const [n, h] of Object.entries(hashes)) map.set(BigInt(n), h as Hex);
      return {
        block: BigInt(fields.block),
        base: BigInt(fields.base ?? fields.block),
        target: BigInt(fields.target ?? fields.block),
        ...(fields.targetHash === undefined ? {} : { targetHash: fields.targetHash as Hex }),
        ...(fields.reorgUntil === undefined ? {} : { reorgUntil: BigInt(fields.reorgUntil) }),
        hashes: map,
      };
    },
    async save(cursor, change = {}) {
      const multi = deps.redis.multi();
      const fields: Record<string, string> = {
        block: cursor.block.toString(),
        base: cursor.base.toString(),
        target: cursor.target.toString(),
        settlement,
        commitment,
        updatedAt: String(deps.clock.now()),
      };
      if (cursor.targetHash !== undefined) fields.targetHash = cursor.targetHash;
      if (cursor.reorgUntil !== undefined) fields.reorgUntil = cursor.reorgUntil.toString();
      multi.hset(keys.cursor, fields);
      const absent = [cursor.targetHash === undefined ? "targetHash" : undefined, cursor.reorgUntil === undefined ? "reorgUntil" : undefined].filter((f): f is string => f !== undefined);
      if (absent.length > 0) multi.hdel(keys.cursor, ...absent);
      if (change.record !== undefined && change.record.size > 0) {
        multi.hset(keys.hashes, Object.fromEntries([...change.record].map(([n, h]) => [n.toString(), h])));
      }
      if (change.drop !== undefined && change.drop.length > 0) multi.hdel(keys.hashes, ...change.drop.map(String));
      // exec() answers null only under WATCH (not used); a command's error comes back in its slot.
      const failed = (await multi.exec())?.find(([error]) => error !== null);
      if (failed !== undefined) throw failed[0];
    },
  };
}
