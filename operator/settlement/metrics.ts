/**
 * The settler's metrics (one set per registry, labelled by chain):
 *
 *   hyperindex_settlement_batches_total{chain,outcome}      built | sent | settled | reverted | superseded
 *   hyperindex_settlement_fills_total{chain,outcome,reason} settled | skipped (reason: the
 *                                                          contract's SkipReason, or the
 *                                                          operator's for fills left out) | retried
 *   hyperindex_settlement_gas_per_fill{chain}              histogram, per confirmed batch
 *   hyperindex_settlement_lag_seconds{chain}               histogram, match to confirmed, per fill
 *   hyperindex_settlement_queue_fills{chain}               fills matched and not in a batch yet
 *   hyperindex_settlement_open_batches{chain}              intents not final
 *   hyperindex_settlement_simulations_total{chain,result}  ok | too_big | reverted | failed
 */
import { Counter, Gauge, Histogram, type Registry } from "../metrics";

export interface SettlementMetrics {
  batches: Counter<"chain" | "outcome">;
  fills: Counter<"chain" | "outcome" | "reason">;
  gasPerFill: Histogram<"chain">;
  lag: Histogram<"chain">;
  queue: Gauge<"chain">;
  open: Gauge<"chain">;
  simulations: Counter<"chain" | "result">;
}

const byRegistry = new WeakMap<Registry, SettlementMetrics>();

export function settlementMetrics(registry: Registry): SettlementMetrics {
  let m = byRegistry.get(registry);
  if (m !== undefined) return m;
  m = {
    batches: new Counter({ name: "hyperindex_settlement_batches_total", help: "Settlement batches by outcome", labelNames: ["chain", "outcome"], registers: [registry] }),
    fills: new Counter({
      name: "hyperindex_settlement_fills_total",
      help: "Fills resolved by settlement: settled, skipped (by reason) or retried in a later batch",
      labelNames: ["chain", "outcome", "reason"],
      registers: [registry],
    }),
    gasPerFill: new Histogram({
      name: "hyperindex_settlement_gas_per_fill",
      help: "Gas used per fill of each confirmed batch",
      labelNames: ["chain"],
      buckets: [15_000, 20_000, 25_000, 30_000, 35_000, 40_000, 50_000, 75_000, 100_000, 150_000, 250_000],
      registers: [registry],
    }),
    lag: new Histogram({
      name: "hyperindex_settlement_lag_seconds",
      help: "Time from a fill's match to its confirmed settlement (or skip)",
      labelNames: ["chain"],
      buckets: [0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 7.5, 10, 20, 30, 60, 120, 300],
      registers: [registry],
    }),
    queue: new Gauge({ name: "hyperindex_settlement_queue_fills", help: "Fills matched and not in a batch yet", labelNames: ["chain"], registers: [registry] }),
    open: new Gauge({ name: "hyperindex_settlement_open_batches", help: "Batch intents not final yet", labelNames: ["chain"], registers: [registry] }),
    simulations: new Counter({
      name: "hyperindex_settlement_simulations_total",
      help: "Batch simulations (eth_estimateGas) by result",
      labelNames: ["chain", "result"],
      registers: [registry],
    }),
  };
  byRegistry.set(registry, m);
  return m;
}
