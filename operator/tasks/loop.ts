/**
 * A background loop of the daemon: runs `run()` again and again, never two iterations at once,
 * until stopped. The WebSocket ticker, expiry sweeping, the chain watcher, the settlement
 * batcher, epoch commits and the reconciler run on it. (After dYdX indexer
 * packages/base/src/tasks.ts: periodic loops never overlap; SIGTERM drains and exits cleanly.)
 *
 * Why not p-retry or the like: a retry library wraps ONE promise and retries it until it
 * succeeds, then returns. This is a loop that runs forever, whose waits (interval or backoff)
 * must be cut short from outside by stop() and wake(), and whose stop() must drain the
 * iteration in flight and abort its signal; a retry wrapper can do none of that from outside.
 *
 * Schedule
 *  - start(): the first iteration starts at once.
 *  - After a success, the next iteration starts `intervalMs` after this one STARTED (a steady
 *    cadence). If it took longer than that, the next one starts as soon as it ENDS: never two
 *    at once, and no burst to catch up.
 *  - run() may return a hint, for this once: `{ again: true }`: more work is waiting, run again
 *    at once (a batcher draining a backlog); `{ delayMs: n }`: run again n ms after this
 *    iteration ENDED, instead of on the interval. Returning nothing keeps the interval.
 *  - After a failure (run() threw or rejected), the next iteration starts after a backoff delay
 *    measured from the END of the failed one (./backoff.ts: exponential, capped, jittered), and
 *    a warning is logged. The first success after failures logs that the loop recovered and
 *    resets the backoff.
 *  - wake(): run now. It cuts an interval wait short; during an iteration, the next one starts
 *    as soon as this one ends. It does NOT cut a backoff short: a loop woken on every incoming
 *    event would otherwise hammer a dependency that is down.
 *  - stop(): no new iteration starts, a wait ends at once, the signal given to run() is
 *    aborted, and the promise resolves once the iteration in flight (if any) has finished.
 *    An iteration that throws after stop() is logged at info, counted as "aborted" (not as a
 *    failure) and not retried. stop() cannot force an iteration to end: run() must honour the
 *    signal or finish on its own. start() after stop() starts again (once the drain is over).
 *
 * Every wait goes through `timers`, even a zero one, so `{ again: true }` still yields to the
 * event loop between iterations.
 */
import type { Logger } from "../log";
import type { Registry } from "../metrics";
import { DEFAULT_BACKOFF, backoffDelay, type BackoffPolicy, type Jitter } from "./backoff";
import { TaskError } from "./errors";
import { initTaskSeries, taskMetrics, type IterationResult } from "./metrics";
import { systemClock, systemTimers, type Clock, type Timers } from "./timers";

/** What run() may return: see the header. */
export type LoopHint = { again: true } | { delayMs: number };

export type LoopRun = (signal: AbortSignal) => Promise<LoopHint | void> | LoopHint | void;

export interface LoopDeps {
  /** A component logger (e.g. componentLogger(root, "settlement")); lines also carry `task`. */
  logger: Logger;
  /** Where to record the task metrics (./metrics.ts); none when absent. */
  metrics?: Registry;
  clock?: Clock;
  timers?: Timers;
  /** A number in [0, 1) for the backoff jitter; Math.random when absent. */
  random?: () => number;
}

export interface LoopParams {
  /** The task name: the `task` of its logs, metrics and status. */
  name: string;
  /** Start-to-start period of healthy iterations, in ms; >= 0. */
  intervalMs: number;
  run: LoopRun;
  /** Defaults: initialMs 500, maxMs max(30 000, initialMs), jitter "equal". */
  backoff?: Partial<BackoffPolicy>;
}

/** A loop's state, for /health. Times are ms since the epoch by the loop's clock. */
export interface LoopStatus {
  name: string;
  /** Started and not stopped. */
  running: boolean;
  /** An iteration is in progress. */
  busy: boolean;
  /** Iterations finished, whatever their result. */
  iterations: number;
  /** Failed iterations in a row; 0 once one succeeds. */
  consecutiveFailures: number;
  /** Message of the last failure, kept after recovery (see lastErrorAt / lastSuccessAt). */
  lastError: string | null;
  lastErrorAt: number | null;
  lastSuccessAt: number | null;
  /** When the next iteration is due, while the loop waits; null otherwise. */
  nextRunAt: number | null;
  /** The current retry delay in ms; 0 when the last iteration succeeded. */
  backoffMs: number;
}

export interface Loop {
  readonly name: string;
  /** Starts the loop (first iteration at once); no-op if running. */
  start(): void;
  /** Stops the loop and drains it (see the header); idempotent, never rejects. */
  stop(): Promise<void>;
  /** Runs the next iteration now, unless the loop is backing off (see the header). */
  wake(): void;
  status(): LoopStatus;
}

type WaitKind = "interval" | "backoff";

interface Session {
  stopped: boolean;
  controller: AbortController;
  done: Promise<void>;
}

export function createLoop(deps: LoopDeps, params: LoopParams): Loop {
  const policy = checkParams(params);
  const task = params.name;
  const clock = deps.clock ?? systemClock;
  const timers = deps.timers ?? systemTimers;
  const random = deps.random ?? Math.random;
  const logger = deps.logger.child({ task });
  const metrics = deps.metrics === undefined ? undefined : taskMetrics(deps.metrics);
  if (metrics !== undefined) initTaskSeries(metrics, task);

  let session: Session | undefined;
  let busy = false;
  let wakeRequested = false;
  let wait: { kind: WaitKind; at: number; end(): void } | undefined;
  let iterations = 0;
  let failures = 0;
  let backoffMs = 0;
  let lastError: string | null = null;
  let lastErrorAt: number | null = null;
  let lastSuccessAt: number | null = null;
  let firstFailureAt: number | null = null;

  function sleep(ms: number, kind: WaitKind): Promise<void> {
    return new Promise<void>((resolve) => {
      let handle: unknown;
      const current = {
        kind,
        at: clock.now() + ms,
        end(): void {
          if (wait === current) wait = undefined;
          timers.clearTimeout(handle);
          resolve();
        },
      };
      wait = current;
      handle = timers.setTimeout(current.end, ms);
    });
  }

  function record(result: IterationResult, tookMs: number): void {
    iterations++;
    if (metrics === undefined) return;
    metrics.iterations.inc({ task, result });
    metrics.iterationSeconds.observe({ task }, tookMs / 1000);
    metrics.consecutiveFailures.set({ task }, failures);
    metrics.backoffSeconds.set({ task }, backoffMs / 1000);
    if (result === "ok" && lastSuccessAt !== null) metrics.lastSuccess.set({ task }, lastSuccessAt / 1000);
  }

  /** One iteration; returns the wait before the next, or undefined if the loop is to end. */
  async function iterate(s: Session): Promise<{ ms: number; kind: WaitKind } | undefined> {
    const startedAt = clock.now();
    busy = true;
    wakeRequested = false;
    let hint: LoopHint | void = undefined;
    let failed = false;
    let error: unknown;
    try {
      hint = await params.run(s.controller.signal);
    } catch (thrown) {
      failed = true;
      error = thrown instanceof Error ? thrown : new TaskError("TASK_NON_ERROR_THROWN", `run() threw a non-Error: ${String(thrown)}`, { cause: thrown });
    } finally {
      busy = false;
    }
    const endedAt = clock.now();
    const tookMs = Math.max(0, endedAt - startedAt);

    if (!failed) {
      if (failures > 0) {
        logger.info({ failures, downMs: Math.max(0, endedAt - (firstFailureAt ?? endedAt)) }, `${task} recovered after ${failures} failed iteration(s)`);
      }
      failures = 0;
      backoffMs = 0;
      firstFailureAt = null;
      lastSuccessAt = endedAt;
      record("ok", tookMs);
      return { ms: delayAfterSuccess(hint, tookMs), kind: "interval" };
    }
    if (s.stopped) {
      record("aborted", tookMs);
      logger.info({ err: error }, `${task} ended with an error while stopping`);
      return undefined;
    }
    failures++;
    firstFailureAt ??= startedAt;
    lastError = (error as Error).message;
    lastErrorAt = endedAt;
    backoffMs = backoffDelay(policy, failures, random);
    record("error", tookMs);
    logger.warn({ failures, retryInMs: backoffMs, err: error }, `${task} failed (${failures} in a row); retrying in ${backoffMs} ms`);
    return { ms: backoffMs, kind: "backoff" };
  }

  function delayAfterSuccess(hint: LoopHint | void, tookMs: number): number {
    if (hint !== undefined && hint !== null && typeof hint === "object") {
      if ("again" in hint && hint.again === true) return 0;
      if ("delayMs" in hint && Number.isFinite(hint.delayMs)) return Math.max(0, hint.delayMs);
    }
    return Math.max(0, params.intervalMs - tookMs);
  }

  async function loop(s: Session): Promise<void> {
    logger.debug(`${task} started`);
    while (!s.stopped) {
      const next = await iterate(s);
      if (next === undefined || s.stopped) break;
      // A wake() that came in while run() was finishing: honour it now (not during a backoff).
      const ms = next.kind === "interval" && wakeRequested ? 0 : next.ms;
      await sleep(ms, next.kind);
    }
    logger.debug(`${task} stopped`);
  }

  return {
    name: task,
    start() {
      if (session !== undefined && !session.stopped) return;
      // A restart while the previous run still drains begins once that run is over.
      const previous = session?.done ?? Promise.resolve();
      const s: Session = { stopped: false, controller: new AbortController(), done: previous };
      s.done = previous
        .then(() => loop(s))
        .catch((error: unknown) => logger.error({ err: error }, `${task} loop crashed`));
      session = s;
    },
    stop() {
      const s = session;
      if (s === undefined) return Promise.resolve();
      if (!s.stopped) {
        s.stopped = true;
        s.controller.abort();
        wait?.end();
      }
      return s.done;
    },
    wake() {
      if (session === undefined || session.stopped) return;
      if (wait?.kind === "interval") wait.end();
      else wakeRequested = true;
    },
    status() {
      return {
        name: task,
        running: session !== undefined && !session.stopped,
        busy,
        iterations,
        consecutiveFailures: failures,
        lastError,
        lastErrorAt,
        lastSuccessAt,
        nextRunAt: wait?.at ?? null,
        backoffMs,
      };
    },
  };
}

const JITTERS: readonly Jitter[] = ["equal", "full", "none"];

function checkParams(params: LoopParams): BackoffPolicy {
  const bad = (message: string): TaskError => new TaskError("TASK_BAD_PARAMS", message, { details: { task: params.name } });
  if (typeof params.name !== "string" || params.name.length === 0) throw bad("a loop needs a name");
  if (!Number.isFinite(params.intervalMs) || params.intervalMs < 0) throw bad(`intervalMs must be a finite number >= 0, got ${params.intervalMs}`);
  if (typeof params.run !== "function") throw bad("run must be a function");
  const initialMs = params.backoff?.initialMs ?? DEFAULT_BACKOFF.initialMs;
  const maxMs = params.backoff?.maxMs ?? Math.max(DEFAULT_BACKOFF.maxMs, initialMs);
  const jitter = params.backoff?.jitter ?? DEFAULT_BACKOFF.jitter;
  if (!Number.isFinite(initialMs) || initialMs <= 0) throw bad(`backoff.initialMs must be a finite number > 0, got ${initialMs}`);
  if (!Number.isFinite(maxMs) || maxMs < initialMs) throw bad(`backoff.maxMs must be finite and >= initialMs (${initialMs}), got ${maxMs}`);
  if (!JITTERS.includes(jitter)) throw bad(`backoff.jitter must be one of ${JITTERS.join(", ")}, got ${String(jitter)}`);
  return { initialMs, maxMs, jitter };
}
