/**
 * What the exchange accepts, beyond the wire shape (./codec): sizes the contract can settle,
 * flags it understands, an expiry inside the horizon, the domain we verify against, and the
 * market's tick, lot, minimum size and fees. The signature is checked later, by the verifier
 * pool: these checks are cheap and run first, so garbage never reaches the workers.
 *
 * Market rules come from a lookup function, so this file does not depend on how markets are
 * stored (operator/markets, operator/config).
 */
import { decodeSignedOrder, type SignedOrder } from "./codec";
import { OrderValidationError } from "./errors";
import { KNOWN_ORDER_FLAGS, OrderFlags, UINT128_MAX, type Order, type OrderDomain } from "./types";

/** Wall clock in milliseconds since the epoch (Date.now by default in the daemon). */
export interface Clock {
  now(): number;
}

/** What validation needs to know about the market an order trades in. Sizes are all > 0. */
export interface MarketRules {
  /** Price increment, in quote atoms per 10^baseDecimals base atoms. */
  tickSize: bigint;
  /** Size increment, in base atoms. */
  lotSize: bigint;
  /** Smallest order, in lots. */
  minLots: bigint;
  /** Fee the market charges a maker, if known: an order whose cap is lower can never rest. */
  makerFeeBps?: number;
  /** Fee the market charges a taker, if known: an order whose cap is lower can never take. */
  takerFeeBps?: number;
  /** Highest price the market's book accepts, if bounded. */
  maxPrice?: bigint;
  /** Largest order the market's book accepts, if bounded. */
  maxAmount?: bigint;
}

/** The market of (order.baseToken, order.quoteToken), or undefined if none is listed. */
export type MarketLookup = (order: Order) => MarketRules | undefined;

export interface ValidateDeps {
  clock: Clock;
  markets: MarketLookup;
}

export interface IntakeRules {
  /** The domain orders are verified against: this chain's Settlement. */
  domain: OrderDomain;
  /** Latest accepted expiry, in seconds from now. */
  maxExpirySeconds: bigint;
}

/** Throws the first OrderValidationError that applies to `signed`; returns it unchanged otherwise. */
export function validateSignedOrder(
  deps: ValidateDeps,
  params: { signed: SignedOrder; rules: IntakeRules },
): SignedOrder {
  const { signed, rules } = params;
  if (signed.domain !== undefined) checkDomain(signed.domain, rules.domain);
  validateOrder(deps, { order: signed.order, rules });
  return signed;
}

/** decodeSignedOrder then validateSignedOrder: a parsed JSON body in, an acceptable order out. */
export function intakeSignedOrder(deps: ValidateDeps, params: { body: unknown; rules: IntakeRules }): SignedOrder {
  return validateSignedOrder(deps, { signed: decodeSignedOrder(params.body), rules: params.rules });
}

export function validateOrder(deps: ValidateDeps, params: { order: Order; rules: IntakeRules }): void {
  const { order, rules } = params;
  if (/^0x0{40}$/.test(order.trader)) fail("TRADER_ZERO", "trader is the zero address", "order.trader");
  checkRange(order);
  checkFlags(order.flags);
  checkExpiry(order.expiry, BigInt(Math.floor(deps.clock.now() / 1000)), rules.maxExpirySeconds);
  checkMarket(order, deps.markets(order));
}

function checkDomain(supplied: OrderDomain, ours: OrderDomain): void {
  if (supplied.chainId !== ours.chainId) {
    fail(
      "DOMAIN_CHAIN_MISMATCH",
      `the order was signed for chain ${supplied.chainId}; this operator settles on chain ${ours.chainId}`,
      "domain.chainId",
      { expected: ours.chainId, got: supplied.chainId },
    );
  }
  if (supplied.verifyingContract.toLowerCase() !== ours.verifyingContract.toLowerCase()) {
    fail(
      "DOMAIN_CONTRACT_MISMATCH",
      `the order was signed for contract ${supplied.verifyingContract}; this operator settles through ${ours.verifyingContract}`,
      "domain.verifyingContract",
      { expected: ours.verifyingContract.toLowerCase(), got: supplied.verifyingContract.toLowerCase() },
    );
  }
}

/** The contract settles only 0 < price, amount <= 2^128 - 1 (SkipReason.OrderOutOfRange). */
function checkRange(order: Order): void {
  if (order.price === 0n) fail("PRICE_ZERO", "price must be above zero", "order.price");
  if (order.amount === 0n) fail("AMOUNT_ZERO", "amount must be above zero", "order.amount");
  if (order.price > UINT128_MAX) fail("ORDER_OUT_OF_RANGE", "price must be at most 2^128 - 1", "order.price");
  if (order.amount > UINT128_MAX) fail("ORDER_OUT_OF_RANGE", "amount must be at most 2^128 - 1", "order.amount");
}

function checkFlags(flags: number): void {
  if ((flags & ~KNOWN_ORDER_FLAGS) !== 0) {
    fail("FLAGS_UNKNOWN", `flags has unknown bits: ${flags} (known: PostOnly=1, IOC=2)`, "order.flags");
  }
  if ((flags & OrderFlags.PostOnly) !== 0 && (flags & OrderFlags.IOC) !== 0) {
    fail("FLAGS_CONFLICT", "an order cannot be both PostOnly and IOC: it could never trade", "order.flags");
  }
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

function checkMarket(order: Order, market: MarketRules | undefined): void {
  if (market === undefined) {
    fail("MARKET_UNKNOWN", `no market trades ${order.baseToken} against ${order.quoteToken}`, "order.baseToken", {
      baseToken: order.baseToken,
      quoteToken: order.quoteToken,
    });
  }
  if (order.price % market.tickSize !== 0n) {
    fail("PRICE_OFF_TICK", `price ${order.price} is not a multiple of the tick size ${market.tickSize}`, "order.price", {
      tickSize: market.tickSize,
    });
  }
  if (order.amount % market.lotSize !== 0n) {
    fail("AMOUNT_OFF_LOT", `amount ${order.amount} is not a multiple of the lot size ${market.lotSize}`, "order.amount", {
      lotSize: market.lotSize,
    });
  }
  const minAmount = market.minLots * market.lotSize;
  if (order.amount < minAmount) {
    fail("AMOUNT_BELOW_MIN", `amount ${order.amount} is below the minimum ${minAmount}`, "order.amount", { minAmount });
  }
  if (market.maxPrice !== undefined && order.price > market.maxPrice) {
    fail("PRICE_ABOVE_MAX", `price ${order.price} is above the market's maximum ${market.maxPrice}`, "order.price", {
      maxPrice: market.maxPrice,
    });
  }
  if (market.maxAmount !== undefined && order.amount > market.maxAmount) {
    fail("AMOUNT_ABOVE_MAX", `amount ${order.amount} is above the market's maximum ${market.maxAmount}`, "order.amount", {
      maxAmount: market.maxAmount,
    });
  }
  // An IOC order never rests, so its maker cap never applies; a PostOnly order never takes.
  if (market.makerFeeBps !== undefined && (order.flags & OrderFlags.IOC) === 0 && order.maxMakerFeeBps < market.makerFeeBps) {
    fail("FEE_CAP_TOO_LOW", `maxMakerFeeBps ${order.maxMakerFeeBps} is below the market's maker fee ${market.makerFeeBps}`, "order.maxMakerFeeBps", {
      makerFeeBps: market.makerFeeBps,
    });
  }
  if (market.takerFeeBps !== undefined && (order.flags & OrderFlags.PostOnly) === 0 && order.maxTakerFeeBps < market.takerFeeBps) {
    fail("FEE_CAP_TOO_LOW", `maxTakerFeeBps ${order.maxTakerFeeBps} is below the market's taker fee ${market.takerFeeBps}`, "order.maxTakerFeeBps", {
      takerFeeBps: market.takerFeeBps,
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
