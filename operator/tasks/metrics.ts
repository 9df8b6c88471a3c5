/**
 * Prometheus metrics of background loops. Many loops record into one registry, each under its
 * own `task` label; the metrics are created once per registry (prom-client refuses a second
 * metric of the same name), hence the WeakMap rather than a module-level default registry.
 *
 *   hyperindex_task_iterations_total{task,result}      result: ok | error | aborted
 *   hyperindex_task_iteration_seconds{task}            histogram of iteration durations
 *   hyperindex_task_consecutive_failures{task}         0 when healthy
 *   hyperindex_task_backoff_seconds{task}              the current retry delay; 0 when healthy
 *   hyperindex_task_last_success_timestamp_seconds{task}
 *       alert on `time() - this` to catch a loop that is stuck in one iteration, which the
 *       other metrics cannot show
 */
import { Counter, Gauge, Histogram, type Registry } from "../metrics";

export type IterationResult = "ok" | "error" | "aborted";

export interface TaskMetrics {
  iterations: Counter<"task" | "result">;
  iterationSeconds: Histogram<"task">;
  consecutiveFailures: Gauge<"task">;
  backoffSeconds: Gauge<"task">;
  lastSuccess: Gauge<"task">;
}

const byRegistry = new WeakMap<Registry, TaskMetrics>();

/** The task metrics of this registry, created on first use. */
export function taskMetrics(registry: Registry): TaskMetrics {
  let metrics = byRegistry.get(registry);
  if (metrics === undefined) {
    const registers = [registry];
    metrics = {
      iterations: new Counter({
        name: "hyperindex_task_iterations_total",
        help: "Iterations of background loops, by task and result (ok, error, aborted by shutdown)",
        labelNames: ["task", "result"],
        registers,
      }),
      iterationSeconds: new Histogram({
        name: "hyperindex_task_iteration_seconds",
        help: "Duration of background loop iterations",
        labelNames: ["task"],
        buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
        registers,
      }),
      consecutiveFailures: new Gauge({
        name: "hyperindex_task_consecutive_failures",
        help: "Failed iterations in a row of a background loop (0 when its last iteration succeeded)",
        labelNames: ["task"],
        registers,
      }),
      backoffSeconds: new Gauge({
        name: "hyperindex_task_backoff_seconds",
        help: "Current retry delay of a failing background loop (0 when healthy)",
        labelNames: ["task"],
        registers,
      }),
      lastSuccess: new Gauge({
        name: "hyperindex_task_last_success_timestamp_seconds",
        help: "Unix time of the last successful iteration of a background loop",
        labelNames: ["task"],
        registers,
      }),
    };
    byRegistry.set(registry, metrics);
  }
  return metrics;
}

/** Makes the series of one task exist (at zero) before its first iteration. */
export function initTaskSeries(metrics: TaskMetrics, task: string): void {
  for (const result of ["ok", "error", "aborted"] as const) metrics.iterations.inc({ task, result }, 0);
  metrics.consecutiveFailures.set({ task }, 0);
  metrics.backoffSeconds.set({ task }, 0);
}
