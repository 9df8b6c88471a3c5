/**
 * Prometheus metrics of the chains' RPC clients (./rpc.ts), one `chain` label (the chain id)
 * per client. Created once per registry (prom-client refuses a second metric of one name;
 * several chains share a registry), hence the WeakMap.
 *
 *   hyperindex_rpc_requests_total{chain,method,result}
 *       one per attempt; result: ok | answer (the node refused: a revert, bad params, "nonce
 *       too low"... the node is healthy) | failure (network, timeout, 429/5xx, rate limit or
 *       internal error: retried, counted by the breaker) | rejected (not sent: the breaker is open)
 *   hyperindex_rpc_retries_total{chain,method}
 *   hyperindex_rpc_breaker_open{chain}          1 open, 0.5 half-open (one probe allowed), 0 closed
 *   hyperindex_rpc_request_seconds{chain,method} histogram of attempts sent, queueing excluded
 */
import { Counter, Gauge, Histogram, type Registry } from "../metrics";

export type RpcResult = "ok" | "answer" | "failure" | "rejected";

export interface RpcMetrics {
  requests: Counter<"chain" | "method" | "result">;
  retries: Counter<"chain" | "method">;
  breakerOpen: Gauge<"chain">;
  requestSeconds: Histogram<"chain" | "method">;
}

const byRegistry = new WeakMap<Registry, RpcMetrics>();

export function rpcMetrics(registry: Registry): RpcMetrics {
  let m = byRegistry.get(registry);
  if (m === undefined) {
    const registers = [registry];
    m = {
      requests: new Counter({
        name: "hyperindex_rpc_requests_total",
        help: "JSON-RPC attempts per chain and method, by result (ok, answer: the node refused, failure: retried, rejected: breaker open)",
        labelNames: ["chain", "method", "result"],
        registers,
      }),
      retries: new Counter({
        name: "hyperindex_rpc_retries_total",
        help: "JSON-RPC requests retried after a transient failure, per chain and method",
        labelNames: ["chain", "method"],
        registers,
      }),
      breakerOpen: new Gauge({
        name: "hyperindex_rpc_breaker_open",
        help: "The chain RPC's circuit breaker: 1 open (failing fast), 0.5 half-open (probing), 0 closed",
        labelNames: ["chain"],
        registers,
      }),
      requestSeconds: new Histogram({
        name: "hyperindex_rpc_request_seconds",
        help: "Duration of JSON-RPC attempts sent to the node (time queued for the request budget excluded)",
        labelNames: ["chain", "method"],
        buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        registers,
      }),
    };
    byRegistry.set(registry, m);
  }
  return m;
}
