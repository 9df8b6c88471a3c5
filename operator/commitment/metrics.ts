/**
 * The epoch log's metrics (one set per registry, labelled by chain):
 *
 *   hyperindex_epoch_open{chain}                 the open epoch's number
 *   hyperindex_epoch_committed{chain}            the last epoch committed on chain
 *   hyperindex_epoch_leaves{chain}               histogram: leaves per built epoch
 *   hyperindex_epoch_build_seconds{chain}        histogram: reading the leaves, file and tree
 *   hyperindex_epoch_commit_lag_seconds{chain}   histogram: sealed to committed
 *   hyperindex_epoch_faults_total{chain,kind}    the chain disagreed with the log (root_mismatch | gap)
 */
import { Counter, Gauge, Histogram, type Registry } from "../metrics";

export interface EpochMetrics {
  open: Gauge<"chain">;
  committed: Gauge<"chain">;
  leaves: Histogram<"chain">;
  buildSeconds: Histogram<"chain">;
  commitLag: Histogram<"chain">;
  faults: Counter<"chain" | "kind">;
}

const byRegistry = new WeakMap<Registry, EpochMetrics>();

export function epochMetrics(registry: Registry): EpochMetrics {
  let m = byRegistry.get(registry);
  if (m !== undefined) return m;
  m = {
    open: new Gauge({ name: "hyperindex_epoch_open", help: "The open commitment epoch", labelNames: ["chain"], registers: [registry] }),
    committed: new Gauge({ name: "hyperindex_epoch_committed", help: "The last epoch committed on chain", labelNames: ["chain"], registers: [registry] }),
    leaves: new Histogram({ name: "hyperindex_epoch_leaves", help: "Leaves per built epoch", labelNames: ["chain"], buckets: [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000], registers: [registry] }),
    buildSeconds: new Histogram({ name: "hyperindex_epoch_build_seconds", help: "Building an epoch: leaves read, data file and tree", labelNames: ["chain"], buckets: [0.01, 0.05, 0.25, 1, 5, 20, 60], registers: [registry] }),
    commitLag: new Histogram({ name: "hyperindex_epoch_commit_lag_seconds", help: "From sealing an epoch to its commit confirmed", labelNames: ["chain"], buckets: [1, 2, 5, 10, 30, 60, 300, 1800], registers: [registry] }),
    faults: new Counter({ name: "hyperindex_epoch_faults_total", help: "The chain disagreed with the epoch log", labelNames: ["chain", "kind"], registers: [registry] }),
  };
  byRegistry.set(registry, m);
  return m;
}
