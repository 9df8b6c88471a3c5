/** What the signer shows of its records, and the checks of what it is given (./signer.ts). */
import { SignerError } from "./signerErrors";
import { currentAttempt, type TxRecord } from "./signerRecord";
import type { ConfirmedTx, SignerParams, SubmitRequest, SubmittedTx } from "./signerTypes";

const DEFAULT_MAX_IN_FLIGHT = 8;
const DEFAULT_KEEP_MS = 7 * 24 * 3600 * 1000;
/** "<kind>:<id>": the kind is the metrics label (bounded), the id anything printable without spaces. */
const PURPOSE_RE = /^[a-z][a-z0-9_-]{0,31}(:[\x21-\x7e]{1,200})?$/;

export function submittedView(rec: TxRecord): SubmittedTx {
  const current = currentAttempt(rec);
  return {
    nonce: rec.nonce,
    hash: current.hash,
    purpose: rec.purpose,
    status: rec.status,
    hashes: rec.attempts.map((a) => a.hash),
    sentAt: rec.sentAt,
    maxFeePerGas: current.maxFeePerGas,
    maxPriorityFeePerGas: current.maxPriorityFeePerGas,
  };
}

/** The outcome of a confirmed record. */
export function confirmedView(rec: TxRecord): ConfirmedTx {
  const mined = rec.mined!;
  const outcome = rec.outcome!;
  return {
    nonce: rec.nonce,
    purpose: rec.purpose,
    hash: mined.hash,
    blockNumber: mined.blockNumber,
    blockHash: mined.blockHash,
    result: outcome.result,
    gasUsed: outcome.gasUsed,
    effectiveGasPrice: outcome.effectiveGasPrice,
    replacements: rec.attempts.length - 1,
    reorgs: rec.reorgs,
    sentAt: rec.sentAt,
    confirmedAt: outcome.confirmedAt,
  };
}

/** The error of a failed record (its nonce taken by a transaction the signer does not know). */
export function consumedError(rec: TxRecord): SignerError {
  return new SignerError("SIGNER_NONCE_CONSUMED", rec.failure?.message ?? `nonce ${rec.nonce} was used by another transaction`, {
    details: { nonce: rec.nonce, purpose: rec.purpose, hashes: rec.attempts.map((a) => a.hash) },
  });
}

/** One transaction per purpose: the same purpose must carry the same call. */
export function assertSameCall(rec: Pick<TxRecord, "purpose" | "to" | "data" | "gas">, request: SubmitRequest): void {
  if (rec.to.toLowerCase() !== request.to.toLowerCase() || rec.data.toLowerCase() !== request.data.toLowerCase() || rec.gas !== request.gas) {
    throw new SignerError("SIGNER_PURPOSE_CONFLICT", `purpose ${request.purpose} is already carried by another call (to, data or gas differ)`, {
      details: { purpose: request.purpose },
    });
  }
}

export function checkRequest(r: SubmitRequest): void {
  const bad = (field: string, why: string): SignerError => new SignerError("SIGNER_BAD_REQUEST", `${field}: ${why}`, { details: { field } });
  if (typeof r.purpose !== "string" || !PURPOSE_RE.test(r.purpose)) throw bad("purpose", 'expected "<kind>:<id>" (kind: a-z, 0-9, _ or -; id: printable ASCII, no space)');
  if (typeof r.to !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(r.to)) throw bad("to", "expected an address");
  if (typeof r.data !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(r.data)) throw bad("data", "expected hex bytes");
  if (typeof r.gas !== "bigint" || r.gas < 21_000n || r.gas > 1_000_000_000n) throw bad("gas", "expected a bigint in [21000, 1e9]");
}

export interface ResolvedParams extends Required<Omit<SignerParams, "maxFeePerGasWei" | "privateKey">> {
  maxFeePerGasWei?: bigint;
}

export function checkParams(params: SignerParams): ResolvedParams {
  const bad = (message: string): SignerError => new SignerError("SIGNER_BAD_PARAMS", message, { details: { chainId: params.chainId } });
  const int = (v: unknown, min: number, name: string): number => {
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) throw bad(`${name} must be an integer >= ${min}, got ${String(v)}`);
    return v;
  };
  const r: ResolvedParams = {
    chainId: int(params.chainId, 1, "chainId"),
    name: params.name,
    confirmations: int(params.confirmations, 0, "confirmations"),
    maxInFlight: int(params.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT, 1, "maxInFlight"),
    stuckAfterMs: int(params.stuckAfterMs, 1, "stuckAfterMs"),
    feeBumpBps: int(params.feeBumpBps, 1250, "feeBumpBps (nodes require a 12.5% bump)"),
    minPriorityFeeWei: params.minPriorityFeeWei ?? 0n,
    maxFeePerGasWei: params.maxFeePerGasWei,
    pollIntervalMs: int(params.pollIntervalMs, 1, "pollIntervalMs"),
    keepConfirmedMs: int(params.keepConfirmedMs ?? DEFAULT_KEEP_MS, 1000, "keepConfirmedMs"),
  };
  if (typeof r.name !== "string" || r.name.length === 0) throw bad("name must be a non-empty string");
  if (typeof r.minPriorityFeeWei !== "bigint" || r.minPriorityFeeWei < 0n) throw bad("minPriorityFeeWei must be a bigint >= 0");
  if (r.maxFeePerGasWei !== undefined && (typeof r.maxFeePerGasWei !== "bigint" || r.maxFeePerGasWei <= 0n)) throw bad("maxFeePerGasWei must be a bigint > 0");
  if (r.maxFeePerGasWei !== undefined && r.minPriorityFeeWei > r.maxFeePerGasWei) throw bad("minPriorityFeeWei is above maxFeePerGasWei");
  if (!(params.privateKey && typeof params.privateKey.reveal === "function")) throw bad("privateKey must be a Secret");
  return r;
}
