/**
 * The signed cancel: a trader asks the operator, with an EIP-712 signature in the orders'
 * domain (HyperIndex / 1 / chainId / Settlement), to take open orders off its book: one order,
 * several, or all of the trader's orders in one market.
 *
 *   Cancel(address trader,bytes32[] orderHashes,address baseToken,address quoteToken,bool all,uint64 expiry,uint256 salt)
 *
 * Wire format (uint64 / uint256 as canonical decimal strings, like orders):
 *   { "cancel": { "trader": "0x…", "orderHashes": ["0x…"], "baseToken": "0x0000…", "quoteToken": "0x0000…",
 *                 "all": false, "expiry": "1767225900", "salt": "91823…" },
 *     "signature": "0x…",
 *     "domain": { "chainId": "999", "verifyingContract": "0x…" } }      (domain optional)
 *
 * Shape rules (validateCancel): `all: false` names 1..maxOrderHashes order hashes and the zero
 * address as both tokens; `all: true` names no hash and the market's two tokens. `expiry` (unix
 * seconds) is in the future and at most the horizon away (10 minutes by default): a signed
 * cancel is short-lived, so the operator remembers each one (its digest, until it expires) and
 * refuses a replay. `salt` is any number that makes two otherwise equal cancels different.
 *
 * This is an off-chain request: it removes orders from the operator's book. The on-chain
 * guarantee against an operator that would settle them anyway is Settlement.cancelNonces.
 *
 * Signatures follow the orders' rules (ECDSA by the trader with low s; if that fails and the
 * trader has code, EIP-1271 isValidSignature(digest, sig)); the API checks them
 * (operator/api/cancelSignature.ts).
 */
import { writeAddressWord, writeBytes32Word, writeUintWord } from "../abi/words";
import { BaseError, type BaseErrorOptions } from "../errors";
import { decodeAddress, decodeDomain, decodeSignature, decodeUintString, describe } from "./codec";
import { OrderValidationError } from "./errors";
import { keccak256, domainSeparator, orderDigestFromStructHash } from "./hash";
import { UINT256_MAX, UINT64_MAX, type Address, type Hex, type OrderDomain } from "./types";

export interface Cancel {
  trader: Address;
  /** Lower-case; empty when `all`. */
  orderHashes: Hex[];
  /** The market's tokens when `all`; the zero address otherwise. */
  baseToken: Address;
  quoteToken: Address;
  all: boolean;
  /** Unix seconds; refused once passed. */
  expiry: bigint;
  salt: bigint;
}

export interface SignedCancel {
  cancel: Cancel;
  signature: Hex;
  /** The domain the client says it signed for; checked against ours. */
  domain?: OrderDomain;
}

export const CANCEL_TYPE_STRING =
  "Cancel(address trader,bytes32[] orderHashes,address baseToken,address quoteToken,bool all,uint64 expiry,uint256 salt)";

/** EIP-712 types, in the shape viem's signTypedData / ethers' TypedDataEncoder take. */
export const CANCEL_EIP712_TYPES = {
  Cancel: [
    { name: "trader", type: "address" },
    { name: "orderHashes", type: "bytes32[]" },
    { name: "baseToken", type: "address" },
    { name: "quoteToken", type: "address" },
    { name: "all", type: "bool" },
    { name: "expiry", type: "uint64" },
    { name: "salt", type: "uint256" },
  ],
} as const;

export const CANCEL_TYPEHASH: Buffer = keccak256(Buffer.from(CANCEL_TYPE_STRING, "utf8"));

export const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000" as Address;

/** Most hashes one cancel may carry, whatever the configuration says (bounds decoding work). */
export const MAX_CANCEL_ORDER_HASHES = 10_000;

/** Codes of a refused cancel beyond the orders' codes (codec, domain, signature), with HTTP statuses. */
export const CANCEL_ERROR_HTTP_STATUS = {
  /** A well-formed cancel that does not follow the shape rules (all vs. hashes vs. tokens). */
  CANCEL_INVALID: 422,
  /** More order hashes than the operator takes in one cancel. */
  CANCEL_TOO_MANY_ORDERS: 422,
  /** expiry is now or in the past. */
  CANCEL_EXPIRED: 422,
  /** expiry is beyond now + the cancel horizon. */
  CANCEL_EXPIRY_TOO_FAR: 422,
  /** This very signed cancel was already received (checked by the API, in Redis). */
  CANCEL_REPLAYED: 409,
} as const;

export type CancelErrorCode = keyof typeof CANCEL_ERROR_HTTP_STATUS;

export class CancelValidationError extends BaseError {
  override name = "CancelValidationError" as const;
  declare readonly code: CancelErrorCode;

  constructor(code: CancelErrorCode, shortMessage: string, options: BaseErrorOptions = {}) {
    super(code, shortMessage, options);
  }

  get httpStatus(): number {
    return CANCEL_ERROR_HTTP_STATUS[this.code];
  }
}

// ------------------------------------------------------------------ hashing

const HASH_RE = /^0x[0-9a-fA-F]{64}$/;

function writeWord(buf: Buffer, word: number, value: bigint, bits: number): void {
  if (!writeUintWord(buf, word, value, bits)) throw new RangeError(`value ${value} does not fit uint${bits}`);
}

function writeAddress(buf: Buffer, word: number, address: string): void {
  if (!writeAddressWord(buf, word, address)) throw new RangeError(`not an address: ${address}`);
}

/** EIP-712 encoding of bytes32[]: keccak256 of the hashes concatenated. */
export function hashOrderHashes(orderHashes: readonly string[]): Buffer {
  const buf = Buffer.alloc(orderHashes.length * 32);
  orderHashes.forEach((h, i) => {
    if (!writeBytes32Word(buf, i, h)) throw new RangeError(`not a bytes32: ${h}`);
  });
  return keccak256(buf);
}

/** abi.encode(CANCEL_TYPEHASH, trader, keccak256(orderHashes), baseToken, quoteToken, all, expiry, salt). */
export function encodeCancelStruct(cancel: Cancel): Buffer {
  const buf = Buffer.alloc(8 * 32);
  CANCEL_TYPEHASH.copy(buf, 0);
  writeAddress(buf, 1, cancel.trader);
  hashOrderHashes(cancel.orderHashes).copy(buf, 2 * 32);
  writeAddress(buf, 3, cancel.baseToken);
  writeAddress(buf, 4, cancel.quoteToken);
  buf[5 * 32 + 31] = cancel.all ? 1 : 0;
  writeWord(buf, 6, cancel.expiry, 64);
  writeWord(buf, 7, cancel.salt, 256);
  return buf;
}

export function cancelStructHash(cancel: Cancel): Buffer {
  return keccak256(encodeCancelStruct(cancel));
}

/** Hashes cancels for one domain (the orders' domain); computes the separator once. */
export class CancelHasher {
  readonly separator: Buffer;

  constructor(readonly domain: OrderDomain) {
    this.separator = domainSeparator(domain);
  }

  digest(cancel: Cancel): Buffer {
    return orderDigestFromStructHash(this.separator, cancelStructHash(cancel));
  }

  hash(cancel: Cancel): Hex {
    return `0x${this.digest(cancel).toString("hex")}`;
  }
}

// ------------------------------------------------------------------ decoding

const SIGNED_KEYS = ["cancel", "signature", "domain"];
const CANCEL_KEYS = ["trader", "orderHashes", "baseToken", "quoteToken", "all", "expiry", "salt"];

/** Decodes a parsed JSON body into a SignedCancel; throws OrderValidationError (400 codes). */
export function decodeSignedCancel(value: unknown): SignedCancel {
  const obj = expectObject(value, "");
  checkKeys(obj, SIGNED_KEYS, ["cancel", "signature"], "");
  const signed: SignedCancel = { cancel: decodeCancel(obj.cancel, "cancel"), signature: decodeSignature(obj.signature, "signature") };
  if (obj.domain !== undefined) signed.domain = decodeDomain(obj.domain, "domain");
  return signed;
}

export function decodeCancel(value: unknown, path = "cancel"): Cancel {
  const obj = expectObject(value, path);
  checkKeys(obj, CANCEL_KEYS, CANCEL_KEYS, path);
  if (!Array.isArray(obj.orderHashes)) throw invalid(`${path}.orderHashes`, "an array of 0x-prefixed 32-byte hashes", obj.orderHashes);
  if (obj.orderHashes.length > MAX_CANCEL_ORDER_HASHES) {
    throw new OrderValidationError("VALUE_OUT_OF_RANGE", `${path}.orderHashes has more than ${MAX_CANCEL_ORDER_HASHES} entries`, {
      details: { field: `${path}.orderHashes` },
    });
  }
  const orderHashes = obj.orderHashes.map((h: unknown, i: number): Hex => {
    if (typeof h !== "string" || !HASH_RE.test(h)) throw invalid(`${path}.orderHashes[${i}]`, "a 0x-prefixed 32-byte hash", h);
    return h.toLowerCase() as Hex;
  });
  if (typeof obj.all !== "boolean") throw invalid(`${path}.all`, "true or false", obj.all);
  return {
    trader: decodeAddress(obj.trader, `${path}.trader`),
    orderHashes,
    baseToken: decodeAddress(obj.baseToken, `${path}.baseToken`),
    quoteToken: decodeAddress(obj.quoteToken, `${path}.quoteToken`),
    all: obj.all,
    expiry: decodeUintString(obj.expiry, `${path}.expiry`, UINT64_MAX, "uint64"),
    salt: decodeUintString(obj.salt, `${path}.salt`, UINT256_MAX, "uint256"),
  };
}

/** The wire form of a signed cancel; `decodeSignedCancel(encodeSignedCancel(x))` deep-equals x. */
export function encodeSignedCancel(signed: SignedCancel): Record<string, unknown> {
  const c = signed.cancel;
  const wire: Record<string, unknown> = {
    cancel: {
      trader: c.trader.toLowerCase(),
      orderHashes: c.orderHashes.map((h) => h.toLowerCase()),
      baseToken: c.baseToken.toLowerCase(),
      quoteToken: c.quoteToken.toLowerCase(),
      all: c.all,
      expiry: c.expiry.toString(10),
      salt: c.salt.toString(10),
    },
    signature: signed.signature.toLowerCase(),
  };
  if (signed.domain !== undefined) {
    wire.domain = { chainId: signed.domain.chainId.toString(10), verifyingContract: signed.domain.verifyingContract.toLowerCase() };
  }
  return wire;
}

// ------------------------------------------------------------------ validation

export interface CancelRules {
  /** The domain cancels are verified against: this chain's Settlement (the orders' domain). */
  domain: OrderDomain;
  /** Latest accepted expiry, in seconds from now (the replay memory lasts this long). */
  maxExpirySeconds: bigint;
  /** Most order hashes in one cancel. */
  maxOrderHashes: number;
}

/**
 * Throws the first error that applies: OrderValidationError for the domain and a zero trader,
 * CancelValidationError for the shape rules and the expiry. Market existence (for `all`) is the
 * caller's: it knows the markets it serves.
 */
export function validateCancel(deps: { clock: { now(): number } }, params: { signed: SignedCancel; rules: CancelRules }): SignedCancel {
  const { signed, rules } = params;
  const c = signed.cancel;
  if (signed.domain !== undefined) checkDomain(signed.domain, rules.domain);
  if (c.trader === ZERO_ADDRESS) {
    throw new OrderValidationError("TRADER_ZERO", "trader is the zero address", { details: { field: "cancel.trader" } });
  }
  if (c.all) {
    if (c.orderHashes.length > 0) shape("a cancel-all names no order hashes", "cancel.orderHashes");
    if (c.baseToken === ZERO_ADDRESS || c.quoteToken === ZERO_ADDRESS) shape("a cancel-all names its market's base and quote tokens", "cancel.baseToken");
  } else {
    if (c.orderHashes.length === 0) shape("name at least one order hash, or set all to cancel a whole market", "cancel.orderHashes");
    if (c.baseToken !== ZERO_ADDRESS || c.quoteToken !== ZERO_ADDRESS) {
      shape("a cancel of order hashes names the zero address as base and quote token", "cancel.baseToken");
    }
    if (c.orderHashes.length > rules.maxOrderHashes) {
      throw new CancelValidationError("CANCEL_TOO_MANY_ORDERS", `at most ${rules.maxOrderHashes} order hashes per cancel`, {
        details: { field: "cancel.orderHashes", max: rules.maxOrderHashes, got: c.orderHashes.length },
      });
    }
  }
  const now = BigInt(Math.floor(deps.clock.now() / 1000));
  if (c.expiry <= now) {
    throw new CancelValidationError("CANCEL_EXPIRED", `the cancel expired at ${c.expiry} (now ${now})`, {
      details: { field: "cancel.expiry", expiry: c.expiry, now },
    });
  }
  if (c.expiry > now + rules.maxExpirySeconds) {
    throw new CancelValidationError("CANCEL_EXPIRY_TOO_FAR", `a cancel expires within ${rules.maxExpirySeconds} seconds (latest ${now + rules.maxExpirySeconds})`, {
      details: { field: "cancel.expiry", expiry: c.expiry, latest: now + rules.maxExpirySeconds },
    });
  }
  return signed;
}

function checkDomain(supplied: OrderDomain, ours: OrderDomain): void {
  if (supplied.chainId !== ours.chainId) {
    throw new OrderValidationError("DOMAIN_CHAIN_MISMATCH", `the cancel was signed for chain ${supplied.chainId}; this operator settles on chain ${ours.chainId}`, {
      details: { field: "domain.chainId", expected: ours.chainId, got: supplied.chainId },
    });
  }
  if (supplied.verifyingContract.toLowerCase() !== ours.verifyingContract.toLowerCase()) {
    throw new OrderValidationError("DOMAIN_CONTRACT_MISMATCH", `the cancel was signed for contract ${supplied.verifyingContract}; this operator settles through ${ours.verifyingContract}`, {
      details: { field: "domain.verifyingContract", expected: ours.verifyingContract.toLowerCase(), got: supplied.verifyingContract.toLowerCase() },
    });
  }
}

// ------------------------------------------------------------------ helpers

type JsonObject = Record<string, unknown>;

function expectObject(value: unknown, path: string): JsonObject {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid(path, "a JSON object", value);
  return value as JsonObject;
}

function checkKeys(obj: JsonObject, allowed: readonly string[], required: readonly string[], path: string): void {
  const at = (key: string): string => (path === "" ? key : `${path}.${key}`);
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      throw new OrderValidationError("FIELD_UNKNOWN", `unknown field ${describe(at(key))}; expected only ${allowed.join(", ")}`, { details: { field: at(key) } });
    }
  }
  for (const key of required) {
    if (!Object.prototype.hasOwnProperty.call(obj, key) || obj[key] === undefined) {
      throw new OrderValidationError("FIELD_MISSING", `missing field ${describe(at(key))}`, { details: { field: at(key) } });
    }
  }
}

function invalid(path: string, expected: string, value: unknown): OrderValidationError {
  return new OrderValidationError("INVALID_FIELD", `${path === "" ? "the body" : path} must be ${expected}, got ${describe(value)}`, {
    details: { field: path === "" ? "(body)" : path },
  });
}

function shape(message: string, field: string): never {
  throw new CancelValidationError("CANCEL_INVALID", message, { details: { field } });
}
