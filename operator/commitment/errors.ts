import { BaseError, type BaseErrorOptions } from "../errors";

/**
 * Codes: INVALID_LEAF (a field out of its Solidity type's range or malformed),
 * EMPTY_EPOCH (no leaves: nothing can be committed), LEAF_INDEX_OUT_OF_RANGE,
 * INVALID_EPOCH_DATA (an epoch data file that does not parse or is inconsistent).
 */
export type CommitmentErrorCode = "INVALID_LEAF" | "EMPTY_EPOCH" | "LEAF_INDEX_OUT_OF_RANGE" | "INVALID_EPOCH_DATA";

export class CommitmentError extends BaseError {
  override name = "CommitmentError" as const;
  declare readonly code: CommitmentErrorCode;

  constructor(code: CommitmentErrorCode, shortMessage: string, options: BaseErrorOptions = {}) {
    super(code, shortMessage, options);
  }
}
