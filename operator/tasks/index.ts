/**
 * Background loops of the daemon: non-overlapping, backing off on failure, stoppable with a
 * drain. See ./loop.ts for the schedule and ./metrics.ts for what they record.
 */
export { createLoop, type Loop, type LoopDeps, type LoopHint, type LoopParams, type LoopRun, type LoopStatus } from "./loop";
export { createLoopGroup, type LoopGroup } from "./group";
export { DEFAULT_BACKOFF, backoffBase, backoffDelay, type BackoffPolicy, type Jitter } from "./backoff";
export { TaskError, type TaskErrorCode } from "./errors";
export { taskMetrics, type IterationResult, type TaskMetrics } from "./metrics";
export { systemClock, systemTimers, type Clock, type Timers } from "./timers";
