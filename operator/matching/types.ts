/** Public types of the matching engine (see ./index.ts for the API). */
import type { CloseReason, Fill } from "../journal";
import type { MarketRejectCode } from "../markets/orderCheck";
import type { Address, Hex, Order } from "../orders";

export type { CloseReason, Fill } from "../journal";

export interface PlaceOrderRequest {
  order: Order;
  /** EIP-712 digest of the order (OrderHasher.hash). The caller has verified `signature` over it. */
  orderHash: Hex;
  signature: Hex;
  /** Market id (operator/markets). Its chain is the order's EIP-712 domain and its ledger. */
  market: number;
  /** When the API received the order, unix milliseconds (committed with the order's sequence number). */
  receivedAt: number;
}

export type OrderState = "open" | "filled" | "cancelled";

export type PlaceRejectCode =
  | MarketRejectCode
  | "MARKET_UNKNOWN"
  | "INVALID_ORDER"
  | "INSUFFICIENT_FUNDS"
  | "DUPLICATE_ORDER"
  | "NONCE_BELOW_MINIMUM"
  | "NONCE_CANCELLED"
  | "TOO_MANY_OPEN_ORDERS"
  | "POST_ONLY_WOULD_CROSS"
  | "RATE_LIMITED"
  | "MARKET_HALTED";

export interface PlaceOrderAccepted {
  status: "accepted";
  orderHash: Hex;
  market: number;
  /** Arrival sequence number in the market (1, 2, ...): the order of matching. */
  seq: number;
  /**
   * The commitment epoch the order is committed in (the market's open epoch when it was
   * accepted, ./epochs.ts); with the chain-wide sequence (marketId << 48) | seq, what the
   * operator's receipt signs.
   */
  epoch: number;
  /** Fills in which this order was the taker, in execution order. */
  fills: Fill[];
  filledAmount: bigint;
  /** Base atoms not filled: resting on the book when state is "open", released otherwise. */
  remainingAmount: bigint;
  state: OrderState;
  closeReason?: CloseReason;
}

export interface PlaceOrderRejected {
  status: "rejected";
  orderHash: Hex;
  code: PlaceRejectCode;
  message: string;
  details: Record<string, unknown>;
}

export type PlaceOrderResult = PlaceOrderAccepted | PlaceOrderRejected;

/**
 * A cancel of one account (a trader on one chain): listed orders of the trader on `chainId`
 * (optional when the engine's markets are all on one chain; orders on other chains are not
 * found), or every order of the trader in a market (on the market's chain).
 */
export type CancelRequest =
  | { trader: Address; orderHashes: readonly Hex[]; chainId?: number }
  | { trader: Address; market: number; all: true };

export type CancelRejectCode = "NOT_ORDER_OWNER" | "ORDER_NOT_FOUND" | "ORDER_NOT_OPEN";

export type CancelResult =
  | { orderHash: Hex; status: "cancelled"; market: number; remainingAmount: bigint }
  | { orderHash: Hex; status: "rejected"; code: CancelRejectCode; message: string; details: Record<string, unknown> };

export type CancelOrdersResult =
  | { status: "done"; results: CancelResult[] }
  | { status: "rejected"; code: "RATE_LIMITED" | "MARKET_UNKNOWN"; message: string; details: Record<string, unknown> };

export interface OrderView {
  orderHash: Hex;
  market: number;
  /** The market's chain. */
  chainId: number;
  trader: Address;
  isBuy: boolean;
  price: bigint;
  amount: bigint;
  filledAmount: bigint;
  remainingAmount: bigint;
  /**
   * "matching": transient, a taker whose matching was cut by the fill cap (not on the book).
   * "pending": received, waiting in its market's inbox (a batch in flight, or an order whose
   * placement outcome a Redis failure left unknown until the engine resynchronises); seq 0.
   */
  state: OrderState | "matching" | "pending";
  closeReason?: CloseReason;
  seq: number;
  receivedAt: number;
  expiry: number;
  flags: number;
}

export interface BookLevel {
  price: bigint;
  /** Base atoms resting at this price. */
  amount: bigint;
}

export interface BookSnapshot {
  market: number;
  /** Best (highest) first. */
  bids: BookLevel[];
  /** Best (lowest) first. */
  asks: BookLevel[];
}
