/**
 * Locking funds for new orders (lock.lua): one script call per trader per batch, which also
 * charges the trader's "place" rate bucket.
 */
import type { Address, Hex } from "../orders";
import type { ScriptCall } from "../redis/scripts";
import { ledgerKeys, rateLimitKey } from "./keys";
import { LOCK_SCRIPT } from "./scripts";
import type { LockOutcome, LockRequest, RateLimit } from "./types";

export interface LockCallParams {
  trader: Address;
  /** Caller's clock, unix ms (the rate bucket refills against it). */
  nowMs: number;
  /** null: no rate limit. */
  limit: RateLimit | null;
  orders: readonly LockRequest[];
}

export function lockCall(params: LockCallParams): ScriptCall {
  const k = ledgerKeys(params.trader);
  const args: (string | number)[] = [
    params.nowMs,
    params.limit?.capacity ?? 0,
    params.limit?.refillPerSecond ?? 0,
    params.orders.length,
  ];
  for (const o of params.orders) {
    args.push(o.orderHash.toLowerCase(), o.nonce.toString(), o.marketId, o.lockToken.toLowerCase(), o.lockAtoms.toString(), o.lots, o.payload);
  }
  return { script: LOCK_SCRIPT, keys: [k.bal, k.ord, k.nonce, k.pend, rateLimitKey(params.trader, "place")], args };
}

export function parseLockReply(reply: unknown, count: number): LockOutcome[] {
  const flat = reply as string[];
  const out: LockOutcome[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const code = flat[2 * i];
    const detail = flat[2 * i + 1];
    switch (code) {
      case "OK":
        out[i] = { ok: true };
        break;
      case "RATE_LIMITED":
        out[i] = { ok: false, code, retryAfterMs: Number(detail) };
        break;
      case "DUPLICATE_ORDER":
        out[i] = { ok: false, code, existingHash: detail as Hex };
        break;
      case "INSUFFICIENT_FUNDS":
        out[i] = { ok: false, code, available: BigInt(detail) };
        break;
      default:
        throw new Error(`lock.lua answered an unknown code ${String(code)}`);
    }
  }
  return out;
}
