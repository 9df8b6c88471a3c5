/**
 * Retry delays after consecutive failures: exponential, capped, jittered.
 *
 *   base(n) = min(maxMs, initialMs * 2^(n-1))        n = consecutive failures, n >= 1
 *
 * then, with r = random() in [0, 1):
 *   "equal" (the default): base/2 + r * base/2  — never less than half the base, so a failing
 *                           dependency is not retried at once, yet loops that fail together
 *                           spread out instead of retrying in lockstep;
 *   "full":                r * base              — the widest spread (may retry almost at once);
 *   "none":                base                  — exact delays (tests, or a single loop).
 *
 * Results are whole milliseconds in [0, maxMs].
 */
export type Jitter = "equal" | "full" | "none";

export interface BackoffPolicy {
  /** Base delay after the first failure, in ms; > 0. */
  initialMs: number;
  /** Cap of the base delay, in ms; >= initialMs. */
  maxMs: number;
  jitter: Jitter;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 30_000, jitter: "equal" };

/** The base (un-jittered) delay after `failures` consecutive failures. */
export function backoffBase(policy: BackoffPolicy, failures: number): number {
  // 2^30 * initialMs is past any sane cap already; the clamp keeps the product finite.
  const exponent = Math.min(Math.max(failures, 1) - 1, 30);
  return Math.min(policy.maxMs, policy.initialMs * 2 ** exponent);
}

/** The delay before the next attempt after `failures` consecutive failures. */
export function backoffDelay(policy: BackoffPolicy, failures: number, random: () => number): number {
  const base = backoffBase(policy, failures);
  const r = Math.min(Math.max(random(), 0), 1);
  switch (policy.jitter) {
    case "none":
      return Math.round(base);
    case "full":
      return Math.round(r * base);
    case "equal":
      return Math.round(base / 2 + (r * base) / 2);
  }
}
