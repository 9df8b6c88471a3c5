/**
 * Prometheus metrics of the signers (one per chain, all recording into the daemon's registry
 * under their `chain` label: the chain id, as the RPC's and the watcher's metrics). Created once per registry (prom-client refuses a second metric
 * of one name), hence the WeakMap.
 *
 *   hyperindex_signer_transactions_total{chain,purpose_kind,result}
 *       result: submitted | success | reverted | nonce_consumed; purpose_kind: the purpose
 *       before its ":" ("settle", "epoch")
 *   hyperindex_signer_in_flight{chain}          transactions sent and not yet mined
 *   hyperindex_signer_replacements_total{chain} stuck transactions replaced with higher fees
 *   hyperindex_signer_confirm_seconds{chain}    first signature to confirmation
 */
import { Counter, Gauge, Histogram, type Registry } from "../metrics";

export type SignerResult = "submitted" | "success" | "reverted" | "nonce_consumed";

export interface SignerMetrics {
  transactions: Counter<"chain" | "purpose_kind" | "result">;
  inFlight: Gauge<"chain">;
  replacements: Counter<"chain">;
  confirmSeconds: Histogram<"chain">;
}

const byRegistry = new WeakMap<Registry, SignerMetrics>();

export function signerMetrics(registry: Registry): SignerMetrics {
  let metrics = byRegistry.get(registry);
  if (metrics === undefined) {
    const registers = [registry];
    metrics = {
      transactions: new Counter({
        name: "hyperindex_signer_transactions_total",
        help: "Transactions of the operator's signer, by chain, purpose kind and result (submitted, success, reverted, nonce_consumed)",
        labelNames: ["chain", "purpose_kind", "result"],
        registers,
      }),
      inFlight: new Gauge({ name: "hyperindex_signer_in_flight", help: "Signer transactions sent and not yet mined", labelNames: ["chain"], registers }),
      replacements: new Counter({
        name: "hyperindex_signer_replacements_total",
        help: "Stuck signer transactions replaced (same nonce, higher fees)",
        labelNames: ["chain"],
        registers,
      }),
      confirmSeconds: new Histogram({
        name: "hyperindex_signer_confirm_seconds",
        help: "Time from a transaction's first signature to its confirmation",
        labelNames: ["chain"],
        buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800],
        registers,
      }),
    };
    byRegistry.set(registry, metrics);
  }
  return metrics;
}

/** Makes one chain's series exist at zero before its first transaction. */
export function initSignerSeries(metrics: SignerMetrics, chain: string): void {
  metrics.inFlight.set({ chain }, 0);
  metrics.replacements.inc({ chain }, 0);
}
