import { BaseError, type BaseErrorOptions } from "../errors";

export type EngineErrorCode = "ENGINE_UNAVAILABLE" | "ENGINE_STOPPED" | "ENGINE_INVARIANT" | "ENGINE_BAD_REQUEST";

/**
 * The engine could not process a request. ENGINE_UNAVAILABLE: Redis failed mid-batch; the
 * outcome of the batch's orders is unknown to the caller (they may have been accepted: the
 * engine resynchronises from Redis before its next batch) — query getOrder before resubmitting.
 */
export class EngineError extends BaseError {
  override name = "EngineError" as const;
  constructor(code: EngineErrorCode, shortMessage: string, options?: BaseErrorOptions) {
    super(code, shortMessage, options);
  }
}
