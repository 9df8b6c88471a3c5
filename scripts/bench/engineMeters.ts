/**
 * Meters of the engine profile (./engineProfile.ts): Redis CPU from INFO, per-command counts,
 * the per-script wrapper of ScriptRunner.batch, and a redis-server under valgrind's callgrind
 * whose instruction counts a shared, noisy machine cannot distort.
 */
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Redis from "ioredis";
import { ScriptRunner, type ScriptCall } from "../../operator/redis";
import { freePort, type RedisServer } from "../../test/helpers/redis";

/** CPU seconds of the Redis server (every thread, or the main thread only), in microseconds. */
export async function redisCpu(redis: Redis, mainThread = false): Promise<number> {
  const info = await redis.info("cpu");
  const suffix = mainThread ? "_main_thread" : "";
  const user = Number(new RegExp(`used_cpu_user${suffix}:([\\d.]+)`).exec(info)![1]);
  const sys = Number(new RegExp(`used_cpu_sys${suffix}:([\\d.]+)`).exec(info)![1]);
  return (user + sys) * 1e6;
}

export async function commandStats(redis: Redis): Promise<Map<string, { calls: number; usec: number }>> {
  const info = await redis.info("commandstats");
  const out = new Map<string, { calls: number; usec: number }>();
  for (const m of info.matchAll(/cmdstat_([^:]+):calls=(\d+),usec=(\d+)/g)) out.set(m[1], { calls: Number(m[2]), usec: Number(m[3]) });
  return out;
}

/**
 * What the per-script phase measures: Redis main-thread CPU (INFO cpu), or, with
 * PROFILE_CALLGRIND=1, instructions executed by a redis-server run under valgrind's callgrind
 * (exact and immune to other load on the machine; ~50x slower, so use a few thousand orders).
 */
export interface Meter {
  unit: string;
  start(): Promise<void>;
  /** The cost since start(). */
  stop(): Promise<number>;
}

export function cpuMeter(admin: Redis): Meter {
  let t0 = 0;
  return {
    unit: "us",
    async start() {
      t0 = await redisCpu(admin, true);
    },
    async stop() {
      return (await redisCpu(admin, true)) - t0;
    },
  };
}

export interface CallgrindServer extends RedisServer {
  pid: number;
  meter(): Meter;
}

export async function startCallgrindRedis(): Promise<CallgrindServer> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hyperindex-cg-"));
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "yes", "--appendfsync", "everysec", "--protected-mode", "no", "--loglevel", "warning"];
  const child = spawn("valgrind", ["--tool=callgrind", "--instr-atstart=no", `--callgrind-out-file=${dir}/cg.out`, "redis-server", ...args], { stdio: "ignore" });
  for (let i = 0; ; i++) {
    const probe = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on("error", () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      break;
    } catch {
      probe.disconnect();
      if (i > 200) throw new Error("valgrind redis-server did not start");
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const control = (...a: string[]): void => void execFileSync("callgrind_control", [...a, String(child.pid)], { stdio: "ignore" });
  let dumps = 0;
  const readTotal = (n: number): number => {
    const text = fs.readFileSync(`${dir}/cg.out.${n}`, "utf8");
    return Number(/^totals: (\d+)/m.exec(text)?.[1] ?? /^summary: (\d+)/m.exec(text)![1]);
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null) return;
    const c = new Redis({ port, maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on("error", () => undefined);
    await c.call("SHUTDOWN", "NOSAVE").catch(() => undefined);
    c.disconnect();
    await new Promise((r) => child.once("exit", r));
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    pid: child.pid!,
    stop,
    kill: stop,
    restart: () => Promise.reject(new Error("not supported")),
    async destroy() {
      await stop();
      if (process.env.PROFILE_CG_KEEP === "1") console.log(`callgrind dumps kept in ${dir}`);
      else fs.rmSync(dir, { recursive: true, force: true });
    },
    meter: () => ({
      unit: "kIr",
      async start() {
        control("-i", "on");
      },
      async stop() {
        control("-i", "off");
        control(`--dump=m${++dumps}`);
        return readTotal(dumps) / 1000;
      },
    }),
  };
}

export type ScriptCosts = Map<string, { calls: number; cost: number; commands: Map<string, number> }>;

/**
 * Makes every ScriptRunner.batch send each script's calls alone and measure them (the fee
 * account's steps apart); `restore` undoes it.
 */
export function measureScripts(admin: Redis, meter: Meter, feeAccount: string): { cost: ScriptCosts; restore: () => void } {
  const cost: ScriptCosts = new Map();
  const countCommands = process.env.PROFILE_COMMANDS === "1";
  const original = ScriptRunner.prototype.batch;
  ScriptRunner.prototype.batch = async function (this: ScriptRunner, calls: readonly ScriptCall[]) {
    const groups = new Map<string, number[]>();
    calls.forEach((c, i) => {
      const name = c.script.name + (c.keys[0].includes(feeAccount) ? " (fee account)" : "");
      const g = groups.get(name);
      if (g) g.push(i);
      else groups.set(name, [i]);
    });
    const results = new Array(calls.length);
    for (const [name, idx] of groups) {
      const before = countCommands ? await commandStats(admin) : undefined;
      await meter.start();
      const r = await original.call(this, idx.map((i) => calls[i]));
      const spent = await meter.stop();
      r.forEach((v, j) => (results[idx[j]] = v));
      const e = cost.get(name) ?? { calls: 0, cost: 0, commands: new Map<string, number>() };
      e.calls += idx.length;
      e.cost += spent;
      cost.set(name, e);
      if (before) {
        for (const [cmd, v] of await commandStats(admin)) {
          if (cmd === "evalsha" || cmd === "info") continue;
          const d = v.calls - (before.get(cmd)?.calls ?? 0);
          if (d > 0) e.commands.set(cmd, (e.commands.get(cmd) ?? 0) + d);
        }
      }
    }
    return results;
  };
  return { cost, restore: () => (ScriptRunner.prototype.batch = original) };
}

export function scriptReport(cost: ScriptCosts, unit: string, n: number): Record<string, string> {
  const out: Record<string, string> = {};
  let total = 0;
  for (const [name, e] of cost) {
    out[name] = `${(e.cost / n).toFixed(1)} ${unit}/order (${e.calls} calls, ${(e.cost / e.calls).toFixed(1)} ${unit}/call)`;
    if (e.commands.size > 0) out[`${name} commands/order`] = [...e.commands].map(([c, v]) => `${c} ${(v / n).toFixed(2)}`).join(", ");
    total += e.cost;
  }
  out.total = `${(total / n).toFixed(1)} ${unit}/order`;
  return out;
}

