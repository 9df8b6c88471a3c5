/**
 * A transaction record of the signer, as it lives in memory and in Redis (./signerKeys.ts),
 * and its JSON form: bigints as decimal strings, checked field by field when read back (a
 * record that does not decode is an error, never a silent default).
 */
import type { Address, Hex } from "../orders/types";
import { SignerError } from "./signerErrors";

export type TxStatus = "sent" | "mined" | "confirmed" | "failed";

/** One signed version of a transaction: the first, then every replacement (same nonce, higher fees). */
export interface TxAttempt {
  hash: Hex;
  /** The signed raw transaction: what is broadcast, and re-broadcast after a restart. */
  raw: Hex;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
  /** ms since the epoch. */
  signedAt: number;
}

export interface TxRecord {
  nonce: number;
  purpose: string;
  to: Address;
  data: Hex;
  gas: bigint;
  /** Oldest first; the last one is current. Never empty. */
  attempts: TxAttempt[];
  status: TxStatus;
  /** When the first attempt was recorded (ms). */
  sentAt: number;
  /** The attempt found in a block, and that block ("mined" and "confirmed"). */
  mined?: { hash: Hex; blockNumber: bigint; blockHash: Hex };
  /** "confirmed" only. */
  outcome?: { result: "success" | "reverted"; gasUsed: bigint; effectiveGasPrice: bigint; confirmedAt: number };
  /** "failed" only. */
  failure?: { code: "SIGNER_NONCE_CONSUMED"; message: string; at: number };
  /** Times a receipt of it disappeared (a reorg) and it went back to "sent". */
  reorgs: number;
}

export function encodeRecord(r: TxRecord): string {
  return JSON.stringify({
    v: 1,
    nonce: r.nonce,
    purpose: r.purpose,
    to: r.to,
    data: r.data,
    gas: r.gas.toString(),
    attempts: r.attempts.map((a) => ({ ...a, maxFeePerGas: a.maxFeePerGas.toString(), maxPriorityFeePerGas: a.maxPriorityFeePerGas.toString() })),
    status: r.status,
    sentAt: r.sentAt,
    mined: r.mined && { ...r.mined, blockNumber: r.mined.blockNumber.toString() },
    outcome: r.outcome && { ...r.outcome, gasUsed: r.outcome.gasUsed.toString(), effectiveGasPrice: r.outcome.effectiveGasPrice.toString() },
    failure: r.failure,
    reorgs: r.reorgs,
  });
}

const HEX = /^0x[0-9a-fA-F]*$/;
const HASH = /^0x[0-9a-fA-F]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const STATUSES: readonly TxStatus[] = ["sent", "mined", "confirmed", "failed"];

export function decodeRecord(text: string, where: string): TxRecord {
  const bad = (field: string): SignerError => new SignerError("SIGNER_BAD_RECORD", `signer record ${where}: bad ${field}`, { details: { key: where, field } });
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new SignerError("SIGNER_BAD_RECORD", `signer record ${where} is not JSON`, { cause: error, details: { key: where } });
  }
  const int = (v: unknown, field: string): number => {
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw bad(field);
    return v;
  };
  const big = (v: unknown, field: string): bigint => {
    if (typeof v !== "string" || !/^[0-9]{1,78}$/.test(v)) throw bad(field);
    return BigInt(v);
  };
  const hex = (v: unknown, field: string, re = HEX): Hex => {
    if (typeof v !== "string" || !re.test(v)) throw bad(field);
    return v as Hex;
  };
  if (j.v !== 1) throw bad("version");
  if (typeof j.purpose !== "string" || j.purpose.length === 0) throw bad("purpose");
  if (!STATUSES.includes(j.status as TxStatus)) throw bad("status");
  if (!Array.isArray(j.attempts) || j.attempts.length === 0) throw bad("attempts");
  const attempts = (j.attempts as Record<string, unknown>[]).map((a, i) => ({
    hash: hex(a.hash, `attempts[${i}].hash`, HASH),
    raw: hex(a.raw, `attempts[${i}].raw`),
    maxFeePerGas: big(a.maxFeePerGas, `attempts[${i}].maxFeePerGas`),
    maxPriorityFeePerGas: big(a.maxPriorityFeePerGas, `attempts[${i}].maxPriorityFeePerGas`),
    signedAt: int(a.signedAt, `attempts[${i}].signedAt`),
  }));
  const m = j.mined as Record<string, unknown> | undefined;
  const o = j.outcome as Record<string, unknown> | undefined;
  const f = j.failure as Record<string, unknown> | undefined;
  if (o !== undefined && o.result !== "success" && o.result !== "reverted") throw bad("outcome.result");
  if (f !== undefined && (f.code !== "SIGNER_NONCE_CONSUMED" || typeof f.message !== "string")) throw bad("failure");
  return {
    nonce: int(j.nonce, "nonce"),
    purpose: j.purpose,
    to: hex(j.to, "to", ADDRESS),
    data: hex(j.data, "data"),
    gas: big(j.gas, "gas"),
    attempts,
    status: j.status as TxStatus,
    sentAt: int(j.sentAt, "sentAt"),
    mined: m && { hash: hex(m.hash, "mined.hash", HASH), blockNumber: big(m.blockNumber, "mined.blockNumber"), blockHash: hex(m.blockHash, "mined.blockHash", HASH) },
    outcome: o && {
      result: o.result as "success" | "reverted",
      gasUsed: big(o.gasUsed, "outcome.gasUsed"),
      effectiveGasPrice: big(o.effectiveGasPrice, "outcome.effectiveGasPrice"),
      confirmedAt: int(o.confirmedAt, "outcome.confirmedAt"),
    },
    failure: f && { code: "SIGNER_NONCE_CONSUMED", message: f.message as string, at: int(f.at, "failure.at") },
    reorgs: int(j.reorgs ?? 0, "reorgs"),
  };
}

export function currentAttempt(r: TxRecord): TxAttempt {
  return r.attempts[r.attempts.length - 1];
}

/** "settle" of "settle:42": the metrics label. */
export function purposeKind(purpose: string): string {
  const i = purpose.indexOf(":");
  return i === -1 ? purpose : purpose.slice(0, i);
}
