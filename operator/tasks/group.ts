/**
 * The daemon's loops as one: started in the order given, stopped in reverse order, each
 * drained before the next is stopped (a later loop may feed on an earlier one: the settlement
 * batcher stops before the chain watcher it reads from). On SIGTERM the daemon awaits
 * `group.stop()` and exits.
 */
import { TaskError } from "./errors";
import type { Loop, LoopStatus } from "./loop";

export interface LoopGroup {
  readonly loops: readonly Loop[];
  /** Starts every loop, in order; idempotent like Loop.start. */
  start(): void;
  /** Stops the loops in reverse order, each drained before the next; idempotent, never rejects. */
  stop(): Promise<void>;
  /** The status of every loop, in order (for /health). */
  status(): LoopStatus[];
  /** The loop of this name, if any. */
  get(name: string): Loop | undefined;
}

export function createLoopGroup(loops: readonly Loop[]): LoopGroup {
  const byName = new Map<string, Loop>();
  for (const loop of loops) {
    if (byName.has(loop.name)) throw new TaskError("TASK_BAD_PARAMS", `two loops are named ${loop.name}`, { details: { task: loop.name } });
    byName.set(loop.name, loop);
  }
  const list = [...loops];
  let stopping: Promise<void> | undefined;

  return {
    loops: list,
    start() {
      stopping = undefined;
      for (const loop of list) loop.start();
    },
    stop() {
      stopping ??= (async () => {
        for (const loop of [...list].reverse()) await loop.stop();
      })();
      return stopping;
    },
    status: () => list.map((loop) => loop.status()),
    get: (name) => byName.get(name),
  };
}
