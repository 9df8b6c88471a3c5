/**
 * The JSON wire format of a signed order, and its strict decoder.
 *
 *   { "order": { "trader": "0x…", "baseToken": "0x…", "quoteToken": "0x…", "isBuy": true,
 *                "price": "2000000000", "amount": "1000000000000000000", "nonce": "7",
 *                "expiry": "1767225600", "maxMakerFeeBps": 10, "maxTakerFeeBps": 30, "flags": 0 },
 *     "signature": "0x…",
 *     "domain": { "chainId": "999", "verifyingContract": "0x…" } }      (domain optional)
 *
 * uint256 and uint64 fields are canonical decimal strings: a JSON number silently loses
 * precision above 2^53, so one is refused rather than guessed at. The small fields
 * (uint16 fee caps, uint8 flags) are JSON integers. Nothing unknown is ignored: a typo in a
 * field name is an error, not an order signed with a default.
 *
 * The decoder checks the shape and the Solidity type ranges only, so that its Order can be
 * hashed; what the exchange accepts (non-zero sizes, expiry, domain, market rules) is
 * ./validate. Every failure is an OrderValidationError with a stable code and the field path.
 */
import { keccak256 } from "./hash";
import { OrderValidationError, type OrderErrorCode } from "./errors";
import {
  UINT16_MAX,
  UINT256_MAX,
  UINT64_MAX,
  UINT8_MAX,
  type Address,
  type Hex,
  type Order,
  type OrderDomain,
} from "./types";

/** A decoded signed order. Addresses and the signature are lower-case hex. */
export interface SignedOrder {
  order: Order;
  signature: Hex;
  /** The domain the client says it signed for; checked against ours in ./validate. */
  domain?: OrderDomain;
}

export interface WireOrder {
  trader: string;
  baseToken: string;
  quoteToken: string;
  isBuy: boolean;
  price: string;
  amount: string;
  nonce: string;
  expiry: string;
  maxMakerFeeBps: number;
  maxTakerFeeBps: number;
  flags: number;
}

export interface WireDomain {
  chainId: string;
  verifyingContract: string;
}

export interface WireSignedOrder {
  order: WireOrder;
  signature: string;
  domain?: WireDomain;
}

/**
 * Longest signature accepted, in bytes. An EOA signs 64 or 65 bytes; a smart wallet's
 * EIP-1271 signature may be longer (a multisig concatenates its owners' signatures), and the
 * contract passes any length through. 2 KiB is ~30 ECDSA signatures.
 */
export const MAX_SIGNATURE_BYTES = 2048;

const SIGNED_ORDER_KEYS = ["order", "signature", "domain"] as const;
const REQUIRED_SIGNED_ORDER_KEYS = ["order", "signature"] as const;
const ORDER_KEYS = [
  "trader",
  "baseToken",
  "quoteToken",
  "isBuy",
  "price",
  "amount",
  "nonce",
  "expiry",
  "maxMakerFeeBps",
  "maxTakerFeeBps",
  "flags",
] as const;
const DOMAIN_KEYS = ["chainId", "verifyingContract"] as const;

/** 2^256 - 1 has 78 decimal digits: anything longer is out of range without parsing it. */
const UINT256_MAX_DIGITS = 78;
const CANONICAL_DECIMAL_RE = /^(?:0|[1-9][0-9]*)$/;
const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;
const HEX_BYTES_RE = /^0x(?:[0-9a-fA-F]{2})+$/;

// ------------------------------------------------------------------ decoding

/** Parses a request body (text or bytes) as JSON, then decodes it. */
export function parseSignedOrderJson(body: string | Buffer): SignedOrder {
  let value: unknown;
  try {
    value = JSON.parse(typeof body === "string" ? body : body.toString("utf8"));
  } catch (error) {
    throw new OrderValidationError("BODY_NOT_JSON", "the body is not valid JSON", { cause: error });
  }
  return decodeSignedOrder(value);
}

/** Decodes an already-parsed JSON value (e.g. a framework's parsed body) into a SignedOrder. */
export function decodeSignedOrder(value: unknown): SignedOrder {
  const obj = expectObject(value, "");
  checkKeys(obj, SIGNED_ORDER_KEYS, REQUIRED_SIGNED_ORDER_KEYS, "");
  const signed: SignedOrder = {
    order: decodeOrder(obj.order, "order"),
    signature: decodeSignature(obj.signature, "signature"),
  };
  if (obj.domain !== undefined) signed.domain = decodeDomain(obj.domain, "domain");
  return signed;
}

/** Decodes the `order` object of the wire format; `path` prefixes field names in errors. */
export function decodeOrder(value: unknown, path = "order"): Order {
  const obj = expectObject(value, path);
  checkKeys(obj, ORDER_KEYS, ORDER_KEYS, path);
  return {
    trader: decodeAddress(obj.trader, join(path, "trader")),
    baseToken: decodeAddress(obj.baseToken, join(path, "baseToken")),
    quoteToken: decodeAddress(obj.quoteToken, join(path, "quoteToken")),
    isBuy: decodeBoolean(obj.isBuy, join(path, "isBuy")),
    price: decodeUintString(obj.price, join(path, "price"), UINT256_MAX, "uint256"),
    amount: decodeUintString(obj.amount, join(path, "amount"), UINT256_MAX, "uint256"),
    nonce: decodeUintString(obj.nonce, join(path, "nonce"), UINT256_MAX, "uint256"),
    expiry: decodeUintString(obj.expiry, join(path, "expiry"), UINT64_MAX, "uint64"),
    maxMakerFeeBps: decodeSmallUint(obj.maxMakerFeeBps, join(path, "maxMakerFeeBps"), UINT16_MAX, "uint16"),
    maxTakerFeeBps: decodeSmallUint(obj.maxTakerFeeBps, join(path, "maxTakerFeeBps"), UINT16_MAX, "uint16"),
    flags: decodeSmallUint(obj.flags, join(path, "flags"), UINT8_MAX, "uint8"),
  };
}

/** Decodes `{ chainId, verifyingContract }`; chainId may be a decimal string or a safe JSON integer. */
export function decodeDomain(value: unknown, path = "domain"): OrderDomain {
  const obj = expectObject(value, path);
  checkKeys(obj, DOMAIN_KEYS, DOMAIN_KEYS, path);
  const chainIdPath = join(path, "chainId");
  let chainId: bigint;
  if (typeof obj.chainId === "number") {
    // Wallets put chainId in typed data as a number; any real chain id is a safe integer.
    if (!Number.isSafeInteger(obj.chainId)) throw typeError(chainIdPath, "a decimal string or a safe JSON integer", obj.chainId);
    chainId = BigInt(decodeSmallUint(obj.chainId, chainIdPath, Number.MAX_SAFE_INTEGER, "uint256"));
  } else {
    chainId = decodeUintString(obj.chainId, chainIdPath, UINT256_MAX, "uint256");
  }
  return { chainId, verifyingContract: decodeAddress(obj.verifyingContract, join(path, "verifyingContract")) };
}

/**
 * A 0x-prefixed hex string of 1..MAX_SIGNATURE_BYTES whole bytes, returned lower-case.
 * Whether it is a valid 64/65-byte ECDSA signature is decided by the verifier: a smart
 * wallet's signature may have any length.
 */
export function decodeSignature(value: unknown, path = "signature"): Hex {
  if (typeof value !== "string") {
    throw fieldError("SIGNATURE_MALFORMED", path, `${path} must be a 0x-prefixed hex string, got ${describe(value)}`);
  }
  if (value.length > 2 + 2 * MAX_SIGNATURE_BYTES) {
    throw fieldError("SIGNATURE_MALFORMED", path, `${path} is longer than ${MAX_SIGNATURE_BYTES} bytes`);
  }
  if (!HEX_BYTES_RE.test(value)) {
    throw fieldError(
      "SIGNATURE_MALFORMED",
      path,
      `${path} must be 0x followed by an even, non-zero number of hex digits, got ${describe(value)}`,
    );
  }
  return value.toLowerCase() as Hex;
}

/**
 * A 20-byte address, returned lower-case. All-lower or all-upper hex is accepted as is; mixed
 * case is an EIP-55 checksum and must be right (it exists to catch mistyped addresses).
 */
export function decodeAddress(value: unknown, path: string): Address {
  if (typeof value !== "string") throw typeError(path, "a 0x-prefixed address string", value);
  if (!ADDRESS_RE.test(value)) {
    throw fieldError("ADDRESS_INVALID", path, `${path} must be 0x followed by 40 hex digits, got ${describe(value)}`);
  }
  const lower = value.toLowerCase() as Address;
  const body = value.slice(2);
  if (body !== body.toLowerCase() && body !== body.toUpperCase() && toChecksumAddress(lower) !== value) {
    throw fieldError("ADDRESS_INVALID", path, `${path} has a wrong EIP-55 checksum: ${value}`);
  }
  return lower;
}

/** EIP-55 mixed-case form of a lower-case address. Memoized: traders and tokens repeat. */
export function toChecksumAddress(lower: Address): string {
  const cached = checksumMemo.get(lower);
  if (cached !== undefined) return cached;
  const hex = lower.slice(2);
  const hash = keccak256(Buffer.from(hex, "ascii")).toString("hex");
  let out = "0x";
  for (let i = 0; i < 40; i++) out += parseInt(hash[i], 16) >= 8 ? hex[i].toUpperCase() : hex[i];
  // A bounded memo of a pure function (not shared state): dropped wholesale when full.
  if (checksumMemo.size >= CHECKSUM_MEMO_LIMIT) checksumMemo.clear();
  checksumMemo.set(lower, out);
  return out;
}
const CHECKSUM_MEMO_LIMIT = 50_000;
const checksumMemo = new Map<string, string>();

/** A canonical decimal string (no sign, no leading zero, no spaces, no exponent) within `max`. */
export function decodeUintString(value: unknown, path: string, max: bigint, typeName: string): bigint {
  if (typeof value !== "string") {
    if (typeof value === "number") {
      throw fieldError(
        "INVALID_FIELD",
        path,
        `${path} must be a decimal string (JSON numbers lose precision above 2^53), got the number ${describe(value)}`,
      );
    }
    throw typeError(path, "a decimal string", value);
  }
  if (!CANONICAL_DECIMAL_RE.test(value)) {
    throw fieldError(
      "DECIMAL_NON_CANONICAL",
      path,
      `${path} must be a canonical decimal string (digits only, no sign, spaces or leading zeros), got ${describe(value)}`,
    );
  }
  if (value.length > UINT256_MAX_DIGITS || BigInt(value) > max) {
    throw fieldError("VALUE_OUT_OF_RANGE", path, `${path} does not fit ${typeName}, got ${describe(value)}`);
  }
  return BigInt(value);
}

function decodeSmallUint(value: unknown, path: string, max: number, typeName: string): number {
  if (typeof value !== "number") throw typeError(path, "a JSON integer", value);
  if (!Number.isInteger(value)) throw typeError(path, "a JSON integer", value);
  if (value < 0 || value > max) {
    throw fieldError("VALUE_OUT_OF_RANGE", path, `${path} does not fit ${typeName}, got ${describe(value)}`);
  }
  return value === 0 ? 0 : value; // -0 -> 0
}

function decodeBoolean(value: unknown, path: string): boolean {
  if (typeof value !== "boolean") throw typeError(path, "true or false", value);
  return value;
}

// ------------------------------------------------------------------ encoding

export function encodeOrder(order: Order): WireOrder {
  return {
    trader: order.trader.toLowerCase(),
    baseToken: order.baseToken.toLowerCase(),
    quoteToken: order.quoteToken.toLowerCase(),
    isBuy: order.isBuy,
    price: order.price.toString(10),
    amount: order.amount.toString(10),
    nonce: order.nonce.toString(10),
    expiry: order.expiry.toString(10),
    maxMakerFeeBps: order.maxMakerFeeBps,
    maxTakerFeeBps: order.maxTakerFeeBps,
    flags: order.flags,
  };
}

/** The wire form of a signed order; `decodeSignedOrder(encodeSignedOrder(x))` deep-equals x. */
export function encodeSignedOrder(signed: SignedOrder): WireSignedOrder {
  const wire: WireSignedOrder = { order: encodeOrder(signed.order), signature: signed.signature.toLowerCase() };
  if (signed.domain !== undefined) {
    wire.domain = {
      chainId: signed.domain.chainId.toString(10),
      verifyingContract: signed.domain.verifyingContract.toLowerCase(),
    };
  }
  return wire;
}

export function serializeSignedOrder(signed: SignedOrder): string {
  return JSON.stringify(encodeSignedOrder(signed));
}

// ------------------------------------------------------------------ helpers

type JsonObject = Record<string, unknown>;

function expectObject(value: unknown, path: string): JsonObject {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw typeError(path, "a JSON object", value);
  }
  return value as JsonObject;
}

function checkKeys(obj: JsonObject, allowed: readonly string[], required: readonly string[], path: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      const field = join(path, key);
      throw fieldError("FIELD_UNKNOWN", field, `unknown field ${describe(field)}; expected only ${allowed.join(", ")}`);
    }
  }
  for (const key of required) {
    if (!Object.prototype.hasOwnProperty.call(obj, key) || obj[key] === undefined) {
      const field = join(path, key);
      throw fieldError("FIELD_MISSING", field, `missing field ${describe(field)}`);
    }
  }
}

function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

function fieldError(code: OrderErrorCode, field: string, message: string): OrderValidationError {
  return new OrderValidationError(code, message, { details: { field: field === "" ? "(body)" : field } });
}

function typeError(path: string, expected: string, value: unknown): OrderValidationError {
  const what = path === "" ? "the body" : path;
  return fieldError("INVALID_FIELD", path, `${what} must be ${expected}, got ${describe(value)}`);
}

/** A short, safe description of an untrusted value for an error message (never throws). */
export function describe(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
    case "number":
    case "boolean":
      return String(value);
    case "bigint":
      return `${value.toString().slice(0, 80)}n`;
    case "undefined":
      return "undefined";
    case "symbol":
      return "a symbol";
    case "function":
      return "a function";
    default:
      if (value === null) return "null";
      return Array.isArray(value) ? "an array" : "an object";
  }
}
