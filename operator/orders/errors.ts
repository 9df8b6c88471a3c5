import { BaseError, type BaseErrorOptions } from "../errors";

/**
 * Every reason an incoming order can be refused, with the HTTP status the API should answer.
 * Codes are stable: clients switch on them. The statuses follow one rule:
 *
 *   400  the request is not a well-formed signed order (the client built it wrong)
 *   422  a well-formed order this exchange or the chain will not accept
 *   401  the signature does not prove that the trader signed this order
 *   503  we could not decide right now (an RPC or the verifier is unavailable): retry later
 */
export const ORDER_ERROR_HTTP_STATUS = {
  // ---- codec: shape of the wire format (400)
  /** The body is not JSON. */
  BODY_NOT_JSON: 400,
  /** A required field is absent. */
  FIELD_MISSING: 400,
  /** A field that is not part of the wire format (typos must not be silently ignored). */
  FIELD_UNKNOWN: 400,
  /** Wrong JSON type: an object expected, a boolean expected, a JSON number for a decimal-string field... */
  INVALID_FIELD: 400,
  /** Not 0x + 40 hex digits, or mixed case with a wrong EIP-55 checksum. */
  ADDRESS_INVALID: 400,
  /** Not a canonical decimal string: leading zeros, a sign, spaces, an exponent, empty. */
  DECIMAL_NON_CANONICAL: 400,
  /** Beyond the field's Solidity type (uint256, uint64, uint16, uint8). */
  VALUE_OUT_OF_RANGE: 400,
  /** Not 0x-prefixed hex of whole bytes, empty, too long; or (EOA) not 64/65 bytes, or v not 27/28. */
  SIGNATURE_MALFORMED: 400,

  // ---- order semantics: what the contract or the market would refuse (422)
  /** The zero address as trader: the contract never accepts a signature for it. */
  TRADER_ZERO: 422,
  PRICE_ZERO: 422,
  AMOUNT_ZERO: 422,
  /** price or amount above 2^128 - 1: the contract skips such an order (SkipReason.OrderOutOfRange). */
  ORDER_OUT_OF_RANGE: 422,
  /** flags has bits other than PostOnly | IOC. */
  FLAGS_UNKNOWN: 422,
  /** PostOnly and IOC together: such an order can be neither maker nor taker. */
  FLAGS_CONFLICT: 422,
  /** expiry is now or in the past. */
  ORDER_EXPIRED: 422,
  /** expiry is beyond now + the configured horizon. */
  EXPIRY_TOO_FAR: 422,
  /** The supplied domain names another chain. */
  DOMAIN_CHAIN_MISMATCH: 422,
  /** The supplied domain names another Settlement contract. */
  DOMAIN_CONTRACT_MISMATCH: 422,
  /** The pair (or the operator) trades on several chains and the request gives no domain to say which. */
  DOMAIN_REQUIRED: 422,
  /** No market for (baseToken, quoteToken). */
  MARKET_UNKNOWN: 422,
  /** price is not a multiple of the market's tickSize. */
  PRICE_OFF_TICK: 422,
  /** amount is not a multiple of the market's lotSize. */
  AMOUNT_OFF_LOT: 422,
  /** amount below minLots x lotSize. */
  AMOUNT_BELOW_MIN: 422,
  /** price above the market's highest price (maxPriceTicks x tickSize). */
  PRICE_ABOVE_MAX: 422,
  /** amount above the market's largest order (maxLots x lotSize). */
  AMOUNT_ABOVE_MAX: 422,
  /** The order's fee cap is below the market's fee for a role the order can take. */
  FEE_CAP_TOO_LOW: 422,

  // ---- signature (401)
  /** s above secp256k1n/2 (malleable); the contract rejects it. */
  SIGNATURE_HIGH_S: 401,
  /** No public key recovers from the signature. */
  SIGNATURE_INVALID: 401,
  /** The signature recovers to another address, and the trader has no code (not a smart wallet). */
  SIGNER_MISMATCH: 401,
  /** The trader's wallet reverted (or ran out of its gas) in isValidSignature. */
  ERC1271_REVERTED: 401,
  /** The trader's wallet returned less than one ABI word. */
  ERC1271_NO_DATA: 401,
  /** The trader's wallet returned a word other than the EIP-1271 magic value. */
  ERC1271_BAD_MAGIC: 401,

  // ---- transient (503)
  /** The EIP-1271 check did not answer within the configured timeout. */
  ERC1271_TIMEOUT: 503,
  /** The RPC failed while checking the trader's code or wallet. */
  ERC1271_UNAVAILABLE: 503,
} as const;

export type OrderErrorCode = keyof typeof ORDER_ERROR_HTTP_STATUS;

/** An order refused at intake (decoding, validation or signature). */
export class OrderValidationError extends BaseError {
  override name = "OrderValidationError" as const;
  declare readonly code: OrderErrorCode;

  constructor(code: OrderErrorCode, shortMessage: string, options: BaseErrorOptions = {}) {
    super(code, shortMessage, options);
  }

  /** The HTTP status the API should answer with. */
  get httpStatus(): number {
    return ORDER_ERROR_HTTP_STATUS[this.code];
  }
}

export const VERIFIER_ERROR_HTTP_STATUS = {
  /** A worker died while verifying; the batch it held was not verified (retry it). */
  VERIFIER_WORKER_CRASHED: 503,
  /** The pool is closing or closed. */
  VERIFIER_CLOSED: 503,
  /** More orders are queued than the pool accepts: shed load. */
  VERIFIER_OVERLOADED: 503,
  /** A worker could not start (bad build, missing native module). */
  VERIFIER_START_FAILED: 503,
} as const;

export type VerifierErrorCode = keyof typeof VERIFIER_ERROR_HTTP_STATUS;

/** The verifier pool itself failed (not a verdict on an order): a whole verify() call rejects with it. */
export class VerifierError extends BaseError {
  override name = "VerifierError" as const;
  declare readonly code: VerifierErrorCode;

  constructor(code: VerifierErrorCode, shortMessage: string, options: BaseErrorOptions = {}) {
    super(code, shortMessage, options);
  }

  get httpStatus(): number {
    return VERIFIER_ERROR_HTTP_STATUS[this.code];
  }
}

/** Whether `code` is one of the order error codes (e.g. to map a VerifyResult to a status). */
export function isOrderErrorCode(code: string): code is OrderErrorCode {
  return Object.prototype.hasOwnProperty.call(ORDER_ERROR_HTTP_STATUS, code);
}
