/**
 * Signature verification on a pool of worker threads (one per core by default).
 *
 * verify() queues its orders; the pool packs queued orders, from any number of verify()
 * calls, into binary batches (./records) and keeps at most MAX_IN_FLIGHT batches per worker,
 * so a busy pool coalesces many small requests into few messages, and an idle one answers a
 * single order at once. Results come back in the order of the request.
 *
 * One pool serves one or more EIP-712 domains, one per chain (./domains). verify() maps each
 * request's chainId to a domain index, written in its record: workers hash each order in its
 * own domain, and a batch may mix chains. A request for a chain the pool does not serve (or
 * naming none when the pool has several) is answered DOMAIN_CHAIN_MISMATCH at once, without
 * reaching a worker.
 *
 * An order whose ECDSA check fails and whose trader has code is then checked with EIP-1271
 * on the main thread (./erc1271), by the checker of its chain (calls from that chain's
 * Settlement), if that chain has a client.
 *
 * A worker that dies takes its in-flight batches with it: every verify() call with an order
 * in them rejects with VERIFIER_WORKER_CRASHED (never hangs), and the worker is replaced.
 * close() stops intake, lets queued work finish, then stops the workers.
 */
import os from "node:os";
import type { Worker } from "node:worker_threads";
import { componentLogger } from "../../log";
import { VerifierError } from "../errors";
import type { Hex } from "../types";
import { createPoolDomains, erc1271ClientsByDomain } from "./domains";
import { codeLookupFailure, createErc1271Checker, describeRpcError, type Erc1271Checker } from "./erc1271";
import { createVerifierMetrics } from "./metrics";
import {
  EcdsaStatus,
  RESULT_BYTES,
  allocRecords,
  writeRecord,
  type VerifierWorkerData,
  type VerifyMessage,
  type WorkerMessage,
} from "./records";
import { spawnWorker } from "./spawn";
import type { VerifierPool, VerifierPoolDeps, VerifierPoolParams, VerifyRequest, VerifyResult } from "./types";
import { ecdsaFailure } from "./verdicts";

export type { VerifierPool, VerifierPoolDeps, VerifierPoolOptions, VerifierPoolParams, VerifierPoolStats, VerifyRequest, VerifyResult } from "./types";

/**
 * Test seam: `(pool as any)[kWorkers]()` lists the live Worker objects, so tests can make one
 * crash. Not exported from the package index; nothing in the daemon uses it.
 */
export const kWorkers = Symbol("verifierPool.workers");

/** Batches a worker may hold at once: one being verified, one waiting, so it never idles. */
const MAX_IN_FLIGHT = 2;
const RESTART_BACKOFF_MS = 250;
const RESTART_BACKOFF_MAX_MS = 30_000;
/** How long close() waits for starting workers before terminating them anyway. */
const START_WAIT_MS = 30_000;

interface Call {
  results: (VerifyResult | undefined)[];
  remaining: number;
  settled: boolean;
  resolve(results: VerifyResult[]): void;
  reject(error: VerifierError): void;
}

interface Item {
  call: Call;
  index: number;
  /** The order's domain index (./domains). */
  domain: number;
  request: VerifyRequest;
}

interface Slot {
  index: number;
  worker: Worker;
  ready: boolean;
  /** Settles once the worker has finished starting, whether it is then ready or dead. */
  started: Promise<void>;
  inFlight: Map<number, Item[]>;
  lastError?: unknown;
}

export function createVerifierPool(deps: VerifierPoolDeps, params: VerifierPoolParams): VerifierPool {
  const size = params.size ?? os.availableParallelism();
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`verifier pool size must be a positive integer, got ${size}`);
  const logger = componentLogger(deps.logger, "verifier");
  const maxQueued = params.maxQueuedOrders ?? 100_000;
  const maxPerMessage = params.maxOrdersPerMessage ?? 512;
  const timeoutMs = params.erc1271TimeoutMs ?? 2_000;
  const domains = createPoolDomains(params);
  // One checker per chain with a client, by domain index: each calls from its own Settlement.
  const erc1271: (Erc1271Checker | undefined)[] = erc1271ClientsByDomain(deps, domains).map((client, i) =>
    client === undefined
      ? undefined
      : createErc1271Checker(
          { client, logger: logger.child({ chainId: domains.list[i].chainId.toString(10) }) },
          { verifyingContract: domains.list[i].verifyingContract, timeoutMs, maxConcurrentRequests: params.erc1271Concurrency },
        ),
  );
  const metrics = deps.metrics === undefined ? undefined : createVerifierMetrics(deps.metrics);
  const workerData: VerifierWorkerData = {
    domains: domains.list.map((d) => ({ chainId: d.chainId.toString(10), verifyingContract: d.verifyingContract })),
  };

  let queue: Item[] = [];
  let queueHead = 0;
  let nextMessageId = 1;
  let pendingErc1271 = 0;
  let crashes = 0;
  let dispatchScheduled = false;
  let closing = false;
  let stopped = false;
  let closePromise: Promise<void> | undefined;
  let onIdle: (() => void) | undefined;
  let startupFailures = 0;
  const restartTimers = new Set<NodeJS.Timeout>();

  let everyoneReady: () => void = () => undefined;
  let startFailed: (error: VerifierError) => void = () => undefined;
  const readyPromise = new Promise<void>((resolve, reject) => {
    everyoneReady = resolve;
    startFailed = reject;
  });
  readyPromise.catch(() => undefined); // reported through ready() and the logs; never unhandled

  const slots: Slot[] = [];
  for (let i = 0; i < size; i++) slots.push(startSlot(i));

  // ---------------------------------------------------------------- workers

  function startSlot(index: number): Slot {
    const worker = spawnWorker(workerData);
    const started = new Promise<void>((resolve) => {
      worker.once("message", () => resolve()); // the first message is "ready"
      worker.once("exit", () => resolve());
    });
    const slot: Slot = { index, worker, ready: false, started, inFlight: new Map() };
    slot.worker.on("message", (message: WorkerMessage) => onWorkerMessage(slot, message));
    slot.worker.on("error", (error) => {
      slot.lastError = error;
    });
    slot.worker.on("exit", (exitCode) => onWorkerExit(slot, exitCode));
    return slot;
  }

  function onWorkerMessage(slot: Slot, message: WorkerMessage): void {
    if (message.kind === "ready") {
      slot.ready = true;
      startupFailures = 0;
      logger.debug({ worker: slot.index, keccak: message.keccak }, "verifier worker ready");
      if (slots.every((s) => s.ready)) everyoneReady();
      dispatch();
      return;
    }
    const items = slot.inFlight.get(message.id);
    if (items === undefined) return; // its batch was already failed
    slot.inFlight.delete(message.id);
    const results = Buffer.from(message.results);
    for (let k = 0; k < items.length; k++) {
      const item = items[k];
      if (item.call.settled) continue;
      const status = results[k * RESULT_BYTES] as EcdsaStatus;
      const orderHash = `0x${results.toString("hex", k * RESULT_BYTES + 1, (k + 1) * RESULT_BYTES)}` as Hex;
      const checker = erc1271[item.domain];
      if (status === EcdsaStatus.Ok) complete(item, { ok: true, orderHash, scheme: "ecdsa" });
      else if (checker !== undefined) checkWallet(checker, item, status, orderHash);
      else complete(item, ecdsaFailure(status, orderHash));
    }
    dispatch();
  }

  function onWorkerExit(slot: Slot, exitCode: number): void {
    if (stopped) return;
    crashes++;
    metrics?.crashes.inc();
    const wasReady = slot.ready;
    const lost = [...slot.inFlight.values()];
    slot.inFlight.clear();
    const orders = lost.reduce((n, items) => n + items.length, 0);
    const error = new VerifierError(
      "VERIFIER_WORKER_CRASHED",
      `signature verifier worker ${slot.index} exited (code ${exitCode}) with ${orders} orders in flight; they were not verified`,
      { cause: slot.lastError, details: { worker: slot.index, exitCode, orders } },
    );
    for (const items of lost) for (const item of items) fail(item.call, error);
    logger.error({ worker: slot.index, exitCode, orders, err: slot.lastError }, "verifier worker crashed; replacing it");
    if (wasReady) {
      slots[slot.index] = startSlot(slot.index);
    } else {
      // It died while starting: a bad build or a missing native module. Retrying at once
      // would spin; back off, and tell whoever awaits ready().
      startupFailures++;
      startFailed(new VerifierError("VERIFIER_START_FAILED", `signature verifier worker ${slot.index} failed to start`, { cause: slot.lastError }));
      const delay = Math.min(RESTART_BACKOFF_MAX_MS, RESTART_BACKOFF_MS * 2 ** Math.min(startupFailures - 1, 10));
      const timer = setTimeout(() => {
        restartTimers.delete(timer);
        if (!stopped) slots[slot.index] = startSlot(slot.index);
      }, delay);
      restartTimers.add(timer);
      if (!slots.some((s) => s.ready)) failQueued(new VerifierError("VERIFIER_START_FAILED", "no verifier worker could start"));
    }
    dispatch();
  }

  // ---------------------------------------------------------------- dispatch

  function scheduleDispatch(): void {
    if (dispatchScheduled) return;
    dispatchScheduled = true;
    // setImmediate, not now: orders verify()'d by every request handled in this turn of the
    // event loop go out together.
    setImmediate(() => {
      dispatchScheduled = false;
      dispatch();
    });
  }

  function dispatch(): void {
    fillWorkers();
    maybeIdle(); // orders refused while encoding may have been the last ones
  }

  function fillWorkers(): void {
    for (;;) {
      dropSettledHead();
      const queued = queue.length - queueHead;
      if (queued === 0) return;
      let target: Slot | undefined;
      let freeSlots = 0;
      for (const slot of slots) {
        if (!slot.ready || slot.inFlight.size >= MAX_IN_FLIGHT) continue;
        freeSlots += MAX_IN_FLIGHT - slot.inFlight.size;
        if (target === undefined || slot.inFlight.size < target.inFlight.size) target = slot;
      }
      if (target === undefined) return;
      // Spread what is queued over the free capacity, within [1, maxPerMessage].
      const take = Math.min(maxPerMessage, Math.ceil(queued / freeSlots));
      send(target, takeItems(take));
    }
  }

  function takeItems(n: number): Item[] {
    const items: Item[] = [];
    while (items.length < n && queueHead < queue.length) {
      const item = queue[queueHead++];
      if (!item.call.settled) items.push(item);
    }
    if (queueHead > 4096 && queueHead * 2 > queue.length) {
      queue = queue.slice(queueHead);
      queueHead = 0;
    }
    return items;
  }

  function dropSettledHead(): void {
    while (queueHead < queue.length && queue[queueHead].call.settled) queueHead++;
  }

  function send(slot: Slot, candidates: Item[]): void {
    if (candidates.length === 0) return;
    const records = allocRecords(candidates.length);
    const items: Item[] = [];
    for (const item of candidates) {
      try {
        if (!writeRecord(records, items.length, item.request.order, item.request.signature, item.domain)) {
          complete(item, { ok: false, code: "SIGNATURE_MALFORMED", message: "the signature is not hex" });
          continue;
        }
      } catch (error) {
        // Only an order that skipped ../codec gets here: a field outside its Solidity type.
        complete(item, { ok: false, code: "INVALID_FIELD", message: `the order cannot be encoded: ${(error as Error).message}` });
        continue;
      }
      items.push(item);
    }
    if (items.length === 0) return;
    const id = nextMessageId++;
    slot.inFlight.set(id, items);
    const message: VerifyMessage = { kind: "verify", id, count: items.length, records: records.buffer as ArrayBuffer };
    slot.worker.postMessage(message, [records.buffer as ArrayBuffer]);
  }

  // ---------------------------------------------------------------- results

  function checkWallet(checker: Erc1271Checker, item: Item, status: EcdsaStatus, orderHash: Hex): void {
    if (item.call.settled) return; // its call already failed: spare the RPC
    pendingErc1271++;
    const { order, signature } = item.request;
    const run = async (): Promise<VerifyResult> => {
      let hasCode: boolean;
      try {
        hasCode = await checker.hasCode(order.trader);
      } catch (error) {
        return { ...codeLookupFailure(order.trader, timeoutMs, error), orderHash };
      }
      if (!hasCode) return ecdsaFailure(status, orderHash);
      const verdict = await checker.isValidSignature({ wallet: order.trader, digest: orderHash, signature });
      return verdict.ok ? { ok: true, orderHash, scheme: "erc1271" } : { ...verdict, orderHash };
    };
    run()
      .catch((error: unknown): VerifyResult => {
        logger.error({ error: describeRpcError(error) }, "EIP-1271 check failed unexpectedly");
        return { ok: false, code: "ERC1271_UNAVAILABLE", message: "the smart-wallet check failed", orderHash };
      })
      .then((result) => {
        pendingErc1271--;
        complete(item, result);
        maybeIdle();
      });
  }

  function complete(item: Item, result: VerifyResult): void {
    const call = item.call;
    if (call.settled) return;
    metrics?.orders.inc({ result: result.ok ? result.scheme : result.code });
    call.results[item.index] = result;
    if (--call.remaining === 0) {
      call.settled = true;
      call.resolve(call.results as VerifyResult[]);
    }
  }

  function fail(call: Call, error: VerifierError): void {
    if (call.settled) return;
    call.settled = true;
    call.reject(error);
  }

  function failQueued(error: VerifierError): void {
    for (let i = queueHead; i < queue.length; i++) fail(queue[i].call, error);
    queue = [];
    queueHead = 0;
  }

  // ---------------------------------------------------------------- lifecycle

  function isIdle(): boolean {
    dropSettledHead();
    return queue.length === queueHead && pendingErc1271 === 0 && slots.every((s) => s.inFlight.size === 0);
  }

  function maybeIdle(): void {
    metrics?.queued.set(queue.length - queueHead);
    if (onIdle !== undefined && isIdle()) onIdle();
  }

  function verify(batch: readonly VerifyRequest[]): Promise<VerifyResult[]> {
    if (closing) return Promise.reject(new VerifierError("VERIFIER_CLOSED", "the signature verifier is closed"));
    if (batch.length === 0) return Promise.resolve([]);
    if (startupFailures > 0 && !slots.some((s) => s.ready)) {
      return Promise.reject(new VerifierError("VERIFIER_START_FAILED", "no verifier worker is running; see the logs"));
    }
    if (queue.length - queueHead + batch.length > maxQueued) {
      return Promise.reject(
        new VerifierError("VERIFIER_OVERLOADED", `more than ${maxQueued} orders are waiting for signature verification`),
      );
    }
    return new Promise<VerifyResult[]>((resolve, reject) => {
      const call: Call = { results: new Array(batch.length), remaining: batch.length, settled: false, resolve, reject };
      let queued = 0;
      for (let index = 0; index < batch.length; index++) {
        const request = batch[index];
        const domain = domains.indexOf(request.chainId);
        const item: Item = { call, index, domain, request };
        if (domain < 0) {
          complete(item, domains.mismatch(request.chainId)); // may resolve the call, if it was the last
        } else {
          queue.push(item);
          queued++;
        }
      }
      if (queued === 0) return;
      metrics?.queued.set(queue.length - queueHead);
      scheduleDispatch();
    });
  }

  function close(): Promise<void> {
    if (closePromise !== undefined) return closePromise;
    closing = true;
    closePromise = (async () => {
      if (!slots.some((s) => s.ready) && startupFailures > 0) {
        failQueued(new VerifierError("VERIFIER_START_FAILED", "no verifier worker could start"));
      }
      if (!isIdle()) await new Promise<void>((resolve) => (onIdle = resolve));
      stopped = true;
      for (const timer of restartTimers) clearTimeout(timer);
      restartTimers.clear();
      // Never terminate a worker that is still loading its native modules: node-addon-api
      // turns a napi call failing in a terminating thread into a fatal error of the whole
      // process. An idle, started worker is safe to terminate.
      await waitAtMost(Promise.all(slots.map((s) => s.started)), START_WAIT_MS);
      await Promise.all(slots.map((s) => s.worker.terminate()));
      logger.debug({ crashes }, "verifier pool closed");
    })();
    return closePromise;
  }

  const pool: VerifierPool & { [kWorkers]: () => Worker[] } = {
    [kWorkers]: () => slots.map((s) => s.worker),
    size,
    ready: () => readyPromise,
    verify,
    close,
    stats: () => ({
      workers: slots.length,
      readyWorkers: slots.filter((s) => s.ready).length,
      queuedOrders: queue.length - queueHead,
      inFlightBatches: slots.reduce((n, s) => n + s.inFlight.size, 0),
      pendingErc1271,
      crashes,
    }),
  };
  return pool;
}

async function waitAtMost(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
