/**
 * A fake clock and timers for driving loops without sleeping: time moves only in advance(),
 * which fires due timers in order and lets the promise chains they start settle.
 */
import type { Clock, Timers } from "../../../operator/tasks";

/** Lets every pending promise continuation run (no I/O is involved). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export class FakeTime implements Clock, Timers {
  private t = Date.UTC(2025, 0, 1);
  private seq = 0;
  private readonly pending = new Map<number, { at: number; callback: () => void }>();

  now(): number {
    return this.t;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.pending.set(id, { at: this.t + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** Timers not yet fired. */
  get timerCount(): number {
    return this.pending.size;
  }

  /** A promise that resolves after `ms` of fake time (for run() bodies that take time). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }

  /** Moves time forward by `ms`, firing due timers in order, settling after each. */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    await settle();
    for (;;) {
      let next: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.pending) {
        if (entry[1].at <= target && (next === undefined || entry[1].at < next[1].at)) next = entry;
      }
      if (next === undefined) break;
      this.pending.delete(next[0]);
      this.t = next[1].at;
      next[1].callback();
      await settle();
    }
    this.t = target;
    await settle();
  }
}
