/**
 * One ledger step per trader (step.lua): the journal effects owed to the trader, then the
 * locks of its new orders. The engine sends one step per trader per batch, all in one round
 * trip; a trader with only effects (a maker filled) or only orders gets a step too.
 */
import type { Address } from "../orders";
import type { ScriptCall } from "../redis/scripts";
import { ledgerKeys, rateLimitKey } from "./keys";
import { STEP_SCRIPT } from "./scripts";
import type { LedgerOp, LockOutcome, LockRequest, RateLimit } from "./types";

export interface StepParams {
  trader: Address;
  /** Caller's clock, unix ms (the rate bucket refills against it). */
  nowMs: number;
  /** null: no rate limit. */
  limit: RateLimit | null;
  /** Unique per call ([A-Za-z0-9:-], at most 64 chars): lets the script recognise its own replay. */
  lockId: string;
  ops: readonly LedgerOp[];
  orders: readonly LockRequest[];
}

export function stepCall(params: StepParams): ScriptCall {
  const k = ledgerKeys(params.trader);
  const args: (string | number)[] = [
    params.nowMs,
    params.limit?.capacity ?? 0,
    params.limit?.refillPerSecond ?? 0,
    params.lockId,
    params.ops.length,
  ];
  for (const op of params.ops) {
    switch (op.op) {
      case "fill":
        args.push(`F|${op.orderHash}|${op.fillCtr}|${op.fillId}|${op.lots}|${op.spendToken}|${op.spend}|${op.improvement}|${op.recvToken}|${op.recv}`);
        break;
      case "fee":
        args.push(`X|${op.marketId}|${op.fillCtr}|${op.fillId}|${op.baseToken}|${op.baseFee}|${op.quoteToken}|${op.quoteFee}`);
        break;
      case "close":
        args.push(`C|${op.orderHash}|${op.remainingLots}`);
        break;
      case "release":
        args.push(`R|${op.orderHash}`);
        break;
    }
  }
  for (const o of params.orders) {
    args.push(`${o.orderHash.toLowerCase()}|${o.nonce}|${o.marketId}|${o.lockToken.toLowerCase()}|${o.lockAtoms}|${o.lots}`);
  }
  return { script: STEP_SCRIPT, keys: [k.acct, k.ord, rateLimitKey(params.trader, "place")], args };
}

export interface StepReply {
  applied: number;
  skipped: number;
  locks: LockOutcome[];
}

export function parseStepReply(reply: unknown, orderCount: number): StepReply {
  const [applied, skipped, flat] = reply as [number, number, string[]];
  const locks: LockOutcome[] = new Array(orderCount);
  for (let i = 0; i < orderCount; i++) {
    const code = flat[2 * i];
    const detail = flat[2 * i + 1];
    switch (code) {
      case "OK":
        locks[i] = { ok: true };
        break;
      case "RATE_LIMITED":
        locks[i] = { ok: false, code, retryAfterMs: Number(detail) };
        break;
      case "DUPLICATE_ORDER":
        locks[i] = { ok: false, code, existingHash: detail as `0x${string}` };
        break;
      case "INSUFFICIENT_FUNDS":
        locks[i] = { ok: false, code, available: BigInt(detail) };
        break;
      default:
        throw new Error(`step.lua answered an unknown lock code ${String(code)}`);
    }
  }
  return { applied, skipped, locks };
}

/** Groups operations per trader, keeping each trader's operations in the given order. */
export function groupOpsByTrader(entries: Iterable<{ trader: Address; op: LedgerOp }>): Map<Address, LedgerOp[]> {
  const byTrader = new Map<Address, LedgerOp[]>();
  for (const { trader, op } of entries) {
    const key = trader.toLowerCase() as Address;
    const list = byTrader.get(key);
    if (list) list.push(op);
    else byTrader.set(key, [op]);
  }
  return byTrader;
}
