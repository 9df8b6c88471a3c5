/**
 * The off-chain ledger: per (trader, token) available / locked / pendingOut / pendingIn as
 * decimal strings in Redis under {t:<trader>} keys, changed only by Lua scripts that validate
 * before writing and never let a value go negative.
 *
 *   creditDeposit            deposits, once per deposit id
 *   lockCall / parseLockReply    lock what a new order can spend (+ place rate limit)
 *   fillLedgerOps / applyLedgerOps   apply fills and closes from the market journal, once each
 *   settleFill(s) / unwindFill(s)    resolve pending amounts when the chain settles or skips a fill
 *   getBalances
 *
 * Reconciler invariant: vault balance on chain == available + locked + pendingOut.
 */
export type { Balance, Balances, LedgerOp, LockOutcome, LockRequest, RateLimit } from "./types";
export { ledgerKeys, rateLimitKey, LEDGER_KEYSPACE, RATE_LIMIT_KEYSPACE, PENDING_KEY_PATTERN, type LedgerKeys, type RateLimitAction } from "./keys";
export { LEDGER_SCRIPTS, LOCK_SCRIPT, APPLY_SCRIPT, SETTLE_SCRIPT, DEPOSIT_SCRIPT, CANCEL_CHECK_SCRIPT } from "./scripts";
export { LedgerError, ledgerErrorFromReply, type LedgerErrorCode } from "./errors";
export { lockCall, parseLockReply, type LockCallParams } from "./lock";
export { applyCall, applyLedgerOps, groupOpsByTrader } from "./apply";
export { fillAmounts, fillLedgerOps, type FillAmounts, type FillFacts } from "./fillOps";
export { creditDeposit, type CreditDepositParams } from "./deposits";
export { getBalances, parseBalances, zeroBalance } from "./balances";
export { settleFill, settleFills, unwindFill, unwindFills, type FillParties } from "./settle";
