/**
 * Commitment epochs as the markets see them (./lua/seal.lua): every accepted order belongs to
 * the epoch open in its market when it was accepted ("ep" on its journal entry, and the
 * epoch of the operator's receipt). The epoch log (operator/commitment/epochLog.ts) seals an
 * epoch in every market of its chain, then commits what each market recorded.
 *
 * An order's chain-wide sequence number: (marketId << 48) | its arrival number in the market,
 * a uint64, like fill ids (./keys.ts fillIdOf).
 */
import type { RedisClient } from "../redis/client";
import type { ScriptRunner } from "../redis/scripts";
import { EngineError } from "./errors";
import { bookKeys } from "./keys";
import { SEAL_SCRIPT } from "./scripts";

/** (marketId << 48) | seq: an order's sequence number across the markets of its chain. */
export function orderSequence(marketId: number, seq: number): bigint {
  return (BigInt(marketId) << 48n) | BigInt(seq);
}

/** The market and arrival number of a chain-wide sequence number. */
export function splitOrderSequence(sequence: bigint): { market: number; seq: number } {
  return { market: Number(sequence >> 48n), seq: Number(sequence & 0xffff_ffff_ffffn) };
}

/**
 * A sealed epoch in one market: its orders are arrival numbers firstSeq..lastSeq, its fills
 * counters firstFill..lastFill (none when first > last).
 */
export interface SealedRange {
  market: number;
  firstSeq: number;
  lastSeq: number;
  firstFill: number;
  lastFill: number;
}

/** Seals epoch `epoch` in `marketId` (idempotent). Throws EngineError EPOCH_NOT_OPEN when it is ahead. */
export async function sealMarketEpoch(scripts: ScriptRunner, marketId: number, epoch: bigint): Promise<SealedRange> {
  const k = bookKeys(marketId);
  const [r] = await scripts.batch([{ script: SEAL_SCRIPT, keys: [k.state, k.epochs, k.efills], args: [epoch.toString(), "seal"] }]);
  if (!r.ok) throw new EngineError("ENGINE_INVARIANT", `sealing epoch ${epoch} in market ${marketId} failed: ${r.error.message}`, { cause: r.error, details: { market: marketId, epoch: epoch.toString() } });
  const [lastSeq, firstSeq, lastFill, firstFill] = (r.value as number[]).map(Number);
  return { market: marketId, firstSeq, lastSeq, firstFill, lastFill };
}

/**
 * Makes `epoch` the open epoch of `marketId` if the market is behind (before intake opens: a
 * market new to the chain's epoch log). Returns the open epoch it had, and its arrival count.
 */
export async function alignMarketEpoch(scripts: ScriptRunner, marketId: number, epoch: bigint): Promise<{ before: bigint; seq: number; fill: number }> {
  const k = bookKeys(marketId);
  const [r] = await scripts.batch([{ script: SEAL_SCRIPT, keys: [k.state, k.epochs, k.efills], args: [epoch.toString(), "align"] }]);
  if (!r.ok) throw new EngineError("ENGINE_INVARIANT", `aligning market ${marketId} to epoch ${epoch} failed: ${r.error.message}`, { cause: r.error });
  const [before, seq, fill] = r.value as [number, number, number];
  return { before: BigInt(before), seq: Number(seq), fill: Number(fill) };
}

/** The open epoch of a market and its arrival count. */
export async function openMarketEpoch(redis: RedisClient, marketId: number): Promise<{ epoch: bigint; seq: number }> {
  const [seq, epoch] = await redis.hmget(bookKeys(marketId).state, "seq", "epoch");
  return { epoch: BigInt(epoch ?? "1"), seq: Number(seq ?? 0) };
}

/** The epoch of the order accepted with arrival number `seq` in `marketId`: the first sealed one that reaches it, else the open one. */
export async function epochOfArrival(redis: RedisClient, marketId: number, seq: number): Promise<bigint> {
  return epochOfCounter(redis, marketId, bookKeys(marketId).epochs, seq);
}

/** The epoch of the fill with counter `counter` in `marketId` (the epoch it was matched in). */
export async function epochOfFill(redis: RedisClient, marketId: number, counter: number): Promise<bigint> {
  return epochOfCounter(redis, marketId, bookKeys(marketId).efills, counter);
}

async function epochOfCounter(redis: RedisClient, marketId: number, key: string, counter: number): Promise<bigint> {
  // The lowest epoch whose last counter reaches it (several epochs may end at one counter:
  // empty ones in this market; the first of them holds it).
  const found = await redis.zrangebyscore(key, counter, "+inf", "WITHSCORES", "LIMIT", 0, 1);
  if (found.length > 0) {
    const score = found[1];
    const same = await redis.zrangebyscore(key, score, score);
    return same.map(BigInt).reduce((a, b) => (b < a ? b : a));
  }
  return (await openMarketEpoch(redis, marketId)).epoch;
}
