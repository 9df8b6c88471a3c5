/** The engine's Prometheus metrics (recorded into the registry it is given, or a private one). */
import { Counter, Histogram, Registry } from "../metrics";

export interface EngineMetrics {
  orders: Counter<"result" | "code">;
  fills: Counter<"market">;
  cancels: Counter<"result">;
  batchSeconds: Histogram<"stage">;
  batchOrders: Histogram;
  resyncs: Counter<"reason">;
}

export function createEngineMetrics(registry: Registry = new Registry()): EngineMetrics {
  return {
    orders: new Counter({
      name: "hyperindex_engine_orders_total",
      help: "Orders processed by the matching engine, by result and rejection code",
      labelNames: ["result", "code"],
      registers: [registry],
    }),
    fills: new Counter({ name: "hyperindex_engine_fills_total", help: "Fills matched", labelNames: ["market"], registers: [registry] }),
    cancels: new Counter({ name: "hyperindex_engine_cancels_total", help: "Cancel results", labelNames: ["result"], registers: [registry] }),
    batchSeconds: new Histogram({
      name: "hyperindex_engine_batch_seconds",
      help: "Duration of engine batches by stage",
      labelNames: ["stage"],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    batchOrders: new Histogram({
      name: "hyperindex_engine_batch_orders",
      help: "Orders per placement batch",
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000],
      registers: [registry],
    }),
    resyncs: new Counter({ name: "hyperindex_engine_resyncs_total", help: "Resynchronisations from Redis", labelNames: ["reason"], registers: [registry] }),
  };
}
