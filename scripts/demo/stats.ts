/**
 * What the demo's traders saw over HTTP, counted as it happens (orders accepted and refused by
 * code, fills, cancels, latency), and the small number helpers the demo prints with.
 */
import type { ApiReply } from "./trader";

export class OrderStats {
  sent = 0;
  accepted = 0;
  /** Refusals of orders meant to be valid, by error code. */
  readonly refused = new Map<string, number>();
  /** Refusals of the orders sent to be refused, by error code. */
  readonly refusedForCause = new Map<string, number>();
  /** Fills, as the taker of each reported them (every fill has one taker). */
  fills = 0;
  /** Orders cancelled one by one (by hash), by cancel-all (the maker's re-quotes, the end). */
  readonly cancelled = { oneByOne: 0, requote: 0, atEnd: 0, tooLate: 0 };
  /** Milliseconds per order of each request. */
  readonly latencies: number[] = [];

  /** Counts the orders of one POST /v1/orders (`count` of them) as sent to be valid. */
  record(reply: ApiReply, count: number): void {
    this.tally(reply, count, this.refused);
  }

  /** Counts an order sent to be refused; returns its error code (undefined if it was accepted). */
  recordForCause(reply: ApiReply): string | undefined {
    this.tally(reply, 1, this.refusedForCause);
    return reply.body?.error?.code ?? reply.body?.results?.[0]?.error?.code;
  }

  get refusedTotal(): number {
    return sum(this.refused) + sum(this.refusedForCause);
  }

  private tally(reply: ApiReply, count: number, into: Map<string, number>): void {
    this.sent += count;
    // A batch answers one result per order; a single order, or a batch refused as a whole, one body.
    const body = reply.body ?? {};
    const results: { error?: { code: string }; fills?: unknown[] }[] = body.results ?? Array.from({ length: body.error ? count : 1 }, () => body);
    for (const r of results) {
      if (r.error) into.set(r.error.code, (into.get(r.error.code) ?? 0) + 1);
      else {
        this.accepted++;
        this.fills += r.fills?.length ?? 0;
      }
    }
    if (reply.ms > 0) this.latencies.push(reply.ms / count);
  }
}

export function sum(m: ReadonlyMap<string, number>): number {
  return [...m.values()].reduce((a, b) => a + b, 0);
}

/** "CODE xN, ..." or "none". */
export function byCode(m: ReadonlyMap<string, number>): string {
  return m.size === 0 ? "none" : [...m.entries()].map(([c, n]) => `${c} x${n}`).join(", ");
}

/** The p-th percentile (nearest rank) of sorted values; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Atoms as a decimal with `shown` fraction digits (truncated). */
export function units(atoms: bigint | string, decimals: number, shown = 4): string {
  const value = BigInt(atoms);
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const scale = 10n ** BigInt(decimals);
  const whole = (abs / scale).toLocaleString("en-US");
  const frac = shown > 0 ? `.${(abs % scale).toString().padStart(decimals, "0").slice(0, shown)}` : "";
  return `${negative ? "-" : ""}${whole}${frac}`;
}

export function ms(value: number): string {
  return Number.isNaN(value) ? "n/a" : value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value).toLocaleString("en-US")} ms`;
}

export const sleep = (msec: number) => new Promise<void>((resolve) => setTimeout(resolve, msec));

/** Polls `probe` every 200 ms until it returns something other than undefined/false, or throws after `timeoutMs`. */
export async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(200);
  }
}
