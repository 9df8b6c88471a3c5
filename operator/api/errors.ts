/**
 * Every error the API answers is `{ error: { code, message, details } }` with a stable code and
 * the status of one table. The statuses follow one rule (that of ../orders/errors.ts):
 *
 *   400  the request is malformed (the client built it wrong)
 *   401  the signature does not prove the trader signed it
 *   403  the signer may not do this (cancel another trader's order)
 *   404  the resource in the path does not exist
 *   409  it conflicts with what already happened (duplicate order, replayed cancel, closed order)
 *   413  the body is larger than the configured maximum
 *   422  well-formed, but this exchange will not accept it (market rules, funds, post-only)
 *   429  the trader's rate limit (RATE_LIMITED), or the client address's (RATE_LIMITED_IP), is
 *        exhausted (Retry-After says when to come back)
 *   503  we cannot decide now (market halted, Redis, verifier or RPC unavailable): retry later
 *
 * MARKET_UNKNOWN of an order or a cancel is 422 (the request names a pair this exchange does
 * not list; /v1/orders exists). 404 MARKET_NOT_FOUND is for a market in the path
 * (/v1/book/:market) or a WebSocket channel. The market rules' codes are the same wherever an
 * order is refused (operator/markets checkOrderForMarket): their statuses are the orders'.
 */
import { BaseError, jsonSafe, type BaseErrorOptions } from "../errors";
import { CANCEL_ERROR_HTTP_STATUS, ORDER_ERROR_HTTP_STATUS, VERIFIER_ERROR_HTTP_STATUS } from "../orders";

/** Codes the API itself produces. */
export const API_ERROR_HTTP_STATUS = {
  /** The body is larger than HYPERINDEX_MAX_BODY_BYTES. */
  PAYLOAD_TOO_LARGE: 413,
  /** A batch with more orders than HYPERINDEX_MAX_ORDERS_PER_REQUEST. */
  TOO_MANY_ORDERS: 400,
  /** A path parameter is not an order hash (0x + 64 hex digits). */
  INVALID_ORDER_HASH: 400,
  /** A query parameter is out of its range (e.g. depth). */
  INVALID_QUERY: 400,
  /** The request could not be read (bad Content-Length, aborted body, ...). */
  BAD_REQUEST: 400,
  ROUTE_NOT_FOUND: 404,
  MARKET_NOT_FOUND: 404,
  /** /v1/proofs and /v1/epochs: a fill id or epoch number that does not parse, or a chain not served. */
  INVALID_FILL_ID: 400,
  INVALID_EPOCH: 400,
  CHAIN_UNKNOWN: 404,
  /** No such fill (its market has not matched it, or the market is unknown). */
  FILL_NOT_FOUND: 404,
  /** An epoch not sealed yet (no file), or beyond the open one. */
  EPOCH_NOT_FOUND: 404,
  /** This process does not run the epoch log (HYPERINDEX_CHAIN_SERVICES=false). */
  EPOCHS_UNAVAILABLE: 503,
  /** GET /v1/ws without a WebSocket upgrade. */
  UPGRADE_REQUIRED: 426,
  /** Too many requests from this client address in the window (HYPERINDEX_HTTP_RATE_LIMIT_PER_IP); Retry-After says when. */
  RATE_LIMITED_IP: 429,
  /** Redis or the verifier pool is down (/health). */
  UNHEALTHY: 503,
  /** The server is shutting down. */
  SERVICE_UNAVAILABLE: 503,
  INTERNAL_ERROR: 500,
} as const;

/**
 * The engine's own rejection codes (operator/matching/index.ts) and error codes. Its market
 * checks answer the orders' codes (../orders/errors.ts: PRICE_OFF_TICK, AMOUNT_ABOVE_MAX, ...),
 * the same the API refuses with before the engine; MARKET_MISMATCH (an order handed to the
 * engine with another market's tokens) cannot come from the API, and is mapped so that a
 * refusal is never a 500.
 */
export const ENGINE_CODE_HTTP_STATUS = {
  INVALID_ORDER: 400,
  MARKET_MISMATCH: 422,
  INSUFFICIENT_FUNDS: 422,
  DUPLICATE_ORDER: 409,
  NONCE_BELOW_MINIMUM: 422,
  /** The trader cancelled the nonce on chain (NonceCancelled): no order may use it. */
  NONCE_CANCELLED: 422,
  /** 422, not 429: waiting does not help; the trader must cancel (or fill) open orders first. */
  TOO_MANY_OPEN_ORDERS: 422,
  POST_ONLY_WOULD_CROSS: 422,
  RATE_LIMITED: 429,
  MARKET_HALTED: 503,
  // cancels
  NOT_ORDER_OWNER: 403,
  ORDER_NOT_FOUND: 404,
  ORDER_NOT_OPEN: 409,
  // EngineError
  ENGINE_UNAVAILABLE: 503,
  /**
   * A cancel whose outcome is unknown (Redis failed while it ran): send the same signed cancel
   * again (it is idempotent). An order's unknown outcome is not an error: 202, see ./intake.ts.
   */
  ENGINE_OUTCOME_UNKNOWN: 503,
  ENGINE_STOPPED: 503,
  ENGINE_INVARIANT: 500,
  ENGINE_BAD_REQUEST: 500,
} as const;

export type ApiErrorCode = keyof typeof API_ERROR_HTTP_STATUS;

const TABLES: readonly Readonly<Record<string, number>>[] = [
  API_ERROR_HTTP_STATUS,
  ORDER_ERROR_HTTP_STATUS,
  CANCEL_ERROR_HTTP_STATUS,
  VERIFIER_ERROR_HTTP_STATUS,
  ENGINE_CODE_HTTP_STATUS,
];

/** The status of a known code, or `fallback` (a code from a newer engine, say). */
export function statusOfCode(code: string, fallback: number): number {
  for (const table of TABLES) if (Object.prototype.hasOwnProperty.call(table, code)) return table[code];
  return fallback;
}

export class ApiError extends BaseError {
  override name = "ApiError" as const;
  declare readonly code: ApiErrorCode;

  constructor(code: ApiErrorCode, shortMessage: string, options: BaseErrorOptions = {}) {
    super(code, shortMessage, options);
  }

  get httpStatus(): number {
    return API_ERROR_HTTP_STATUS[this.code];
  }
}

export interface ErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
}

export function errorBody(code: string, message: string, details: Record<string, unknown> = {}): ErrorBody {
  return { error: { code, message, details: jsonSafe(details) as Record<string, unknown> } };
}

export interface ErrorResponse {
  status: number;
  body: ErrorBody;
  /** Set on 429: seconds until the rate bucket has a token again. */
  retryAfterSeconds?: number;
}

/** The response for a refusal with a code (an engine rejection, a verifier verdict...). */
export function refusal(code: string, message: string, details: Record<string, unknown> = {}, fallback = 422): ErrorResponse {
  const status = statusOfCode(code, fallback);
  const response: ErrorResponse = { status, body: errorBody(code, message, details) };
  if (status === 429 && typeof details.retryAfterMs === "number") response.retryAfterSeconds = Math.max(1, Math.ceil(details.retryAfterMs / 1000));
  return response;
}

/** Fastify's own errors, by their code. */
const FASTIFY_ERRORS: Record<string, { code: ApiErrorCode; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: "PAYLOAD_TOO_LARGE", message: "the body is larger than the configured maximum" },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: "BAD_REQUEST", message: "Content-Length does not match the body" },
};

/**
 * Any thrown error to a response. BaseErrors with a known code keep it; fastify's client errors
 * become BAD_REQUEST (or PAYLOAD_TOO_LARGE); anything else is a 500 INTERNAL_ERROR whose message
 * says nothing about the internals (they are logged instead).
 */
export function toErrorResponse(error: unknown, bodyLimit?: number): ErrorResponse {
  if (error instanceof BaseError) {
    const status = statusOfCode(error.code, 500);
    if (status === 500) return { status, body: errorBody("INTERNAL_ERROR", "internal error") };
    return { status, body: errorBody(error.code, error.message, error.details) };
  }
  const e = error as { code?: unknown; statusCode?: unknown; message?: unknown };
  const known = typeof e?.code === "string" ? FASTIFY_ERRORS[e.code] : undefined;
  if (known !== undefined) {
    const details = known.code === "PAYLOAD_TOO_LARGE" && bodyLimit !== undefined ? { maxBytes: bodyLimit } : {};
    return { status: API_ERROR_HTTP_STATUS[known.code], body: errorBody(known.code, known.message, details) };
  }
  if (typeof e?.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) {
    return { status: e.statusCode, body: errorBody("BAD_REQUEST", typeof e.message === "string" ? e.message : "bad request") };
  }
  return { status: 500, body: errorBody("INTERNAL_ERROR", "internal error") };
}
