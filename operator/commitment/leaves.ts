/**
 * Leaves of the epoch Merkle tree, mirrored from contracts/libraries/CommitmentLeaves.sol:
 *
 *     leaf = keccak256(keccak256(abi.encode(LEAF_TYPE, ...fields)))
 *
 * A fixed-word encoder (like operator/orders/hash.ts), not a generic ABI walk: every field is
 * static, so each leaf type encodes to a fixed number of 32-byte words. Fixed vectors
 * (test/operator/commitment/vectors.json) pin this file to the contract.
 *
 * Unlike the order encoder, this one validates its input: leaves are also read back from
 * epoch data files an auditor fetched, and a value out of range must fail loudly rather
 * than hash to something the operator never committed.
 */
import { writeAddressWord, writeBytes32Word, writeUintWord } from "../abi/words";
import { keccak256, type Address, type Hex } from "../orders";
import { CommitmentError } from "./errors";

/** Type tags, the first word of every leaf encoding. Stable forever: mirrors CommitmentLeaves.LEAF_*. */
export const LEAF_TYPE_TAG = {
  orderAccepted: 1,
  fill: 2,
} as const;
export type LeafType = keyof typeof LEAF_TYPE_TAG;

/** The operator accepted an order: its arrival sequence number and time. */
export interface OrderAcceptedLeaf {
  type: "orderAccepted";
  epoch: bigint;
  /** The operator's arrival sequence number (uint64). */
  sequence: bigint;
  /** EIP-712 digest of the order (OrderHasher.hash). */
  orderHash: Hex;
  trader: Address;
  /** When the operator received the order, unix milliseconds (uint64). */
  receivedAt: bigint;
}

/** The operator matched a fill and sent it in settlement batch `batchId`. */
export interface FillLeaf {
  type: "fill";
  epoch: bigint;
  fillId: bigint;
  makerHash: Hex;
  takerHash: Hex;
  /** Execution (maker) price, quote atoms per 10^baseDecimals base atoms (uint256). */
  price: bigint;
  /** Base atoms (uint256). */
  amount: bigint;
  batchId: bigint;
}

export type CommitmentLeaf = OrderAcceptedLeaf | FillLeaf;

function invalid(field: string, value: unknown, expected: string): CommitmentError {
  return new CommitmentError("INVALID_LEAF", `leaf field ${field} is not a ${expected}`, {
    details: { field, value: typeof value === "bigint" ? value.toString() : value },
  });
}

function writeUint(buf: Buffer, word: number, field: string, value: bigint, bits: number): void {
  if (!writeUintWord(buf, word, value, bits)) throw invalid(field, value, `uint${bits}`);
}

function writeBytes32(buf: Buffer, word: number, field: string, value: Hex): void {
  if (!writeBytes32Word(buf, word, value)) throw invalid(field, value, "bytes32");
}

function writeAddress(buf: Buffer, word: number, field: string, value: Address): void {
  if (!writeAddressWord(buf, word, value)) throw invalid(field, value, "address");
}

/** abi.encode(LEAF_ORDER_ACCEPTED, epoch, sequence, orderHash, trader, receivedAt): 6 words. */
function encodeOrderAccepted(leaf: OrderAcceptedLeaf): Buffer {
  const buf = Buffer.alloc(6 * 32);
  buf[31] = LEAF_TYPE_TAG.orderAccepted;
  writeUint(buf, 1, "epoch", leaf.epoch, 64);
  writeUint(buf, 2, "sequence", leaf.sequence, 64);
  writeBytes32(buf, 3, "orderHash", leaf.orderHash);
  writeAddress(buf, 4, "trader", leaf.trader);
  writeUint(buf, 5, "receivedAt", leaf.receivedAt, 64);
  return buf;
}

/** abi.encode(LEAF_FILL, epoch, fillId, makerHash, takerHash, price, amount, batchId): 8 words. */
function encodeFill(leaf: FillLeaf): Buffer {
  const buf = Buffer.alloc(8 * 32);
  buf[31] = LEAF_TYPE_TAG.fill;
  writeUint(buf, 1, "epoch", leaf.epoch, 64);
  writeUint(buf, 2, "fillId", leaf.fillId, 64);
  writeBytes32(buf, 3, "makerHash", leaf.makerHash);
  writeBytes32(buf, 4, "takerHash", leaf.takerHash);
  writeUint(buf, 5, "price", leaf.price, 256);
  writeUint(buf, 6, "amount", leaf.amount, 256);
  writeUint(buf, 7, "batchId", leaf.batchId, 64);
  return buf;
}

/** The ABI encoding the contract hashes (before both hashes). Throws CommitmentError INVALID_LEAF. */
export function encodeLeaf(leaf: CommitmentLeaf): Buffer {
  switch (leaf.type) {
    case "orderAccepted":
      return encodeOrderAccepted(leaf);
    case "fill":
      return encodeFill(leaf);
    default:
      throw invalid("type", (leaf as { type: unknown }).type, "known leaf type");
  }
}

/** The double-hashed leaf, as a 32-byte Buffer (what the Merkle tree is built from). */
export function leafDigest(leaf: CommitmentLeaf): Buffer {
  return keccak256(keccak256(encodeLeaf(leaf)));
}

/** The double-hashed leaf as hex: CommitmentLeaves.orderAccepted / .fill. */
export function hashLeaf(leaf: CommitmentLeaf): Hex {
  return `0x${leafDigest(leaf).toString("hex")}`;
}
