/**
 * Keyspace of order books, `hx:v2:book:{m:<id>}:<name>` (v2: binary order records); all keys of a market share the
 * {m:<id>} hash tag (and the slot of the market's metadata, operator/markets/keys.ts).
 *
 *   state           HASH    seq (last arrival sequence number), fill (last fill counter),
 *                           close (last close counter), pending (taker cut by the fill cap),
 *                           appliedFill / appliedClose (ledger cursor: every journal entry up to
 *                           these counters has been applied to the traders' ledgers)
 *   orders          HASH    orderHash -> order record, binary (./record.ts: side, ticks, lots, rem, seq,
 *                           flags, expiry, state, trader, receivedAt, reason)
 *   payloads        HASH    orderHash -> signed order payload (./payload.ts), for settlement
 *   inbox           SET     orders recorded at intake and not yet processed by the market:
 *                           the crash-recovery record (./recovery.ts)
 *   bids, asks      ZSET    price levels (member = score = ticks)
 *   depth           HASH    "<b|s>:<ticks>" -> open lots at the level
 *   lvl:<b|s>:<ticks> LIST  order hashes at a level, FIFO (closed orders linger as tombstones)
 *   expiry          ZSET    resting orders by expiry (unix s)
 *   accepted        STREAM  "<seq>-0": h orderHash, t trader, ra receivedAt ms (epoch commitment)
 *   fills           STREAM  "<fill counter>-0": id, m, t, mt, tt, sd, px, tpx, l, mf, tf, ts
 *   closed          STREAM  "<close counter>-0": h, t, sd, px, rem, why, fc, ts
 * Stream ids are the counters themselves, so a consumer's cursor is a plain integer.
 * fillId = (marketId << 48) | fill counter (a uint64, unique across markets).
 */
import { keyspacePrefix, marketTag } from "../redis/keys";

export const BOOK_KEYSPACE = keyspacePrefix("book", 2);

export interface BookKeys {
  prefix: string;
  state: string;
  orders: string;
  payloads: string;
  bids: string;
  asks: string;
  depth: string;
  expiry: string;
  accepted: string;
  fills: string;
  closed: string;
  inbox: string;
}

export function bookKeys(marketId: number): BookKeys {
  const prefix = `${BOOK_KEYSPACE}:${marketTag(marketId)}:`;
  return {
    prefix,
    state: `${prefix}state`,
    orders: `${prefix}orders`,
    payloads: `${prefix}payloads`,
    bids: `${prefix}bids`,
    asks: `${prefix}asks`,
    depth: `${prefix}depth`,
    expiry: `${prefix}expiry`,
    accepted: `${prefix}accepted`,
    fills: `${prefix}fills`,
    closed: `${prefix}closed`,
    inbox: `${prefix}inbox`,
  };
}

export function levelKey(marketId: number, side: "b" | "s", ticks: number): string {
  return `${bookKeys(marketId).prefix}lvl:${side}:${ticks}`;
}

/** fillId = (marketId << 48) | counter. */
export function fillIdOf(marketId: number, counter: number): bigint {
  return (BigInt(marketId) << 48n) | BigInt(counter);
}

export const MAX_FILL_COUNTER = 2 ** 48 - 1;
