/**
 * The settler of one chain: takes the fills of the chain's markets from the journal (a durable
 * consumer, "settler"), builds settleBatch batches that fit the chain's gas budget, persists
 * each batch's intent before it goes anywhere, and hands it to the chain's signer.
 *
 * A round (one iteration of its loop, never two at once):
 *  1. An intent persisted but not handed to the signer yet (a crash or a failed hand-over) is
 *     handed over first: batches go out in batch-id order, which the signer's nonces keep.
 *  2. Fills left out for good are unwound in the ledger (./outcomes.ts).
 *  3. Nothing is built while the contract is paused, or while `maxInFlight` of the signer's
 *     transactions are in flight (the HyperEVM mempool takes 8 nonces per sender).
 *  4. New fills are read from the journal after the settler's position, per market; fills to
 *     retry (skipped with a retryable reason, or in a batch that reverted) go first.
 *  5. A batch is built once the queue holds as many fills as the gas model fits in the budget,
 *     or its oldest fill has waited `maxWaitMs`. It is simulated (eth_estimateGas); too big, it
 *     shrinks; a fill that alone cannot fit, or whose orders are gone, is left out with a reason
 *     and unwound, never allowed to block the queue.
 *  6. The intent, the fills' records, the settler's journal positions and its next batch id
 *     are persisted in one MULTI (./intents.ts); then the journal cursor (retention) is saved;
 *     then the signer gets the transaction (it persists it before broadcasting).
 *
 * The contract's nextBatchId is the truth about what settled: at start the settler compares its
 * intents with it (./recovery in `recover`), and a batch is final only when the chain watcher
 * reports its BatchSettled (./outcomes.ts). A batch whose transaction reverted sends its fills,
 * and those of every later batch (they cannot settle before it), back to the queue, and the
 * next batch reuses its id.
 */
import type { Logger } from "../log";
import { loadCursor, readFills, registerConsumer, saveCursor, type ConsumerSpec } from "../journal";
import type { Market } from "../markets";
import type { Registry } from "../metrics";
import type { Address, Hex } from "../orders";
import type { RedisClient } from "../redis/client";
import { createLoop, type Loop, type LoopHint, type LoopStatus } from "../tasks";
import { settleBatchAbi } from "./abi";
import { BatchEncodingError } from "./batchEncoding";
import { buildBatch, calldataBytes, loadSignedOrders, type BuiltBatch } from "./builder";
import { createGasModel, walletHeadroom, BATCH_OVERHEAD_GAS, GAS_LIMIT_MARGIN_FIXED, MAX_CALLDATA_BYTES, type GasModel } from "./gasModel";
import { execOrThrow, loadOpenIntents, loadSettlerState, markSent, newIntent, persistDropsOnly, persistIntent, type BatchIntent } from "./intents";
import { settleKeys } from "./keys";
import { settlementMetrics, type SettlementMetrics } from "./metrics";
import { decodeFillRecord, settleFillOf, type DroppedFill, type SettleFill } from "./records";
import { applySettlementEvents, unwindDropped, type AppliedOutcomes, type OutcomeDeps, type SettlementEvent } from "./outcomes";
import { RecordedOrders } from "./recorded";
import { simulateBatch, type SimulationClient } from "./simulate";
import type { ScriptRunner } from "../redis/scripts";
import { NO_FAILPOINTS, type Failpoints } from "../failpoints";

/** The signer's side the settler needs (operator/chain/signer.ts). */
export interface SettlerSigner {
  readonly address: Address;
  /** Persists the transaction, then broadcasts it; resolves once it is persisted (with its nonce). */
  submit(request: { purpose: string; to: Address; data: Hex; gas: bigint }): Promise<{ nonce: number; hash: Hex; status?: string; maxFeePerGas?: bigint; maxPriorityFeePerGas?: bigint }>;
  /** Transactions sent and not final yet (shared by every purpose: settlement and epoch commits). */
  pending(): readonly { purpose: string; nonce: number; hash: Hex; status?: string }[];
  /** `inFlight`: transactions sent and not mined yet (what the mempool limit counts). */
  status(): { inFlight: number };
  /** The outcome of a nonce's transaction the signer already finished (a purpose submitted again returns it). */
  record?(nonce: number): Promise<{ status: string; outcome?: { result: "success" | "reverted" } } | undefined>;
}

export interface SettlerChainClient extends SimulationClient {
  readContract(args: { address: Address; abi: typeof settleBatchAbi; functionName: "nextBatchId" | "pausedUntil" }): Promise<unknown>;
}

export interface SettlerDeps {
  redis: RedisClient;
  /** The ledger's scripts (operator/ledger createLedger): settled and skipped fills resolve there. */
  scripts: ScriptRunner;
  logger: Logger;
  metrics: Registry;
  client: SettlerChainClient;
  signer: SettlerSigner;
  clock?: { now(): number };
  /** Crash injection for the fault tests (operator/failpoints). */
  failpoints?: Failpoints;
}

export interface SettlerParams {
  chainId: number;
  settlementAddress: Address;
  /** The chain's fee account (Settlement's fee recipient). */
  feeAccount: Address;
  /** The chain's markets. */
  markets: readonly Market[];
  /** Gas a batch may use (its gas limit at most). */
  gasBudget: number;
  /** A fill waits at most this long for its batch to fill up. */
  maxWaitMs: number;
  /**
   * Batches start at least this far apart unless one is full (the RPC budget: a batch costs a
   * few requests). Default 0. The daemon derives it from the chain's requests per minute.
   */
  minBatchIntervalMs?: number;
  /** Transactions of the chain's signer in flight, at most (the mempool's per-sender limit). */
  maxInFlight: number;
  /**
   * Batches sent and not mined, at most. Default 2: a small block holds one batch, so a second
   * one waiting in the mempool is enough to fill the next block the moment the first is mined,
   * and it can still be simulated (against the pending block, which holds the first); a third
   * could only be sized by the gas model, blind, and would wait anyway.
   */
  maxBatchesInFlight?: number;
  /** The loop's period when idle. Default 100 ms. */
  intervalMs?: number;
  /** A fill skipped with a retryable reason is tried in this many batches at most. Default 3. */
  maxTries?: number;
  /** Journal consumer name. Default "settler". */
  consumerName?: string;
  /** Gas per fill the model starts from. */
  initialGasPerFill?: number;
}

export interface SettlerStatus {
  chainId: number;
  recovered: boolean;
  /** The batch id built next. */
  nextBatchId: string | null;
  queuedFills: number;
  retryFills: number;
  openBatches: number;
  inFlight: number;
  pausedUntil: number | null;
  gasPerFill: number;
  lastBatchAt: number | null;
  loop: LoopStatus;
}

export interface Settler {
  start(): void;
  stop(): Promise<void>;
  /** Run a round now (new fills, a batch reverted, a retry queued). */
  wake(): void;
  status(): SettlerStatus;
  /** The signer's report on a transaction of this settler (./outcomes.ts applies the chain's events). */
  onTransaction(tx: { purpose: string; status: "success" | "reverted"; gasUsed?: bigint; hash: Hex }): Promise<void>;
  /** Applies the chain watcher's confirmed settlement events (./outcomes.ts). */
  applyEvents(events: readonly SettlementEvent[]): Promise<AppliedOutcomes>;
  /** Orders the chain has recorded (fed by confirmed Filled events): sent without signature. */
  readonly recorded: RecordedOrders;
  readonly model: GasModel;
  readonly loop: Loop;
}

const PURPOSE_PREFIX = "settle:";
const GAS_MARGIN_FIXED = Number(GAS_LIMIT_MARGIN_FIXED);
const READ_PAGE = 2_000;
/** Shrinking rounds of one batch before it is built with what the model says. */
const MAX_SHRINKS = 4;

/**
 * The signer's purpose of a batch's transaction: "settle:<batchId>:<calldata hash, 16 hex>",
 * and ":r<attempt>" after it for a batch id rebuilt after `attempt` reverted transactions.
 * One transaction per purpose, ever (the signer's rule). A batch rebuilt under the same id
 * after a revert often has other calldata, but not always (the same fills, none recorded:
 * the same calldata): the attempt keeps its purpose its own.
 */
export function settlePurpose(batchId: bigint, calldataHash: Hex, attempt = 0): string {
  return `${PURPOSE_PREFIX}${batchId}:${calldataHash.slice(2, 18)}${attempt > 0 ? `:r${attempt}` : ""}`;
}

export function batchIdOfPurpose(purpose: string): bigint | undefined {
  const m = /^settle:(\d+):[0-9a-f]{16}(?::r\d+)?$/.exec(purpose);
  return m === null ? undefined : BigInt(m[1]);
}

function purposeOf(intent: BatchIntent): string {
  return settlePurpose(intent.batchId, intent.calldataHash, intent.attempt);
}

export function createSettler(deps: SettlerDeps, params: SettlerParams): Settler {
  const { redis, logger, signer } = deps;
  const clock = deps.clock ?? { now: () => Date.now() };
  const failpoints = deps.failpoints ?? NO_FAILPOINTS;
  const chainId = params.chainId;
  const chain = String(chainId);
  const keys = settleKeys(chainId);
  const metrics: SettlementMetrics = settlementMetrics(deps.metrics);
  const maxTries = params.maxTries ?? 3;
  const consumer: ConsumerSpec = { name: params.consumerName ?? "settler", mode: "durable", streams: ["fills"] };
  const marketsById = new Map(params.markets.map((m) => [m.id, m]));
  const model = createGasModel(params.initialGasPerFill);
  const recorded = new RecordedOrders(100_000);
  const budget = BigInt(params.gasBudget);

  let recovered = false;
  let next: bigint | undefined;
  /** Per market: last fill counter taken into a persisted intent (the truth is in Redis). */
  const taken = new Map<number, number>();
  /** Per market: last fill counter read into the queue. */
  const readTo = new Map<number, number>();
  /** Per market: fills read and not taken yet, in counter order. */
  const queues = new Map<number, SettleFill[]>();
  /** Fills to retry, with the batch they were in last (for their orders' payloads). */
  let retries: { fill: SettleFill; batchId: bigint }[] = [];
  let retriesDirty = true;
  let unsent: BatchIntent | undefined;
  let open = 0;
  let pausedUntil = 0;
  /**
   * While paused, when to ask the chain again: a guardian may lift the pause before it expires
   * (unpause), and no event the settler follows says so. A re-check is one simulation; it is
   * spaced like batches (minBatchIntervalMs: the RPC budget), at least a second apart.
   */
  let pauseCheckAt = 0;
  const pauseRecheckMs = Math.max(1_000, params.minBatchIntervalMs ?? 0);
  let lastBatchAt: number | null = null;
  /** After a reverted batch the next ones are smaller for a while. */
  let sizeCap = Number.MAX_SAFE_INTEGER;

  const queuedCount = () => [...queues.values()].reduce((n, q) => n + q.length, 0);
  /** Sent and not mined: a batch that is not full waits while one is (it would only queue behind it in the next block). */
  const inFlight = () => signer.status().inFlight;
  /** This settler's transactions sent and not mined (the signer's pending ones of purpose settle:*). */
  const unminedBatches = () => signer.pending().filter((t) => t.purpose.startsWith(PURPOSE_PREFIX) && t.status !== "mined").length;

  async function recover(): Promise<void> {
    const state = await loadSettlerState(redis, chainId);
    const chainNext = (await deps.client.readContract({ address: params.settlementAddress, abi: settleBatchAbi, functionName: "nextBatchId" })) as bigint;
    if (state.next === undefined) {
      next = chainNext;
    } else if (state.next < chainNext) {
      logger.error(
        { chainId, redisNext: state.next.toString(), chainNext: chainNext.toString() },
        "the chain settled batches this settler has no record of (Redis lost data?): continuing from the chain's next batch id",
      );
      next = chainNext;
    } else {
      next = state.next;
    }
    for (const market of params.markets) {
      let ctr = state.cursors.get(market.id);
      if (ctr === undefined) {
        const saved = await loadCursor(redis, market.id, consumer.name);
        ctr = saved?.fill ?? (await registerConsumer(redis, market.id, consumer, "start")).fill;
      } else {
        await registerConsumer(redis, market.id, consumer, "start");
      }
      taken.set(market.id, ctr);
      readTo.set(market.id, ctr);
      queues.set(market.id, []);
    }
    const intents = await loadOpenIntents(redis, chainId);
    const pendingPurposes = new Map(signer.pending().map((p) => [p.purpose, p]));
    unsent = undefined;
    for (const intent of intents) {
      if (intent.status !== "built" && intent.status !== "sent") continue;
      const tx = pendingPurposes.get(purposeOf(intent));
      if (intent.status === "built" && tx !== undefined) {
        await markSent(redis, chainId, intent.batchId, { nonce: tx.nonce, txHash: tx.hash, sentAt: clock.now() });
        continue;
      }
      if (intent.batchId < chainNext) continue; // settled on chain: the watcher brings its events
      if (intent.status === "built" || tx === undefined) {
        // Never handed over, or the signer has no record of it: hand it over (again). The batch
        // id makes a second copy harmless: only one can settle.
        if (unsentQueue.length > 0) logger.warn({ chainId, batchId: intent.batchId.toString() }, "more than one batch intent was never sent; sending them in order");
        unsentQueue.push(intent);
      }
    }
    unsent = unsentQueue.shift();
    open = intents.filter((i) => i.status === "built" || i.status === "sent").length;
    metrics.open.set({ chain }, open);
    retriesDirty = true;
    recovered = true;
    logger.info(
      { chainId, nextBatchId: next.toString(), chainNextBatchId: chainNext.toString(), openBatches: open, toSend: unsent === undefined ? 0 : 1 + unsentQueue.length },
      "settler recovered its state",
    );
  }
  const unsentQueue: BatchIntent[] = [];

  async function loadRetries(): Promise<void> {
    if (!retriesDirty) return;
    retriesDirty = false;
    const all = await redis.hgetall(keys.retry);
    retries = Object.entries(all)
      .map(([id, text]) => {
        const r = decodeFillRecord(id, text);
        return { fill: r.fill, batchId: r.batchId };
      })
      .sort((a, b) => a.fill.matchedAt - b.fill.matchedAt);
  }

  async function readNewFills(): Promise<void> {
    for (const market of params.markets) {
      const queue = queues.get(market.id)!;
      if (queue.length >= READ_PAGE) continue;
      const from = readTo.get(market.id)!;
      const fills = await readFills(redis, market.id, from, from + READ_PAGE);
      for (const f of fills) queue.push(settleFillOf(market, f));
      if (fills.length > 0) readTo.set(market.id, fills[fills.length - 1].fillCtr);
    }
    metrics.queue.set({ chain }, queuedCount() + retries.length);
  }

  /** Up to `n` fills: retries first, then the markets' queues merged by match time. */
  function pick(n: number): { fills: SettleFill[]; previous: Map<bigint, bigint>; retried: number } {
    const fills: SettleFill[] = [];
    const previous = new Map<bigint, bigint>();
    let retried = 0;
    for (const r of retries) {
      if (fills.length >= n) break;
      fills.push(r.fill);
      previous.set(r.fill.fillId, r.batchId);
      retried++;
    }
    const heads = new Map<number, number>([...queues.keys()].map((id) => [id, 0]));
    while (fills.length < n) {
      let best: number | undefined;
      for (const [id, i] of heads) {
        const q = queues.get(id)!;
        if (i >= q.length) continue;
        if (best === undefined || q[i].matchedAt < queues.get(best)![heads.get(best)!].matchedAt) best = id;
      }
      if (best === undefined) break;
      const i = heads.get(best)!;
      fills.push(queues.get(best)![i]);
      heads.set(best, i + 1);
    }
    return { fills, previous, retried };
  }

  function oldestAge(now: number): number {
    let oldest = Infinity;
    for (const r of retries) oldest = Math.min(oldest, r.fill.matchedAt);
    for (const q of queues.values()) if (q.length > 0) oldest = Math.min(oldest, q[0].matchedAt);
    return oldest === Infinity ? 0 : now - oldest;
  }

  async function handOver(intent: BatchIntent): Promise<void> {
    const purpose = purposeOf(intent);
    const tx = await signer.submit({ purpose, to: params.settlementAddress, data: intent.calldata, gas: intent.gasLimit });
    failpoints.hit("settle:after-broadcast");
    await markSent(redis, chainId, intent.batchId, { nonce: tx.nonce, txHash: tx.hash, maxFeePerGas: tx.maxFeePerGas, maxPriorityFeePerGas: tx.maxPriorityFeePerGas, sentAt: clock.now() });
    metrics.batches.inc({ chain, outcome: "sent" });
    logger.info({ chainId, batchId: intent.batchId.toString(), nonce: tx.nonce, tx: tx.hash, fills: intent.fillIds.length, gasLimit: intent.gasLimit.toString() }, "batch sent");
    if (tx.status === "confirmed" || tx.status === "failed") {
      // The signer had finished this batch's transaction before (a restart between its record
      // and ours): its outcome will not be reported again.
      const record = await signer.record?.(tx.nonce);
      if (tx.status === "failed" || record?.outcome?.result === "reverted") await onReverted(purpose, intent.batchId, tx.hash);
    }
  }

  /**
   * Builds, simulates and sizes a batch from the front of the queue: `{ wait }` when the round
   * should wait (paused, out of step with the chain), undefined when there is nothing to build.
   * `dropped` are fills left out for good (to unwind); `built.fills` may then be empty.
   */
  async function buildSized(
    batchId: bigint,
    n: number,
  ): Promise<{ built: BuiltBatch; dropped: DroppedFill[]; estimate: bigint; simulated: boolean } | { wait: number } | undefined> {
    let size = n;
    for (let attempt = 0; ; attempt++) {
      const { fills, previous } = pick(size);
      if (fills.length === 0) return undefined;
      const orders = await loadSignedOrders({ redis, chainId, recorded }, fills, previous);
      let built: BuiltBatch;
      try {
        built = buildBatch({ recorded }, batchId, fills, orders);
      } catch (error) {
        if (!(error instanceof BatchEncodingError)) throw error;
        // Two orders of one trader under one nonce (the contract would revert the batch), or a
        // field that does not fit: narrow down to the fill at fault and leave it out.
        if (fills.length === 1) return { built: emptyBuilt(batchId), dropped: [{ fill: fills[0], reason: `Operator:${error.code}` }], estimate: 0n, simulated: false };
        size = Math.max(1, Math.floor(fills.length / 2));
        continue;
      }
      const dropped: DroppedFill[] = built.missing.map((fill) => ({ fill, reason: "Operator:OrderPayloadMissing" }));
      if (built.fills.length === 0) return { built, dropped, estimate: 0n, simulated: false };
      const bytes = calldataBytes(built.calldata);
      if (bytes > MAX_CALLDATA_BYTES && fills.length > 1) {
        size = Math.max(1, Math.floor(((fills.length * MAX_CALLDATA_BYTES) / bytes) * 0.95));
        continue;
      }
      const sim = await simulateBatch(deps.client, { from: signer.address, to: params.settlementAddress, data: built.calldata });
      if (sim.kind !== "paused" && pausedUntil !== 0) {
        pausedUntil = 0;
        logger.info({ chainId }, "settlement is no longer paused on chain: batches go again");
      }
      if (sim.kind === "paused") {
        metrics.simulations.inc({ chain, result: "paused" });
        if (pausedUntil === 0) logger.warn({ chainId, until: new Date(Number(sim.until) * 1000).toISOString() }, "settlement is paused on chain: batches wait until the pause ends");
        pausedUntil = Number(sim.until) * 1000;
        pauseCheckAt = clock.now() + pauseRecheckMs;
        return { wait: Math.max(1_000, Math.min(pauseRecheckMs, pausedUntil - clock.now())) };
      }
      if (sim.kind === "outOfOrder") {
        if (sim.expected < batchId && open > 0) {
          // The node's state does not include the batches in flight: size by the model.
          metrics.simulations.inc({ chain, result: "unseen_in_flight" });
          const estimate = BigInt(Math.ceil(BATCH_OVERHEAD_GAS + model.perFill * built.fills.length * 1.15));
          if (estimate + walletHeadroom(built.walletOrders) > budget && built.fills.length > 1 && attempt < MAX_SHRINKS) {
            size = Math.max(1, Math.floor(fills.length * 0.8));
            continue;
          }
          return { built, dropped, estimate, simulated: false };
        }
        metrics.simulations.inc({ chain, result: "out_of_order" });
        logger.error({ chainId, expected: sim.expected.toString(), got: sim.got.toString() }, "the chain expects another batch id than the settler's");
        if (sim.expected > batchId) {
          next = sim.expected;
          await redis.hset(keys.state, "next", next.toString());
        }
        return { wait: 1_000 };
      }
      if (sim.kind === "outOfGas") {
        metrics.simulations.inc({ chain, result: "too_big" });
        if (fills.length === 1) {
          logger.warn({ chainId, fillId: fills[0].fillId.toString() }, "a fill alone needs more gas than a block holds: left out");
          return { built: emptyBuilt(batchId), dropped: [...dropped, { fill: fills[0], reason: "Operator:GasBudgetExceeded" }], estimate: 0n, simulated: false };
        }
        // More than the block's gas: the model was off for this mix; a little smaller.
        size = Math.max(1, Math.floor(fills.length * 0.92));
        continue;
      }
      if (sim.kind === "reverted") {
        metrics.simulations.inc({ chain, result: "reverted" });
        logger.error({ chainId, batchId: batchId.toString(), fills: built.fills.length, reason: sim.reason }, "a batch simulation reverted: narrowing it down");
        if (fills.length === 1) return { built: emptyBuilt(batchId), dropped: [...dropped, { fill: fills[0], reason: "Operator:SimulationReverted" }], estimate: 0n, simulated: false };
        size = Math.max(1, Math.floor(fills.length / 2));
        continue;
      }
      model.observe(sim.gas, built.fills.length);
      if (model.required(sim.gas, built.walletOrders) <= budget) {
        metrics.simulations.inc({ chain, result: "ok" });
        return { built, dropped, estimate: sim.gas, simulated: true };
      }
      metrics.simulations.inc({ chain, result: "too_big" });
      if (fills.length === 1) {
        if (sim.gas <= budget) return { built, dropped, estimate: sim.gas, simulated: true };
        logger.warn({ chainId, fillId: fills[0].fillId.toString(), gas: sim.gas.toString(), budget: params.gasBudget }, "a fill alone needs more gas than a batch may use: left out");
        return { built: emptyBuilt(batchId), dropped: [...dropped, { fill: fills[0], reason: "Operator:GasBudgetExceeded" }], estimate: 0n, simulated: false };
      }
      // Too big: shrink in proportion (keeping the margins) and simulate again.
      const room = Number(budget - walletHeadroom(built.walletOrders)) * 0.94 - GAS_MARGIN_FIXED - BATCH_OVERHEAD_GAS;
      const per = Math.max(1, (Number(sim.gas) - BATCH_OVERHEAD_GAS) / built.fills.length);
      size = Math.max(1, Math.min(fills.length - 1, Math.floor(room / per)));
    }
  }

  function emptyBuilt(batchId: bigint): BuiltBatch {
    return { batchId, fills: [], calldata: "0x", orderHashes: [], walletOrders: 0, missing: [] };
  }

  /** Takes `fills` (and `dropped`) out of the in-memory queues; returns the markets' new positions. */
  function takeOut(fills: readonly SettleFill[], dropped: readonly DroppedFill[]): Map<number, number> {
    const ids = new Set<bigint>([...fills.map((f) => f.fillId), ...dropped.map((d) => d.fill.fillId)]);
    retries = retries.filter((r) => !ids.has(r.fill.fillId));
    const moved = new Map<number, number>();
    for (const [market, queue] of queues) {
      let i = 0;
      while (i < queue.length && ids.has(queue[i].fillId)) i++;
      if (i === 0) continue;
      // pick() takes each market's queue from its head: what was taken is a prefix.
      moved.set(market, queue[i - 1].fillCtr);
      queues.set(market, queue.slice(i));
    }
    for (const [market, ctr] of moved) taken.set(market, ctr);
    return moved;
  }

  async function saveJournalCursors(markets: Iterable<number>): Promise<void> {
    for (const market of markets) {
      try {
        await saveCursor(redis, market, consumer, { fill: taken.get(market)!, close: 0, accepted: 0 });
      } catch (error) {
        // Retention only: the settler's true position is in its own state (already persisted).
        logger.warn({ err: error, chainId, market }, "could not save the settler's journal cursor; retention holds entries a little longer");
      }
    }
  }

  async function round(): Promise<LoopHint | void> {
    if (!recovered) await recover();
    // 1. Batches persisted and not handed over, in order.
    while (unsent !== undefined) {
      await handOver(unsent);
      unsent = unsentQueue.shift();
    }
    // 2. Fills left out: unwind (./outcomes.ts does the ledger side; here only the trigger).
    if (dropsPending) await flushDrops();
    const now = clock.now();
    // Paused: wait until the pause ends or it is time to ask again (the next batch's simulation does).
    if (pausedUntil > now && now < pauseCheckAt) return { delayMs: Math.min(pauseCheckAt, pausedUntil) - now };
    if (inFlight() >= params.maxInFlight) return;
    if (unminedBatches() >= (params.maxBatchesInFlight ?? 2)) return;
    await loadRetries();
    await readNewFills();
    const total = queuedCount() + retries.length;
    if (total === 0) return;
    const target = Math.min(sizeCap, model.fillsFor(params.gasBudget));
    const age = oldestAge(now);
    // When to build (a HyperEVM small block holds one batch):
    //  - a full batch is queued: at once (up to maxInFlight transactions in flight);
    //  - nothing of ours waits to be mined, and the RPC budget's spacing has passed: now, with
    //    what is queued (it goes into the next block, and the fills matched meanwhile into the
    //    one after: one batch per block, each as full as the load makes it);
    //  - otherwise once the oldest fill has waited maxWaitMs.
    const spacingLeft = lastBatchAt === null ? 0 : lastBatchAt + (params.minBatchIntervalMs ?? 0) - now;
    const idle = inFlight() === 0 && spacingLeft <= 0;
    if (total < target && !idle && age < params.maxWaitMs) {
      return { delayMs: Math.max(10, Math.min(params.intervalMs ?? 100, params.maxWaitMs - age, spacingLeft > 0 ? spacingLeft : Infinity)) };
    }

    const batchId = next!;
    const result = await buildSized(batchId, target);
    if (result === undefined) return;
    if ("wait" in result) return { delayMs: result.wait };
    const { built, dropped, estimate, simulated } = result;
    if (built.fills.length === 0) {
      const moved = takeOut([], dropped);
      await persistDropsOnly(redis, chainId, dropped, moved);
      for (const d of dropped) metrics.fills.inc({ chain, outcome: "skipped", reason: d.reason });
      await saveJournalCursors(moved.keys());
      dropsPending = true;
      return { again: true };
    }
    // A batch id reused after its transaction reverted: the new transaction needs a purpose of
    // its own (./intents.ts attempt).
    const [previousStatus, previousAttempt] = await redis.hmget(keys.intent(batchId), "status", "attempt");
    const attempt = previousStatus === "reverted" || previousStatus === "superseded" ? Number(previousAttempt ?? 0) + 1 : 0;
    const intent = newIntent({
      attempt,
      batchId,
      fillIds: built.fills.map((f) => f.fillId),
      orderHashes: built.orderHashes,
      calldata: built.calldata,
      // Simulated: the simulation plus margins. Sized by the model only: the whole budget
      // (unused gas is not paid; the block holds one batch anyway).
      gasLimit: simulated ? model.gasLimit(estimate, built.walletOrders, budget) : budget,
      estimate,
      simulated,
      walletOrders: built.walletOrders,
      createdAt: clock.now(),
    });
    const moved = takeOut(built.fills, dropped);
    await persistIntent(redis, chainId, { intent, fills: built.fills, cursors: moved, dropped });
    next = batchId + 1n;
    open++;
    metrics.open.set({ chain }, open);
    metrics.batches.inc({ chain, outcome: "built" });
    for (const d of dropped) metrics.fills.inc({ chain, outcome: "skipped", reason: d.reason });
    if (dropped.length > 0) dropsPending = true;
    lastBatchAt = clock.now();
    await saveJournalCursors(moved.keys());
    unsent = intent;
    failpoints.hit("settle:after-intent");
    await handOver(intent);
    unsent = undefined;
    if (sizeCap < Number.MAX_SAFE_INTEGER) sizeCap = Math.min(Number.MAX_SAFE_INTEGER, sizeCap * 2);
    if (dropsPending) await flushDrops();
    const more = queuedCount() + retries.length;
    if (more > 0 && inFlight() < params.maxInFlight && unminedBatches() < (params.maxBatchesInFlight ?? 2)) return { again: true };
  }

  let dropsPending = true;
  const outcomeDeps: OutcomeDeps = { redis, scripts: deps.scripts, logger, metrics, clock, failpoints };
  const outcomeParams = { chainId, feeAccount: params.feeAccount, maxTries };
  async function flushDrops(): Promise<void> {
    dropsPending = false;
    try {
      await unwindDropped(outcomeDeps, outcomeParams);
    } catch (error) {
      dropsPending = true;
      throw error;
    }
  }

  /**
   * A batch's transaction reverted: it and every later batch go back to the queue; the next
   * batch reuses its id. Only the transaction of the batch's current intent counts: one of an
   * earlier attempt of the id, reported late, changes nothing.
   */
  async function onReverted(purpose: string, batchId: bigint, hash: Hex, gasUsed?: bigint): Promise<void> {
    const chainNext = (await deps.client.readContract({ address: params.settlementAddress, abi: settleBatchAbi, functionName: "nextBatchId" })) as bigint;
    if (chainNext > batchId) {
      logger.info({ chainId, batchId: batchId.toString(), tx: hash }, "a copy of a batch reverted after the batch settled: nothing to do");
      return;
    }
    const intents = (await loadOpenIntents(redis, chainId)).filter((i) => i.batchId >= batchId && (i.status === "built" || i.status === "sent"));
    const own = intents.find((i) => i.batchId === batchId);
    if (own === undefined || purposeOf(own) !== purpose) {
      logger.info({ chainId, batchId: batchId.toString(), purpose, tx: hash }, "a transaction of an earlier attempt of a batch reverted: nothing to do");
      return;
    }
    const multi = redis.multi();
    const back: { fill: SettleFill; batchId: bigint }[] = [];
    for (const intent of intents) {
      const ids = intent.fillIds.map(String);
      const records = ids.length > 0 ? await redis.hmget(keys.fills, ...ids) : [];
      const fresh: Record<string, string> = {};
      records.forEach((text, i) => {
        if (text === null) return;
        const r = decodeFillRecord(ids[i], text);
        if (r.batchId !== intent.batchId) return;
        fresh[ids[i]] = text;
        back.push({ fill: r.fill, batchId: intent.batchId });
      });
      if (Object.keys(fresh).length > 0) {
        multi.hset(keys.retry, fresh);
        multi.hdel(keys.fills, ...Object.keys(fresh));
      }
      const outcome = intent.batchId === batchId ? "reverted" : "superseded";
      multi.hset(keys.intent(intent.batchId), { status: outcome, finishedAt: String(clock.now()) });
      multi.expire(keys.intent(intent.batchId), 7 * 24 * 3600);
      multi.zrem(keys.open, intent.batchId.toString());
      metrics.batches.inc({ chain, outcome });
    }
    multi.hset(keys.state, "next", batchId.toString());
    await execOrThrow(multi);
    next = batchId;
    unsent = undefined;
    unsentQueue.length = 0;
    open = Math.max(0, open - intents.length);
    metrics.open.set({ chain }, open);
    retriesDirty = true;
    for (const b of back) metrics.fills.inc({ chain, outcome: "retried", reason: "BatchReverted" });
    sizeCap = Math.max(1, Math.floor(Math.max(...intents.map((i) => i.fillIds.length)) / 2));
    logger.warn(
      {
        chainId,
        batchId: batchId.toString(),
        tx: hash,
        gasUsed: gasUsed?.toString(),
        gasLimit: intents.find((i) => i.batchId === batchId)?.gasLimit.toString(),
        batches: intents.length,
        fills: back.length,
      },
      "a batch transaction reverted: its fills and those of the batches after it go into new batches, from the same batch id",
    );
    loop.wake();
  }

  const loop = createLoop(
    { logger, metrics: deps.metrics },
    // Short backoff: the RPC client's circuit breaker already keeps a dead node from being hammered.
    { name: `settler-${chainId}`, intervalMs: params.intervalMs ?? 100, run: round, backoff: { initialMs: 500, maxMs: 5_000 } },
  );

  const settler: Settler = {
    start: () => loop.start(),
    stop: () => loop.stop(),
    wake: () => loop.wake(),
    status: () => ({
      chainId,
      recovered,
      nextBatchId: next === undefined ? null : next.toString(),
      queuedFills: queuedCount(),
      retryFills: retries.length,
      openBatches: open,
      inFlight: inFlight(),
      pausedUntil: pausedUntil > clock.now() ? pausedUntil : null,
      gasPerFill: Math.round(model.perFill),
      lastBatchAt,
      loop: loop.status(),
    }),
    async onTransaction(tx) {
      const batchId = batchIdOfPurpose(tx.purpose);
      if (batchId === undefined) return;
      if (tx.status === "reverted") {
        await onReverted(tx.purpose, batchId, tx.hash, tx.gasUsed);
        return;
      }
      if (tx.gasUsed !== undefined) {
        const count = await redis.hget(keys.intent(batchId), "fills");
        const fills = count ? count.split(",").length : 0;
        if (fills > 0) {
          model.observe(tx.gasUsed, fills);
          metrics.gasPerFill.observe({ chain }, Number(tx.gasUsed) / fills);
        }
        await redis.hset(keys.intent(batchId), "gasUsed", tx.gasUsed.toString());
      }
    },
    async applyEvents(events) {
      const applied = await applySettlementEvents(outcomeDeps, outcomeParams, events);
      for (const hash of applied.recordedOrders) recorded.add(hash);
      if (applied.batches.length > 0) {
        open = Math.max(0, open - applied.batches.length);
        metrics.open.set({ chain }, open);
      }
      if (applied.retried.length > 0) retriesDirty = true;
      if (applied.batches.length > 0 || applied.retried.length > 0) loop.wake();
      return applied;
    },
    recorded,
    model,
    loop,
  };
  return settler;
}
