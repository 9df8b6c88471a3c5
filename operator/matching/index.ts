/**
 * The matching engine: the API the HTTP layer calls.
 *
 *   const engine = await createEngine({ redis, logger, clock?, metrics? }, { markets, feeAccounts | feeAccount, rateLimits?, maxOpenOrdersPerTrader? })
 *
 * Markets may settle on several chains: an order locks funds in its market's chain's ledger
 * (an account is a trader on one chain), and fees go to that chain's fee account.
 *
 * Placement and cancels
 *   placeOrders(engine, requests: PlaceOrderRequest[]) -> PlaceOrderResult[]   (same order as requests)
 *     accepted: { status: "accepted", orderHash, market, seq, fills, filledAmount, remainingAmount,
 *                 state: "open" | "filled" | "cancelled", closeReason? ("IOC_REMAINDER") }
 *     rejected: { status: "rejected", orderHash, code, message, details } with code one of
 *       MARKET_UNKNOWN, INVALID_ORDER, and the market checks of operator/markets
 *       checkOrderForMarket (MARKET_MISMATCH, FLAGS_*, PRICE_ZERO, PRICE_OFF_TICK,
 *       PRICE_ABOVE_MAX, AMOUNT_ZERO, AMOUNT_OFF_LOT, AMOUNT_BELOW_MIN, AMOUNT_ABOVE_MAX,
 *       FEE_CAP_TOO_LOW, ORDER_EXPIRED: the API's codes; nothing written); RATE_LIMITED,
 *       NONCE_BELOW_MINIMUM (the nonce is below
 *       the trader's minimum, see setMinNonce), DUPLICATE_ORDER, NONCE_CANCELLED (cancelled on
 *       chain before any known order used it, see cancelNonce), TOO_MANY_OPEN_ORDERS (the
 *       trader holds maxOpenOrdersPerTrader open orders; IOC orders are exempt), INSUFFICIENT_FUNDS
 *       (ledger, checked in that order: nothing written but the rate bucket);
 *       POST_ONLY_WOULD_CROSS, MARKET_HALTED, ORDER_EXPIRED (market: the lock is undone).
 *     The caller must have verified the signature over orderHash (the engine does not).
 *     Many concurrent calls are merged into one batch: call it per request, it batches (and
 *     runs the Redis-free checks at call time). It resolves once the order's fills and closes
 *     are applied to the ledgers, so balances read afterwards include them.
 *     Throws EngineError ENGINE_UNAVAILABLE when Redis failed mid-batch (outcome unknown:
 *     query getOrder before resubmitting); ENGINE_STOPPED after stopEngine.
 *   cancelOrders(engine, { trader, orderHashes, chainId? } | { trader, market, all: true }) -> CancelOrdersResult
 *     { status: "done", results: per order { status: "cancelled", remainingAmount } or
 *       { status: "rejected", code: NOT_ORDER_OWNER | ORDER_NOT_FOUND | ORDER_NOT_OPEN } }
 *     or { status: "rejected", code: RATE_LIMITED | MARKET_UNKNOWN } for the whole request.
 *     Cancel-all lists only the orders it cancelled. Remainders are unlocked when it resolves.
 *   sweepExpired(engine, { market?, limit? }) -> number of expired resting orders closed.
 *   setMinNonce(engine, { chainId?, trader, minNonce }) -> { chainId, minNonce, raised, cancelled, notCancelled }
 *     records the trader's minimum nonce on a chain (Settlement.raiseMinNonce; only raises, idempotent):
 *     later orders below it are refused NONCE_BELOW_MINIMUM, and its open orders below it are
 *     cancelled through the cancel path (no cancel rate limit), their remainders unlocked when
 *     it resolves. The chain watcher calls it on MinNonceRaised (./minNonce.ts).
 *   cancelNonce(engine, { chainId, trader, nonce }) -> { chainId, trader, nonce, orderHash, recorded, order }
 *     NonceCancelled: cancels the order that used the nonce (close reason CANCELLED, no cancel
 *     rate limit), or records the nonce so that a later order with it is refused
 *     NONCE_CANCELLED; idempotent (./cancelNonce.ts).
 *   cancelForWithdrawal(engine, { chainId, trader, token, amount }) -> { needed, cancelled, notCancelled, uncovered, hold, shortfall, ... }
 *     after the ledger's requestWithdrawal: cancels the trader's resting orders on that chain
 *     locking `token`, newest first, whole orders, until they cover min(amount, what the hold
 *     misses now), close reason WITHDRAWAL, no cancel rate limit; their remainders top up the
 *     hold before it resolves (./withdrawal.ts).
 *
 * Reads
 *   getOrder(engine, { orderHash, market? }) -> OrderView | null
 *   getBook(engine, { market, depth? }) -> { bids, asks }: aggregated levels { price, amount }, best first
 *
 *   recover(engine) -> RecoveryReport (createEngine runs it unless recoverOnStart is false)
 *   stopEngine(engine): drains the queue, persists cursors.
 *
 * What does not go through the engine's queue lives elsewhere: deposits, balances and
 * settlement outcomes in operator/ledger (creditDeposit, getBalances, settleFills /
 * unwindFills), the halt switch in operator/markets (haltMarket / resumeMarket: a halted market
 * refuses new orders, MARKET_HALTED, and still takes cancels), the journal in operator/journal.
 *
 * Design notes: price-time priority at the maker's price; partial fills across levels; IOC
 * remainders are closed, post-only orders never take; self-trade prevention "expire maker"
 * (a taker meeting its own resting order closes that order and keeps matching); cancel is
 * O(1) with lazy deletion (tombstones in the level list); at most maxFillsPerCall fills per
 * script call, the engine calls again to continue (the taker is never left resting crossed).
 * Redis layout: ./keys.ts (book), ../journal/keys.ts (journal), ../ledger/keys.ts (ledger, rate
 * limits), ../markets/keys.ts. Crash safety: ./recovery.ts, ./journalOps.ts, ./place.ts.
 * Structure: ./engine.ts owns the context (./context.ts) and the queue (./queue.ts); the
 * stages receive the context and change the engine's state only through ./state.ts.
 *
 * Performance notes (measure with scripts/bench/engineProfile.ts; PROFILE_CALLGRIND=1 counts
 * Redis instructions per script, which a shared machine cannot distort). Per order the engine
 * costs Redis about one ledger step (one per trader per batch), a share of one intake and one
 * match call per market per batch, and the Node work around them. What matters in Lua is the
 * number of redis.call (10-50k instructions each, XADD the dearest) and of allocations, far
 * more than arithmetic: match.lua reads and writes each book key once per call (deferred
 * writes, level windows, binary order records), step.lua reads and writes the account once
 * (lock records live in it; the open-order index changes only when a lock comes or goes) and
 * the fee account gets one fee operation per market per batch. On the Node side script calls
 * are encoded for the wire in one pass (../redis/resp.ts) and arguments are passed in parts.
 */
import type { Address, Hex } from "../orders";
import { processCancel, processSweep } from "./cancel";
import { MatchingEngine } from "./engine";
import type { EngineConfig, EngineDeps } from "./context";
import { processCancelNonce, type CancelNonceParams, type CancelNonceResult } from "./cancelNonce";
import { processSetMinNonce, type SetMinNonceParams, type SetMinNonceResult } from "./minNonce";
import { processCancelForWithdrawal, type CancelForWithdrawalParams, type CancelForWithdrawalResult } from "./withdrawal";
import { queryBook, queryOrder } from "./queries";
import { recoverEngine, type RecoveryReport } from "./recovery";
import type { BookSnapshot, CancelOrdersResult, CancelRequest, OrderView, PlaceOrderRequest, PlaceOrderResult } from "./types";

export type * from "./types";
export { MatchingEngine } from "./engine";
export { ENGINE_CONSUMER, type EngineConfig, type EngineDeps, type EngineContext } from "./context";
export { EngineError, type EngineErrorCode } from "./errors";
export type { RecoveryReport } from "./recovery";
export type { SetMinNonceParams, SetMinNonceResult } from "./minNonce";
export type { CancelNonceParams, CancelNonceResult } from "./cancelNonce";
export type { CancelForWithdrawalParams, CancelForWithdrawalResult } from "./withdrawal";
export { bookKeys, fillIdOf, BOOK_KEYSPACE, type BookKeys } from "./keys";
export { alignMarketEpoch, epochOfArrival, epochOfFill, openMarketEpoch, orderSequence, sealMarketEpoch, splitOrderSequence, type SealedRange } from "./epochs";
export { encodeOrderPayload, decodeOrderPayload, type OrderPayload } from "./payload";
export { decodeOrderRecord, type OrderRecord } from "./record";
export { ENGINE_SCRIPTS } from "./scripts";

/** Loads scripts, registers markets, recovers from whatever a previous run left in Redis. */
export async function createEngine(deps: EngineDeps, config: EngineConfig): Promise<MatchingEngine> {
  const engine = new MatchingEngine(deps, config);
  await engine.init();
  if (config.recoverOnStart !== false) await recoverEngine(engine.ctx);
  return engine;
}

export function placeOrders(engine: MatchingEngine, requests: readonly PlaceOrderRequest[]): Promise<PlaceOrderResult[]> {
  return engine.enqueuePlace(requests);
}

export function cancelOrders(engine: MatchingEngine, request: CancelRequest): Promise<CancelOrdersResult> {
  return engine.enqueueTask("cancel", () => processCancel(engine.ctx, request));
}

export function sweepExpired(engine: MatchingEngine, params: { market?: number; limit?: number } = {}): Promise<number> {
  return engine.enqueueTask("sweep", () => processSweep(engine.ctx, params));
}

export function setMinNonce(engine: MatchingEngine, params: SetMinNonceParams): Promise<SetMinNonceResult> {
  return engine.enqueueTask("minNonce", () => processSetMinNonce(engine.ctx, params));
}

export function cancelNonce(engine: MatchingEngine, params: CancelNonceParams): Promise<CancelNonceResult> {
  return engine.enqueueTask("cancelNonce", () => processCancelNonce(engine.ctx, params));
}

export function cancelForWithdrawal(engine: MatchingEngine, params: CancelForWithdrawalParams): Promise<CancelForWithdrawalResult> {
  return engine.enqueueTask("cancelForWithdrawal", () => processCancelForWithdrawal(engine.ctx, params));
}

export function recover(engine: MatchingEngine): Promise<RecoveryReport> {
  return engine.enqueueTask("recover", () => recoverEngine(engine.ctx));
}

export function getOrder(engine: MatchingEngine, params: { orderHash: Hex; market?: number }): Promise<OrderView | null> {
  return queryOrder(engine.ctx, params);
}

export function getBook(engine: MatchingEngine, params: { market: number; depth?: number }): Promise<BookSnapshot> {
  return queryBook(engine.ctx, params);
}

/** The fee account of a chain the engine's markets settle on. */
export function feeAccountOf(engine: MatchingEngine, chainId: number): Address | undefined {
  return engine.ctx.config.feeAccounts.get(chainId);
}

export function stopEngine(engine: MatchingEngine): Promise<void> {
  return engine.stop();
}
