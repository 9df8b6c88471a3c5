/**
 * Keyspace of market metadata in Redis (v3: the configuration names its chain): `hx:v3:mkt:{m:<id>}:meta`, a HASH with
 *   config   canonical JSON of the market's configuration (see config.ts marketConfigJson)
 *   status   "active" | "halted"   (read by the match script: a halted market takes no order)
 *   reason   why it was halted
 * It shares the {m:<id>} hash tag with the market's book (operator/matching/keys.ts), so the
 * match script reads the status in the same slot.
 */
import { keyspacePrefix, marketTag } from "../redis/keys";

export const MARKETS_KEYSPACE = keyspacePrefix("mkt", 3);

export const marketKeys = {
  meta: (marketId: number): string => `${MARKETS_KEYSPACE}:${marketTag(marketId)}:meta`,
};
