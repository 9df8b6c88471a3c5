/**
 * Batch intents: what the settler persists before a batch goes to the chain (DESIGN.md:
 * exactly-once), in the `intent:<batchId>` hash of its chain (./keys.ts):
 *
 *   status      built (persisted, not handed to the signer yet) | sent (the signer has it, with
 *               its nonce) | settled (BatchSettled confirmed) | reverted (its transaction
 *               reverted: its fills went back to the queue) | superseded (a batch before it
 *               reverted, so it could not settle: its fills went back to the queue)
 *   fills       fill ids, decimal, comma-separated, in the calldata's fill order
 *   orders      order hashes in the calldata's order order (to find an order again)
 *   calldata    the settleBatch calldata, hex; calldataHash its keccak256
 *   gasLimit, estimate, simulated (1 when estimate came from the node), walletOrders
 *   createdAt   unix ms; nonce, txHash, maxFeePerGas, maxPriorityFeePerGas, sentAt once sent
 *   attempt     intents of this batch id whose transaction reverted before this one (0 first)
 *   finishedAt, settled, skipped, gasUsed once final
 *
 * One MULTI (one slot, {c:<chainId>}) writes an intent with its fills' records, the settler's
 * new journal positions and next batch id, and the fills it left out: a crash leaves either
 * all of it or none of it.
 */
import { keccak256 } from "viem";
import type { Hex } from "../orders";
import type { RedisClient } from "../redis/client";
import { SettlementError } from "./errors";
import { settleKeys } from "./keys";
import { encodeDropRecord, encodeFillRecord, type DroppedFill, type SettleFill } from "./records";

export type IntentStatus = "built" | "sent" | "settled" | "reverted" | "superseded";

export interface SentFacts {
  nonce: number;
  txHash: Hex;
  maxFeePerGas?: bigint;
  maxPriorityFeePerGas?: bigint;
  sentAt: number;
}

export interface BatchIntent {
  batchId: bigint;
  status: IntentStatus;
  fillIds: bigint[];
  orderHashes: Hex[];
  calldata: Hex;
  calldataHash: Hex;
  gasLimit: bigint;
  estimate: bigint;
  simulated: boolean;
  walletOrders: number;
  createdAt: number;
  /**
   * Transactions of this batch id that reverted before this intent (0: the first intent of the
   * id). Part of the signer's purpose (./settler.ts settlePurpose): a batch rebuilt after a
   * revert may have the very same calldata, and the signer takes one transaction per purpose.
   */
  attempt: number;
  sent?: SentFacts;
  finishedAt?: number;
  settled?: number;
  skipped?: number;
  gasUsed?: bigint;
}

/** How long a final intent's summary stays readable (the calldata is dropped at once). */
export const FINAL_INTENT_TTL_S = 7 * 24 * 3600;

export function newIntent(params: Omit<BatchIntent, "status" | "calldataHash" | "attempt"> & { attempt?: number }): BatchIntent {
  return { ...params, attempt: params.attempt ?? 0, status: "built", calldataHash: keccak256(params.calldata) };
}

function intentFields(i: BatchIntent): Record<string, string> {
  const f: Record<string, string> = {
    status: i.status,
    fills: i.fillIds.join(","),
    orders: i.orderHashes.join(","),
    calldata: i.calldata,
    calldataHash: i.calldataHash,
    gasLimit: i.gasLimit.toString(),
    estimate: i.estimate.toString(),
    simulated: i.simulated ? "1" : "0",
    walletOrders: String(i.walletOrders),
    createdAt: String(i.createdAt),
    attempt: String(i.attempt),
  };
  return f;
}

export interface PersistBatch {
  intent: BatchIntent;
  /** The fills in the batch (their records point at it). */
  fills: readonly SettleFill[];
  /** The settler's journal position per market after this batch (only markets that moved). */
  cursors: ReadonlyMap<number, number>;
  /** Fills left out for good, to unwind. */
  dropped: readonly DroppedFill[];
}

/**
 * Persists a built batch, atomically: the intent, its fills' records (taken out of the retry
 * queue if they came from it), the settler's positions, next batch id = this one + 1, and the
 * dropped fills.
 */
export async function persistIntent(redis: RedisClient, chainId: number, p: PersistBatch): Promise<void> {
  const k = settleKeys(chainId);
  const id = p.intent.batchId;
  const multi = redis.multi();
  // A batch id reused after a revert: the reverted intent's hash goes (its transaction's facts,
  // its expiry), the new one takes its place whole.
  multi.del(k.intent(id));
  multi.hset(k.intent(id), intentFields(p.intent));
  multi.zadd(k.open, id.toString(), id.toString());
  const state: Record<string, string> = { next: (id + 1n).toString() };
  for (const [market, ctr] of p.cursors) state[`cur:${market}`] = String(ctr);
  multi.hset(k.state, state);
  if (p.fills.length > 0) {
    const records: Record<string, string> = {};
    for (const f of p.fills) records[f.fillId.toString()] = encodeFillRecord(id, f);
    multi.hset(k.fills, records);
    multi.hdel(k.retry, ...p.fills.map((f) => f.fillId.toString()));
  }
  if (p.dropped.length > 0) {
    const drops: Record<string, string> = {};
    for (const d of p.dropped) drops[d.fill.fillId.toString()] = encodeDropRecord(d);
    multi.hset(k.drop, drops);
    multi.hdel(k.retry, ...p.dropped.map((d) => d.fill.fillId.toString()));
  }
  await execOrThrow(multi);
}

/**
 * Persists fills left out without a batch (every fill of a round dropped), with the settler's
 * positions after them.
 */
export async function persistDropsOnly(redis: RedisClient, chainId: number, dropped: readonly DroppedFill[], cursors: ReadonlyMap<number, number>): Promise<void> {
  const k = settleKeys(chainId);
  const multi = redis.multi();
  if (cursors.size > 0) {
    const state: Record<string, string> = {};
    for (const [market, ctr] of cursors) state[`cur:${market}`] = String(ctr);
    multi.hset(k.state, state);
  }
  if (dropped.length > 0) {
    const drops: Record<string, string> = {};
    for (const d of dropped) drops[d.fill.fillId.toString()] = encodeDropRecord(d);
    multi.hset(k.drop, drops);
    multi.hdel(k.retry, ...dropped.map((d) => d.fill.fillId.toString()));
  }
  await execOrThrow(multi);
}

/** Records that the signer has the batch's transaction (its nonce and hash). */
export async function markSent(redis: RedisClient, chainId: number, batchId: bigint, sent: SentFacts): Promise<void> {
  const fields: Record<string, string> = { status: "sent", nonce: String(sent.nonce), txHash: sent.txHash, sentAt: String(sent.sentAt) };
  if (sent.maxFeePerGas !== undefined) fields.maxFeePerGas = sent.maxFeePerGas.toString();
  if (sent.maxPriorityFeePerGas !== undefined) fields.maxPriorityFeePerGas = sent.maxPriorityFeePerGas.toString();
  await redis.hset(settleKeys(chainId).intent(batchId), fields);
}

export async function loadIntent(redis: RedisClient, chainId: number, batchId: bigint): Promise<BatchIntent | undefined> {
  const h = await redis.hgetall(settleKeys(chainId).intent(batchId));
  if (Object.keys(h).length === 0) return undefined;
  return decodeIntent(batchId, h);
}

/** Intents not final yet, by batch id. */
export async function loadOpenIntents(redis: RedisClient, chainId: number): Promise<BatchIntent[]> {
  const ids = await redis.zrange(settleKeys(chainId).open, 0, -1);
  const out: BatchIntent[] = [];
  for (const id of ids) {
    const intent = await loadIntent(redis, chainId, BigInt(id));
    if (intent === undefined) {
      throw new SettlementError("SETTLEMENT_CORRUPT", `batch ${id} is open but its intent is missing`, { details: { chainId, batchId: id } });
    }
    out.push(intent);
  }
  return out;
}

export function decodeIntent(batchId: bigint, h: Record<string, string>): BatchIntent {
  const status = h.status as IntentStatus;
  if (!["built", "sent", "settled", "reverted", "superseded"].includes(status)) {
    throw new SettlementError("SETTLEMENT_CORRUPT", `batch ${batchId} has an unknown status ${JSON.stringify(h.status)}`, { details: { batchId } });
  }
  const intent: BatchIntent = {
    batchId,
    status,
    fillIds: h.fills ? h.fills.split(",").map((s) => BigInt(s)) : [],
    orderHashes: h.orders ? (h.orders.split(",") as Hex[]) : [],
    calldata: (h.calldata ?? "0x") as Hex,
    calldataHash: h.calldataHash as Hex,
    gasLimit: BigInt(h.gasLimit ?? "0"),
    estimate: BigInt(h.estimate ?? "0"),
    simulated: h.simulated === "1",
    walletOrders: Number(h.walletOrders ?? 0),
    createdAt: Number(h.createdAt ?? 0),
    attempt: Number(h.attempt ?? 0),
  };
  if (h.nonce !== undefined && h.txHash !== undefined) {
    intent.sent = {
      nonce: Number(h.nonce),
      txHash: h.txHash as Hex,
      maxFeePerGas: h.maxFeePerGas === undefined ? undefined : BigInt(h.maxFeePerGas),
      maxPriorityFeePerGas: h.maxPriorityFeePerGas === undefined ? undefined : BigInt(h.maxPriorityFeePerGas),
      sentAt: Number(h.sentAt ?? 0),
    };
  }
  if (h.finishedAt !== undefined) intent.finishedAt = Number(h.finishedAt);
  if (h.settled !== undefined) intent.settled = Number(h.settled);
  if (h.skipped !== undefined) intent.skipped = Number(h.skipped);
  if (h.gasUsed !== undefined) intent.gasUsed = BigInt(h.gasUsed);
  return intent;
}

export interface SettlerState {
  /** The batch id built next (undefined: never built on this chain). */
  next: bigint | undefined;
  /** Per market: the last fill counter taken. */
  cursors: Map<number, number>;
}

export async function loadSettlerState(redis: RedisClient, chainId: number): Promise<SettlerState> {
  const h = await redis.hgetall(settleKeys(chainId).state);
  const cursors = new Map<number, number>();
  for (const [field, value] of Object.entries(h)) {
    if (field.startsWith("cur:")) cursors.set(Number(field.slice(4)), Number(value));
  }
  return { next: h.next === undefined ? undefined : BigInt(h.next), cursors };
}

export async function execOrThrow(multi: ReturnType<RedisClient["multi"]>): Promise<unknown[]> {
  const replies = await multi.exec();
  if (replies === null) throw new SettlementError("SETTLEMENT_CORRUPT", "a settlement transaction was aborted");
  const out: unknown[] = [];
  for (const [error, value] of replies) {
    if (error) throw error;
    out.push(value);
  }
  return out;
}
