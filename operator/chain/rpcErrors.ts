/**
 * Which failures of a JSON-RPC request are the node's fault (retried, and counted by the
 * circuit breaker) and which are the node's answer (surfaced to the caller as they are).
 *
 *   node failure   no usable answer: a network error (refused, reset, DNS), a timeout, HTTP 408,
 *                  429, 5xx (and 403, which some providers use for rate limits), a response
 *                  that is not JSON-RPC, or a JSON-RPC error saying "slow down" or "I broke"
 *                  (-32005 limit exceeded, -32603 internal error, 429, -32007, or a message
 *                  about a rate limit).
 *   answer         the node understood the request and refused it: a revert, invalid
 *                  parameters, an unknown method, a transaction the pool rejects ("already
 *                  known", "nonce too low", "underpriced", "insufficient funds"...). Retrying
 *                  would get the same answer; the node is healthy.
 *
 * eth_sendRawTransaction is stricter: only a failure where the node gave NO JSON-RPC answer
 * (network, timeout, HTTP 429/5xx, a rate-limit code) is retried. Resending the same signed
 * bytes is idempotent on the node (same transaction, same hash), so a retry after a timeout is
 * safe; but every JSON-RPC error the node returns, even -32603, goes back to the caller at once:
 * some nodes report pool rejections as internal errors, and the signer must see "already known"
 * (the first attempt got through: the transaction is in the pool) or "nonce too low" (mined or
 * replaced: look up the receipt) to keep its nonces right.
 */
import { HttpRequestError, RpcRequestError, TimeoutError, BaseError as ViemBaseError } from "viem";
import { ChainError } from "./errors";

/** The node's answer, whatever the code: these never succeed on a retry. */
const ANSWER_MESSAGE =
  /revert|already known|known transaction|already imported|nonce too (low|high)|underpriced|insufficient funds|intrinsic gas|gas too low|exceeds block gas limit|fee cap|max fee per gas|invalid (argument|params|sender|signature|transaction)/i;

/** A rate limit, whatever the code. */
const RATE_LIMIT_MESSAGE = /rate.?limit|too many requests|request limit|limit reached|exceeded .*(quota|capacity|limit)|try again later/i;

/** JSON-RPC codes that mean "slow down" or "the node broke" (after viem's own shouldRetry). */
const TRANSIENT_CODES = new Set([-32005, -32603, 429, -32007, -1]);
/** The same, for eth_sendRawTransaction: rate limits only (an internal error may be a pool rejection). */
const TRANSIENT_CODES_SEND = new Set([-32005, 429, -32007]);

const TRANSIENT_STATUS = new Set([403, 408, 429, 500, 502, 503, 504]);

/** True when the error is an open circuit breaker's fast failure (./rpc.ts), anywhere in the cause chain. */
export function isBreakerOpen(error: unknown): boolean {
  return chainErrorOf(error)?.code === "CHAIN_UNAVAILABLE";
}

/**
 * The ChainError in an error's cause chain, if any. viem wraps what a transport throws (an
 * open breaker's CHAIN_UNAVAILABLE arrives as an UnknownRpcError, or inside a
 * CallExecutionError): callers test `chainErrorOf(error)?.code`.
 */
export function chainErrorOf(error: unknown): ChainError | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 10 && e !== undefined && e !== null; depth++) {
    if (e instanceof ChainError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The node's message in a viem error (its `details`), else the error's message. */
function nodeMessage(error: unknown): string {
  if (error instanceof ViemBaseError) return `${error.shortMessage} ${error.details ?? ""}`;
  return error instanceof Error ? error.message : String(error);
}

/** A numeric JSON-RPC error code anywhere near the top of the chain (viem's typed RPC errors carry it). */
function rpcCode(error: unknown): number | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 4 && e !== undefined && e !== null; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "number") return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function isAbort(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { name?: unknown }).name === "AbortError";
}

/**
 * True when `error` (from one attempt of `method`) is the node's failure: worth a retry, and a
 * mark against the node for the circuit breaker. False for the node's answers, for aborts by
 * the caller, and for the breaker's own fast failure.
 */
export function isNodeFailure(method: string, error: unknown): boolean {
  if (isAbort(error) || error instanceof ChainError) return false;
  const sending = method === "eth_sendRawTransaction";
  if (error instanceof TimeoutError) return true;
  if (error instanceof HttpRequestError) {
    // No status: the request never got an HTTP answer (refused, reset, DNS, body unreadable).
    if (error.status === undefined) return true;
    if (TRANSIENT_STATUS.has(error.status)) return true;
    // A 2xx that is not JSON-RPC: a broken proxy, not an answer.
    return error.status >= 200 && error.status < 300;
  }
  const message = nodeMessage(error);
  const code = rpcCode(error);
  if (code !== undefined || error instanceof RpcRequestError) {
    if (ANSWER_MESSAGE.test(message)) return false;
    if (RATE_LIMIT_MESSAGE.test(message)) return true;
    return code !== undefined && (sending ? TRANSIENT_CODES_SEND : TRANSIENT_CODES).has(code);
  }
  if (ANSWER_MESSAGE.test(message)) return false;
  // Anything else (a socket error surfacing untyped): like viem's own shouldRetry, a failure.
  return true;
}

/** A short, URL-free description of an error for logs and /health (viem's messages carry the URL and body). */
export function describeRpcError(error: unknown): string {
  if (error instanceof ChainError) return `${error.code}: ${error.message}`;
  if (error instanceof ViemBaseError) {
    const status = error instanceof HttpRequestError && error.status !== undefined ? ` (HTTP ${error.status})` : "";
    const code = rpcCode(error);
    const details = error.details && error.details !== error.shortMessage ? `: ${error.details}` : "";
    return `${error.name}${code === undefined ? "" : ` ${code}`}${status}${details}`.slice(0, 300);
  }
  return (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).split("\n")[0].slice(0, 300);
}

/**
 * Replaces the RPC URL (it may carry an API key: in its path, its query, or user:password) by
 * its redacted form, in place, in an error and its causes: viem writes the URL into its
 * messages, stacks and a `url` field, and a logged error prints all of them. `redacted`: the
 * form safe to log (operator/config redactSecretUrl).
 */
export function scrubRpcUrl(error: unknown, rpcUrl: string, redacted: string): void {
  const forms = [...new Set([rpcUrl, viemUrlForm(rpcUrl)])].filter((f) => f !== redacted && f.length > 0);
  if (forms.length === 0) return;
  const clean = (text: string): string => forms.reduce((t, form) => t.split(form).join(redacted), text);
  let e: unknown = error;
  for (let depth = 0; depth < 6 && typeof e === "object" && e !== null; depth++) {
    const record = e as Record<string, unknown>;
    for (const field of ["message", "shortMessage", "details", "url", "stack"]) {
      const value = record[field];
      if (typeof value === "string") {
        try {
          record[field] = clean(value);
        } catch {
          // a read-only field: leave it
        }
      }
    }
    if (Array.isArray(record.metaMessages)) record.metaMessages = record.metaMessages.map((m: unknown) => (typeof m === "string" ? clean(m) : m));
    e = record.cause;
  }
}

/** The URL as viem prints it (its getUrl: user:password stripped). */
function viemUrlForm(raw: string): string {
  try {
    const url = new URL(raw);
    if (!url.username && !url.password) return raw;
    url.username = "";
    url.password = "";
    return url.toString();
  } catch {
    return raw;
  }
}
