import { BaseError, type BaseErrorOptions } from "../errors";

export type LedgerErrorCode = "LEDGER_INVARIANT" | "LEDGER_OVERFLOW" | "LEDGER_BAD_INPUT" | "DEPOSIT_CONFLICT" | "WITHDRAWAL_CONFLICT";

/**
 * The ledger refused an operation that would break one of its invariants (a balance or a lock
 * going negative, a close that does not match the applied fills), that would take a balance
 * beyond 2^256 - 1 (LEDGER_OVERFLOW: the reply names the field), or got malformed input.
 * Nothing was written. An invariant error is a bug or corrupted state: it is logged loudly and
 * the affected market should be halted until someone looks.
 */
export class LedgerError extends BaseError {
  override name = "LedgerError" as const;
  constructor(code: LedgerErrorCode, shortMessage: string, options?: BaseErrorOptions) {
    super(code, shortMessage, options);
  }
}

/** The codes a ledger script answers, first in its error reply; anything else is bad input. */
const REPLY_CODE = /\b(LEDGER_INVARIANT|LEDGER_OVERFLOW|DEPOSIT_CONFLICT|WITHDRAWAL_CONFLICT)\b/;

/** Maps a Lua error reply ("LEDGER_INVARIANT ...", "LEDGER_OVERFLOW ...", "BAD_INPUT ...") to a LedgerError. */
export function ledgerErrorFromReply(error: Error, details: Record<string, unknown> = {}): LedgerError {
  const message = error.message;
  const code = (REPLY_CODE.exec(message)?.[1] as LedgerErrorCode | undefined) ?? "LEDGER_BAD_INPUT";
  return new LedgerError(code, message.replace(/^ERR\s+/, ""), { details, cause: error });
}
