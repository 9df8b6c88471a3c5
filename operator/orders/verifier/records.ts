/**
 * The compact binary batch the pool sends to a worker, and the worker's answer.
 *
 * One message carries many orders in one ArrayBuffer (transferred, not copied), so the
 * per-message cost of postMessage is paid once per batch, not once per order, and the worker
 * hashes each record in place.
 *
 * A pool serves one or more EIP-712 domains (one per chain, ./domains). Each record names
 * its order's domain by index; the worker holds every domain's separator, computed once at
 * start, and a batch may mix domains.
 *
 *   request record (RECORD_BYTES = 451), one per order:
 *     [0, 384)    abi.encode(ORDER_TYPEHASH, order): what OrderLib.structHash hashes
 *     [384]       signature length: 64 or 65, or 0 when it cannot be an ECDSA signature
 *     [385, 450)  the signature bytes (64 or 65 used)
 *     [450]       domain index: the order's domain in VerifierWorkerData.domains (0..254)
 *
 *   result record (RESULT_BYTES = 33), one per order, same order:
 *     [0]         EcdsaStatus
 *     [1, 33)     the order hash (EIP-712 digest in the record's domain), computed whatever the status
 */
import { encodeOrderStruct } from "../hash";
import { recoverSigner } from "../signature";
import type { Address, Hex, Order } from "../types";
import type { Keccak256Fn } from "../keccak";

export const STRUCT_BYTES = 12 * 32;
const SIG_LEN_OFFSET = STRUCT_BYTES;
const SIG_OFFSET = STRUCT_BYTES + 1;
const DOMAIN_OFFSET = SIG_OFFSET + 65;
export const RECORD_BYTES = DOMAIN_OFFSET + 1;
export const RESULT_BYTES = 33;
/** Most domains one pool serves: a domain index is one byte, 0..MAX_DOMAINS - 1. */
export const MAX_DOMAINS = 255;
/** Byte offset of the trader address inside a record (word 1, right-aligned). */
const TRADER_OFFSET = 32 + 12;

/** Outcome of the ECDSA check of one record. */
export const EcdsaStatus = {
  Ok: 0,
  /** A key recovers, but its address is not the trader. */
  SignerMismatch: 1,
  HighS: 2,
  BadV: 3,
  /** Not 64 or 65 bytes: only a smart wallet can accept it. */
  BadLength: 4,
  /** No key recovers (r or s out of range, r not on the curve...). */
  Invalid: 5,
} as const;
export type EcdsaStatus = (typeof EcdsaStatus)[keyof typeof EcdsaStatus];

/** What a worker starts with: every domain of the pool, by domain index, to compute each separator once. */
export interface VerifierWorkerData {
  domains: { chainId: string; verifyingContract: Address }[];
}

/** pool -> worker */
export interface VerifyMessage {
  kind: "verify";
  id: number;
  count: number;
  records: ArrayBuffer;
}

/** worker -> pool */
export type WorkerMessage =
  | { kind: "ready"; keccak: string }
  | { kind: "result"; id: number; results: ArrayBuffer };

/**
 * Writes one order, its signature and its domain index (default 0: a one-domain pool) at
 * record `index` of `target`. Throws a RangeError if a field is outside its Solidity type (the
 * order was not decoded by ./codec) or the domain index is out of range. Returns false if the
 * signature is not hex.
 */
export function writeRecord(target: Buffer, index: number, order: Order, signature: Hex, domainIndex = 0): boolean {
  if (!Number.isInteger(domainIndex) || domainIndex < 0 || domainIndex >= MAX_DOMAINS) {
    throw new RangeError(`domain index ${domainIndex} is not 0..${MAX_DOMAINS - 1}`);
  }
  const offset = index * RECORD_BYTES;
  encodeOrderStruct(order).copy(target, offset);
  target[offset + DOMAIN_OFFSET] = domainIndex;
  const sigBytes = (signature.length - 2) / 2;
  if (sigBytes === 64 || sigBytes === 65) {
    // Buffer#write stops at the first non-hex pair: a short count means a malformed string.
    if (target.write(signature.slice(2), offset + SIG_OFFSET, sigBytes, "hex") !== sigBytes) return false;
    target[offset + SIG_LEN_OFFSET] = sigBytes;
  } else {
    target[offset + SIG_LEN_OFFSET] = 0;
  }
  return true;
}

/** A fresh, unpooled buffer (safe to transfer) for `count` records. */
export function allocRecords(count: number): Buffer {
  return Buffer.from(new ArrayBuffer(count * RECORD_BYTES));
}

/**
 * Verifies `count` records: the worker's whole job, also usable in-thread. `separators` are
 * the EIP-712 domain separators by domain index (each record hashes in its own); the rules
 * are those of ../signature's recoverSigner (the contract's): 65-byte v 27/28 or 64-byte
 * EIP-2098, low s only. Throws a RangeError for a record naming a domain index it lacks (a
 * bug in the pool, not in an order).
 */
export function verifyRecords(keccak: Keccak256Fn, separators: readonly Buffer[], records: Buffer, count: number): Buffer {
  const out = Buffer.from(new ArrayBuffer(count * RESULT_BYTES));
  // "\x19\x01" ‖ domainSeparator ‖ structHash, with the struct hash rewritten per order and
  // the separator only when the domain changes from the previous record.
  const prefixed = Buffer.alloc(66);
  prefixed[0] = 0x19;
  prefixed[1] = 0x01;
  let domain = -1;
  for (let i = 0; i < count; i++) {
    const offset = i * RECORD_BYTES;
    if (records[offset + DOMAIN_OFFSET] !== domain) {
      domain = records[offset + DOMAIN_OFFSET];
      const separator = separators[domain];
      if (separator === undefined) throw new RangeError(`record ${i} names domain ${domain}; there are ${separators.length}`);
      separator.copy(prefixed, 2);
    }
    keccak(records.subarray(offset, offset + STRUCT_BYTES)).copy(prefixed, 34);
    const digest = keccak(prefixed);
    digest.copy(out, i * RESULT_BYTES + 1);
    out[i * RESULT_BYTES] = ecdsaStatus(records, offset, digest);
  }
  return out;
}

function ecdsaStatus(records: Buffer, offset: number, digest: Buffer): EcdsaStatus {
  const sigLen = records[offset + SIG_LEN_OFFSET];
  if (sigLen !== 64 && sigLen !== 65) return EcdsaStatus.BadLength;
  const check = recoverSigner(digest, records.subarray(offset + SIG_OFFSET, offset + SIG_OFFSET + sigLen));
  if (check.ok) {
    const trader = records.toString("hex", offset + TRADER_OFFSET, offset + TRADER_OFFSET + 20);
    return check.signer.slice(2) === trader ? EcdsaStatus.Ok : EcdsaStatus.SignerMismatch;
  }
  switch (check.reason) {
    case "SIGNATURE_HIGH_S":
      return EcdsaStatus.HighS;
    case "SIGNATURE_BAD_V":
      return EcdsaStatus.BadV;
    case "SIGNATURE_LENGTH":
      return EcdsaStatus.BadLength;
    default:
      return EcdsaStatus.Invalid;
  }
}
