import { BaseError, type BaseErrorOptions } from "../errors";

export type EngineErrorCode = "ENGINE_UNAVAILABLE" | "ENGINE_OUTCOME_UNKNOWN" | "ENGINE_STOPPED" | "ENGINE_INVARIANT" | "ENGINE_BAD_REQUEST";

/**
 * The engine could not process a request, and says what that means for the orders in it:
 *
 *   ENGINE_UNAVAILABLE       not applied: nothing of the request reached Redis (the engine
 *                            could not resynchronise before its turn); it may be sent again
 *   ENGINE_OUTCOME_UNKNOWN   Redis failed after the batch's writes were sent: each order may
 *                            or may not have been taken, and one that was is matched when the
 *                            engine resynchronises (its inbox entry makes it live). Query
 *                            getOrder (state "pending" while it waits in its market's inbox)
 *                            before sending anything new for it; resending the same signed
 *                            order is safe (it is recognised), re-signing with another nonce is not
 *   ENGINE_STOPPED           not applied: the engine is stopped
 *   ENGINE_INVARIANT         a bug or corrupted state (outcome unknown, like the above)
 *   ENGINE_BAD_REQUEST       the caller built the request wrong
 */
export class EngineError extends BaseError {
  override name = "EngineError" as const;
  constructor(code: EngineErrorCode, shortMessage: string, options?: BaseErrorOptions) {
    super(code, shortMessage, options);
  }
}
