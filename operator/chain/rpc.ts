/**
 * One chain's JSON-RPC access, shared by everything that talks to that chain (the chain
 * watcher, the settler, the signer, the reconciler): a viem PublicClient whose every request,
 * reads and eth_sendRawTransaction alike, goes through three layers, outermost first:
 *
 *  1. Retries (exponential-backoff): a node failure (./rpcErrors.ts: network error, timeout,
 *     HTTP 429/5xx, a rate-limit or internal JSON-RPC error) is retried up to `retry.attempts`
 *     attempts in all, after min(maxMs, initialMs x 2^(n-1)) ms with full jitter. The node's
 *     answers (a revert, invalid params, "nonce too low") are never retried. Each retry is
 *     logged: "retrying eth_getLogs in up to 800 ms (attempt 2/5)" (full jitter: the wait is
 *     drawn in [0, 800]).
 *  2. A circuit breaker (opossum): after `breaker.failureThreshold` node failures in a row it
 *     opens, and every request fails at once with ChainError CHAIN_UNAVAILABLE (no retry, no
 *     request sent: a node that is down is not hammered, and callers' loops back off) for
 *     `breaker.resetMs`; then it half-opens: the next request is a probe, the others still fail
 *     fast; the probe's success closes it, its failure opens it again. The node's answers count
 *     as successes: a revert says the node is up.
 *  3. The request budget (bottleneck): at most `requestsPerMinute` attempts per minute (a
 *     reservoir refilled each minute), spread evenly (one attempt every 60000/requestsPerMinute
 *     ms at most, so a burst does not spend the minute's budget in one second), and at most
 *     `maxConcurrent` at once. Every attempt, retries included, spends budget: retries are
 *     requests the node counts. eth_sendRawTransaction jumps the queue (bottleneck priority 1,
 *     everything else 5): a settlement transaction never waits behind a watcher's catch-up.
 *     A request that waited in the queue while the breaker opened is not sent.
 *
 * eth_sendRawTransaction (the signer calls client.sendRawTransaction) follows the stricter rule
 * of ./rpcErrors.ts: retried only when the node gave no JSON-RPC answer. Resending the same
 * signed bytes is idempotent on the node (same transaction, same hash), so a retry after a
 * timeout is safe; but if the first attempt did reach the node, the retry is answered "already
 * known" (or "nonce too low" once mined), and that answer is thrown to the caller, not retried:
 * the caller treats "already known" as "in the pool" and "nonce too low" as "look up the
 * receipt of the hash". A final timeout means "unknown": the transaction may be in the pool.
 *
 * Errors: the node's answers and exhausted retries surface as viem's own errors (so viem still
 * decodes reverts); an open breaker throws ChainError CHAIN_UNAVAILABLE, which viem wraps (an
 * UnknownRpcError, or inside a CallExecutionError): test it with `chainErrorOf(error)`.
 * viem writes the RPC URL into its errors; an API key in it (path, query, user:password) is
 * replaced by "redacted" before an error leaves this client, so logging errors is safe.
 *
 * The client caches nothing (cacheTime 0): a poll of eth_blockNumber sees the head now.
 */
import Bottleneck from "bottleneck";
import { backOff } from "exponential-backoff";
import CircuitBreaker from "opossum";
import { createPublicClient, custom, http, type Chain, type PublicClient } from "viem";
import { redactSecretUrl } from "../config";
import { ChainError } from "./errors";
import { describeRpcError, isNodeFailure, scrubRpcUrl } from "./rpcErrors";
import { rpcMetrics, type RpcMetrics, type RpcResult } from "./rpcMetrics";
import type { BreakerPolicy, ChainRpc, ChainRpcDeps, ChainRpcParams, RetryPolicy } from "./rpcTypes";

export type { BreakerPolicy, BreakerState, ChainRpc, ChainRpcDeps, ChainRpcParams, ChainRpcStatus, RetryPolicy } from "./rpcTypes";

const DEFAULT_RETRY: RetryPolicy = { attempts: 5, initialMs: 250, maxMs: 8_000 };
const DEFAULT_BREAKER: BreakerPolicy = { failureThreshold: 5, resetMs: 30_000 };

type RpcArgs = { method: string; params?: unknown };
type Job = () => Promise<unknown>;

export function createChainRpc(deps: ChainRpcDeps, params: ChainRpcParams): ChainRpc {
  const retry = params.retry ?? DEFAULT_RETRY;
  const policy = params.breaker ?? DEFAULT_BREAKER;
  checkParams(params, retry, policy);
  const clock = deps.clock ?? { now: () => Date.now() };
  const chain = String(params.chainId);
  const safeUrl = redactSecretUrl(params.rpcUrl);
  const logger = deps.logger.child({ at: "rpc", chainId: params.chainId, chain: params.name });
  const metrics: RpcMetrics | undefined = deps.metrics === undefined ? undefined : rpcMetrics(deps.metrics);
  metrics?.breakerOpen.set({ chain }, 0);

  const counters = { requests: 0, failures: 0, retries: 0, consecutive: 0 };
  let lastError: string | undefined;
  let lastErrorAt: number | undefined;
  let openedAt = 0;
  let closing: Promise<void> | undefined;

  // viem's HTTP transport, with no retries of its own: this module decides.
  const inner = http(params.rpcUrl, { retryCount: 0, timeout: params.timeoutMs ?? 10_000 })({ retryCount: 0 });

  const limiter = new Bottleneck({
    reservoir: params.requestsPerMinute,
    reservoirRefreshAmount: params.requestsPerMinute,
    reservoirRefreshInterval: 60_000,
    minTime: Math.floor(60_000 / params.requestsPerMinute),
    maxConcurrent: params.maxConcurrent ?? 4,
  });

  const breaker = new CircuitBreaker<[string, Job], unknown>((_method, job) => job(), {
    name: `rpc:${params.chainId}`,
    // Timeouts are the HTTP transport's (per attempt); the breaker must not time out a request
    // that is only waiting for budget.
    timeout: false,
    resetTimeout: policy.resetMs,
    // Never trips on its own error percentage: it opens on consecutive failures (below).
    errorThresholdPercentage: 100,
    // The node's answers (and aborts by the caller) are not the node's failures.
    // (opossum passes the fire() arguments after the error; its types omit them.)
    errorFilter: ((error: unknown, method: string) => !(error instanceof ChainError) && !isNodeFailure(method, error)) as (error: unknown) => boolean,
  });
  breaker.on("failure", () => {
    counters.consecutive++;
    if (counters.consecutive >= policy.failureThreshold && breaker.closed) breaker.open();
  });
  breaker.on("success", () => {
    counters.consecutive = 0;
  });
  breaker.on("open", () => {
    openedAt = clock.now();
    metrics?.breakerOpen.set({ chain }, 1);
    logger.error(
      { consecutiveFailures: counters.consecutive, resetMs: policy.resetMs, lastError },
      `RPC of chain ${params.chainId} is failing: circuit breaker open after ${counters.consecutive} failures in a row; requests fail fast for ${policy.resetMs} ms`,
    );
  });
  breaker.on("halfOpen", () => {
    metrics?.breakerOpen.set({ chain }, 0.5);
    logger.info(`RPC of chain ${params.chainId}: circuit breaker half-open, the next request probes the node`);
  });
  breaker.on("close", () => {
    metrics?.breakerOpen.set({ chain }, 0);
    logger.info({ downMs: Math.max(0, clock.now() - openedAt) }, `RPC of chain ${params.chainId} recovered: circuit breaker closed`);
  });

  function unavailable(method: string): ChainError {
    const retryAt = openedAt + policy.resetMs;
    const when = breaker.halfOpen ? "a probe request is testing it" : `requests fail fast until ${new Date(retryAt).toISOString()}`;
    return new ChainError("CHAIN_UNAVAILABLE", `chain ${params.chainId} (${params.name}): the RPC failed ${policy.failureThreshold} times in a row; ${method} not sent, ${when}`, {
      details: { chainId: params.chainId, method, retryAt, lastError },
    });
  }

  function count(method: string, result: RpcResult): void {
    metrics?.requests.inc({ chain, method, result });
  }

  /** One attempt, sent once the budget allows (unless the breaker opened meanwhile). */
  async function send(args: RpcArgs, signal: AbortSignal | undefined): Promise<unknown> {
    const { method } = args;
    if (breaker.opened) {
      count(method, "rejected");
      throw unavailable(method);
    }
    counters.requests++;
    const stop = metrics?.requestSeconds.startTimer({ chain, method });
    try {
      const result = await inner.request(args as never, signal === undefined ? undefined : { signal });
      count(method, "ok");
      return result;
    } catch (error) {
      scrubRpcUrl(error, params.rpcUrl, safeUrl);
      if (isNodeFailure(method, error)) {
        counters.failures++;
        lastError = `${method}: ${describeRpcError(error)}`;
        lastErrorAt = clock.now();
        count(method, "failure");
      } else {
        count(method, "answer");
      }
      throw error;
    } finally {
      stop?.();
    }
  }

  async function attempt(args: RpcArgs, signal: AbortSignal | undefined): Promise<unknown> {
    const priority = args.method === "eth_sendRawTransaction" ? 1 : 5;
    try {
      return await breaker.fire(args.method, () => limiter.schedule({ priority }, () => send(args, signal)));
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === "EOPENBREAKER") {
        count(args.method, "rejected");
        throw unavailable(args.method);
      }
      if (code === "ESHUTDOWN" || error instanceof Bottleneck.BottleneckError) {
        // close() was called: not the node's fault, nothing to retry.
        throw new ChainError("CHAIN_UNAVAILABLE", `chain ${params.chainId} (${params.name}): the RPC client is closed; ${args.method} not sent`, {
          details: { chainId: params.chainId, method: args.method, closed: true },
        });
      }
      throw error;
    }
  }

  async function request(args: RpcArgs, options?: { signal?: AbortSignal }): Promise<unknown> {
    const signal = options?.signal;
    return backOff(() => attempt(args, signal), {
      numOfAttempts: retry.attempts,
      startingDelay: retry.initialMs,
      timeMultiple: 2,
      maxDelay: retry.maxMs,
      jitter: "full",
      retry: (error: unknown, failed: number) => {
        // `failed` attempts so far; the library stops by itself after the last one.
        if (failed >= retry.attempts || signal?.aborted === true || !isNodeFailure(args.method, error)) return false;
        counters.retries++;
        metrics?.retries.inc({ chain, method: args.method });
        const upToMs = Math.min(retry.maxMs, retry.initialMs * 2 ** (failed - 1));
        logger.warn(
          { method: args.method, attempt: failed + 1, attempts: retry.attempts, upToMs, error: describeRpcError(error) },
          `retrying ${args.method} in up to ${upToMs} ms (attempt ${failed + 1}/${retry.attempts})`,
        );
        return true;
      },
    });
  }

  const viemChain: Chain = {
    id: params.chainId,
    name: params.name,
    nativeCurrency: { name: "Native", symbol: "NATIVE", decimals: 18 },
    rpcUrls: { default: { http: [] } },
  };
  const client = createPublicClient({
    chain: viemChain,
    transport: custom({ request }, { key: "hyperindex", name: "HyperIndex budgeted RPC", retryCount: 0 }),
    cacheTime: 0,
  }) as PublicClient;

  return {
    chainId: params.chainId,
    name: params.name,
    client,
    async status() {
      const counts = limiter.counts();
      return {
        chainId: params.chainId,
        breaker: breaker.opened ? "open" : breaker.halfOpen ? "half-open" : "closed",
        requests: counters.requests,
        failures: counters.failures,
        retries: counters.retries,
        consecutiveFailures: counters.consecutive,
        ...(lastError === undefined ? {} : { lastError, lastErrorAt }),
        budget: (await limiter.currentReservoir()) ?? params.requestsPerMinute,
        queued: counts.RECEIVED + counts.QUEUED + counts.RUNNING,
      };
    },
    close() {
      closing ??= (async () => {
        breaker.shutdown();
        await limiter.stop({ dropWaitingJobs: true });
      })();
      return closing;
    },
  };
}

function checkParams(params: ChainRpcParams, retry: RetryPolicy, policy: BreakerPolicy): void {
  const bad = (message: string): RangeError => new RangeError(`createChainRpc(chain ${params.chainId}): ${message}`);
  if (!Number.isInteger(params.requestsPerMinute) || params.requestsPerMinute < 1) throw bad(`requestsPerMinute must be an integer >= 1, got ${params.requestsPerMinute}`);
  if (params.maxConcurrent !== undefined && (!Number.isInteger(params.maxConcurrent) || params.maxConcurrent < 1)) throw bad(`maxConcurrent must be an integer >= 1`);
  if (!Number.isInteger(retry.attempts) || retry.attempts < 1) throw bad(`retry.attempts must be an integer >= 1, got ${retry.attempts}`);
  if (!(retry.initialMs > 0) || !(retry.maxMs >= retry.initialMs)) throw bad(`retry needs 0 < initialMs <= maxMs`);
  if (!Number.isInteger(policy.failureThreshold) || policy.failureThreshold < 1) throw bad(`breaker.failureThreshold must be an integer >= 1`);
  if (!(policy.resetMs > 0)) throw bad(`breaker.resetMs must be > 0`);
}
