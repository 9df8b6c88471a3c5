/**
 * The ledger round: one round trip carrying, for every trader involved, one step.lua call
 * with the journal effects the engine owes the trader (from the previous batch's matches,
 * cancels, refusals) followed by the locks of the trader's new orders; intake calls go first
 * in the same round trip. Owed effects therefore cost no round trip of their own while the
 * engine is busy; when it goes idle, `flush` applies them at once.
 *
 * Placement promises resolve once their batch's ledger effects are applied (by the next
 * round, or by the flush), so a caller that awaits placeOrders then reads balances that
 * include its fills.
 */
import { groupOpsByTrader, parseStepReply, stepCall } from "../ledger/step";
import type { LedgerOp, LockOutcome, LockRequest } from "../ledger/types";
import type { Address } from "../orders";
import type { ScriptCall } from "../redis/scripts";
import type { MatchingEngine } from "./engine";
import { EngineError } from "./errors";
import { matchStage } from "./match";

export interface LedgerRoundParams {
  now: number;
  /** Intake calls, written before any lock. */
  intake?: ScriptCall[];
  /** New orders to lock, per trader, in arrival order. */
  locks?: Map<Address, LockRequest[]>;
  /** Where to put the owed callbacks instead of running them now (flush runs them last). */
  deferSettle?: (() => void)[];
}

/** Returns the lock outcomes per trader, in the order given. */
export async function ledgerRound(engine: MatchingEngine, params: LedgerRoundParams): Promise<Map<Address, LockOutcome[]>> {
  const owed = engine.takeOwed();
  const opsByTrader = groupOpsByTrader(owed.entries);
  const locks = params.locks ?? new Map<Address, LockRequest[]>();
  const max = engine.config.maxOrdersPerCall;
  const calls: ScriptCall[] = params.intake ? params.intake.slice() : [];
  const callInfo: { trader: Address; from: number; count: number }[] = [];
  const noOps: readonly LedgerOp[] = [];
  const noOrders: readonly LockRequest[] = [];
  const addTrader = (trader: Address, ops: readonly LedgerOp[], orders: readonly LockRequest[]): void => {
    // Orders beyond a call's worth go in further calls (same slot: executed in order).
    for (let from = 0; from === 0 || from < orders.length; from += max) {
      const chunk = orders.length <= max ? orders : orders.slice(from, from + max);
      calls.push(
        stepCall({
          trader,
          nowMs: params.now,
          limit: engine.config.placeLimit,
          maxOpenOrders: engine.config.maxOpenOrdersPerTrader,
          lockId: engine.nextLockId(),
          ops: from === 0 ? ops : noOps,
          orders: chunk,
        }),
      );
      callInfo.push({ trader, from, count: chunk.length });
    }
  };
  for (const [trader, orders] of locks) addTrader(trader, opsByTrader.get(trader) ?? noOps, orders);
  for (const [trader, ops] of opsByTrader) if (!locks.has(trader)) addTrader(trader, ops, noOrders);
  const started = performance.now();
  const settle = (): void => {
    for (const s of owed.settle) (params.deferSettle ? params.deferSettle.push(s) : s());
  };
  let replies;
  try {
    replies = calls.length > 0 ? await engine.scripts.batch(calls) : [];
  } catch (error) {
    settle();
    throw error;
  }
  engine.metrics.batchSeconds.observe({ stage: "ledger" }, (performance.now() - started) / 1000);
  const intakeCount = params.intake?.length ?? 0;
  const outcomes = new Map<Address, LockOutcome[]>();
  for (const [trader, orders] of locks) outcomes.set(trader, new Array(orders.length));
  let failure: EngineError | undefined;
  replies.forEach((reply, c) => {
    if (!reply.ok) {
      const what = c < intakeCount ? "intake" : `ledger step of ${callInfo[c - intakeCount].trader}`;
      failure ??= new EngineError("ENGINE_INVARIANT", `${what} failed: ${reply.error.message}`, { cause: reply.error });
      return;
    }
    if (c < intakeCount) return;
    const info = callInfo[c - intakeCount];
    const parsed = parseStepReply(reply.value, info.count);
    const list = outcomes.get(info.trader);
    if (list) parsed.locks.forEach((o, j) => (list[info.from + j] = o));
  });
  settle();
  if (failure) throw failure;
  // Applied: the cursors advance, refused orders may leave their inbox.
  for (const [id, cursor] of owed.cursors) {
    const applied = engine.cursor(id);
    applied.fill = cursor.fill;
    applied.close = cursor.close;
  }
  if (owed.cursors.size > 0) engine.persistCursors(owed.cursors.keys());
  for (const [id, list] of owed.refused) engine.addDiscards(id, list);
  return outcomes;
}

/** Applies everything owed and sends owed inbox discards; then runs the owed callbacks. */
export async function flush(engine: MatchingEngine, now: number): Promise<void> {
  const deferred: (() => void)[] = [];
  try {
    for (let guard = 0; engine.hasOwed() || engine.discards.size > 0; guard++) {
      if (guard > 10) throw new EngineError("ENGINE_INVARIANT", "flush does not converge");
      if (engine.hasOwed()) await ledgerRound(engine, { now, deferSettle: deferred });
      if (engine.discards.size > 0) await matchStage(engine, [], { now });
    }
  } finally {
    for (const s of deferred) s();
  }
}
