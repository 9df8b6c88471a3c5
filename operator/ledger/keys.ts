/**
 * Keyspaces of the off-chain ledger and of the per-trader rate limits. Every key carries the
 * trader's hash tag {t:<lower-case address>}: all ledger scripts of a trader touch one slot.
 *
 * Ledger, `hx:v1:ldg:{t:<trader>}:<name>`:
 *   bal     HASH  "<token>:a" available, "<token>:l" locked, "<token>:o" pendingOut,
 *                 "<token>:i" pendingIn; decimal strings of token atoms, never negative.
 *                 Reconciler invariant: vault balance on chain == a + l + o (i is not on chain yet).
 *   ord     HASH  orderHash -> lock record "market|token|rlock|lots|filled|lastFill|nonce" of each
 *                 order that still holds a lock (rlock = atoms still locked for it; lastFill = the
 *                 market fill counter of the last fill applied to it: fills apply exactly once).
 *   nonce   HASH  nonce -> orderHash, every nonce used by a known order (duplicate detection).
 *   pend    HASH  orderHash -> signed order payload, from the lock until the engine confirmed the
 *                 market processed the order: the crash-recovery record (see matching/recovery.ts).
 *   pf      HASH  fillId -> the trader's pending amounts of a matched, unsettled fill
 *                 ("o|token|atoms;i|token|atoms;..."), consumed once by settleFill / unwindFill.
 *   feehwm  HASH  marketId -> last fill counter whose fees were credited (fee account only).
 *   dep     HASH  depositId -> credited amount (deposits credit exactly once).
 *
 * Rate limits, `hx:v1:rl:{t:<trader>}:<action>`: STRING "millitokens|unix ms" token buckets for
 * "place" and "cancel"; they expire once full again, so idle traders cost nothing.
 */
import { keyspacePrefix, traderTag } from "../redis/keys";

export const LEDGER_KEYSPACE = keyspacePrefix("ldg", 1);
export const RATE_LIMIT_KEYSPACE = keyspacePrefix("rl", 1);

export interface LedgerKeys {
  bal: string;
  ord: string;
  nonce: string;
  pend: string;
  pf: string;
  feehwm: string;
  dep: string;
}

export function ledgerKeys(trader: string): LedgerKeys {
  const base = `${LEDGER_KEYSPACE}:${traderTag(trader)}:`;
  return {
    bal: `${base}bal`,
    ord: `${base}ord`,
    nonce: `${base}nonce`,
    pend: `${base}pend`,
    pf: `${base}pf`,
    feehwm: `${base}feehwm`,
    dep: `${base}dep`,
  };
}

export type RateLimitAction = "place" | "cancel";

export function rateLimitKey(trader: string, action: RateLimitAction): string {
  return `${RATE_LIMIT_KEYSPACE}:${traderTag(trader)}:${action}`;
}

/** Glob matching every `pend` key (recovery scans for them at start). */
export const PENDING_KEY_PATTERN = `${LEDGER_KEYSPACE}:{t:*}:pend`;
