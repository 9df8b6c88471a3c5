/**
 * Prometheus metrics. One registry per daemon (or per test), passed to the components that
 * record into it; no module-level default registry.
 */
import { Registry, collectDefaultMetrics } from "prom-client";

export { Counter, Gauge, Histogram, Registry } from "prom-client";

export function createRegistry(options: { defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: "hyperindex_" });
  return registry;
}
