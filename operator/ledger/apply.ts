/**
 * Applying journal effects to traders' ledgers (apply.lua): one call per trader carries all of
 * that trader's operations of a batch, in journal order.
 */
import type { Address } from "../orders";
import type { ScriptCall, ScriptRunner } from "../redis/scripts";
import { ledgerErrorFromReply } from "./errors";
import { ledgerKeys } from "./keys";
import { APPLY_SCRIPT } from "./scripts";
import type { LedgerOp } from "./types";

export function applyCall(trader: Address, ops: readonly LedgerOp[]): ScriptCall {
  const k = ledgerKeys(trader);
  const args: (string | number)[] = [ops.length];
  for (const op of ops) {
    switch (op.op) {
      case "ack":
        args.push("A", op.orderHash);
        break;
      case "fill":
        args.push(
          "F",
          op.orderHash,
          op.fillCtr,
          op.fillId.toString(),
          op.lots,
          op.spendToken,
          op.spend.toString(),
          op.improvement.toString(),
          op.recvToken,
          op.recv.toString(),
        );
        break;
      case "fee":
        args.push("X", op.marketId, op.fillCtr, op.fillId.toString(), op.baseToken, op.baseFee.toString(), op.quoteToken, op.quoteFee.toString());
        break;
      case "close":
        args.push("C", op.orderHash, op.remainingLots);
        break;
      case "release":
        args.push("R", op.orderHash);
        break;
    }
  }
  return { script: APPLY_SCRIPT, keys: [k.bal, k.ord, k.nonce, k.pend, k.pf, k.feehwm], args };
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

/**
 * Applies the operations, one script call per trader, all in one round trip. Throws the first
 * LedgerError after every call has answered (the others are applied: each call is atomic and
 * idempotent, so retrying the whole set is safe).
 */
export async function applyLedgerOps(deps: { scripts: ScriptRunner }, byTrader: ReadonlyMap<Address, readonly LedgerOp[]>): Promise<void> {
  const traders = [...byTrader.keys()];
  if (traders.length === 0) return;
  const results = await deps.scripts.batch(traders.map((t) => applyCall(t, byTrader.get(t)!)));
  const failed = results.findIndex((r) => !r.ok);
  if (failed !== -1) {
    const r = results[failed] as { ok: false; error: Error };
    throw ledgerErrorFromReply(r.error, { trader: traders[failed] });
  }
}
