import { BaseError, type BaseErrorOptions } from "../errors";

export type LedgerErrorCode = "LEDGER_INVARIANT" | "LEDGER_BAD_INPUT" | "DEPOSIT_CONFLICT";

/**
 * The ledger refused an operation that would break one of its invariants (a balance or a lock
 * going negative, a close that does not match the applied fills), or got malformed input.
 * Nothing was written. An invariant error is a bug or corrupted state: it is logged loudly and
 * the affected market should be halted until someone looks.
 */
export class LedgerError extends BaseError {
  override name = "LedgerError" as const;
  constructor(code: LedgerErrorCode, shortMessage: string, options?: BaseErrorOptions) {
    super(code, shortMessage, options);
  }
}

/** Maps a Lua error reply ("LEDGER_INVARIANT ...", "BAD_INPUT ...") to a LedgerError. */
export function ledgerErrorFromReply(error: Error, details: Record<string, unknown> = {}): LedgerError {
  const message = error.message;
  const code: LedgerErrorCode = message.includes("LEDGER_INVARIANT")
    ? "LEDGER_INVARIANT"
    : message.includes("DEPOSIT_CONFLICT")
      ? "DEPOSIT_CONFLICT"
      : "LEDGER_BAD_INPUT";
  return new LedgerError(code, message.replace(/^ERR\s+/, ""), { details, cause: error });
}
