import type { Address, Hex } from "../orders";

/** A ledger account: one trader on one chain. Balances are (chain, trader, token). */
export interface Account {
  chainId: number;
  /** Lower-case. */
  trader: Address;
}

/** An account as one string, `<chainId>:<trader>` (lower-case): a map key. */
export type AccountKey = string;

export function accountKey(chainId: number, trader: string): AccountKey {
  return `${chainId}:${trader.toLowerCase()}`;
}

export function accountOf(key: AccountKey): Account {
  const i = key.indexOf(":");
  return { chainId: Number(key.slice(0, i)), trader: key.slice(i + 1) as Address };
}

/** A ledger operation for one account. */
export interface AccountOp {
  chainId: number;
  trader: Address;
  op: LedgerOp;
}

/** One trader's balance of one token, in atoms. */
export interface Balance {
  /** Free to lock for new orders (or to withdraw). */
  available: bigint;
  /** Held by open orders: exactly what they can still spend. */
  locked: bigint;
  /** Spent by matched fills not yet settled on chain (still in the vault on chain). */
  pendingOut: bigint;
  /** Received by matched fills not yet settled on chain (not in the vault yet). */
  pendingIn: bigint;
  /**
   * With a pending withdrawal request (WithdrawalRequested) only: the amount requested, and
   * the withdrawal hold, what of it the ledger holds so far (still in the vault, no longer
   * available for orders; at most the request; whatever returns to available tops it up).
   * Absent when the trader has no request for the token.
   */
  withdrawalRequested?: bigint;
  withdrawalHold?: bigint;
  /**
   * Only when non-zero: what the vault paid out on a withdrawal beyond the hold and available
   * (funds still counted in pendingOut of fills the chain will skip as unfunded); any later
   * credit to available pays it first. See ./keys.ts and vaultBalanceOf.
   */
  withdrawalDebt?: bigint;
}

export type Balances = Record<Address, Balance>;

/** An order's lock, as the engine asks the ledger for it. */
export interface LockRequest {
  orderHash: Hex;
  nonce: bigint;
  marketId: number;
  lockToken: Address;
  lockAtoms: bigint;
  lots: number;
  /** An immediate-or-cancel order: it never rests, so it is not counted against the open-order limit. */
  ioc?: boolean;
}

export type LockOutcome =
  | { ok: true }
  | { ok: false; code: "RATE_LIMITED"; retryAfterMs: number }
  | { ok: false; code: "DUPLICATE_ORDER"; existingHash: Hex }
  /** The trader cancelled this nonce on chain (NonceCancelled) before any known order used it. */
  | { ok: false; code: "NONCE_CANCELLED"; nonce: bigint }
  | { ok: false; code: "NONCE_BELOW_MINIMUM"; minNonce: bigint }
  | { ok: false; code: "TOO_MANY_OPEN_ORDERS"; openOrders: number }
  | { ok: false; code: "INSUFFICIENT_FUNDS"; available: bigint };

/**
 * Ledger operations applied to one trader by step.lua (see its header for the semantics).
 * All amounts in atoms.
 */
export type LedgerOp =
  | {
      op: "fill";
      orderHash: Hex;
      fillCtr: number;
      fillId: bigint;
      lots: number;
      spendToken: Address;
      spend: bigint;
      improvement: bigint;
      recvToken: Address;
      recv: bigint;
    }
  | {
      op: "fee";
      marketId: number;
      fillCtr: number;
      fillId: bigint;
      baseToken: Address;
      baseFee: bigint;
      quoteToken: Address;
      quoteFee: bigint;
    }
  | { op: "close"; orderHash: Hex; remainingLots: number; /** The order's lock token, if known: one read less. */ lockToken?: Address }
  | { op: "release"; orderHash: Hex; /** The order's lock token, if known: one read less. */ lockToken?: Address };

/** A rate limit: a token bucket of `capacity` requests refilled at `refillPerSecond`. */
export interface RateLimit {
  capacity: number;
  refillPerSecond: number;
}
