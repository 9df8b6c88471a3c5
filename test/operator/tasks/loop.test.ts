import { expect } from "chai";
import { createLogger } from "../../../operator/log";
import { createRegistry, type Registry } from "../../../operator/metrics";
import { TaskError, createLoop, createLoopGroup, type Loop, type LoopParams } from "../../../operator/tasks";
import { FakeTime, settle } from "./fakeTime";

interface LogLine {
  level: string;
  msg: string;
  task?: string;
  at?: string;
  failures?: number;
  retryInMs?: number;
  err?: { message: string; type: string };
}

interface Harness {
  loop: Loop;
  time: FakeTime;
  logs: LogLine[];
  registry: Registry;
  /** Fake times at which run() was entered. */
  starts: number[];
}

/** A loop on fake time, logging into `logs`; `run` defaults to a no-op. */
function harness(params: Partial<LoopParams> & { run?: LoopParams["run"] }, options: { random?: () => number; time?: FakeTime; registry?: Registry; logs?: LogLine[] } = {}): Harness {
  const time = options.time ?? new FakeTime();
  const logs = options.logs ?? [];
  const registry = options.registry ?? createRegistry();
  const logger = createLogger({ level: "debug", destination: { write: (line: string) => void logs.push(JSON.parse(line)) } }).child({ at: "test" });
  const starts: number[] = [];
  const run = params.run ?? (() => undefined);
  const loop = createLoop(
    { logger, metrics: registry, clock: time, timers: time, random: options.random ?? (() => 0.5) },
    {
      name: "sweeper",
      intervalMs: 100,
      backoff: { initialMs: 100, maxMs: 800, jitter: "none" },
      ...params,
      run: (signal) => {
        starts.push(time.now());
        return run(signal);
      },
    },
  );
  return { loop, time, logs, registry, starts };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Whether a promise has settled by now. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await settle();
  return done;
}

const boom = (): never => {
  throw new Error("redis down");
};

describe("operator/tasks createLoop", function () {
  let loops: Loop[] = [];
  let times: FakeTime[] = [];
  function track(h: Harness): Harness {
    loops.push(h.loop);
    times.push(h.time);
    return h;
  }
  afterEach(async () => {
    // An iteration sleeping on fake time drains only as that time moves on.
    const stopping = Promise.all(loops.map((l) => l.stop()));
    for (let round = 0; !(await settled(stopping)); round++) {
      if (round === 100) throw new Error("a loop did not drain");
      for (const time of times) await time.advance(60_000);
    }
    loops = [];
    times = [];
  });

  it("runs at once on start, then every intervalMs counted from the start of the previous iteration", async () => {
    const time = new FakeTime();
    const h = track(harness({ intervalMs: 100, run: () => time.sleep(30) }, { time }));
    const t0 = time.now();
    h.loop.start();
    await time.advance(350);
    expect(h.starts.map((t) => t - t0)).to.deep.equal([0, 100, 200, 300]);
  });

  it("never runs two iterations at once, even when one takes longer than the interval", async () => {
    const time = new FakeTime();
    let inFlight = 0;
    let maxInFlight = 0;
    const h = track(
      harness(
        {
          intervalMs: 100,
          run: async () => {
            inFlight++;
            maxInFlight = Math.max(maxInFlight, inFlight);
            await time.sleep(250);
            inFlight--;
          },
        },
        { time },
      ),
    );
    const t0 = time.now();
    h.loop.start();
    await settle();
    h.loop.wake(); // during the first iteration: runs the next one when it ends, not beside it
    await time.advance(1_000);
    expect(maxInFlight).to.equal(1);
    // Each starts when the previous ends: no catch-up burst for the time lost.
    expect(h.starts.map((t) => t - t0)).to.deep.equal([0, 250, 500, 750, 1_000]);
  });

  it("backs off exponentially on repeated failures, capped at maxMs", async () => {
    const h = track(harness({ run: boom, backoff: { initialMs: 100, maxMs: 800, jitter: "none" } }));
    const t0 = h.time.now();
    h.loop.start();
    await h.time.advance(5_000);
    const gaps = h.starts.slice(1).map((t, i) => t - h.starts[i]);
    expect(h.starts[0]).to.equal(t0);
    expect(gaps.slice(0, 7)).to.deep.equal([100, 200, 400, 800, 800, 800, 800]);
  });

  it("jitters the backoff with the injected random: equal jitter keeps at least half the delay", async () => {
    const h = track(harness({ run: boom, backoff: { initialMs: 100, maxMs: 800, jitter: "equal" } }, { random: () => 0 }));
    h.loop.start();
    await h.time.advance(2_000);
    const gaps = h.starts.slice(1).map((t, i) => t - h.starts[i]);
    expect(gaps.slice(0, 5)).to.deep.equal([50, 100, 200, 400, 400]);
  });

  it("resets the backoff after a success, and logs that it recovered", async () => {
    let calls = 0;
    // Fails 3 times, succeeds once, then fails again: the next backoff starts from initialMs.
    const h = track(
      harness({
        intervalMs: 1_000,
        run: () => {
          calls++;
          if (calls !== 4) throw new Error(`failure ${calls}`);
        },
      }),
    );
    h.loop.start();
    await h.time.advance(100 + 200 + 400);
    expect(calls).to.equal(4);
    expect(h.loop.status()).to.include({ consecutiveFailures: 0, backoffMs: 0 });
    const recovered = h.logs.filter((l) => l.level === "info" && /recovered/.test(l.msg));
    expect(recovered).to.have.length(1);
    expect(recovered[0]).to.include({ task: "sweeper", failures: 3 });

    await h.time.advance(1_000);
    expect(calls).to.equal(5);
    expect(h.loop.status()).to.include({ consecutiveFailures: 1, backoffMs: 100 });
  });

  it("logs a warning with the task, the failure count, the error and the next delay", async () => {
    const h = track(harness({ run: boom }));
    h.loop.start();
    await h.time.advance(100);
    const warnings = h.logs.filter((l) => l.level === "warn");
    expect(warnings).to.have.length(2);
    expect(warnings[0]).to.include({ task: "sweeper", at: "test", failures: 1, retryInMs: 100 });
    expect(warnings[0].err).to.include({ message: "redis down", type: "Error" });
    expect(warnings[0].msg).to.match(/retrying in 100 ms/);
    expect(warnings[1]).to.include({ failures: 2, retryInMs: 200 });
  });

  it("stop() during a wait returns at once, leaves no timer behind, and no iteration runs after it", async () => {
    const h = track(harness({ intervalMs: 60_000 }));
    h.loop.start();
    await settle();
    expect(h.starts).to.have.length(1);
    expect(h.loop.status().nextRunAt).to.be.a("number");
    const stopping = h.loop.stop();
    expect(await settled(stopping)).to.equal(true);
    expect(h.time.timerCount).to.equal(0);
    h.loop.wake();
    await h.time.advance(600_000);
    expect(h.starts).to.have.length(1);
    expect(h.loop.status()).to.include({ running: false, busy: false, nextRunAt: null });
  });

  it("stop() during an iteration aborts its signal and resolves only when the iteration has finished", async () => {
    const gate = deferred();
    let signal: AbortSignal | undefined;
    let finished = false;
    const h = track(
      harness({
        run: async (s) => {
          signal = s;
          await gate.promise;
          finished = true;
        },
      }),
    );
    h.loop.start();
    await settle();
    expect(signal?.aborted).to.equal(false);
    expect(h.loop.status().busy).to.equal(true);

    const stopping = h.loop.stop();
    expect(signal?.aborted).to.equal(true);
    expect(await settled(stopping)).to.equal(false);

    gate.resolve();
    await stopping;
    expect(finished).to.equal(true);
    await h.time.advance(10_000);
    expect(h.starts).to.have.length(1);
  });

  it("does not count or retry an iteration that throws because stop() aborted it", async () => {
    const h = track(
      harness({
        run: (signal) =>
          new Promise<void>((_, reject) => signal.addEventListener("abort", () => reject(new Error("aborted")))),
      }),
    );
    h.loop.start();
    await settle();
    await h.loop.stop();
    expect(h.loop.status()).to.include({ consecutiveFailures: 0, lastError: null, iterations: 1 });
    expect(h.logs.filter((l) => l.level === "warn")).to.have.length(0);
    const text = await h.registry.metrics();
    expect(text).to.include('hyperindex_task_iterations_total{task="sweeper",result="aborted"} 1');
    expect(text).to.include('hyperindex_task_iterations_total{task="sweeper",result="error"} 0');
  });

  it("start() and stop() are idempotent", async () => {
    const h = track(harness({ intervalMs: 1_000 }));
    h.loop.start();
    h.loop.start();
    await settle();
    expect(h.starts).to.have.length(1);
    const first = h.loop.stop();
    const second = h.loop.stop();
    await Promise.all([first, second]);
    await h.loop.stop();
    expect(h.loop.status().running).to.equal(false);
  });

  it("starts again after stop(), with a fresh signal", async () => {
    const signals: AbortSignal[] = [];
    const h = track(harness({ intervalMs: 1_000, run: (s) => void signals.push(s) }));
    h.loop.start();
    await settle();
    await h.loop.stop();
    h.loop.start();
    await settle();
    expect(signals).to.have.length(2);
    expect(signals[0].aborted).to.equal(true);
    expect(signals[1].aborted).to.equal(false);
    expect(h.loop.status().running).to.equal(true);
  });

  it("start() while stop() drains begins only after the iteration in flight has finished", async () => {
    const gate = deferred();
    let inFlight = 0;
    let maxInFlight = 0;
    const h = track(
      harness({
        intervalMs: 1_000,
        run: async () => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          if (h.starts.length === 1) await gate.promise;
          inFlight--;
        },
      }),
    );
    h.loop.start();
    await settle();
    const stopping = h.loop.stop();
    h.loop.start();
    await settle();
    expect(h.starts).to.have.length(1);
    gate.resolve();
    await stopping;
    await settle();
    expect(h.starts).to.have.length(2);
    expect(maxInFlight).to.equal(1);
    expect(h.loop.status().running).to.equal(true);
  });

  it("wake() runs the next iteration at once", async () => {
    const h = track(harness({ intervalMs: 60_000 }));
    h.loop.start();
    await settle();
    h.loop.wake();
    await settle();
    expect(h.starts).to.have.length(2);
    expect(h.starts[1]).to.equal(h.starts[0]);
  });

  it("wake() during an iteration runs the next one as soon as it ends", async () => {
    const time = new FakeTime();
    const h = track(harness({ intervalMs: 60_000, run: () => time.sleep(10) }, { time }));
    h.loop.start();
    await settle();
    h.loop.wake();
    await time.advance(10);
    expect(h.starts.map((t) => t - h.starts[0])).to.deep.equal([0, 10]);
  });

  it("wake() does not cut a backoff short", async () => {
    const h = track(harness({ run: boom, backoff: { initialMs: 5_000, maxMs: 5_000, jitter: "none" } }));
    h.loop.start();
    await settle();
    h.loop.wake();
    await h.time.advance(4_999);
    expect(h.starts).to.have.length(1);
    await h.time.advance(1);
    expect(h.starts).to.have.length(2);
  });

  it("runs again at once on { again: true }, and after the requested delay on { delayMs }", async () => {
    const time = new FakeTime();
    let backlog = 3;
    const h = track(
      harness(
        {
          intervalMs: 10_000,
          run: async () => {
            await time.sleep(5);
            if (backlog > 0) {
              backlog--;
              return { again: true };
            }
            return { delayMs: 50 };
          },
        },
        { time },
      ),
    );
    const t0 = time.now();
    h.loop.start();
    await time.advance(80);
    // Drains the backlog back to back, then waits 50 ms after the end of the 4th iteration.
    expect(h.starts.map((t) => t - t0)).to.deep.equal([0, 5, 10, 15, 70]);
  });

  it("reports failures, the last error, the last success and the next run in its status", async () => {
    let fail = false;
    const h = track(
      harness({
        intervalMs: 1_000,
        run: () => {
          if (fail) throw new Error("rpc timeout");
        },
      }),
    );
    h.loop.start();
    await settle();
    const okAt = h.time.now();
    expect(h.loop.status()).to.deep.equal({
      name: "sweeper",
      running: true,
      busy: false,
      iterations: 1,
      consecutiveFailures: 0,
      lastError: null,
      lastErrorAt: null,
      lastSuccessAt: okAt,
      nextRunAt: okAt + 1_000,
      backoffMs: 0,
    });
    fail = true;
    await h.time.advance(1_000 + 100);
    expect(h.loop.status()).to.deep.include({
      iterations: 3,
      consecutiveFailures: 2,
      lastError: "rpc timeout",
      lastErrorAt: okAt + 1_100,
      lastSuccessAt: okAt,
      nextRunAt: okAt + 1_100 + 200,
      backoffMs: 200,
    });
  });

  it("records iterations, durations, failures and backoff in the registry, labelled by task, for several loops", async () => {
    const time = new FakeTime();
    const registry = createRegistry();
    const ok = track(harness({ name: "ticker" }, { time, registry }));
    const failing = track(harness({ name: "batcher", run: boom }, { time, registry }));
    // Series exist before the first iteration.
    expect(await registry.metrics()).to.include('hyperindex_task_consecutive_failures{task="batcher"} 0');
    ok.loop.start();
    failing.loop.start();
    await time.advance(100);
    const text = await registry.metrics();
    expect(text).to.include('hyperindex_task_iterations_total{task="ticker",result="ok"} 2');
    expect(text).to.include('hyperindex_task_iterations_total{task="batcher",result="error"} 2');
    expect(text).to.include('hyperindex_task_iteration_seconds_count{task="ticker"} 2');
    expect(text).to.include('hyperindex_task_consecutive_failures{task="batcher"} 2');
    expect(text).to.include('hyperindex_task_backoff_seconds{task="batcher"} 0.2');
    expect(text).to.include('hyperindex_task_backoff_seconds{task="ticker"} 0');
    expect(text).to.match(/hyperindex_task_last_success_timestamp_seconds\{task="ticker"\} \d+/);
    expect(text).to.not.match(/hyperindex_task_last_success_timestamp_seconds\{task="batcher"\}/);
  });

  it("stops promptly on real timers, in the middle of a long wait", async () => {
    const logger = createLogger({ level: "silent" });
    let runs = 0;
    const loop = createLoop({ logger }, { name: "real", intervalMs: 3_600_000, run: () => void runs++ });
    loops.push(loop);
    loop.start();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const started = Date.now();
    await loop.stop();
    // Generous: only proves the hour-long wait was cut short.
    expect(Date.now() - started).to.be.below(1_000);
    expect(runs).to.equal(1);
  });

  it("rejects unusable params with a TaskError", () => {
    const logger = createLogger({ level: "silent" });
    const make = (params: Partial<LoopParams>) => () => createLoop({ logger }, { name: "x", intervalMs: 10, run: () => undefined, ...params });
    expect(make({ intervalMs: -1 })).to.throw(TaskError).with.property("code", "TASK_BAD_PARAMS");
    expect(make({ intervalMs: Number.NaN })).to.throw(TaskError);
    expect(make({ name: "" })).to.throw(TaskError);
    expect(make({ backoff: { initialMs: 0 } })).to.throw(TaskError);
    expect(make({ backoff: { initialMs: 1_000, maxMs: 10 } })).to.throw(TaskError);
    expect(make({ backoff: { initialMs: 60_000 } })).to.not.throw();
  });
});

describe("operator/tasks createLoopGroup", function () {
  it("starts its loops in order and stops them in reverse order, each drained before the next", async () => {
    const events: string[] = [];
    const gates = new Map<string, ReturnType<typeof deferred>>();
    const make = (name: string) =>
      harness({
        name,
        run: async (signal) => {
          events.push(`run ${name}`);
          signal.addEventListener("abort", () => events.push(`abort ${name}`));
          const gate = deferred();
          gates.set(name, gate);
          await gate.promise;
          events.push(`end ${name}`);
        },
      }).loop;
    const group = createLoopGroup([make("watcher"), make("batcher")]);
    group.start();
    await settle();
    expect(events).to.deep.equal(["run watcher", "run batcher"]);

    const stopping = group.stop();
    await settle();
    // The batcher (last) is stopped first; the watcher not until the batcher has drained.
    expect(events).to.deep.equal(["run watcher", "run batcher", "abort batcher"]);
    expect(group.get("watcher")!.status().running).to.equal(true);
    gates.get("batcher")!.resolve();
    await settle();
    expect(events).to.deep.equal(["run watcher", "run batcher", "abort batcher", "end batcher", "abort watcher"]);
    expect(await settled(stopping)).to.equal(false);
    gates.get("watcher")!.resolve();
    await stopping;
    expect(events.slice(-1)).to.deep.equal(["end watcher"]);
    expect(group.status().map((s) => s.running)).to.deep.equal([false, false]);
    expect(await settled(group.stop())).to.equal(true);
  });

  it("refuses two loops of one name", () => {
    const a = harness({ name: "same" }).loop;
    const b = harness({ name: "same" }).loop;
    expect(() => createLoopGroup([a, b])).to.throw(TaskError, /two loops are named same/);
  });
});
