/**
 * Which layout the operator's Redis data is in. The current layout is version 3 (chains
 * everywhere: operator/redis/keys.ts); a marker key `hx:keyspace` holds "3" once a v3 operator
 * has started on this Redis (or a migration has run). Data of an older layout is never silently
 * ignored: the daemon refuses to start on it, saying how to migrate it (./migrate.ts,
 * `npm run admin -- migrate-keyspace`) or clear it (`npm run admin -- clear-old-keyspace`).
 *
 * Older layouts:
 *   v2  hx:v2:book:{m:<id>}:*   books with their journal streams and the engine's cursor
 *       hx:v2:ldg:{t:<trader>}:* the ledger, one per trader (no chain)
 *       hx:v1:mkt:{m:<id>}:meta market metadata (configuration without chainId)
 *       hx:v1:rl:{t:<trader>}:*  rate buckets
 *   v1  hx:v1:book:*, hx:v1:ldg:*: an earlier layout no migration reads (clear it)
 * The signed-cancel replay memory (hx:v1:cancel:*) did not change and is not old data.
 */
import { BaseError, type BaseErrorOptions } from "../errors";
import { KEY_ROOT, KEYSPACE_VERSION, masterNodes, type RedisClient } from "../redis";

export const KEYSPACE_MARKER = `${KEY_ROOT}:keyspace`;

/** Keys of older layouts (SCAN patterns). */
export const OLD_PATTERNS = ["hx:v2:book:*", "hx:v2:ldg:*", "hx:v1:mkt:*", "hx:v1:rl:*", "hx:v1:book:*", "hx:v1:ldg:*"] as const;

export type KeyspaceErrorCode = "KEYSPACE_OLD" | "KEYSPACE_NEWER" | "KEYSPACE_UNMIGRATABLE" | "KEYSPACE_CHAIN_REQUIRED";

export class KeyspaceError extends BaseError {
  override name = "KeyspaceError" as const;
  constructor(code: KeyspaceErrorCode, shortMessage: string, options?: BaseErrorOptions) {
    super(code, shortMessage, options);
  }
}

/** Up to `limit` keys of older layouts, scanning every master (stops early once it has them). */
export async function findOldKeys(redis: RedisClient, limit = 10): Promise<string[]> {
  const found: string[] = [];
  for (const node of masterNodes(redis)) {
    for (const pattern of OLD_PATTERNS) {
      let cursor = "0";
      do {
        const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", 1000);
        for (const k of keys) if (found.length < limit) found.push(k);
        cursor = next;
      } while (cursor !== "0" && found.length < limit);
      if (found.length >= limit) return found;
    }
  }
  return found;
}

/**
 * Refuses to run on data of another layout; marks a Redis without operator data as v3. Fast
 * once marked (one GET); the first start on a Redis scans it once for older keys.
 */
export async function checkKeyspace(redis: RedisClient): Promise<void> {
  const marker = await redis.get(KEYSPACE_MARKER);
  if (marker === String(KEYSPACE_VERSION)) return;
  if (marker !== null) {
    throw new KeyspaceError(
      "KEYSPACE_NEWER",
      `Redis holds HyperIndex data of keyspace version ${marker} (${KEYSPACE_MARKER}); this operator reads version ${KEYSPACE_VERSION}: run a matching operator`,
      { details: { marker, expected: KEYSPACE_VERSION } },
    );
  }
  const old = await findOldKeys(redis, 5);
  if (old.length > 0) {
    throw new KeyspaceError(
      "KEYSPACE_OLD",
      `Redis holds HyperIndex data of an older layout (e.g. ${old.slice(0, 3).join(", ")}). ` +
        "Stop every operator using this Redis, then run `npm run admin -- migrate-keyspace` to move it to the v3 layout " +
        "(a v2 ledger has no chain: it goes to the chain the configuration serves, or the one given with --chain), " +
        "or `npm run admin -- clear-old-keyspace --yes` to delete it",
      { details: { examples: old } },
    );
  }
  await redis.set(KEYSPACE_MARKER, String(KEYSPACE_VERSION), "NX");
}

/** Deletes every key of an older layout. Returns how many. */
export async function clearOldKeyspace(redis: RedisClient, onProgress?: (deleted: number) => void): Promise<number> {
  let deleted = 0;
  for (const node of masterNodes(redis)) {
    for (const pattern of OLD_PATTERNS) {
      let cursor = "0";
      do {
        const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", 1000);
        for (const k of keys) deleted += await redis.del(k);
        cursor = next;
        onProgress?.(deleted);
      } while (cursor !== "0");
    }
  }
  return deleted;
}
