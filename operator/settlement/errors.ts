import { BaseError, type BaseErrorOptions } from "../errors";

/**
 * SETTLEMENT_CORRUPT: a settler record in Redis does not parse (./records.ts, ./intents.ts).
 * SETTLEMENT_STOPPED: the settler is stopping; nothing new is built or sent.
 */
export type SettlementErrorCode = "SETTLEMENT_CORRUPT" | "SETTLEMENT_STOPPED";

export class SettlementError extends BaseError {
  override name = "SettlementError" as const;
  constructor(code: SettlementErrorCode, shortMessage: string, options?: BaseErrorOptions) {
    super(code, shortMessage, options);
  }
}
