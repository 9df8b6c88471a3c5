import { Counter, Gauge, type Registry } from "../../metrics";

/** The pool's metrics, registered in the daemon's registry. */
export function createVerifierMetrics(registry: Registry) {
  return {
    orders: new Counter({
      name: "hyperindex_verifier_orders_total",
      help: "Orders whose signature the verifier pool decided, by result (ecdsa, erc1271, or the error code).",
      labelNames: ["result"],
      registers: [registry],
    }),
    crashes: new Counter({
      name: "hyperindex_verifier_worker_crashes_total",
      help: "Verifier worker threads that died and were replaced.",
      registers: [registry],
    }),
    queued: new Gauge({
      name: "hyperindex_verifier_queued_orders",
      help: "Orders waiting for a verifier worker.",
      registers: [registry],
    }),
  };
}

export type VerifierMetrics = ReturnType<typeof createVerifierMetrics>;
