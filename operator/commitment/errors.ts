import { BaseError, type BaseErrorOptions } from "../errors";

/**
 * Codes: INVALID_LEAF (a field out of its Solidity type's range or malformed),
 * EMPTY_EPOCH (no leaves: nothing can be committed), LEAF_INDEX_OUT_OF_RANGE,
 * INVALID_EPOCH_DATA (an epoch data file that does not parse or is inconsistent).
 * Order receipts (./receipt): INVALID_RECEIPT (a field or receipt file that does not
 * validate), RECEIPT_SIGNATURE_LENGTH (not 65 bytes of hex), RECEIPT_SIGNATURE_HIGH_S
 * (malleable), RECEIPT_SIGNATURE_INVALID (bad v, or recovers no key), RECEIPT_SIGNER_MISMATCH
 * (signed by someone else than the receipt's operator), INVALID_SIGNING_KEY.
 * The epoch log (./epochLog): EPOCH_LOG_NOT_STARTED, EPOCH_MARKET_UNKNOWN (an epoch holds a
 * market no longer configured), EPOCH_GAP / EPOCH_ROOT_MISMATCH (the chain disagrees with the
 * log: it stops), EPOCH_RECORD_CORRUPT.
 */
export type CommitmentErrorCode =
  | "INVALID_LEAF"
  | "EMPTY_EPOCH"
  | "LEAF_INDEX_OUT_OF_RANGE"
  | "INVALID_EPOCH_DATA"
  | "INVALID_RECEIPT"
  | "RECEIPT_SIGNATURE_LENGTH"
  | "RECEIPT_SIGNATURE_HIGH_S"
  | "RECEIPT_SIGNATURE_INVALID"
  | "RECEIPT_SIGNER_MISMATCH"
  | "INVALID_SIGNING_KEY"
  // The epoch log (./epochLog.ts)
  | "EPOCH_LOG_NOT_STARTED"
  | "EPOCH_MARKET_UNKNOWN"
  | "EPOCH_GAP"
  | "EPOCH_ROOT_MISMATCH"
  | "EPOCH_RECORD_CORRUPT";

export class CommitmentError extends BaseError {
  override name = "CommitmentError" as const;
  declare readonly code: CommitmentErrorCode;

  constructor(code: CommitmentErrorCode, shortMessage: string, options: BaseErrorOptions = {}) {
    super(code, shortMessage, options);
  }
}
