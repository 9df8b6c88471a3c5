/**
 * The engine's work queue. Every job that writes to a book or applies journal entries runs
 * here, in arrival order. Throughput comes from batching, not concurrency: while a batch is in
 * Redis, new requests queue up, and consecutive placements merge into the next batch (up to
 * maxBatchOrders), so a busy engine makes two round trips (ledger round, match) for hundreds of
 * orders, and overlaps them across batches (see placePipeline).
 *
 * Tasks (cancels, sweeps, recovery) run alone: the owed ledger effects are flushed before and
 * after them. When the queue runs dry, the engine flushes what it owes at once, which also
 * resolves the placements waiting for their ledger effects.
 */
import type { EngineContext } from "./context";
import { EngineError } from "./errors";
import { flush } from "./ledgerRound";
import { finishBatch, prepareOrders, startLockPhase, type LockPhase, type PreparedOrder } from "./place";
import { resynchronise } from "./recovery";
import type { PlaceOrderRequest, PlaceOrderResult } from "./types";

type PlaceJob = { kind: "place"; requests: readonly PreparedOrder[]; resolve: (r: PlaceOrderResult[]) => void; reject: (e: unknown) => void };
type TaskJob = { kind: "task"; name: string; run: () => Promise<unknown>; resolve: (r: unknown) => void; reject: (e: unknown) => void };
type Job = PlaceJob | TaskJob;

export class WorkQueue {
  private readonly queue: Job[] = [];
  /** Set and cleared synchronously by drain, so a job queued as it exits starts a new one. */
  private active = false;
  private draining: Promise<void> = Promise.resolve();

  constructor(private readonly ctx: EngineContext) {}

  place(requests: readonly PlaceOrderRequest[]): Promise<PlaceOrderResult[]> {
    if (requests.length === 0) return Promise.resolve([]);
    // The checks and payload encoding run now, while Redis works on earlier batches.
    const prepared = prepareOrders(this.ctx, requests, this.ctx.deps.clock());
    return new Promise((resolve, reject) => {
      this.queue.push({ kind: "place", requests: prepared, resolve, reject });
      this.kick();
    });
  }

  task<T>(name: string, run: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ kind: "task", name, run, resolve: resolve as (r: unknown) => void, reject });
      this.kick();
    });
  }

  /** Resolves when nothing is queued, running or owed. */
  async idle(): Promise<void> {
    while (this.active) await this.draining;
  }

  private kick(): void {
    if (this.active) return;
    this.active = true;
    this.draining = this.drain();
  }

  /**
   * Runs until nothing is queued or owed. `active` is cleared by the finally of this very
   * function, in the tick the loop finds nothing to do: a job queued by a caller resumed from
   * that tick's resolutions then starts a new drain.
   */
  private async drain(): Promise<void> {
    const ctx = this.ctx;
    const state = ctx.state;
    try {
      while (this.queue.length > 0 || state.hasOwed() || state.hasDiscards()) {
        const need = state.takeResync();
        if (need) {
          const waiting = state.forgetVolatile();
          try {
            ctx.metrics.resyncs.inc({ reason: need.reason.split("+")[0] });
            await resynchronise(ctx, need);
          } catch (error) {
            // Still failing (Redis down?): fail the next job and try again before the one after.
            state.needResync(need.reason);
            for (const s of [...waiting, ...state.forgetVolatile()]) s();
            this.queue.shift()?.reject(unavailable(error));
            continue;
          }
          for (const s of waiting) s();
        }
        if (this.queue.length === 0) {
          // Idle: apply what is owed now (and resolve the batches waiting for it).
          try {
            await flush(ctx, ctx.deps.clock());
          } catch (error) {
            ctx.deps.logger.error({ err: String(error) }, "flush failed; resynchronising");
            state.needResync("flush failed");
          }
          continue;
        }
        if (this.queue[0].kind === "place") {
          await this.placePipeline();
          continue;
        }
        const job = this.queue.shift() as TaskJob;
        try {
          await flush(ctx, ctx.deps.clock());
          const result = await job.run();
          await flush(ctx, ctx.deps.clock());
          job.resolve(result);
        } catch (error) {
          if (error instanceof EngineError && error.code === "ENGINE_BAD_REQUEST") {
            // Refused before anything was written: nothing to resynchronise.
            job.reject(error);
            continue;
          }
          ctx.deps.logger.error({ err: String(error), task: job.name }, "task failed; resynchronising before the next job");
          state.needResync(`task ${job.name} failed`);
          // It ran: what it wrote before failing stands (a cancel may have closed some orders).
          job.reject(error instanceof EngineError && error.code !== "ENGINE_UNAVAILABLE" ? error : outcomeUnknown(error));
        }
      }
    } finally {
      this.active = false;
    }
  }

  /** Takes the next placement jobs, merged into one batch of at most maxBatchOrders. */
  private takePlaceJobs(): PlaceJob[] {
    const jobs: PlaceJob[] = [this.queue.shift() as PlaceJob];
    let count = jobs[0].requests.length;
    while (this.queue.length > 0 && this.queue[0].kind === "place" && count + (this.queue[0] as PlaceJob).requests.length <= this.ctx.config.maxBatchOrders) {
      const next = this.queue.shift() as PlaceJob;
      jobs.push(next);
      count += next.requests.length;
    }
    return jobs;
  }

  /**
   * Runs consecutive placement batches as a two-stage pipeline: batch k+1's intake and ledger
   * round go on the wire as soon as batch k's round has been answered, so Redis works on it
   * while the engine matches batch k and builds replies. Matches stay strictly in batch order
   * (each waits for the previous one), and so do ledger rounds (one connection, FIFO). The one
   * effect of the overlap: funds freed by batch k (a release, an IOC remainder, a price
   * improvement) become available to batch k+2 rather than k+1 — conservative, never an
   * over-commitment.
   */
  private async placePipeline(): Promise<void> {
    const ctx = this.ctx;
    const state = ctx.state;
    let tail: Promise<void> = Promise.resolve();
    while (this.queue.length > 0 && this.queue[0].kind === "place" && !state.pendingResync) {
      const jobs = this.takePlaceJobs();
      const prepared = jobs.length === 1 ? jobs[0].requests : jobs.flatMap((j) => j.requests);
      const fail = (error: unknown): void => {
        ctx.deps.logger.error({ err: String(error), orders: prepared.length }, "placement batch failed; resynchronising before the next job");
        state.needResync("batch failed");
        const e = asEngineError(error);
        for (const j of jobs) j.reject(e);
      };
      let phase: LockPhase;
      try {
        phase = startLockPhase(ctx, prepared);
      } catch (error) {
        // Nothing was sent: the batch was not applied.
        fail(error);
        break;
      }
      // From here on the batch's writes are on the wire: a failure leaves its outcome unknown.
      const failSent = (error: unknown): void => fail(outcomeUnknown(error));
      tail = tail.then(async () => {
        try {
          const pending = state.pendingResync;
          if (pending && pending.reason !== "reconnected") throw new EngineError("ENGINE_UNAVAILABLE", "an earlier batch failed");
          const results = await finishBatch(ctx, phase);
          // Resolved once the batch's ledger effects are applied (a later round or a flush).
          state.whenApplied(() => {
            let offset = 0;
            for (const j of jobs) {
              j.resolve(results.slice(offset, offset + j.requests.length));
              offset += j.requests.length;
            }
          });
        } catch (error) {
          failSent(error);
        }
      });
      // One ledger round in flight at a time: the next batch goes out once this one answered.
      await phase.locks.catch(() => undefined);
    }
    await tail;
  }
}

function unavailable(cause: unknown): EngineError {
  return new EngineError("ENGINE_UNAVAILABLE", "the engine cannot reach a consistent state with Redis; retry later", { cause });
}

function asEngineError(error: unknown): EngineError {
  if (error instanceof EngineError) return error;
  return unavailable(error);
}

/** A failure after the batch's writes were sent: its orders may have been taken. */
function outcomeUnknown(cause: unknown): EngineError {
  if (cause instanceof EngineError && cause.code === "ENGINE_OUTCOME_UNKNOWN") return cause;
  return new EngineError(
    "ENGINE_OUTCOME_UNKNOWN",
    "Redis failed while the batch was being applied: its orders may have been taken and will then be matched; query them before sending anything new",
    { cause },
  );
}
