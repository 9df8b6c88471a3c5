/**
 * Time, as a loop sees it: a clock for timestamps and durations, and timers for its waits.
 * Both are dependencies so tests can drive a loop with a fake clock instead of sleeping.
 */

/** Milliseconds since the epoch (the same shape as operator/orders' Clock). */
export interface Clock {
  now(): number;
}

export interface Timers {
  /** Calls `callback` once after `ms` milliseconds; returns a handle for clearTimeout. */
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = { now: () => Date.now() };

export const systemTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
