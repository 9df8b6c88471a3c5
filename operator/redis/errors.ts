import { BaseError, type BaseErrorOptions } from "../errors";

export type RedisErrorCode = "REDIS_NOT_READY" | "REDIS_SCRIPT_MISMATCH" | "REDIS_CROSS_SLOT";

/**
 * Redis could not be used: not ready in time (REDIS_NOT_READY), a script cache that answers
 * another SHA than the script's (REDIS_SCRIPT_MISMATCH), or a script call whose keys span
 * several cluster slots (REDIS_CROSS_SLOT, a bug caught in tests).
 */
export class RedisError extends BaseError {
  override name = "RedisError" as const;
  constructor(code: RedisErrorCode, shortMessage: string, options?: BaseErrorOptions) {
    super(code, shortMessage, options);
  }
}
