import { BaseError, type BaseErrorOptions } from "../errors";

export type JournalErrorCode = "JOURNAL_CORRUPT" | "JOURNAL_BAD_CONSUMER" | "JOURNAL_UNKNOWN_CONSUMER";

/** A journal entry or consumer cursor that cannot be read, or a consumer name that is not allowed. */
export class JournalError extends BaseError {
  override name = "JournalError" as const;
  constructor(code: JournalErrorCode, shortMessage: string, options?: BaseErrorOptions) {
    super(code, shortMessage, options);
  }
}
