/**
 * Cancelling a trader's resting orders to fund its withdrawal (Settlement WithdrawalRequested:
 * the ledger holds what it can at once, operator/ledger requestWithdrawal, and answers what the
 * hold still misses). The chain watcher then calls cancelForWithdrawal with that shortfall:
 *   1. withdrawal.lua "status" (slot {t:chain:trader}) reads the hold's shortfall now and the
 *      trader's open orders on that chain locking the token (the open-order index + lock
 *      records: what each still locks);
 *   2. the book records of those orders give their arrival (receivedAt, then the market's
 *      sequence number): newest first, whole orders (the book never shrinks an order) are
 *      picked until what they lock covers min(amount, shortfall now);
 *   3. they are cancelled through the cancel path (./cancel.ts) with close reason WITHDRAWAL
 *      ("W" on the closed stream), without charging the trader's cancel bucket; the flush that
 *      follows unlocks their remainders, which top the hold up (step.lua) before anything
 *      becomes available.
 * It runs as an engine task, alone (no batch in flight), so the orders listed are resting. The
 * shortfall is read again when the task runs, so a late or repeated call cancels nothing more
 * than the hold still misses (fills and closes since the request may have topped it up), and
 * nothing at all without a pending request. What the orders cannot cover (funds in pendingOut,
 * spent by matched fills not yet settled) stays missing: `uncovered`.
 */
import { getWithdrawal, type LockingOrder } from "../ledger/withdrawals";
import type { Address, Hex } from "../orders";
import { processCancel } from "./cancel";
import type { EngineContext } from "./context";
import { EngineError } from "./errors";
import { bookKeys } from "./keys";
import { flush } from "./ledgerRound";
import { decodeOrderRecord } from "./record";

const ADDRESS_RE = /^0x[0-9a-f]{40}$/;

export interface CancelForWithdrawalParams {
  /** The chain whose Settlement emitted the request. */
  chainId: number;
  trader: Address;
  token: Address;
  /** Atoms to free for the hold: requestWithdrawal's shortfall. */
  amount: bigint;
}

export interface CancelForWithdrawalResult {
  chainId: number;
  trader: Address;
  token: Address;
  /** What the cancels had to cover: min(amount, the hold's shortfall when the task ran). */
  needed: bigint;
  /** Orders cancelled (close reason WITHDRAWAL), newest first, with what each unlocked. */
  cancelled: { orderHash: Hex; market: number; locked: bigint; remainingAmount: bigint }[];
  /**
   * Orders locking the token that were needed but left open: in a market this engine does not
   * serve (MARKET_NOT_SERVED), not resting (NOT_RESTING), or refused by the cancel path (its code).
   */
  notCancelled: { orderHash: Hex; market: number; locked: bigint; code: string }[];
  /** What the cancelled orders could not cover (needed - what they unlocked, at least 0). */
  uncovered: bigint;
  /** The hold and its shortfall once the remainders were unlocked. */
  hold: bigint;
  shortfall: bigint;
}

interface Candidate extends LockingOrder {
  receivedAt: number;
  seq: number;
}

export async function processCancelForWithdrawal(ctx: EngineContext, params: CancelForWithdrawalParams): Promise<CancelForWithdrawalResult> {
  const trader = String(params.trader).toLowerCase() as Address;
  const token = String(params.token).toLowerCase() as Address;
  const chainId = params.chainId;
  if (!ADDRESS_RE.test(trader) || !ADDRESS_RE.test(token)) throw new EngineError("ENGINE_BAD_REQUEST", "trader and token must be addresses", { details: { trader, token } });
  if (typeof params.amount !== "bigint" || params.amount < 0n) throw new EngineError("ENGINE_BAD_REQUEST", "amount must be a non-negative bigint", { details: { amount: params.amount } });
  if (!ctx.markets.chainIds.includes(chainId)) {
    throw new EngineError("ENGINE_BAD_REQUEST", `the engine serves no market on chain ${chainId}`, { details: { chainId, chains: ctx.markets.chainIds } });
  }
  const ledger = { scripts: ctx.scripts };

  // ---- 1. the hold's shortfall now, and the orders locking the token
  const before = await getWithdrawal(ledger, { chainId, trader, token });
  const needed = before.shortfall < params.amount ? before.shortfall : params.amount;
  const result: CancelForWithdrawalResult = { chainId, trader, token, needed, cancelled: [], notCancelled: [], uncovered: needed, hold: before.hold, shortfall: before.shortfall };
  if (needed === 0n) return result;

  // ---- 2. newest first: receivedAt, then the market's arrival sequence
  const candidates: Candidate[] = [];
  const skipped: CancelForWithdrawalResult["notCancelled"] = [];
  const byMarket = new Map<number, LockingOrder[]>();
  for (const o of before.orders) {
    if (ctx.markets.byId(o.market)?.chainId !== chainId) {
      skipped.push({ ...o, code: "MARKET_NOT_SERVED" });
      continue;
    }
    const list = byMarket.get(o.market) ?? [];
    list.push(o);
    byMarket.set(o.market, list);
  }
  const markets = [...byMarket.keys()];
  const records = await Promise.all(markets.map((id) => ctx.deps.redis.hmgetBuffer(bookKeys(id).orders, ...byMarket.get(id)!.map((o) => o.orderHash))));
  markets.forEach((id, i) => {
    byMarket.get(id)!.forEach((o, j) => {
      const buf = records[i][j];
      const rec = buf ? decodeOrderRecord(buf) : null;
      if (rec === null || rec.state !== "o") skipped.push({ ...o, code: "NOT_RESTING" });
      else candidates.push({ ...o, receivedAt: rec.receivedAt, seq: rec.seq });
    });
  });
  candidates.sort((a, b) => b.receivedAt - a.receivedAt || b.seq - a.seq || b.market - a.market || (a.orderHash < b.orderHash ? 1 : -1));

  // ---- 3. cancel whole orders until they cover what is needed (a refused one: the next)
  let covered = 0n;
  let next = 0;
  while (covered < needed && next < candidates.length) {
    const picked: Candidate[] = [];
    for (let sum = covered; sum < needed && next < candidates.length; next++) {
      picked.push(candidates[next]);
      sum += candidates[next].locked;
    }
    const cancel = await processCancel(ctx, { trader, chainId, orderHashes: picked.map((o) => o.orderHash) }, { rateLimited: false, reason: "W" });
    if (cancel.status !== "done") throw new EngineError("ENGINE_INVARIANT", `cancel refused without a rate limit: ${cancel.code}`);
    cancel.results.forEach((r, i) => {
      const o = picked[i];
      if (r.status === "cancelled") {
        result.cancelled.push({ orderHash: o.orderHash, market: o.market, locked: o.locked, remainingAmount: r.remainingAmount });
        covered += o.locked;
      } else {
        result.notCancelled.push({ orderHash: o.orderHash, market: o.market, locked: o.locked, code: r.code });
      }
    });
  }
  // Orders that could have helped but were left aside, when the cancelled ones fall short.
  if (covered < needed) result.notCancelled.push(...skipped);
  result.uncovered = covered < needed ? needed - covered : 0n;

  // The remainders are unlocked now (rather than by the flush ending the task), so the answer
  // shows the hold they topped up.
  if (result.cancelled.length > 0) await flush(ctx, ctx.deps.clock());
  const after = await getWithdrawal(ledger, { chainId, trader, token });
  result.hold = after.hold;
  result.shortfall = after.shortfall;
  ctx.deps.logger.info(
    { chainId, trader, token, needed: needed.toString(), cancelled: result.cancelled.length, uncovered: result.uncovered.toString(), shortfall: after.shortfall.toString() },
    "orders cancelled for a withdrawal",
  );
  return result;
}
