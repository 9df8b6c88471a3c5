/**
 * The per-chain signer and nonce manager: ONE per chain, shared by settlement and epoch
 * commits, so their transactions never race for a nonce.
 *
 *   submit(purpose, to, data, gas)
 *     1. one transaction per purpose: a purpose already recorded returns that transaction
 *     2. a slot: at most maxInFlight transactions between "sent" and "mined" (HyperEVM's
 *        mempool takes only the next 8 nonces of a sender); later submits wait, in order
 *     3. the node's fees, read now (./fees.ts)            <- a failure here uses no nonce
 *     4. the next nonce, signed, RECORDED in Redis         <- the record is the commitment
 *     5. broadcast; a failure here is retried by the tracking loop, never re-signed
 *   tracking loop "signer:<chainId>" (./signerTrack.ts): mined, confirmed, reorged, replaced.
 *
 * Restart: start() takes ownership of the keyspace (fencing out a stale instance), reloads
 * every record in flight, reads the key's "latest" and "pending" transaction counts, lets one
 * tracking pass resolve what the chain mined and re-broadcast the stored raw transactions of
 * the rest (including one recorded but never broadcast), and sets the next nonce to
 * max(recorded next, pending count, highest record + 1). A recorded transaction is never
 * re-signed at another nonce.
 *
 * Known limits: a reorg that un-mines a transaction puts it back in flight even if all slots
 * are taken (briefly more than maxInFlight); the tracking loop trusts one RPC endpoint (the
 * ChainRpc client budgets and retries it). Redis layout: ./signerKeys.ts.
 */
import { randomUUID } from "node:crypto";
import { keccak256 } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { ChainConfig } from "../config";
import { componentLogger } from "../log";
import type { Address } from "../orders/types";
import { createLoop, systemClock, type Loop } from "../tasks";
import { readFees, type FeePolicy, type Fees } from "./fees";
import { SignerError } from "./signerErrors";
import { signerKeys } from "./signerKeys";
import { initSignerSeries, signerMetrics, type SignerResult } from "./signerMetrics";
import { currentAttempt, purposeKind, type TxAttempt, type TxRecord } from "./signerRecord";
import { createOutcomes } from "./signerOutcomes";
import { createSignerStore } from "./signerStore";
import { sendAttempt, trackOnce, type Flight, type TrackContext } from "./signerTrack";
import type { Signer, SignerDeps, SignerParams, SignerStatus, SubmitRequest, SubmittedTx } from "./signerTypes";
import { assertSameCall, checkParams, checkRequest, confirmedView, consumedError, submittedView as view } from "./signerViews";

/** The signer parameters of a configured chain (fee floor and ceiling are not configurable yet). */
export function signerParams(chain: ChainConfig): SignerParams {
  return {
    chainId: chain.chainId,
    name: chain.name,
    privateKey: chain.operatorPrivateKey,
    confirmations: chain.confirmations,
    maxInFlight: chain.maxInFlightTxs,
    stuckAfterMs: chain.txStuckAfterMs,
    feeBumpBps: chain.feeBumpBps,
    pollIntervalMs: chain.pollIntervalMs,
  };
}

type State = "new" | "starting" | "running" | "stopped" | "fenced";

export function createSigner(deps: SignerDeps, params: SignerParams): Signer & { readonly loop: Loop } {
  const p = checkParams(params);
  const { client } = deps;
  // The one place the key is read: the account signs locally, the key never leaves it.
  const account = privateKeyToAccount(params.privateKey.reveal());
  const address = account.address as Address;
  const chainId = p.chainId;
  // The metrics' `chain` label is the chain id, like the RPC's and the watcher's.
  const chain = String(chainId);
  const clock = deps.clock ?? systemClock;
  const log = componentLogger(deps.logger, "signer").child({ chainId, chain: p.name, address });
  const metrics = deps.metrics === undefined ? undefined : signerMetrics(deps.metrics);
  if (metrics !== undefined) initSignerSeries(metrics, chain);
  const policy: FeePolicy = { minPriorityFeeWei: p.minPriorityFeeWei, maxFeePerGasWei: p.maxFeePerGasWei, feeBumpBps: p.feeBumpBps };
  const store = createSignerStore({ redis: deps.redis, logger: log }, { keys: signerKeys(chainId, address), owner: randomUUID(), keepSeconds: Math.ceil(p.keepConfirmedMs / 1000) });

  const flights = new Map<number, Flight>();
  const byPurpose = new Map<string, number>();
  const submitting = new Map<string, { request: SubmitRequest; promise: Promise<SubmittedTx> }>();
  const slotWaiters: { resolve(): void; reject(error: Error): void }[] = [];
  const outcomes = createOutcomes(log);
  let state: State = "new";
  let starting: Promise<void> | undefined;
  let next = 0;
  let reserved = 0;
  let replacements = 0;
  let lastError: string | null = null;
  let lastErrorAt: number | null = null;
  let lock: Promise<unknown> = Promise.resolve();
  let dirty = false;

  /** Nonce assignment and record creation, one at a time. */
  function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = lock.then(fn, fn);
    lock = run.catch(() => undefined);
    return run;
  }

  const unmined = (): number => reserved + [...flights.values()].filter((f) => f.rec.status === "sent").length;

  function changed(): void {
    while (slotWaiters.length > 0 && unmined() < p.maxInFlight) {
      reserved++;
      slotWaiters.shift()!.resolve();
    }
    metrics?.inFlight.set({ chain }, unmined());
  }

  function noteError(message: string): void {
    lastError = message;
    lastErrorAt = clock.now();
  }

  function count(purpose: string, result: SignerResult): void {
    metrics?.transactions.inc({ chain, purpose_kind: purposeKind(purpose), result });
  }

  async function sign(tx: Pick<TxRecord, "nonce" | "to" | "data" | "gas">, fees: Fees): Promise<TxAttempt> {
    const raw = await account.signTransaction({ type: "eip1559", chainId, nonce: tx.nonce, to: tx.to, data: tx.data, gas: tx.gas, value: 0n, ...fees });
    return { hash: keccak256(raw), raw, maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas, signedAt: clock.now() };
  }

  function finished(f: Flight): void {
    const rec = f.rec;
    flights.delete(rec.nonce);
    if (byPurpose.get(rec.purpose) === rec.nonce) byPurpose.delete(rec.purpose);
    if (rec.status === "confirmed") {
      count(rec.purpose, rec.outcome!.result);
      metrics?.confirmSeconds.observe({ chain }, Math.max(0, rec.outcome!.confirmedAt - rec.sentAt) / 1000);
    } else {
      count(rec.purpose, "nonce_consumed");
    }
    outcomes.settle(rec);
    changed();
  }

  const ctx: TrackContext = {
    client,
    address,
    log,
    clock,
    store,
    policy,
    confirmations: p.confirmations,
    stuckAfterMs: p.stuckAfterMs,
    flights,
    sign,
    nextNonce: () => next,
    raiseNext: (nonce) =>
      exclusive(async () => {
        next = await store.raiseNext(nonce);
      }),
    changed,
    finished,
    replaced: () => {
      replacements++;
      metrics?.replacements.inc({ chain });
    },
    error: noteError,
  };

  const loop = createLoop(
    { logger: log, metrics: deps.metrics, clock: deps.clock },
    {
      name: `signer:${chainId}`,
      intervalMs: p.pollIntervalMs,
      // The RPC client's circuit breaker keeps a dead node from being hammered (its requests
      // fail fast, unsent); the loop's own backoff stays short so that tracking resumes within
      // seconds of the node's return (30 s here held the in-flight slots that long again).
      backoff: { initialMs: 250, maxMs: 5_000 },
      run: async () => {
        if (state !== "running") return;
        try {
          if (dirty) await exclusive(loadRecords);
          await trackOnce(ctx);
        } catch (error) {
          if (error instanceof SignerError && error.code === "SIGNER_FENCED") fence(error);
          else noteError((error as Error).message.split("\n")[0]);
          throw error;
        } finally {
          changed();
        }
      },
    },
  );

  function fence(error: SignerError): void {
    if (state === "fenced") return;
    state = "fenced";
    noteError(error.message);
    log.error({ err: error }, "another signer instance took over this chain and key: this one stops signing");
    void loop.stop();
    rejectAll(error);
  }

  function rejectAll(error: Error): void {
    for (const w of slotWaiters.splice(0)) w.reject(error);
    outcomes.rejectAll(error);
  }

  /**
   * Loads the records in flight from Redis (those not in memory yet) and the recorded next
   * nonce. `dirty`: a write whose outcome is unknown (Redis failed mid-call) may have recorded
   * a transaction memory does not have; nothing is signed before this has run again.
   */
  async function loadRecords(): Promise<{ recorded: number; records: TxRecord[] }> {
    const records = await store.inFlight();
    const recorded = await store.raiseNext(0);
    for (const rec of records) {
      if (flights.has(rec.nonce)) continue;
      flights.set(rec.nonce, { rec, capped: false });
      byPurpose.set(rec.purpose, rec.nonce);
    }
    const afterRecords = records.length === 0 ? 0 : records[records.length - 1].nonce + 1;
    next = Math.max(next, recorded, afterRecords);
    dirty = false;
    return { recorded, records };
  }

  async function reconcile(): Promise<void> {
    await store.own();
    flights.clear();
    byPurpose.clear();
    next = 0;
    const [latest, pendingCount, { recorded, records }] = await Promise.all([
      client.getTransactionCount({ address, blockTag: "latest" }),
      client.getTransactionCount({ address, blockTag: "pending" }),
      loadRecords(),
    ]);
    if (pendingCount > next) {
      log.warn({ recorded, pendingCount }, "the node has more transactions of this key than the signer recorded: another sender, or lost records");
    }
    next = await store.raiseNext(Math.max(next, pendingCount));
    log.info({ nextNonce: next, latestCount: latest, pendingCount, inFlight: records.length }, "signer reconciled with Redis and the chain");
    state = "running";
    // Resolves what the chain mined while we were away; broadcasts the stored raw transactions of the rest.
    await trackOnce(ctx);
    changed();
  }

  async function ready(): Promise<void> {
    if (state === "starting") await starting;
    if (state === "running") return;
    if (state === "fenced") throw new SignerError("SIGNER_FENCED", "another signer instance took over this chain and key");
    if (state === "stopped") throw new SignerError("SIGNER_STOPPED", "the signer is stopped");
    throw new SignerError("SIGNER_NOT_STARTED", "call start() first");
  }

  async function acquireSlot(): Promise<void> {
    if (slotWaiters.length === 0 && unmined() < p.maxInFlight) {
      reserved++;
      metrics?.inFlight.set({ chain }, unmined());
      return;
    }
    await new Promise<void>((resolve, reject) => slotWaiters.push({ resolve, reject }));
  }

  /** The transaction already carrying this purpose, or the failed one it may take over from. */
  async function existing(request: SubmitRequest): Promise<{ tx?: SubmittedTx; failedNonce?: number }> {
    const inMemory = byPurpose.get(request.purpose);
    const rec = inMemory !== undefined ? flights.get(inMemory)?.rec : await recordOfPurpose(request.purpose);
    if (rec === undefined) return {};
    assertSameCall(rec, request);
    return rec.status === "failed" ? { failedNonce: rec.nonce } : { tx: view(rec) };
  }

  async function recordOfPurpose(purpose: string): Promise<TxRecord | undefined> {
    const holder = await store.holder(purpose);
    return holder === undefined ? undefined : store.read(holder);
  }

  /** Records a new transaction at the next nonce (under the lock); or the record that already carries its purpose. */
  async function recordNew(request: SubmitRequest, fees: Fees, takeOverFrom: number | undefined): Promise<Flight | TxRecord> {
    if (dirty) await loadRecords();
    const nonce = next;
    const attempt = await sign({ nonce, to: request.to, data: request.data, gas: request.gas }, fees);
    const rec: TxRecord = { nonce, purpose: request.purpose, to: request.to, data: request.data, gas: request.gas, attempts: [attempt], status: "sent", sentAt: attempt.signedAt, reorgs: 0 };
    let stored: TxRecord = rec;
    try {
      const created = await store.create(rec, takeOverFrom);
      if (!created.ok) {
        const holder = await store.read(created.holder);
        if (holder === undefined) throw new SignerError("SIGNER_BAD_RECORD", `purpose ${request.purpose} points to nonce ${created.holder}, which has no record`);
        // A write replayed after a reconnection answers "exists" with our own nonce: that is our record.
        if (created.holder !== nonce) return holder;
        stored = holder;
      }
    } catch (error) {
      if (error instanceof SignerError && error.code === "SIGNER_FENCED") throw error;
      // Unknown outcome (Redis failed mid-call): did our record land?
      const landed = await store.read(nonce).catch(() => undefined);
      if (landed === undefined || landed.purpose !== rec.purpose || currentAttempt(landed).hash !== attempt.hash) {
        // Not ours (or Redis still down): memory may be behind Redis; reload before the next nonce.
        dirty = true;
        throw error;
      }
      stored = landed;
    }
    next = nonce + 1;
    // `sending`: the loop leaves it to submit() to broadcast it first.
    const f: Flight = { rec: stored, capped: false, sending: true };
    flights.set(nonce, f);
    byPurpose.set(stored.purpose, nonce);
    reserved--;
    return f;
  }

  /**
   * Submits take their nonces in call order: the part up to the record runs one call after the
   * other (a caller that submits A then B without awaiting A still gets A's nonce first).
   */
  let submitTail: Promise<unknown> = Promise.resolve();
  /** Submits queued behind the one in progress (they wait for a slot too, in order). */
  let queuedSubmits = 0;
  function inOrder<T>(fn: () => Promise<T>): Promise<T> {
    queuedSubmits++;
    const start = () => {
      queuedSubmits--;
      return fn();
    };
    const run = submitTail.then(start, start);
    submitTail = run.catch(() => undefined);
    return run;
  }

  async function doSubmit(request: SubmitRequest): Promise<SubmittedTx> {
    let flight: Flight | undefined;
    const early = await inOrder(async (): Promise<SubmittedTx | undefined> => {
      const found = await existing(request);
      if (found.tx !== undefined) return found.tx;
      await acquireSlot();
      try {
        if (state !== "running") await ready();
        const fees = await readFees(client, policy).catch((error: Error) => {
          noteError(error.message);
          throw error;
        });
        const outcome = await exclusive(() => recordNew(request, fees, found.failedNonce));
        if (!("rec" in outcome)) {
          assertSameCall(outcome, request);
          return view(outcome);
        }
        flight = outcome;
        return undefined;
      } catch (error) {
        if (error instanceof SignerError && error.code === "SIGNER_FENCED") fence(error);
        throw error;
      } finally {
        if (flight === undefined) {
          reserved--;
          changed();
        }
      }
    });
    if (early !== undefined) return early;
    if (flight === undefined) throw new SignerError("SIGNER_BAD_RECORD", "a submit ended without a record");
    const { rec } = flight;
    const attempt = currentAttempt(rec);
    count(rec.purpose, "submitted");
    changed();
    log.info(
      { nonce: rec.nonce, hash: attempt.hash, purpose: rec.purpose, gas: rec.gas.toString(), maxFeePerGas: attempt.maxFeePerGas.toString(), maxPriorityFeePerGas: attempt.maxPriorityFeePerGas.toString() },
      "transaction recorded; broadcasting",
    );
    await sendAttempt(ctx, flight, attempt);
    return view(flight.rec);
  }

  return {
    address,
    chainId,
    loop,
    async start() {
      if (state === "running" || state === "starting") return starting;
      if (state === "fenced") throw new SignerError("SIGNER_FENCED", "another signer instance took over this chain and key");
      state = "starting";
      starting = reconcile().then(
        () => loop.start(),
        (error: unknown) => {
          state = "new";
          noteError((error as Error).message);
          throw error;
        },
      );
      return starting;
    },
    async stop() {
      if (state !== "fenced") state = "stopped";
      await loop.stop();
      rejectAll(new SignerError("SIGNER_STOPPED", "the signer stopped"));
    },
    async submit(request) {
      checkRequest(request);
      await ready();
      const current = submitting.get(request.purpose);
      if (current !== undefined) {
        const tx = await current.promise;
        assertSameCall(current.request, request);
        return tx;
      }
      const promise = doSubmit(request);
      submitting.set(request.purpose, { request, promise });
      try {
        return await promise;
      } finally {
        submitting.delete(request.purpose);
      }
    },
    async wait(nonce, options = {}) {
      await ready();
      if (!flights.has(nonce)) {
        const rec = await store.read(nonce);
        if (rec?.status === "confirmed") return confirmedView(rec);
        if (rec?.status === "failed") throw consumedError(rec);
        if (!flights.has(nonce)) throw new SignerError("SIGNER_UNKNOWN_NONCE", `no transaction of nonce ${nonce} is recorded`, { details: { nonce } });
      }
      return outcomes.wait(nonce, options.signal);
    },
    onConfirmed: (listener) => outcomes.onConfirmed(listener),
    onFailed: (listener) => outcomes.onFailed(listener),
    pending: () => [...flights.values()].map((f) => view(f.rec)).sort((a, b) => a.nonce - b.nonce),
    async record(nonce) {
      return flights.get(nonce)?.rec ?? store.read(nonce);
    },
    status(): SignerStatus {
      const now = clock.now();
      const all = [...flights.values()];
      const sent = all.filter((f) => f.rec.status === "sent");
      return {
        address,
        chainId,
        nextNonce: next,
        inFlight: sent.length,
        mined: all.length - sent.length,
        stuck: sent.filter((f) => f.capped || now - (f.since ?? currentAttempt(f.rec).signedAt) >= p.stuckAfterMs).length,
        atFeeCeiling: sent.filter((f) => f.capped).length,
        replacements,
        waitingForSlot: slotWaiters.length + queuedSubmits,
        lastError,
        lastErrorAt,
      };
    },
  };
}

