/**
 * The demo's live progress line: orders, fills, fills and batches settled on chain, the
 * settler's queue and the settlement lag of the fills settled lately. On a terminal it is one
 * line rewritten every second (messages print above it); in a log (not a TTY, or CI) a line
 * every five seconds.
 */
import type { SettlerStatus } from "../../operator/settlement";
import type { RedisClient } from "../../operator/redis";
import { readCounters, ResultsTail } from "./settlement";
import { ms, percentile, sleep, type OrderStats } from "./stats";

export interface ProgressDeps {
  redis: RedisClient;
  chainId: number;
  settler: () => SettlerStatus;
  stats: OrderStats;
}

export class Progress {
  readonly live = process.stdout.isTTY === true && !process.env.CI;
  private readonly periodMs = this.live ? 1_000 : 5_000;
  private readonly tail: ResultsTail;
  private line = "";
  private running = false;
  private loop: Promise<void> | undefined;
  private started = Date.now();
  private lastLag = NaN;

  constructor(private readonly deps: ProgressDeps) {
    this.tail = new ResultsTail(deps.redis, deps.chainId);
  }

  start(): void {
    this.started = Date.now();
    this.running = true;
    this.loop = (async () => {
      // Skips what settled before the run (nothing, on a fresh stack).
      await this.tail.read();
      while (this.running) {
        await sleep(this.periodMs);
        if (!this.running) break;
        await this.tick().catch(() => undefined); // a progress line is best-effort
      }
    })();
  }

  /** Prints a message (above the live line on a terminal). */
  log(message: string): void {
    if (this.live && this.line !== "") process.stdout.write(`\r\x1b[K${message}\n${this.line}`);
    else console.log(message);
  }

  /** Stops the line (a last one is printed) and moves to a new line. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.loop;
    await this.tick().catch(() => undefined);
    if (this.live) process.stdout.write("\n");
    this.line = "";
  }

  private async tick(): Promise<void> {
    const { stats } = this.deps;
    const counters = await readCounters(this.deps.redis, this.deps.chainId);
    const { lags } = await this.tail.read();
    if (lags.length > 0) this.lastLag = percentile(lags.sort((a, b) => a - b), 50);
    const s = this.deps.settler();
    const seconds = Math.round((Date.now() - this.started) / 1000);
    const text =
      `  ${String(seconds).padStart(3)} s  orders ${stats.sent} (${stats.refusedTotal} refused)  fills ${stats.fills}` +
      `  settled ${counters.fillsSettled}${counters.fillsSkipped > 0 ? ` (+${counters.fillsSkipped} skipped)` : ""} in ${counters.batchesSettled} batches` +
      `  queue ${s.queuedFills + s.retryFills}, ${s.openBatches} batch${s.openBatches === 1 ? "" : "es"} open  lag p50 ${ms(this.lastLag)}`;
    if (this.live) {
      this.line = text;
      process.stdout.write(`\r\x1b[K${text}`);
    } else console.log(text);
  }
}
