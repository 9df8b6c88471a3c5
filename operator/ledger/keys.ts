/**
 * Keyspaces of the off-chain ledger and of the per-account rate limits. The ledger is scoped
 * by chain: an account is (chain, trader), a balance is (chain, trader, token). Every key
 * carries the account's hash tag {t:<chainId>:<lower-case address>}: all ledger scripts of an
 * account touch one slot.
 *
 * Ledger, `hx:v3:ldg:{t:<chainId>:<trader>}:<name>` (v3: scoped by chain, where v2 had
 * `{t:<trader>}`, see operator/migration; lock records in the account, led by their token; fee
 * records "g:"; the layout one ledger step reads in one HMGET and writes in one HSET):
 *   acct    HASH  the trader's account, everything a ledger step reads and writes, so that one
 *                 step is one HMGET and one HSET (plus an HDEL):
 *                   "b:<token>:a" available, "b:<token>:l" locked, "b:<token>:o" pendingOut,
 *                   "b:<token>:i" pendingIn: decimal strings of token atoms, never negative,
 *                   absent when zero.
 *                   Withdrawals (./withdrawals.ts, lua/withdrawal.lua), same format:
 *                   "b:<token>:t" the amount of the trader's pending withdrawal request (the
 *                   target of its hold; absent: no request), "b:<token>:w" the withdrawal hold:
 *                   funds still in the vault that the trader asked to withdraw, no longer
 *                   available for orders (0 <= w <= t), "b:<token>:d" the withdrawal debt: what
 *                   the vault paid out beyond the hold and available (funds the ledger still
 *                   counted as pendingOut of matched, unsettled fills, which the chain will
 *                   skip as unfunded). "w" -> the tokens with a request or a debt, sorted,
 *                   comma-separated (absent: none): step.lua reads it with the fields it
 *                   already reads, and reads the three above only for a token listed there.
 *                   Semantics: a request replaces the previous one (its hold returns to
 *                   available), sets t and moves min(a, t) into w; whatever later returns to
 *                   available of that token (a close, a release or a price improvement in
 *                   step.lua, an unwind or a settlement in settle.lua, a deposit) first pays d,
 *                   then tops w up to t, and only the rest becomes available. A finalization
 *                   (Withdrawn) takes its amount from w, then a, then adds what is missing to
 *                   d; then the request is consumed: the rest of w returns to a, t is cleared.
 *                   d > 0 only when a = w = 0 (a debt is made once both are spent; credits pay
 *                   it first).
 *                   Reconciler invariant, per (chain, trader, token):
 *                     vault balance on chain == a + l + o + w - d      (i is not on chain yet)
 *                   "n:<nonce>" -> orderHash: every nonce used by a known order (duplicates);
 *                   or "cancelled": a nonce cancelled on chain (NonceCancelled) that no known
 *                   order used (later orders with it: NONCE_CANCELLED; lua/nonce_cancel.lua).
 *                   "f:<fillId>" -> the trader's pending amounts of a matched, unsettled fill
 *                   ("o|token|atoms;i|token|atoms;..."), consumed once by settle / unwind;
 *                   "g:<fillId>" -> the same for the fees the fee account gets from a fill
 *                   ("i|token|atoms;..."), apart so that a fee account that also trades keeps
 *                   both records, and so that step.lua writes fees without reading first.
 *                   "h:<marketId>" -> last fill counter whose fees were credited (fee account).
 *                   "minNonce" -> the trader's minimum nonce on this chain (Settlement.raiseMinNonce): orders
 *                   with a lower nonce are refused (absent: no minimum); only ever raised.
 *                   "o:<orderHash>" -> lock record "token|market|rlock|lots|filled|lastFill|nonce|lockId"
 *                   of each order that still holds a lock (rlock = atoms still locked for it;
 *                   lastFill = the market fill counter of the last fill applied to it, so fills
 *                   apply exactly once; lockId = the step that wrote it, so a resent step is
 *                   recognised).
 *   ord     HASH  orderHash -> marketId of each order that still holds a lock: the index of the
 *                 trader's open orders (cancel-all), written when a lock is taken and deleted
 *                 when it goes, not on every fill.
 *   dep     HASH  depositId -> "token|amount" (deposits credit exactly once).
 *   wdr     HASH  eventId -> "R|token|amount" (WithdrawalRequested) or "F|token|amount"
 *                 (Withdrawn) of each withdrawal event applied (each applies exactly once).
 *
 * Rate limits, `hx:v3:rl:{t:<chainId>:<trader>}:<action>`: STRING "millitokens|unix ms" token
 * buckets for "place" and "cancel", per account (in the account's slot, so one ledger step
 * charges it); they expire once full again, so idle traders cost nothing.
 */
import { accountTag, keyspacePrefix } from "../redis/keys";

export const LEDGER_KEYSPACE = keyspacePrefix("ldg", 3);
export const RATE_LIMIT_KEYSPACE = keyspacePrefix("rl", 3);

export interface LedgerKeys {
  acct: string;
  ord: string;
  dep: string;
  wdr: string;
}

export function ledgerKeys(chainId: number, trader: string): LedgerKeys {
  const base = `${LEDGER_KEYSPACE}:${accountTag(chainId, trader)}:`;
  return { acct: `${base}acct`, ord: `${base}ord`, dep: `${base}dep`, wdr: `${base}wdr` };
}

/** available, locked, pendingOut, pendingIn; withdrawal hold, its target (the request), debt. */
export type BalanceKind = "a" | "l" | "o" | "i" | "w" | "t" | "d";

/** The account field of one balance: "b:<token>:<a|l|o|i|w|t|d>". */
export function balanceField(token: string, kind: BalanceKind): string {
  return `b:${token.toLowerCase()}:${kind}`;
}

export type RateLimitAction = "place" | "cancel";

export function rateLimitKey(chainId: number, trader: string, action: RateLimitAction): string {
  return `${RATE_LIMIT_KEYSPACE}:${accountTag(chainId, trader)}:${action}`;
}
