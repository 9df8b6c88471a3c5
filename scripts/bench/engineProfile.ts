/**
 * Where the engine's time goes (a measuring tool, not part of `npm run bench:engine`):
 *
 *   npx ts-node --transpile-only scripts/bench/engineProfile.ts
 *
 * The workload of the engine benchmark (one market, 2,000 funded traders, ~half of the orders
 * cross). Phases:
 *
 *  calibration the CPU time of a fixed Lua loop in Redis and of a fixed JS loop: how fast the
 *              (shared) machine is right now, to compare runs made at different moments.
 *  throughput  placeOrders alone, driven like the benchmark (chunks, several in flight): wall
 *              time, Node CPU (no worker threads run then), main-thread busy time and Redis
 *              CPU (INFO cpu, every thread) per order.
 *  end to end  validation, verification in the worker pool, placement, as the benchmark runs
 *              them: process CPU (workers included), main-thread busy time, Redis CPU and
 *              script calls per order.
 *  scripts     the orders again, one batch at a time, each script's calls sent alone and
 *              measured (./engineMeters.ts): Redis main-thread CPU per order and per script,
 *              reading and answering the calls included; with PROFILE_CALLGRIND=1, instructions
 *              instead (redis-server under callgrind: exact, immune to the machine's other load,
 *              ~50x slower, so use a few thousand orders).
 *
 * Env: PROFILE_ORDERS (default 20000), PROFILE_CHUNK (250), PROFILE_IN_FLIGHT (8),
 * PROFILE_REPEAT (throughput runs, default 3), PROFILE_E2E (end-to-end runs, default 0),
 * PROFILE_SCRIPTS=0 (skip the per-script phase), PROFILE_CALLGRIND=1, PROFILE_CG_KEEP=1 (keep
 * the callgrind dumps for callgrind_annotate), PROFILE_COMMANDS=1 (Redis commands per order
 * and script, from INFO commandstats), PROFILE_E2E_SCRIPTS=1 (per-script CPU inside the end to
 * end run; concurrent batches blur it), PROFILE_CPU=<file> / PROFILE_E2E_CPU=<file> (a V8 CPU
 * profile of the first throughput / end-to-end run), PROFILE_HEAP=<file> (what the first
 * throughput run allocates), PROFILE_E2E_SNAPSHOT=<file> (a heap snapshot 1.5 s into it).
 */
import fs from "node:fs";
import { Session } from "node:inspector/promises";
import { performance } from "node:perf_hooks";
import v8 from "node:v8";
import type Redis from "ioredis";
import { createLogger } from "../../operator/log";
import { createRegistry } from "../../operator/metrics";
import { createRedisClient, type RedisClient } from "../../operator/redis";
import { creditDeposit } from "../../operator/ledger";
import { createEngine, placeOrders, stopEngine, type MatchingEngine, type PlaceOrderRequest } from "../../operator/matching";
import { startRedis, type RedisServer } from "../../test/helpers/redis";
import { commandStats, cpuMeter, measureScripts, redisCpu, scriptReport, startCallgrindRedis, type CallgrindServer } from "./engineMeters";
import { createVerifierPool } from "../../operator/orders/verifier";
import { BASE, BENCH_DOMAIN, BENCH_ENGINE_LIMITS, BENCH_MARKET, FEE_ACCOUNT, QUOTE, admitBenchOrder, benchTraders, signedOrders, type BenchTrader, type SignedBenchOrder } from "./engineWorkload";

const ORDERS = Number(process.env.PROFILE_ORDERS ?? 20_000);
const CHUNK = Number(process.env.PROFILE_CHUNK ?? 250);
const IN_FLIGHT = Number(process.env.PROFILE_IN_FLIGHT ?? 8);
const REPEAT = Number(process.env.PROFILE_REPEAT ?? 3);
const E2E_REPEAT = Number(process.env.PROFILE_E2E ?? 0);
const logger = createLogger({ level: "silent" });

async function fresh(server: RedisServer, traders: readonly BenchTrader[]): Promise<{ engine: MatchingEngine; redis: RedisClient }> {
  const redis = createRedisClient({ logger }, { url: server.url });
  await redis.flushall();
  const engine = await createEngine({ redis, logger, metrics: createRegistry() }, { markets: [BENCH_MARKET], feeAccount: FEE_ACCOUNT, ...BENCH_ENGINE_LIMITS });
  const funding = 10n ** 30n;
  await Promise.all(
    traders.flatMap((t) => [BASE, QUOTE].map((token) => creditDeposit({ scripts: engine.ctx.scripts, logger }, { chainId: BENCH_MARKET.chainId, trader: t.address, token, amount: funding, depositId: `bench:${t.address}:${token}` }))),
  );
  await redis.config("RESETSTAT");
  return { engine, redis };
}

function requests(orders: readonly SignedBenchOrder[]): PlaceOrderRequest[] {
  const now = Date.now();
  return orders.map((o) => ({ order: o.order, orderHash: o.orderHash, signature: o.signature, market: BENCH_MARKET.id, receivedAt: now }));
}

async function throughput(server: RedisServer, traders: readonly BenchTrader[], orders: readonly SignedBenchOrder[]) {
  const { engine, redis } = await fresh(server, traders);
  const reqs = requests(orders);
  const admin = redis as Redis;
  const session = process.env.PROFILE_CPU || process.env.PROFILE_HEAP ? new Session() : undefined;
  if (session) {
    session.connect();
    if (process.env.PROFILE_CPU) {
      await session.post("Profiler.enable");
      await session.post("Profiler.start");
    } else {
      await session.post("HeapProfiler.enable");
      await session.post("HeapProfiler.startSampling", { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    }
  }
  const cpu0 = await redisCpu(admin);
  const node0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  let next = 0;
  let fills = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < reqs.length) {
        const chunk = reqs.slice(next, next + CHUNK);
        next += CHUNK;
        for (const r of await placeOrders(engine, chunk)) if (r.status === "accepted") fills += r.fills.length;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const node = process.cpuUsage(node0);
  const elu = performance.eventLoopUtilization(elu0);
  const cpu1 = await redisCpu(admin);
  const stats = await commandStats(admin);
  if (session) {
    if (process.env.PROFILE_CPU) {
      const { profile } = await session.post("Profiler.stop");
      fs.writeFileSync(process.env.PROFILE_CPU, JSON.stringify(profile));
    } else {
      const { profile } = await session.post("HeapProfiler.stopSampling");
      fs.writeFileSync(process.env.PROFILE_HEAP!, JSON.stringify(profile));
    }
    session.disconnect();
  }
  await stopEngine(engine);
  redis.disconnect();
  const n = orders.length;
  return {
    ordersPerSec: Math.round(n / seconds),
    fills,
    nodeUsPerOrder: +((node.user + node.system) / n).toFixed(1),
    eluActiveUsPerOrder: +((elu.active * 1000) / n).toFixed(1),
    redisUsPerOrder: +((cpu1 - cpu0) / n).toFixed(1),
    evalshaUsPerOrder: +((stats.get("evalsha")?.usec ?? 0) / n).toFixed(1),
    evalshaCalls: stats.get("evalsha")?.calls ?? 0,
    otherUsPerOrder: +([...stats].filter(([k]) => k !== "evalsha").reduce((s, [, v]) => s + v.usec, 0) / n).toFixed(2),
  };
}

/**
 * End to end as the benchmark runs it (validation, verification in the worker pool, placement),
 * with the CPU of the whole process (worker threads included), the busy time of the main
 * thread and the CPU of Redis.
 */
async function endToEnd(server: RedisServer, traders: readonly BenchTrader[], orders: readonly SignedBenchOrder[]) {
  const { engine, redis } = await fresh(server, traders);
  const pool = createVerifierPool({ logger }, { domain: BENCH_DOMAIN });
  await pool.ready();
  const admin = redis as Redis;
  const session = process.env.PROFILE_E2E_CPU ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.start");
  }
  const side = process.env.PROFILE_E2E_SCRIPTS === "1" ? (createRedisClient({ logger }, { url: server.url }) as Redis) : undefined;
  const scripts = side ? measureScripts(side, cpuMeter(side), FEE_ACCOUNT) : undefined;
  const cpu0 = await redisCpu(admin);
  const node0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  let next = 0;
  const started = performance.now();
  const snapshotAt = process.env.PROFILE_E2E_SNAPSHOT ? setTimeout(() => console.log("heap snapshot", v8.writeHeapSnapshot(process.env.PROFILE_E2E_SNAPSHOT)), 1500) : undefined;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < orders.length) {
        const chunk = orders.slice(next, next + CHUNK);
        next += CHUNK;
        const receivedAt = Date.now();
        for (const o of chunk) admitBenchOrder(o, receivedAt);
        const verdicts = await pool.verify(chunk.map((o) => ({ order: o.order, signature: o.signature, chainId: BENCH_DOMAIN.chainId })));
        const reqs: PlaceOrderRequest[] = [];
        chunk.forEach((o, i) => {
          const v = verdicts[i];
          if (v.ok) reqs.push({ order: o.order, orderHash: v.orderHash, signature: o.signature, market: BENCH_MARKET.id, receivedAt });
        });
        await placeOrders(engine, reqs);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  clearTimeout(snapshotAt);
  const node = process.cpuUsage(node0);
  const elu = performance.eventLoopUtilization(elu0);
  const cpu1 = await redisCpu(admin);
  const evalshaCalls = (await commandStats(admin)).get("evalsha")?.calls ?? 0;
  scripts?.restore();
  if (scripts) console.log("end to end, per script", JSON.stringify(scriptReport(scripts.cost, "us", orders.length), null, 2));
  side?.disconnect();
  if (session) {
    const { profile } = await session.post("Profiler.stop");
    fs.writeFileSync(process.env.PROFILE_E2E_CPU!, JSON.stringify(profile));
    session.disconnect();
  }
  await pool.close();
  await stopEngine(engine);
  redis.disconnect();
  const n = orders.length;
  return {
    ordersPerSec: Math.round(n / seconds),
    processUsPerOrder: +((node.user + node.system) / n).toFixed(1),
    mainThreadBusyUsPerOrder: +((elu.active * 1000) / n).toFixed(1),
    redisUsPerOrder: +((cpu1 - cpu0) / n).toFixed(1),
    scriptCallsPerOrder: +(evalshaCalls / n).toFixed(2),
  };
}

async function perScript(server: RedisServer, traders: readonly BenchTrader[], orders: readonly SignedBenchOrder[]) {
  const { engine, redis } = await fresh(server, traders);
  const admin = createRedisClient({ logger }, { url: server.url }) as Redis;
  const meter = "meter" in server ? (server as CallgrindServer).meter() : cpuMeter(admin);
  const { cost, restore } = measureScripts(admin, meter, FEE_ACCOUNT);
  try {
    const reqs = requests(orders);
    for (let i = 0; i < reqs.length; i += CHUNK) await placeOrders(engine, reqs.slice(i, i + CHUNK));
  } finally {
    restore();
  }
  await stopEngine(engine);
  redis.disconnect();
  admin.disconnect();
  return scriptReport(cost, meter.unit, orders.length);
}

/**
 * The machine's speed right now, to compare runs made at different moments on a shared
 * machine: the CPU time of a fixed Lua loop in Redis and of a fixed JS loop in Node.
 */
async function calibrate(server: RedisServer): Promise<{ redisMs: number; nodeMs: number }> {
  const redis = createRedisClient({ logger }, { url: server.url }) as Redis;
  const loop = `local t = {} for i = 1, 300000 do t[i % 64 + 1] = string.format("%d|%s", i, "x") end return 1`;
  const r0 = await redisCpu(redis, true);
  await redis.eval(loop, 0);
  const r1 = await redisCpu(redis, true);
  redis.disconnect();
  const n0 = process.cpuUsage();
  let acc = 0;
  const parts: string[] = [];
  for (let i = 0; i < 300_000; i++) {
    parts[i & 63] = `${i}|${BigInt(i) * 3n}`;
    acc += parts[(i * 7) & 63]?.length ?? 0;
  }
  const n1 = process.cpuUsage(n0);
  if (acc < 0) console.log(acc);
  return { redisMs: +((r1 - r0) / 1000).toFixed(1), nodeMs: +((n1.user + n1.system) / 1000).toFixed(1) };
}

async function main(): Promise<void> {
  const traders = benchTraders(2_000);
  const orders = signedOrders(traders, ORDERS, 1);
  const server = process.env.PROFILE_CALLGRIND === "1" ? await startCallgrindRedis() : await startRedis({ appendonly: true, appendfsync: "everysec" });
  try {
    if (!("meter" in server)) console.log("calibration (CPU ms of fixed loops; lower = faster machine now)", JSON.stringify(await calibrate(server)));
    for (let i = 0; i < REPEAT; i++) console.log("throughput", JSON.stringify(await throughput(server, traders, orders)));
    for (let i = 0; i < E2E_REPEAT; i++) console.log("end to end", JSON.stringify(await endToEnd(server, traders, orders)));
    if (process.env.PROFILE_SCRIPTS !== "0") console.log("per script", JSON.stringify(await perScript(server, traders, orders), null, 2));
  } finally {
    await server.destroy();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
