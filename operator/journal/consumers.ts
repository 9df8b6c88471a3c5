/**
 * Named journal consumers and their cursors, persisted per market in the journal's
 * `consumers` hash (./keys.ts):
 *
 *   <name> -> "<mode>|<fill>|<close>|<accepted>"
 *
 * mode "d" durable (the engine's ledger, the settler, the epoch log: an entry is never trimmed
 * before it has passed it, however far it lags) or "b" best-effort (the WebSocket feed: it
 * holds the retention back only while it lags by at most the retention bound; beyond it the
 * journal trims anyway, and the consumer sees the gap, see ./reader.ts `missed`). A counter is
 * the last entry of that stream the consumer has finished with; "-" for a stream it does not
 * follow (it never holds that stream back).
 *
 * A consumer registers when it starts (a new one begins at the start of what is retained, or
 * at the tail) and saves its cursor as it goes; only its own process writes its field. One
 * that is gone for good must be unregistered (`npm run admin -- journal-consumers`), or, if
 * durable, it holds every entry after its cursor: the lag metric and /health say so.
 */
import type { RedisClient } from "../redis/client";
import { JournalError } from "./errors";
import { journalKeys } from "./keys";
import { tailCursor, type JournalCursor } from "./reader";
import type { JournalStream } from "./entries";

export type ConsumerMode = "durable" | "best-effort";

export interface ConsumerSpec {
  /** [a-z0-9:_-], 1 to 64 characters; unique per market. */
  name: string;
  mode: ConsumerMode;
  /** The streams it follows. */
  streams: readonly JournalStream[];
}

export interface ConsumerState {
  name: string;
  mode: ConsumerMode;
  /** Per stream: its cursor, or null when it does not follow that stream. */
  fill: number | null;
  close: number | null;
  accepted: number | null;
}

const NAME_RE = /^[a-z0-9:_-]{1,64}$/;

function checkName(name: string): void {
  if (!NAME_RE.test(name)) {
    throw new JournalError("JOURNAL_BAD_CONSUMER", `consumer name must be 1-64 characters of a-z 0-9 : _ -, got ${JSON.stringify(name)}`, { details: { name } });
  }
}

function encode(mode: ConsumerMode, fill: number | null, close: number | null, accepted: number | null): string {
  const c = (v: number | null) => (v === null ? "-" : String(v));
  return `${mode === "durable" ? "d" : "b"}|${c(fill)}|${c(close)}|${c(accepted)}`;
}

export function decodeConsumer(name: string, value: string): ConsumerState {
  const m = /^([db])\|(-|\d{1,16})\|(-|\d{1,16})\|(-|\d{1,16})$/.exec(value);
  if (m === null) throw new JournalError("JOURNAL_CORRUPT", `consumer ${name} has an unreadable cursor ${JSON.stringify(value)}`, { details: { name, value } });
  const n = (v: string) => (v === "-" ? null : Number(v));
  return { name, mode: m[1] === "d" ? "durable" : "best-effort", fill: n(m[2]), close: n(m[3]), accepted: n(m[4]) };
}

/**
 * Registers the consumer in the market if it is not registered yet, starting at `from`
 * ("start": everything still retained; "tail": only what comes next); an existing
 * registration keeps its cursor (a restart resumes where it stopped) unless `from` is
 * "tail!" (a real-time follower that never replays: it always restarts at the tail).
 * Returns the cursor to start from (streams it does not follow read as 0).
 */
export async function registerConsumer(
  redis: RedisClient,
  marketId: number,
  spec: ConsumerSpec,
  from: "start" | "tail" | "tail!",
): Promise<JournalCursor> {
  checkName(spec.name);
  const key = journalKeys(marketId).consumers;
  const follows = (s: JournalStream) => spec.streams.includes(s);
  if (from !== "tail!") {
    const existing = await redis.hget(key, spec.name);
    if (existing !== null) {
      const state = decodeConsumer(spec.name, existing);
      // Streams it follows now and did not before start at the tail.
      const tail = await tailCursor(redis, marketId);
      const cursor = { fill: state.fill ?? tail.fill, close: state.close ?? tail.close, accepted: state.accepted ?? tail.accepted };
      await redis.hset(key, spec.name, encode(spec.mode, follows("fills") ? cursor.fill : null, follows("closed") ? cursor.close : null, follows("accepted") ? cursor.accepted : null));
      return cursor;
    }
  }
  const start = from === "start" ? { fill: 0, close: 0, accepted: 0 } : await tailCursor(redis, marketId);
  const value = encode(spec.mode, follows("fills") ? start.fill : null, follows("closed") ? start.close : null, follows("accepted") ? start.accepted : null);
  if (from === "tail!") await redis.hset(key, spec.name, value);
  else if ((await redis.hsetnx(key, spec.name, value)) === 0) return registerConsumer(redis, marketId, spec, from); // registered meanwhile
  return start;
}

/** Saves the consumer's cursor (the streams it does not follow stay "-"). */
export async function saveCursor(redis: RedisClient, marketId: number, spec: ConsumerSpec, cursor: JournalCursor): Promise<void> {
  const follows = (s: JournalStream) => spec.streams.includes(s);
  await redis.hset(
    journalKeys(marketId).consumers,
    spec.name,
    encode(spec.mode, follows("fills") ? cursor.fill : null, follows("closed") ? cursor.close : null, follows("accepted") ? cursor.accepted : null),
  );
}

/** The consumer's saved cursor, or undefined if it is not registered. */
export async function loadCursor(redis: RedisClient, marketId: number, name: string): Promise<ConsumerState | undefined> {
  const value = await redis.hget(journalKeys(marketId).consumers, name);
  return value === null ? undefined : decodeConsumer(name, value);
}

export async function listConsumers(redis: RedisClient, marketId: number): Promise<ConsumerState[]> {
  const all = await redis.hgetall(journalKeys(marketId).consumers);
  return Object.entries(all)
    .map(([name, value]) => decodeConsumer(name, value))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** Forgets a consumer: it no longer holds the retention back. Returns false if it was not registered. */
export async function unregisterConsumer(redis: RedisClient, marketId: number, name: string): Promise<boolean> {
  checkName(name);
  return (await redis.hdel(journalKeys(marketId).consumers, name)) === 1;
}
