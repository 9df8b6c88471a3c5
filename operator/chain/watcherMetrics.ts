/**
 * Prometheus metrics of the chain watchers (./watcher.ts), `chain` = the chain id. Created once
 * per registry (several chains share it), hence the WeakMap.
 *
 *   hyperindex_watcher_lag_blocks{chain}         head - last processed block (confirmations included)
 *   hyperindex_watcher_processed_block{chain}    the last block whose events were handed
 *   hyperindex_watcher_events_total{chain,kind}  events handed (again after a reorg, too)
 *   hyperindex_watcher_reorgs_total{chain}       reorgs detected
 */
import { Counter, Gauge, type Registry } from "../metrics";

export interface WatcherMetrics {
  lag: Gauge<"chain">;
  processed: Gauge<"chain">;
  events: Counter<"chain" | "kind">;
  reorgs: Counter<"chain">;
}

const byRegistry = new WeakMap<Registry, WatcherMetrics>();

export function watcherMetrics(registry: Registry): WatcherMetrics {
  let m = byRegistry.get(registry);
  if (m === undefined) {
    const registers = [registry];
    m = {
      lag: new Gauge({ name: "hyperindex_watcher_lag_blocks", help: "Blocks between the chain head and the chain watcher's last processed block", labelNames: ["chain"], registers }),
      processed: new Gauge({ name: "hyperindex_watcher_processed_block", help: "The last block whose events the chain watcher handed", labelNames: ["chain"], registers }),
      events: new Counter({ name: "hyperindex_watcher_events_total", help: "Contract events the chain watcher handed, by kind", labelNames: ["chain", "kind"], registers }),
      reorgs: new Counter({ name: "hyperindex_watcher_reorgs_total", help: "Chain reorganisations the chain watcher detected", labelNames: ["chain"], registers }),
    };
    byRegistry.set(registry, m);
  }
  return m;
}
