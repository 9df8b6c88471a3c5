/**
 * Keyspace of the signed-cancel replay memory, `hx:v1:cancel:{t:<trader>}:<cancel digest>`:
 * a STRING "1" per signed cancel received, kept until the cancel's expiry (plus a margin for
 * clocks of several API processes), in the trader's slot like the rest of its keys. A cancel
 * is refused once expired, so nothing older needs remembering.
 */
import { keyspacePrefix, traderTag, type RedisClient } from "../redis";
import type { Address, Hex } from "../orders";

export const CANCEL_KEYSPACE = keyspacePrefix("cancel", 1);

/** Kept this long past the cancel's expiry. */
export const REPLAY_MARGIN_MS = 60_000;

export function cancelReplayKey(trader: Address, digest: Hex): string {
  return `${CANCEL_KEYSPACE}:${traderTag(trader)}:${digest.toLowerCase()}`;
}

/** Records the cancel; false if it was already recorded (a replay). Atomic (SET NX). */
export async function rememberCancel(deps: { redis: RedisClient }, params: { trader: Address; digest: Hex; ttlMs: number }): Promise<boolean> {
  const ttl = Math.max(1, Math.ceil(params.ttlMs));
  return (await deps.redis.set(cancelReplayKey(params.trader, params.digest), "1", "PX", ttl, "NX")) === "OK";
}

/** Forgets a cancel the engine did not process, so the client may send it again. */
export async function forgetCancel(deps: { redis: RedisClient }, params: { trader: Address; digest: Hex }): Promise<void> {
  await deps.redis.del(cancelReplayKey(params.trader, params.digest));
}
