/**
 * The Settlement entry points and errors the settler uses, as viem-typed constants (hand-kept
 * like operator/chain/abi.ts; test/operator/settlement/abi.test.ts checks them against the
 * compiled artifact).
 */
import { ORDER_EIP712_TYPES } from "../orders/types";

/** The Order struct: the same fields, in the same order, as its EIP-712 type (operator/orders). */
const orderTuple = { name: "orders", type: "tuple[]", components: ORDER_EIP712_TYPES.Order } as const;

export const settleBatchAbi = [
  {
    type: "function",
    name: "settleBatch",
    stateMutability: "nonpayable",
    inputs: [{ name: "batchId", type: "uint64" }, orderTuple, { name: "signatures", type: "bytes[]" }, { name: "fills", type: "uint256[]" }],
    outputs: [{ name: "settled", type: "uint256" }],
  },
  { type: "function", name: "nextBatchId", stateMutability: "view", inputs: [], outputs: [{ name: "", type: "uint64" }] },
  { type: "function", name: "pausedUntil", stateMutability: "view", inputs: [], outputs: [{ name: "", type: "uint64" }] },
  { type: "error", name: "SettlementBatchOutOfOrder", inputs: [{ name: "expected", type: "uint64" }, { name: "got", type: "uint64" }] },
  { type: "error", name: "SettlementOrdersNotSorted", inputs: [{ name: "index", type: "uint256" }] },
  { type: "error", name: "SettlementLengthMismatch", inputs: [{ name: "orders", type: "uint256" }, { name: "signatures", type: "uint256" }] },
  { type: "error", name: "SettlementPaused", inputs: [{ name: "until", type: "uint64" }] },
] as const;

/** SkipReason codes of FillSkipped (ISettlement.sol), by number. Stable: the contract promises it. */
export const SKIP_REASONS = [
  "None",
  "FillMalformed",
  "BadSignature",
  "OrderCancelled",
  "NonceBelowMinimum",
  "OrderExpired",
  "Overfilled",
  "MakerUnfunded",
  "TakerUnfunded",
  "MakerFeeAboveCap",
  "TakerFeeAboveCap",
  "PricesDoNotCross",
  "MarketMismatch",
  "InexactAmount",
  "TokenNotListed",
  "FlagViolation",
  "OrderOutOfRange",
  "SignatureBudgetExhausted",
  "NonceInUse",
] as const;

export type SkipReasonName = (typeof SKIP_REASONS)[number];

/** The reason a fill is not retried after: the contract says it may succeed in a later batch. */
export const RETRYABLE_SKIP = 17;

export function skipReasonName(code: number): string {
  return SKIP_REASONS[code] ?? `Unknown${code}`;
}
