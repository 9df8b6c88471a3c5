/**
 * Order receipts: what the operator signs, with its own key, when it accepts an order. An
 * EIP-712 message in OrderbookCommitment's domain, mirrored from contracts/libraries/OrderReceiptLib.sol:
 *
 *   domain   { name: "HyperIndex OrderbookCommitment", version: "1", chainId, verifyingContract: OrderbookCommitment }
 *   type     OrderReceipt(uint64 epoch,uint64 sequence,bytes32 orderHash)
 *
 * - `epoch`: the epoch whose tree the order's "order accepted" leaf will be committed in.
 * - `sequence`: the order's arrival number, unique on the chain: (marketId << 48) | the market's
 *   count of accepted orders, composed like fill ids (`arrivalSequence`). It is the leaf's
 *   `sequence`.
 * - `orderHash`: the order's EIP-712 digest (OrderHasher.hash).
 *
 * The receipt promises "the leaf at (epoch, sequence) holds orderHash". Once the epoch is
 * committed, anyone holding a receipt and a proof of a committed leaf at that position with
 * another order hash proves the operator's fault on chain (OrderbookCommitment.proveEquivocation).
 *
 * The receipt file (and the API's answer), integers as decimal strings, hex in lower case:
 *
 *   {"format":"hyperindex-receipt","version":1,"chainId":"999","commitment":"0x..","epoch":"7",
 *    "sequence":"844424930131969","orderHash":"0x..","operator":"0x..","signature":"0x.."}
 *
 * `signature` is 65 bytes r ‖ s ‖ v with low s, the only form the contract takes; `operator`
 * is its signer, which parseReceipt checks.
 *
 * Hashing is a fixed-word encoder over native keccak (like ../orders/hash.ts); fixed vectors
 * (test/operator/commitment/vectors.json, "receipts") pin it to the contract and to viem.
 */
import secp256k1 from "secp256k1";
import { writeAddressWord, writeBytes32Word, writeUintWord } from "../abi/words";
import {
  OrderValidationError,
  decodeAddress,
  decodeUintString,
  keccak256,
  orderDigestFromStructHash,
  privateKeyToAddress,
  recoverSigner,
  signDigest,
  UINT256_MAX,
  UINT64_MAX,
  type Address,
  type Hex,
} from "../orders";
import { describe } from "../orders/codec";
import { CommitmentError } from "./errors";

export const RECEIPT_DOMAIN_NAME = "HyperIndex OrderbookCommitment";
export const RECEIPT_DOMAIN_VERSION = "1";
export const RECEIPT_TYPE_STRING = "OrderReceipt(uint64 epoch,uint64 sequence,bytes32 orderHash)";

/** EIP-712 types, in the shape viem's signTypedData / ethers' TypedDataEncoder take. */
export const RECEIPT_EIP712_TYPES = {
  OrderReceipt: [
    { name: "epoch", type: "uint64" },
    { name: "sequence", type: "uint64" },
    { name: "orderHash", type: "bytes32" },
  ],
} as const;

export const RECEIPT_TYPEHASH: Buffer = keccak256(Buffer.from(RECEIPT_TYPE_STRING, "utf8"));
const DOMAIN_TYPEHASH = keccak256(
  Buffer.from("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)", "utf8"),
);
const NAME_HASH = keccak256(Buffer.from(RECEIPT_DOMAIN_NAME, "utf8"));
const VERSION_HASH = keccak256(Buffer.from(RECEIPT_DOMAIN_VERSION, "utf8"));

export const RECEIPT_FORMAT = "hyperindex-receipt";
export const RECEIPT_VERSION = 1;

/** Bits of the per-market counter in a sequence; the market id takes the 16 above. */
const COUNTER_BITS = 48n;
const MAX_MARKET_ID = 0xffff;
/** secp256k1n / 2: the largest s the contract (OpenZeppelin ECDSA) accepts. */
const HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;
const BYTES32_RE = /^0x[0-9a-fA-F]{64}$/;
const SIGNATURE_RE = /^0x[0-9a-fA-F]{130}$/;
const PRIVATE_KEY_RE = /^0x[0-9a-fA-F]{64}$/;
const WIRE_KEYS = ["format", "version", "chainId", "commitment", "epoch", "sequence", "orderHash", "operator", "signature"];

/** The EIP-712 domain of receipts: OrderbookCommitment at `verifyingContract` on `chainId`. */
export interface ReceiptDomain {
  chainId: bigint;
  verifyingContract: Address;
}

export interface OrderReceipt {
  /** The epoch the order's leaf will be committed in (uint64). */
  epoch: bigint;
  /** (marketId << 48) | the market's accepted-order counter (uint64). */
  sequence: bigint;
  orderHash: Hex;
}

/** A receipt with its domain, signer and signature: what the receipt file holds. */
export interface SignedOrderReceipt {
  domain: ReceiptDomain;
  receipt: OrderReceipt;
  operator: Address;
  signature: Hex;
}

/** The receipt file's JSON object. */
export interface WireOrderReceipt {
  format: typeof RECEIPT_FORMAT;
  version: typeof RECEIPT_VERSION;
  chainId: string;
  commitment: Address;
  epoch: string;
  sequence: string;
  orderHash: Hex;
  operator: Address;
  signature: Hex;
}

function invalid(field: string, message: string, cause?: unknown): CommitmentError {
  return new CommitmentError("INVALID_RECEIPT", message, { details: { field }, cause });
}

// ------------------------------------------------------------------ sequence

/** A receipt's (and leaf's) sequence: (marketId << 48) | counter, like fill ids. */
export function arrivalSequence(marketId: number, counter: bigint): bigint {
  if (!Number.isInteger(marketId) || marketId < 0 || marketId > MAX_MARKET_ID) {
    throw invalid("marketId", `market id ${describe(marketId)} does not fit 16 bits`);
  }
  if (typeof counter !== "bigint" || counter < 0n || counter >> COUNTER_BITS !== 0n) {
    throw invalid("counter", `counter ${describe(counter)} does not fit 48 bits`);
  }
  return (BigInt(marketId) << COUNTER_BITS) | counter;
}

/** The market id and counter of a sequence (the inverse of arrivalSequence). */
export function splitArrivalSequence(sequence: bigint): { marketId: number; counter: bigint } {
  if (typeof sequence !== "bigint" || sequence < 0n || sequence > UINT64_MAX) {
    throw invalid("sequence", `sequence ${describe(sequence)} does not fit uint64`);
  }
  return { marketId: Number(sequence >> COUNTER_BITS), counter: sequence & ((1n << COUNTER_BITS) - 1n) };
}

// ------------------------------------------------------------------ hashing

/** The EIP-712 domain separator of receipts (OrderbookCommitment.domainSeparator). */
export function receiptDomainSeparator(domain: ReceiptDomain): Buffer {
  const buf = Buffer.alloc(5 * 32);
  DOMAIN_TYPEHASH.copy(buf, 0);
  NAME_HASH.copy(buf, 32);
  VERSION_HASH.copy(buf, 64);
  if (!writeUintWord(buf, 3, domain.chainId, 256) || domain.chainId === 0n) {
    throw invalid("chainId", `chain id ${describe(domain.chainId)} is not a uint256 above 0`);
  }
  if (!writeAddressWord(buf, 4, domain.verifyingContract)) {
    throw invalid("commitment", `verifying contract ${describe(domain.verifyingContract)} is not an address`);
  }
  return keccak256(buf);
}

/** keccak256(abi.encode(RECEIPT_TYPEHASH, epoch, sequence, orderHash)): OrderReceiptLib.structHash. */
export function receiptStructHash(receipt: OrderReceipt): Buffer {
  const buf = Buffer.alloc(4 * 32);
  RECEIPT_TYPEHASH.copy(buf, 0);
  if (!writeUintWord(buf, 1, receipt.epoch, 64)) throw invalid("epoch", `epoch ${describe(receipt.epoch)} does not fit uint64`);
  if (!writeUintWord(buf, 2, receipt.sequence, 64)) {
    throw invalid("sequence", `sequence ${describe(receipt.sequence)} does not fit uint64`);
  }
  if (!writeBytes32Word(buf, 3, receipt.orderHash)) {
    throw invalid("orderHash", `order hash ${describe(receipt.orderHash)} is not 32 bytes of hex`);
  }
  return keccak256(buf);
}

function digestBytes(domain: ReceiptDomain, receipt: OrderReceipt): Buffer {
  return orderDigestFromStructHash(receiptDomainSeparator(domain), receiptStructHash(receipt));
}

/**
 * The digest the operator signs: keccak256("\x19\x01" ‖ domainSeparator ‖ structHash), what
 * OrderbookCommitment.hashReceipt returns. Throws INVALID_RECEIPT for a field out of range.
 */
export function receiptDigest(domain: ReceiptDomain, receipt: OrderReceipt): Hex {
  return `0x${digestBytes(domain, receipt).toString("hex")}`;
}

/** The typed data to hand a wallet or verifier (viem hashTypedData / verifyTypedData, ethers). */
export function receiptTypedData(domain: ReceiptDomain, receipt: OrderReceipt) {
  return {
    domain: {
      name: RECEIPT_DOMAIN_NAME,
      version: RECEIPT_DOMAIN_VERSION,
      chainId: domain.chainId,
      verifyingContract: domain.verifyingContract,
    },
    types: RECEIPT_EIP712_TYPES,
    primaryType: "OrderReceipt" as const,
    message: { epoch: receipt.epoch, sequence: receipt.sequence, orderHash: receipt.orderHash },
  };
}

// ------------------------------------------------------------------ signatures

function signingKey(privateKey: Buffer | Hex): Buffer {
  // Never echo the key, not even part of it.
  const key = typeof privateKey === "string" && PRIVATE_KEY_RE.test(privateKey) ? Buffer.from(privateKey.slice(2), "hex") : privateKey;
  if (!Buffer.isBuffer(key) || key.length !== 32 || !secp256k1.privateKeyVerify(key)) {
    throw new CommitmentError("INVALID_SIGNING_KEY", "the signing key is not a secp256k1 private key (value not shown: secret)");
  }
  return key;
}

/** Signs a receipt; returns the 65-byte r ‖ s ‖ v signature (low s, v 27 or 28) as hex. */
export function signReceipt(privateKey: Buffer | Hex, domain: ReceiptDomain, receipt: OrderReceipt): Hex {
  return signDigest(signingKey(privateKey), digestBytes(domain, receipt));
}

/** Signs a receipt and names its signer: the receipt file's content (encodeReceipt / serializeReceipt). */
export function issueReceipt(privateKey: Buffer | Hex, domain: ReceiptDomain, receipt: OrderReceipt): SignedOrderReceipt {
  const key = signingKey(privateKey);
  return { domain, receipt, operator: privateKeyToAddress(key), signature: signDigest(key, digestBytes(domain, receipt)) };
}

/**
 * The signer of a receipt, with the contract's rules (OpenZeppelin ECDSA.tryRecover). Throws
 * CommitmentError: RECEIPT_SIGNATURE_LENGTH (not 65 bytes of hex), RECEIPT_SIGNATURE_HIGH_S
 * (s above secp256k1n / 2: malleable), RECEIPT_SIGNATURE_INVALID (v not 27 or 28, or no key
 * recovers), INVALID_RECEIPT (a field out of range). Same order of checks as the contract.
 */
export function recoverReceiptSigner(domain: ReceiptDomain, receipt: OrderReceipt, signature: Hex): Address {
  if (typeof signature !== "string" || !SIGNATURE_RE.test(signature)) {
    throw new CommitmentError("RECEIPT_SIGNATURE_LENGTH", "a receipt signature is 65 bytes of hex (r, s, v)", {
      details: { signature: describe(signature) },
    });
  }
  const s = BigInt(`0x${signature.slice(66, 130)}`);
  if (s > HALF_N) {
    throw new CommitmentError("RECEIPT_SIGNATURE_HIGH_S", "the receipt signature's s is above secp256k1n/2 (malleable)", {
      details: { s: `0x${signature.slice(66, 130)}` },
    });
  }
  const check = recoverSigner(digestBytes(domain, receipt), Buffer.from(signature.slice(2), "hex"));
  if (!check.ok) {
    throw new CommitmentError("RECEIPT_SIGNATURE_INVALID", "the receipt signature recovers no signer", {
      details: { reason: check.reason },
    });
  }
  return check.signer;
}

/** Checks that `signed.operator` signed it; returns it. Throws as recoverReceiptSigner, or RECEIPT_SIGNER_MISMATCH. */
export function verifyReceipt(signed: SignedOrderReceipt): SignedOrderReceipt {
  const signer = recoverReceiptSigner(signed.domain, signed.receipt, signed.signature);
  if (signer !== signed.operator.toLowerCase()) {
    throw new CommitmentError("RECEIPT_SIGNER_MISMATCH", "the receipt was not signed by the operator it names", {
      details: { operator: signed.operator, signer },
    });
  }
  return signed;
}

// ------------------------------------------------------------------ receipt file

function address(value: unknown, field: string, what: string): Address {
  let decoded: Address;
  try {
    decoded = decodeAddress(value, field);
  } catch (cause) {
    if (cause instanceof OrderValidationError) throw invalid(field, cause.message, cause);
    throw cause;
  }
  if (/^0x0{40}$/.test(decoded)) throw invalid(field, `${field} is the zero address: never ${what}`);
  return decoded;
}

function uint(value: unknown, field: string, max: bigint, typeName: string): bigint {
  try {
    return decodeUintString(value, field, max, typeName);
  } catch (cause) {
    if (cause instanceof OrderValidationError) throw invalid(field, cause.message, cause);
    throw cause;
  }
}

function bytes32(value: unknown, field: string): Hex {
  if (typeof value !== "string" || !BYTES32_RE.test(value)) {
    throw invalid(field, `${field} must be 0x followed by 64 hex digits, got ${describe(value)}`);
  }
  return value.toLowerCase() as Hex;
}

function signatureField(value: unknown): Hex {
  if (typeof value !== "string" || !SIGNATURE_RE.test(value)) {
    throw invalid("signature", `signature must be 0x followed by 130 hex digits (65 bytes), got ${describe(value)}`);
  }
  return value.toLowerCase() as Hex;
}

/**
 * The receipt file's JSON object. Validates every field (INVALID_RECEIPT) but does not recover
 * the signature: the operator encodes what it just signed.
 */
export function encodeReceipt(signed: SignedOrderReceipt): WireOrderReceipt {
  const { domain, receipt } = signed;
  receiptDomainSeparator(domain);
  receiptStructHash(receipt);
  const signature = signatureField(signed.signature);
  return {
    format: RECEIPT_FORMAT,
    version: RECEIPT_VERSION,
    chainId: domain.chainId.toString(10),
    commitment: address(domain.verifyingContract, "commitment", "a contract"),
    epoch: receipt.epoch.toString(10),
    sequence: receipt.sequence.toString(10),
    orderHash: receipt.orderHash.toLowerCase() as Hex,
    operator: address(signed.operator, "operator", "a signer"),
    signature,
  };
}

/** The receipt file's text: one JSON object, keys in the documented order, and a newline. */
export function serializeReceipt(signed: SignedOrderReceipt): string {
  return `${JSON.stringify(encodeReceipt(signed))}\n`;
}

/**
 * A receipt from its JSON object (an API answer, a parsed file): every field validated
 * (INVALID_RECEIPT, with `details.field`), then the signature recovered and compared with
 * `operator` (the codes of verifyReceipt). What it returns is a receipt its operator signed.
 */
export function decodeReceipt(value: unknown): SignedOrderReceipt {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw invalid("(file)", `a receipt is a JSON object, got ${describe(value)}`);
  }
  const wire = value as Record<string, unknown>;
  if (wire.format !== RECEIPT_FORMAT) throw invalid("format", `not a receipt: format is ${describe(wire.format)}`);
  if (wire.version !== RECEIPT_VERSION) throw invalid("version", `unsupported receipt version ${describe(wire.version)}`);
  for (const key of Object.keys(wire)) {
    if (!WIRE_KEYS.includes(key)) throw invalid(key, `unknown field ${describe(key)}; expected only ${WIRE_KEYS.join(", ")}`);
  }
  for (const key of WIRE_KEYS) if (!Object.hasOwn(wire, key)) throw invalid(key, `missing field ${describe(key)}`);
  const chainId = uint(wire.chainId, "chainId", UINT256_MAX, "uint256");
  if (chainId === 0n) throw invalid("chainId", "chainId is 0: no chain has it");
  return verifyReceipt({
    domain: { chainId, verifyingContract: address(wire.commitment, "commitment", "a contract") },
    receipt: {
      epoch: uint(wire.epoch, "epoch", UINT64_MAX, "uint64"),
      sequence: uint(wire.sequence, "sequence", UINT64_MAX, "uint64"),
      orderHash: bytes32(wire.orderHash, "orderHash"),
    },
    operator: address(wire.operator, "operator", "a signer"),
    signature: signatureField(wire.signature),
  });
}

/** Parses and verifies a receipt file (see decodeReceipt). */
export function parseReceipt(text: string | Buffer): SignedOrderReceipt {
  let value: unknown;
  try {
    value = JSON.parse(typeof text === "string" ? text : text.toString("utf8"));
  } catch (cause) {
    throw invalid("(file)", "the receipt file is not JSON", cause);
  }
  return decodeReceipt(value);
}
