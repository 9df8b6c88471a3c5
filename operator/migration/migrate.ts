/**
 * Moves a Redis of the v2 layout to v3 (chains everywhere), in place, with every operator on
 * it stopped (`npm run admin -- migrate-keyspace`). What changes:
 *
 *   hx:v2:ldg:{t:<trader>}:<acct|ord|dep>  -> hx:v3:ldg:{t:<chainId>:<trader>}:<same>   (the chain given)
 *   hx:v1:rl:{t:<trader>}:*                -> deleted (rate buckets refill by themselves)
 *   hx:v1:mkt:{m:<id>}:meta                -> hx:v3:mkt:{m:<id>}:meta, its configuration with the
 *                                            market's chain (the configured one, else the chain given)
 *   hx:v2:book:{m:<id>}:accepted|fills|closed -> hx:v3:jrn:{m:<id>}:<same> (the journal)
 *   hx:v2:book:{m:<id>}:state              -> hx:v3:book:{m:<id>}:state (seq, fill, close, pending),
 *                                            its appliedFill / appliedClose becoming the journal's
 *                                            "engine" consumer cursor
 *   hx:v2:book:{m:<id>}:<anything else>    -> hx:v3:book:{m:<id>}:<same> (records, payloads, levels...)
 *   and each finished order (state f or c) of a migrated market is listed in the journal's
 *   `done` list, so the retention drops it in time like any other.
 *
 * Each key is copied (DUMP / RESTORE REPLACE, keeping its TTL) before the old one is deleted,
 * so a migration interrupted half-way can simply be run again. The keyspace marker is written
 * last. v1 books and ledgers (an earlier layout) are not read: the migration refuses to start
 * while any exists (clear them), as it does on a Redis marked with another version.
 */
import { journalKeys } from "../journal/keys";
import { ledgerKeys } from "../ledger/keys";
import type { Logger } from "../log";
import { marketConfigJson, parseMarketConfig } from "../markets/config";
import { marketKeys } from "../markets/keys";
import type { Market } from "../markets/types";
import { BOOK_KEYSPACE, bookKeys } from "../matching/keys";
import { decodeOrderRecord } from "../matching/record";
import { KEYSPACE_VERSION, marketTag, masterNodes, type RedisClient } from "../redis";
import { KEYSPACE_MARKER, KeyspaceError } from "./keyspace";

export interface MigrateParams {
  /** The chain a v2 ledger (and a market not in `markets`) belongs to. */
  chainId: number;
  /** The configured markets: a market's chain comes from here when it is listed. */
  markets: readonly Market[];
}

export interface MigrationReport {
  ledgerKeys: number;
  bookKeys: number;
  journalStreams: number;
  markets: number;
  rateBucketsDropped: number;
  doneOrdersListed: number;
}

export type MigrationProgress = (report: Readonly<MigrationReport>) => void;

const LEDGER_RE = /^hx:v2:ldg:\{t:(0x[0-9a-f]{40})\}:(acct|ord|dep)$/;
const BOOK_RE = /^hx:v2:book:\{m:(\d{1,5})\}:(.+)$/;
const META_RE = /^hx:v1:mkt:\{m:(\d{1,5})\}:meta$/;
const JOURNAL_STREAMS = new Set(["accepted", "fills", "closed"]);

async function scanAll(redis: RedisClient, pattern: string, each: (keys: string[]) => Promise<void>): Promise<void> {
  for (const node of masterNodes(redis)) {
    let cursor = "0";
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", 500);
      if (keys.length > 0) await each(keys);
      cursor = next;
    } while (cursor !== "0");
  }
}

/** Copies `from` to `to` (type, value and TTL), then deletes `from`. */
async function move(redis: RedisClient, from: string, to: string): Promise<void> {
  const [dump, pttl] = await Promise.all([redis.dumpBuffer(from), redis.pttl(from)]);
  if (dump === null) return; // gone meanwhile (a re-run)
  await redis.restore(to, pttl > 0 ? pttl : 0, dump, "REPLACE");
  await redis.del(from);
}

export async function migrateV2ToV3(deps: { redis: RedisClient; logger: Logger }, params: MigrateParams, onProgress?: MigrationProgress): Promise<MigrationReport> {
  const { redis } = deps;
  const report: MigrationReport = { ledgerKeys: 0, bookKeys: 0, journalStreams: 0, markets: 0, rateBucketsDropped: 0, doneOrdersListed: 0 };
  const progress = (): void => onProgress?.({ ...report });
  const marker = await redis.get(KEYSPACE_MARKER);
  if (marker !== null && marker !== String(KEYSPACE_VERSION)) {
    throw new KeyspaceError("KEYSPACE_NEWER", `Redis is marked with keyspace version ${marker} (${KEYSPACE_MARKER}); this migration writes version ${KEYSPACE_VERSION}`, {
      details: { marker, expected: KEYSPACE_VERSION },
    });
  }
  const v1: string[] = [];
  for (const pattern of ["hx:v1:book:*", "hx:v1:ldg:*"]) await scanAll(redis, pattern, async (keys) => void v1.push(...keys.slice(0, 5)));
  if (v1.length > 0) {
    throw new KeyspaceError("KEYSPACE_UNMIGRATABLE", `Redis holds data of the v1 layout (e.g. ${v1.slice(0, 3).join(", ")}), which no migration reads: clear it first (clear-old-keyspace)`, {
      details: { examples: v1 },
    });
  }
  const configured = new Map(params.markets.map((m) => [m.id, m]));

  // ---- the ledger: one account per trader, on the chain given
  await scanAll(redis, "hx:v2:ldg:*", async (keys) => {
    await Promise.all(
      keys.map(async (key) => {
        const m = LEDGER_RE.exec(key);
        if (m === null) throw new KeyspaceError("KEYSPACE_UNMIGRATABLE", `unexpected v2 ledger key ${key}`, { details: { key } });
        await move(redis, key, ledgerKeys(params.chainId, m[1])[m[2] as "acct" | "ord" | "dep"]);
      }),
    );
    report.ledgerKeys += keys.length;
    progress();
  });

  // ---- rate buckets: dropped (they refill by themselves)
  await scanAll(redis, "hx:v1:rl:*", async (keys) => {
    // One DEL per key: the keys of one SCAN batch belong to many slots (Redis Cluster).
    for (const n of await Promise.all(keys.map((k) => redis.del(k)))) report.rateBucketsDropped += n;
    progress();
  });

  // ---- market metadata: the configuration gains the market's chain
  await scanAll(redis, "hx:v1:mkt:*", async (keys) => {
    for (const key of keys) {
      const m = META_RE.exec(key);
      if (m === null) throw new KeyspaceError("KEYSPACE_UNMIGRATABLE", `unexpected v1 market key ${key}`, { details: { key } });
      const id = Number(m[1]);
      const meta = await redis.hgetall(key);
      const fields: string[] = [];
      if (meta.config !== undefined) {
        const stored = JSON.parse(meta.config) as Record<string, unknown>;
        const market = parseMarketConfig({ ...stored, chainId: configured.get(id)?.chainId ?? params.chainId });
        fields.push("config", marketConfigJson(market));
      }
      if (meta.status !== undefined) fields.push("status", meta.status);
      if (meta.reason !== undefined) fields.push("reason", meta.reason);
      if (fields.length > 0) await redis.hset(marketKeys.meta(id), ...fields);
      await redis.del(key);
      report.markets++;
    }
    progress();
  });

  // ---- books: the journal streams move out, the engine's cursor becomes a journal consumer
  const migratedMarkets = new Set<number>();
  await scanAll(redis, "hx:v2:book:*", async (keys) => {
    for (const key of keys) {
      const m = BOOK_RE.exec(key);
      if (m === null) throw new KeyspaceError("KEYSPACE_UNMIGRATABLE", `unexpected v2 book key ${key}`, { details: { key } });
      const id = Number(m[1]);
      const name = m[2];
      migratedMarkets.add(id);
      if (JOURNAL_STREAMS.has(name)) {
        await move(redis, key, journalKeys(id)[name as "accepted" | "fills" | "closed"]);
        report.journalStreams++;
      } else if (name === "state") {
        const state = await redis.hgetall(key);
        const fields: string[] = [];
        for (const f of ["seq", "fill", "close", "pending"]) if (state[f] !== undefined) fields.push(f, state[f]);
        if (fields.length > 0) await redis.hset(bookKeys(id).state, ...fields);
        await redis.hset(journalKeys(id).consumers, "engine", `d|${Number(state.appliedFill ?? 0)}|${Number(state.appliedClose ?? 0)}|-`);
        await redis.del(key);
        report.bookKeys++;
      } else {
        await move(redis, key, `${BOOK_KEYSPACE}:${marketTag(id)}:${name}`);
        report.bookKeys++;
      }
    }
    progress();
  });

  // ---- finished orders join the journal's done list (once: only a market without one). A run
  // interrupted after moving the books left them without a list: until the marker is written,
  // every v3 book is one this migration moved.
  if (marker === null) {
    await scanAll(redis, `${BOOK_KEYSPACE}:{m:*}:orders`, async (keys) => {
      for (const key of keys) {
        const m = /^hx:v3:book:\{m:(\d{1,5})\}:orders$/.exec(key);
        if (m !== null) migratedMarkets.add(Number(m[1]));
      }
    });
  }
  const now = Date.now();
  for (const id of migratedMarkets) {
    const j = journalKeys(id);
    if ((await redis.llen(j.done)) > 0) continue;
    // Built apart and renamed once complete, so an interrupted listing is redone, not left half.
    const building = `${j.done}:migrating`;
    await redis.del(building);
    const [seq, fill, close] = await redis.hmget(bookKeys(id).state, "seq", "fill", "close");
    const mark = `${Number(seq ?? 0)}|${Number(fill ?? 0)}|${Number(close ?? 0)}|${now}|`;
    let cursor = "0";
    do {
      const [next, flat] = await redis.hscanBuffer(bookKeys(id).orders, cursor, "COUNT", 500);
      const done: string[] = [];
      for (let i = 0; i < flat.length; i += 2) {
        const state = decodeOrderRecord(flat[i + 1]).state;
        if (state === "f" || state === "c") done.push(mark + flat[i].toString("latin1"));
      }
      if (done.length > 0) await redis.rpush(building, ...done);
      report.doneOrdersListed += done.length;
      cursor = next.toString();
    } while (cursor !== "0");
    if ((await redis.exists(building)) === 1) await redis.rename(building, j.done);
  }

  await redis.set(KEYSPACE_MARKER, String(KEYSPACE_VERSION));
  deps.logger.info({ ...report, chainId: params.chainId }, "keyspace migrated to v3");
  progress();
  return report;
}
