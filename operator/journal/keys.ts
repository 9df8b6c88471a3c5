/**
 * Keyspace of the market journal, `hx:v3:jrn:{m:<id>}:<name>`. Every key shares the market's
 * {m:<id>} hash tag with its book (operator/matching/keys.ts), so the book scripts append to
 * the journal atomically with the book change they journal, in one slot.
 *
 *   accepted   STREAM  orders accepted by the market, in arrival order (./entries.ts)
 *   fills      STREAM  fills, in execution order
 *   closed     STREAM  orders that left the book with a remainder
 *   consumers  HASH    consumer name -> "<mode>|<fill>|<close>|<accepted>" (./consumers.ts)
 *   done       LIST    orders that are finished (filled or closed), oldest first:
 *                      "<seq>|<fill>|<close>|<ts>|<orderHash>", the market's counters and the
 *                      time (unix ms) when the order finished; the retention trims their order
 *                      records and payloads once every consumer is past those counters
 *                      (./retention.ts)
 */
import { keyspacePrefix, marketTag } from "../redis/keys";

export const JOURNAL_KEYSPACE = keyspacePrefix("jrn", 3);

export interface JournalKeys {
  prefix: string;
  accepted: string;
  fills: string;
  closed: string;
  consumers: string;
  done: string;
}

export function journalKeys(marketId: number): JournalKeys {
  const prefix = `${JOURNAL_KEYSPACE}:${marketTag(marketId)}:`;
  return {
    prefix,
    accepted: `${prefix}accepted`,
    fills: `${prefix}fills`,
    closed: `${prefix}closed`,
    consumers: `${prefix}consumers`,
    done: `${prefix}done`,
  };
}
