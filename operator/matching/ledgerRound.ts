/**
 * The ledger round: one round trip carrying, for every account involved (a trader on one
 * chain), one step.lua call with the journal effects the engine owes the account (from the
 * previous batch's matches, cancels, refusals) followed by the locks of its new orders; intake
 * calls go first
 * in the same round trip. Owed effects therefore cost no round trip of their own while the
 * engine is busy; when it goes idle, `flush` applies them at once.
 *
 * Placement promises resolve once their batch's ledger effects are applied (by the next
 * round, or by the flush), so a caller that awaits placeOrders then reads balances that
 * include its fills.
 */
import { groupOpsByAccount, parseStepReply, stepCall } from "../ledger/step";
import { accountOf, type AccountKey, type LedgerOp, type LockOutcome, type LockRequest } from "../ledger/types";
import type { ScriptCall } from "../redis/scripts";
import type { EngineContext } from "./context";
import { EngineError } from "./errors";
import { matchStage } from "./match";

export interface LedgerRoundParams {
  now: number;
  /** Intake calls, written before any lock. */
  intake?: ScriptCall[];
  /** New orders to lock, per account (ledger/types accountKey), in arrival order. */
  locks?: Map<AccountKey, LockRequest[]>;
  /** Where to put the owed callbacks instead of running them now (flush runs them last). */
  deferSettle?: (() => void)[];
}

/** Returns the lock outcomes per account, in the order given. */
export async function ledgerRound(ctx: EngineContext, params: LedgerRoundParams): Promise<Map<AccountKey, LockOutcome[]>> {
  const { state, config } = ctx;
  const owed = state.takeOwed();
  const opsByAccount = groupOpsByAccount(owed.entries);
  const locks = params.locks ?? new Map<AccountKey, LockRequest[]>();
  const max = config.maxOrdersPerCall;
  const calls: ScriptCall[] = params.intake ? params.intake.slice() : [];
  const callInfo: { account: AccountKey; from: number; count: number }[] = [];
  const noOps: readonly LedgerOp[] = [];
  const noOrders: readonly LockRequest[] = [];
  const addAccount = (account: AccountKey, ops: readonly LedgerOp[], orders: readonly LockRequest[]): void => {
    const { chainId, trader } = accountOf(account);
    // Orders beyond a call's worth go in further calls (same slot: executed in order).
    for (let from = 0; from === 0 || from < orders.length; from += max) {
      const chunk = orders.length <= max ? orders : orders.slice(from, from + max);
      calls.push(
        stepCall({
          chainId,
          trader,
          nowMs: params.now,
          limit: config.placeLimit,
          maxOpenOrders: config.maxOpenOrdersPerTrader,
          lockId: state.nextLockId(),
          ops: from === 0 ? ops : noOps,
          orders: chunk,
        }),
      );
      callInfo.push({ account, from, count: chunk.length });
    }
  };
  for (const [account, orders] of locks) addAccount(account, opsByAccount.get(account) ?? noOps, orders);
  for (const [account, ops] of opsByAccount) if (!locks.has(account)) addAccount(account, ops, noOrders);
  const started = performance.now();
  const settle = (): void => {
    for (const s of owed.settle) (params.deferSettle ? params.deferSettle.push(s) : s());
  };
  let replies;
  try {
    replies = calls.length > 0 ? await ctx.scripts.batch(calls) : [];
  } catch (error) {
    settle();
    throw error;
  }
  ctx.metrics.batchSeconds.observe({ stage: "ledger" }, (performance.now() - started) / 1000);
  const intakeCount = params.intake?.length ?? 0;
  const outcomes = new Map<AccountKey, LockOutcome[]>();
  for (const [account, orders] of locks) outcomes.set(account, new Array(orders.length));
  let failure: EngineError | undefined;
  replies.forEach((reply, c) => {
    if (!reply.ok) {
      const what = c < intakeCount ? "intake" : `ledger step of ${callInfo[c - intakeCount].account}`;
      failure ??= new EngineError("ENGINE_INVARIANT", `${what} failed: ${reply.error.message}`, { cause: reply.error });
      return;
    }
    if (c < intakeCount) return;
    const info = callInfo[c - intakeCount];
    const parsed = parseStepReply(reply.value, info.count);
    const list = outcomes.get(info.account);
    if (list) parsed.locks.forEach((o, j) => (list[info.from + j] = o));
  });
  settle();
  if (failure) throw failure;
  // Applied: the cursors advance, refused orders may leave their inbox.
  const moved = state.markApplied(owed);
  if (moved.length > 0) ctx.cursors.persist(moved.map((id) => [id, state.appliedCursor(id)]));
  return outcomes;
}

/** Applies everything owed and sends owed inbox discards; then runs the owed callbacks. */
export async function flush(ctx: EngineContext, now: number): Promise<void> {
  const deferred: (() => void)[] = [];
  const { state } = ctx;
  try {
    for (let guard = 0; state.hasOwed() || state.hasDiscards(); guard++) {
      if (guard > 10) throw new EngineError("ENGINE_INVARIANT", "flush does not converge");
      if (state.hasOwed()) await ledgerRound(ctx, { now, deferSettle: deferred });
      if (state.hasDiscards()) await matchStage(ctx, [], { now });
    }
  } finally {
    for (const s of deferred) s();
  }
}
