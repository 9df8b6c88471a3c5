/**
 * What the exchange accepts of an order, whatever its market: a trader that can sign, sizes
 * the contract can settle, and an expiry inside the horizon. The signature is checked later,
 * by the verifier pool: these checks are cheap and run first, so garbage never reaches the
 * workers.
 *
 * The market's rules (tokens, flags, tick, lot, minimum and maximum sizes, fee caps, expiry)
 * are checked by operator/markets checkOrderForMarket, the one rule check the engine runs too,
 * once the market (and so the chain and its domain) is known (operator/markets
 * resolveOrderMarket).
 */
import { decodeSignedOrder, type SignedOrder } from "./codec";
import { OrderValidationError } from "./errors";
import { UINT128_MAX, type Order } from "./types";

/** Wall clock in milliseconds since the epoch (Date.now by default in the daemon). */
export interface Clock {
  now(): number;
}

export interface ValidateDeps {
  clock: Clock;
}

export interface IntakeRules {
  /** Latest accepted expiry, in seconds from now. */
  maxExpirySeconds: bigint;
}

/** Throws the first OrderValidationError that applies to `signed`; returns it unchanged otherwise. */
export function validateSignedOrder(deps: ValidateDeps, params: { signed: SignedOrder; rules: IntakeRules }): SignedOrder {
  validateOrder(deps, { order: params.signed.order, rules: params.rules });
  return params.signed;
}

/** decodeSignedOrder then validateSignedOrder: a parsed JSON body in, an order to resolve and check out. */
export function intakeSignedOrder(deps: ValidateDeps, params: { body: unknown; rules: IntakeRules }): SignedOrder {
  return validateSignedOrder(deps, { signed: decodeSignedOrder(params.body), rules: params.rules });
}

export function validateOrder(deps: ValidateDeps, params: { order: Order; rules: IntakeRules }): void {
  const { order, rules } = params;
  if (/^0x0{40}$/.test(order.trader)) fail("TRADER_ZERO", "trader is the zero address", "order.trader");
  checkRange(order);
  checkExpiry(order.expiry, BigInt(Math.floor(deps.clock.now() / 1000)), rules.maxExpirySeconds);
}

/** The contract settles only 0 < price, amount <= 2^128 - 1 (SkipReason.OrderOutOfRange). */
function checkRange(order: Order): void {
  if (order.price === 0n) fail("PRICE_ZERO", "price must be above zero", "order.price");
  if (order.amount === 0n) fail("AMOUNT_ZERO", "amount must be above zero", "order.amount");
  if (order.price > UINT128_MAX) fail("ORDER_OUT_OF_RANGE", "price must be at most 2^128 - 1", "order.price");
  if (order.amount > UINT128_MAX) fail("ORDER_OUT_OF_RANGE", "amount must be at most 2^128 - 1", "order.amount");
}

/**
 * The contract settles while block.timestamp <= expiry. An order expiring this very second
 * cannot be matched and settled in a later block, so "expired" here is expiry <= now.
 */
function checkExpiry(expiry: bigint, nowSeconds: bigint, maxExpirySeconds: bigint): void {
  if (expiry <= nowSeconds) {
    fail("ORDER_EXPIRED", `the order expired at ${expiry} (now ${nowSeconds})`, "order.expiry", { expiry, now: nowSeconds });
  }
  const latest = nowSeconds + maxExpirySeconds;
  if (expiry > latest) {
    fail("EXPIRY_TOO_FAR", `expiry ${expiry} is beyond the ${maxExpirySeconds}-second horizon (latest ${latest})`, "order.expiry", {
      expiry,
      latest,
    });
  }
}

function fail(
  code: ConstructorParameters<typeof OrderValidationError>[0],
  message: string,
  field: string,
  extra: Record<string, unknown> = {},
): never {
  throw new OrderValidationError(code, message, { details: { field, ...extra } });
}
