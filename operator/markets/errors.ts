import { BaseError, type BaseErrorOptions } from "../errors";

export type MarketConfigErrorCode =
  | "MARKET_CONFIG_INVALID"
  | "MARKET_INEXACT"
  | "MARKET_OUT_OF_RANGE"
  | "MARKET_DUPLICATE"
  | "MARKET_CONFIG_CHANGED"
  | "MARKET_UNKNOWN";

/** A market configuration the operator refuses to run with. */
export class MarketConfigError extends BaseError {
  override name = "MarketConfigError" as const;
  constructor(code: MarketConfigErrorCode, shortMessage: string, options?: BaseErrorOptions) {
    super(code, shortMessage, options);
  }
}
