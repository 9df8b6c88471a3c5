/**
 * Reading a market's journal: ranges by counter (the engine's catch-up and crash recovery) and
 * a follower's read from its cursor (the WebSocket feed, and soon the settler and the epoch
 * log), one XREAD for a market's three streams (they share the {m:<id>} slot).
 */
import type { RedisClient } from "../redis/client";
import {
  counterOf,
  decodeAccepted,
  decodeClose,
  decodeFill,
  type AcceptedEntry,
  type CloseEntry,
  type FillEntry,
  type JournalStream,
  type StreamEntry,
} from "./entries";
import { journalKeys } from "./keys";

/** Position in a market's journal: every entry up to these counters has been read. */
export interface JournalCursor {
  fill: number;
  close: number;
  accepted: number;
}

const PAGE = 1000;

function streamKey(marketId: number, stream: JournalStream): string {
  const k = journalKeys(marketId);
  return stream === "fills" ? k.fills : stream === "closed" ? k.closed : k.accepted;
}

/** Raw entries with counter in (afterCtr, toCtr] (toCtr undefined: to the end), paged. */
async function readRange(redis: RedisClient, key: string, afterCtr: number, toCtr: number | undefined): Promise<StreamEntry[]> {
  const out: StreamEntry[] = [];
  let from = afterCtr + 1;
  for (;;) {
    if (toCtr !== undefined && from > toCtr) break;
    const page = (await redis.xrange(key, `${from}-0`, toCtr === undefined ? "+" : `${toCtr}-0`, "COUNT", PAGE)) as StreamEntry[];
    for (const e of page) out.push(e);
    if (page.length < PAGE) break;
    from = counterOf(page[page.length - 1][0]) + 1;
  }
  return out;
}

/** Fills with counter in (afterCtr, toCtr] (toCtr undefined: to the end). */
export async function readFills(redis: RedisClient, marketId: number, afterCtr: number, toCtr?: number): Promise<FillEntry[]> {
  return (await readRange(redis, streamKey(marketId, "fills"), afterCtr, toCtr)).map((e) => decodeFill(marketId, e));
}

/** Closes with counter in (afterCtr, toCtr]. */
export async function readCloses(redis: RedisClient, marketId: number, afterCtr: number, toCtr?: number): Promise<CloseEntry[]> {
  return (await readRange(redis, streamKey(marketId, "closed"), afterCtr, toCtr)).map((e) => decodeClose(marketId, e));
}

/** Accepted orders with sequence number in (afterSeq, toSeq]. */
export async function readAccepted(redis: RedisClient, marketId: number, afterSeq: number, toSeq?: number): Promise<AcceptedEntry[]> {
  return (await readRange(redis, streamKey(marketId, "accepted"), afterSeq, toSeq)).map((e) => decodeAccepted(marketId, e));
}

export interface JournalRead {
  fills: FillEntry[];
  closes: CloseEntry[];
  accepted: AcceptedEntry[];
  /** The cursor after this read. */
  next: JournalCursor;
  /**
   * Entries the reader will never see, per stream: the journal trimmed them before it read
   * them (a follower that lagged beyond the retention bound). Zero when nothing was missed.
   */
  missed: JournalCursor;
}

/**
 * At most `count` entries of each stream after `cursor` (one XREAD). A close is delivered only
 * after the fills that preceded it (its fill counter is within what was read), so a capped
 * read never reports an order closed before its fills; the rest waits for the next read.
 * `streams` limits the read to the streams the caller follows (default all three).
 */
export async function readJournal(
  redis: RedisClient,
  marketId: number,
  cursor: JournalCursor,
  count: number,
  streams: readonly JournalStream[] = ["fills", "closed", "accepted"],
): Promise<JournalRead> {
  const k = journalKeys(marketId);
  const keys: string[] = [];
  const ids: string[] = [];
  if (streams.includes("fills")) keys.push(k.fills), ids.push(`${cursor.fill}-0`);
  if (streams.includes("accepted")) keys.push(k.accepted), ids.push(`${cursor.accepted}-0`);
  if (streams.includes("closed")) keys.push(k.closed), ids.push(`${cursor.close}-0`);
  const reply = (await redis.xread("COUNT", count, "STREAMS", ...keys, ...ids)) as [string, StreamEntry[]][] | null;
  const byKey = new Map<string, StreamEntry[]>(reply ?? []);
  const next = { ...cursor };
  const missed = { fill: 0, close: 0, accepted: 0 };

  const fills: FillEntry[] = [];
  for (const e of byKey.get(k.fills) ?? []) {
    const f = decodeFill(marketId, e);
    if (fills.length === 0 && f.fillCtr > next.fill + 1) missed.fill = f.fillCtr - next.fill - 1;
    next.fill = f.fillCtr;
    fills.push(f);
  }
  const accepted: AcceptedEntry[] = [];
  for (const e of byKey.get(k.accepted) ?? []) {
    const a = decodeAccepted(marketId, e);
    if (accepted.length === 0 && a.seq > next.accepted + 1) missed.accepted = a.seq - next.accepted - 1;
    next.accepted = a.seq;
    accepted.push(a);
  }
  const closes: CloseEntry[] = [];
  for (const e of byKey.get(k.closed) ?? []) {
    const c = decodeClose(marketId, e);
    // Its fills are not all read yet (the fills read was capped): wait for the next read.
    if (streams.includes("fills") && c.fillCtr > next.fill) break;
    if (closes.length === 0 && c.closeCtr > next.close + 1) missed.close = c.closeCtr - next.close - 1;
    next.close = c.closeCtr;
    closes.push(c);
  }
  return { fills, closes, accepted, next, missed };
}

/** The last counter of each stream: a follower starting here sees only what comes next. */
export async function tailCursor(redis: RedisClient, marketId: number): Promise<JournalCursor> {
  const k = journalKeys(marketId);
  const last = async (key: string): Promise<number> => {
    // The newest entry, or, for a stream the retention trimmed empty, its last generated id.
    const entries = (await redis.xrevrange(key, "+", "-", "COUNT", 1)) as StreamEntry[];
    if (entries.length > 0) return counterOf(entries[0][0]);
    return lastGeneratedCounter(redis, key);
  };
  const [fill, accepted, close] = await Promise.all([last(k.fills), last(k.accepted), last(k.closed)]);
  return { fill, accepted, close };
}

/** The last id ever added to a stream, even if it was trimmed since (0 if the stream does not exist). */
async function lastGeneratedCounter(redis: RedisClient, key: string): Promise<number> {
  if ((await redis.exists(key)) === 0) return 0;
  const info = (await redis.xinfo("STREAM", key)) as unknown[];
  for (let i = 0; i < info.length; i += 2) if (info[i] === "last-generated-id") return counterOf(String(info[i + 1]));
  return 0;
}
