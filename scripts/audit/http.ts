/**
 * One HTTP GET with a bounded timeout per attempt and a few retries with backoff (full
 * jitter) when there is no usable answer: refused, timed out, 408, 425, 429 or 5xx. Any other
 * answer, 404 included, is returned as it is for the caller to judge.
 */
import { backOff } from "exponential-backoff";
import type { RetryPolicy } from "../../operator/chain";

export const DEFAULT_HTTP_RETRY: RetryPolicy = { attempts: 4, initialMs: 250, maxMs: 2_000 };
const RETRIED_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

export interface HttpGetOptions {
  timeoutMs: number;
  retry?: RetryPolicy;
}

export interface HttpAnswer {
  status: number;
  body: Buffer;
}

/** Thrown when every attempt failed without a usable answer; `message` says how the last one failed. */
export class HttpUnreachable extends Error {
  override name = "HttpUnreachable" as const;
  constructor(readonly attempts: number, lastFailure: string) {
    super(lastFailure);
  }
}

class Transient extends Error {}

export async function httpGet(url: string, options: HttpGetOptions): Promise<HttpAnswer> {
  const retry = options.retry ?? DEFAULT_HTTP_RETRY;
  const once = async (): Promise<HttpAnswer> => {
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs), headers: { accept: "application/json, */*" } });
    } catch (cause) {
      const timedOut = (cause as { name?: string }).name === "TimeoutError";
      throw new Transient(timedOut ? `no answer within ${options.timeoutMs} ms` : describeFetchError(cause));
    }
    let body: Buffer;
    try {
      body = Buffer.from(await response.arrayBuffer());
    } catch (cause) {
      throw new Transient(`the answer broke off (${describeFetchError(cause)})`);
    }
    if (RETRIED_STATUS.has(response.status)) throw new Transient(`HTTP ${response.status}${errorCodeOf(body)}`);
    return { status: response.status, body };
  };
  try {
    return await backOff(once, {
      numOfAttempts: retry.attempts,
      startingDelay: retry.initialMs,
      timeMultiple: 2,
      maxDelay: retry.maxMs,
      jitter: "full",
      retry: (error: unknown) => error instanceof Transient,
    });
  } catch (error) {
    if (error instanceof Transient) throw new HttpUnreachable(retry.attempts, error.message);
    throw error;
  }
}

/** The system's reason (ECONNREFUSED, ENOTFOUND...) rather than undici's "fetch failed"; never the URL. */
function describeFetchError(cause: unknown): string {
  const inner = (cause as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof inner?.code === "string") return inner.code;
  if (typeof inner?.message === "string") return inner.message;
  return cause instanceof Error ? cause.message : String(cause);
}

/** " CODE: message" of an answer in the operator API's error shape, else "". */
function errorCodeOf(body: Buffer): string {
  try {
    const parsed = JSON.parse(body.toString("utf8")) as { error?: { code?: unknown; message?: unknown } };
    if (typeof parsed.error?.code !== "string") return "";
    return ` ${parsed.error.code}${typeof parsed.error.message === "string" ? `: ${parsed.error.message.slice(0, 200)}` : ""}`;
  } catch {
    return "";
  }
}
