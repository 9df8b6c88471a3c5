/**
 * The off-chain ledger: per (chain, trader, token) available / locked / pendingOut / pendingIn
 * (and, around a withdrawal, its hold, the request it fills and a debt) as decimal strings in
 * Redis under {t:<chainId>:<trader>} keys (an account: one trader on one chain), changed only by
 * Lua scripts that validate before writing and never let a value go negative or above
 * 2^256 - 1.
 *
 *   createLedger                  the ledger's scripts on a Redis client (for callers outside
 *                                 the engine: the admin tool, the chain watcher)
 *   creditDeposit                 deposits, once per deposit id
 *   stepCall / parseStepReply     one step per account: journal effects (fills, closes, releases),
 *                                 each once, then locks of new orders (+ place rate limit)
 *   fillLedgerOps                 the effects of a fill in atoms
 *   raiseMinNonce                 records the trader's minimum nonce, lists its open orders below it
 *   recordNonceCancelled          a nonce cancelled on chain: the order that used it, or a record
 *                                 refusing later orders with it (NONCE_CANCELLED)
 *   requestWithdrawal / finalizeWithdrawal / getWithdrawal
 *                                 withdrawal holds (WithdrawalRequested, Withdrawn), once per event
 *   settleFill(s) / unwindFill(s)    resolve pending amounts when the chain settles or skips a fill
 *   getBalances, vaultBalanceOf
 *
 * Reconciler invariant, per (chain, trader, token): vault balance on chain == available + locked
 * + pendingOut + withdrawalHold - withdrawalDebt (vaultBalanceOf; ./keys.ts).
 */
export type { Account, AccountKey, AccountOp, Balance, Balances, LedgerOp, LockOutcome, LockRequest, RateLimit } from "./types";
export { accountKey, accountOf } from "./types";
export { createLedger, type Ledger } from "./ledger";
export { ledgerKeys, rateLimitKey, balanceField, LEDGER_KEYSPACE, RATE_LIMIT_KEYSPACE, type LedgerKeys, type RateLimitAction, type BalanceKind } from "./keys";
export { LEDGER_SCRIPTS, STEP_SCRIPT, SETTLE_SCRIPT, DEPOSIT_SCRIPT, CANCEL_CHECK_SCRIPT, MIN_NONCE_SCRIPT, WITHDRAWAL_SCRIPT, NONCE_CANCEL_SCRIPT } from "./scripts";
export { LedgerError, ledgerErrorFromReply, type LedgerErrorCode } from "./errors";
export { stepCall, parseStepReply, groupOpsByAccount, type StepParams, type StepReply } from "./step";
export { fillAmounts, fillLedgerOps, type FillAmounts, type FillFacts } from "./fillOps";
export { creditDeposit, type CreditDepositParams } from "./deposits";
export { raiseMinNonce, type RaiseMinNonceParams, type RaiseMinNonceResult } from "./minNonce";
export { getBalances, zeroBalance, vaultBalanceOf } from "./balances";
export {
  requestWithdrawal,
  finalizeWithdrawal,
  getWithdrawal,
  type WithdrawalEventParams,
  type WithdrawalState,
  type RequestWithdrawalResult,
  type FinalizeWithdrawalResult,
  type LockingOrder,
} from "./withdrawals";
export { recordNonceCancelled, type NonceCancelledParams, type NonceCancelledResult } from "./cancelledNonces";
export { settleFill, settleFills, unwindFill, unwindFills, type FillParties } from "./settle";
