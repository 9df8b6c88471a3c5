/**
 * Keyspace of order books, `hx:v3:book:{m:<id>}:<name>` (v3: the journal's streams moved to
 * operator/journal, the ledger cursor to the journal's consumers; v2 is migrated by
 * operator/migration). All keys of a market share the {m:<id>} hash tag (and the slot of the
 * market's metadata, operator/markets/keys.ts, and of its journal, operator/journal/keys.ts).
 *
 *   state           HASH    seq (last arrival sequence number), fill (last fill counter),
 *                           close (last close counter), pending (taker cut by the fill cap),
 *                           epoch (the commitment epoch orders accepted now belong to; 1 if absent)
 *   epochs          ZSET    member commitment epoch, score its last arrival sequence number
 *                           (epochs sealed in this market, ./lua/seal.lua)
 *   efills          ZSET    member commitment epoch, score its last fill counter
 *   orders          HASH    orderHash -> order record, binary (./record.ts: side, ticks, lots, rem, seq,
 *                           flags, expiry, state, trader, receivedAt, reason); a finished order's
 *                           record is dropped by the journal's retention
 *   payloads        HASH    orderHash -> signed order payload (./payload.ts), for settlement;
 *                           dropped with the record
 *   inbox           SET     orders recorded at intake and not yet processed by the market:
 *                           the crash-recovery record (./recovery.ts)
 *   bids, asks      ZSET    price levels (member = score = ticks)
 *   depth           HASH    "<b|s>:<ticks>" -> open lots at the level
 *   lvl:<b|s>:<ticks> LIST  order hashes at a level, FIFO (closed orders linger as tombstones)
 *   expiry          ZSET    resting orders by expiry (unix s)
 * fillId = (marketId << 48) | fill counter (a uint64, unique across markets).
 */
import { keyspacePrefix, marketTag } from "../redis/keys";

export const BOOK_KEYSPACE = keyspacePrefix("book", 3);

export interface BookKeys {
  prefix: string;
  state: string;
  orders: string;
  payloads: string;
  bids: string;
  asks: string;
  depth: string;
  expiry: string;
  inbox: string;
  /** Commitment epochs sealed in this market (./lua/seal.lua). */
  epochs: string;
  /** The last fill counter of each sealed commitment epoch (./lua/seal.lua). */
  efills: string;
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
    inbox: `${prefix}inbox`,
    epochs: `${prefix}epochs`,
    efills: `${prefix}efills`,
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
