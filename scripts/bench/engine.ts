/**
 * Engine benchmark (npm run bench:engine). Prints a table and writes bench/results/engine.json.
 *
 * All figures come from one run on the same machine, so they compare fairly (shared, noisy
 * machines: read the ratios). One market, 2,000 funded traders, pre-signed orders about half
 * of which cross (scripts/bench/engineWorkload.ts). Redis: a fresh redis-server with AOF
 * (appendfsync everysec, as the operator runs it), flushed between phases.
 *
 *  endToEnd    signed orders -> validation -> signature verification (worker pool, native
 *              secp256k1) -> funds lock -> matching, without HTTP; many batches in flight.
 *  http        the same through the HTTP API (POST /v1/orders) with concurrent clients.
 *  latency     receipt -> match result, at a fixed offered load of 10,000 orders/s (open loop;
 *              BENCH_OFFERED_LOAD changes the load, BENCH_LATENCY_SECONDS the duration:
 *              orders are released on schedule whether or not earlier ones are done).
 *  naive       what a first version would do: ethers verifyTypedData, then one awaited ZADD and
 *              one awaited HSET per order, no pipelining.
 *  inMemory    the npm nodejs-order-book matching the same orders in process, no verification
 *              and no persistence: the upper reference.
 */
import fs from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { ethers } from "ethers";
import { OrderBook, Side, type LimitOrderOptions } from "nodejs-order-book";
import { createLogger } from "../../operator/log";
import { createRegistry } from "../../operator/metrics";
import { createRedisClient, type RedisClient } from "../../operator/redis";
import { creditDeposit } from "../../operator/ledger";
import { createEngine, placeOrders, stopEngine, type MatchingEngine } from "../../operator/matching";
import { createVerifierPool, type VerifierPool } from "../../operator/orders/verifier";
import { ORDER_EIP712_TYPES, DOMAIN_NAME, DOMAIN_VERSION, type Address } from "../../operator/orders";
import { startRedis, type RedisServer } from "../lib/redisServer";
import {
  BASE,
  BENCH_DOMAIN,
  BENCH_ENGINE_LIMITS,
  BENCH_MARKET,
  FEE_ACCOUNT,
  QUOTE,
  admitBenchOrder,
  benchTraders,
  percentile,
  signedOrders,
  type BenchTrader,
  type SignedBenchOrder,
} from "./engineWorkload";
import { measureHttp } from "./engineHttp";

const ORDERS = Number(process.env.BENCH_ORDERS ?? 40_000);
const NAIVE_ORDERS = Number(process.env.BENCH_NAIVE_ORDERS ?? 3_000);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 5);
const OFFERED_LOAD = Number(process.env.BENCH_OFFERED_LOAD ?? 10_000);
const TRADERS = 2_000;
const CHUNK = 250; // orders per verify/place call in the end-to-end pipeline
const IN_FLIGHT = 8; // chunks in flight

const logger = createLogger({ level: "silent" });

interface Pipeline {
  engine: MatchingEngine;
  pool: VerifierPool;
  redis: RedisClient;
}

async function freshPipeline(server: RedisServer, traders: readonly BenchTrader[]): Promise<Pipeline> {
  const redis = createRedisClient({ logger }, { url: server.url });
  await redis.flushall();
  const engine = await createEngine({ redis, logger, metrics: createRegistry() }, { markets: [BENCH_MARKET], feeAccount: FEE_ACCOUNT, ...BENCH_ENGINE_LIMITS });
  const funding = 10n ** 30n;
  await Promise.all(
    traders.flatMap((t) =>
      [BASE, QUOTE].map((token) => creditDeposit({ scripts: engine.ctx.scripts, logger }, { chainId: BENCH_MARKET.chainId, trader: t.address, token, amount: funding, depositId: `bench:${t.address}:${token}` })),
    ),
  );
  const pool = createVerifierPool({ logger }, { domain: BENCH_DOMAIN });
  await pool.ready();
  return { engine, pool, redis };
}

async function closePipeline(p: Pipeline): Promise<void> {
  await stopEngine(p.engine);
  await p.pool.close();
  p.redis.disconnect();
}

interface ChunkOutcome {
  accepted: number;
  rejected: number;
  fills: number;
}

/** validate -> verify -> place for one chunk of orders: what the API does for a batch request. */
async function processChunk(p: Pipeline, chunk: readonly SignedBenchOrder[], receivedAt: number): Promise<ChunkOutcome> {
  const valid = chunk.filter((o) => {
    admitBenchOrder(o, receivedAt);
    return true;
  });
  const verdicts = await p.pool.verify(valid.map((o) => ({ order: o.order, signature: o.signature, chainId: BENCH_DOMAIN.chainId })));
  const requests = [];
  let rejected = 0;
  for (let i = 0; i < valid.length; i++) {
    const v = verdicts[i];
    if (!v.ok) {
      rejected++;
      continue;
    }
    requests.push({ order: valid[i].order, orderHash: v.orderHash, signature: valid[i].signature, market: BENCH_MARKET.id, receivedAt });
  }
  const results = await placeOrders(p.engine, requests);
  let accepted = 0;
  let fills = 0;
  for (const r of results) {
    if (r.status === "accepted") {
      accepted++;
      fills += r.fills.length;
    } else rejected++;
  }
  return { accepted, rejected, fills };
}

async function measureEndToEnd(server: RedisServer, traders: readonly BenchTrader[], orders: readonly SignedBenchOrder[]) {
  const p = await freshPipeline(server, traders);
  const totals: ChunkOutcome = { accepted: 0, rejected: 0, fills: 0 };
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < orders.length) {
      const chunk = orders.slice(next, next + CHUNK);
      next += CHUNK;
      const r = await processChunk(p, chunk, Date.now());
      totals.accepted += r.accepted;
      totals.rejected += r.rejected;
      totals.fills += r.fills;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const seconds = (performance.now() - started) / 1000;
  await closePipeline(p);
  return { ordersPerSec: orders.length / seconds, seconds, ...totals };
}

/**
 * Open-loop latency: every millisecond, release the orders whose scheduled arrival has come
 * (10 per ms at 10,000/s) as one micro-batch; latency = result time - scheduled arrival.
 */
async function measureLatency(server: RedisServer, traders: readonly BenchTrader[], orders: readonly SignedBenchOrder[], load: number) {
  const p = await freshPipeline(server, traders);
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  const intervalMs = 1000 / load;
  const start = performance.now();
  let released = 0;
  while (released < orders.length) {
    const now = performance.now();
    const due = Math.min(orders.length, Math.floor((now - start) / intervalMs) + 1);
    if (due > released) {
      const batch = orders.slice(released, due);
      const arrivals = batch.map((_, i) => start + (released + i) * intervalMs);
      released = due;
      pending.push(
        processChunk(p, batch, Date.now()).then(() => {
          const done = performance.now();
          for (const a of arrivals) latencies.push(done - a);
        }),
      );
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(pending);
  const elapsed = (performance.now() - start) / 1000;
  await closePipeline(p);
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), achieved: orders.length / elapsed };
}

async function measureNaive(server: RedisServer, orders: readonly SignedBenchOrder[]) {
  const redis = createRedisClient({ logger }, { url: server.url });
  await redis.flushall();
  const domain = { name: DOMAIN_NAME, version: DOMAIN_VERSION, chainId: BENCH_DOMAIN.chainId, verifyingContract: BENCH_DOMAIN.verifyingContract };
  const types = { Order: [...ORDER_EIP712_TYPES.Order] };
  const started = performance.now();
  for (const o of orders) {
    const signer = ethers.verifyTypedData(domain, types, o.order, o.signature);
    if (signer.toLowerCase() !== o.order.trader) throw new Error("naive: bad signature");
    const key = `naive:book:${o.order.isBuy ? "bids" : "asks"}`;
    await redis.zadd(key, Number(o.order.price / BENCH_MARKET.tickSize), o.orderHash);
    await redis.hset(`naive:order:${o.orderHash}`, "trader", o.order.trader, "amount", o.order.amount.toString(), "price", o.order.price.toString());
  }
  const seconds = (performance.now() - started) / 1000;
  redis.disconnect();
  return { ordersPerSec: orders.length / seconds };
}

function measureInMemory(orders: readonly SignedBenchOrder[]) {
  const book = new OrderBook();
  const started = performance.now();
  let fills = 0;
  for (const o of orders) {
    const result = book.limit({
      side: o.order.isBuy ? Side.BUY : Side.SELL,
      id: o.orderHash,
      size: Number(o.order.amount / BENCH_MARKET.lotSize),
      price: Number(o.order.price / BENCH_MARKET.tickSize),
      // The enum is not exported by the package; its values are these strings.
      timeInForce: (o.order.flags & 2 ? "IOC" : "GTC") as LimitOrderOptions["timeInForce"],
    });
    fills += result.done.length + (result.partial ? 1 : 0);
  }
  const seconds = (performance.now() - started) / 1000;
  return { ordersPerSec: orders.length / seconds, fills };
}

function table(rows: [string, string, string][]): void {
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(`  ${r[0].padEnd(widths[0])}  ${r[1].padStart(widths[1])}  ${r[2]}`);
}

async function main(): Promise<void> {
  console.log(`engine benchmark: ${ORDERS} orders, ${TRADERS} traders; signing the workload...`);
  const traders = benchTraders(TRADERS);
  const e2eOrders = signedOrders(traders, ORDERS, 1);
  const latencyOrders = signedOrders(traders, OFFERED_LOAD * LATENCY_SECONDS, 2);
  const server = await startRedis({ appendonly: true, appendfsync: "everysec" });
  try {
    console.log("  in-memory reference (nodejs-order-book)...");
    const inMemory = measureInMemory(e2eOrders);
    console.log("  end to end (verify + lock + match, no HTTP)...");
    const e2e = await measureEndToEnd(server, traders, e2eOrders);
    console.log(`  latency at an offered ${OFFERED_LOAD} orders/s for ${LATENCY_SECONDS} s...`);
    const latency = await measureLatency(server, traders, latencyOrders, OFFERED_LOAD);
    // The same measure at half the end-to-end capacity just measured: the pipeline's own
    // latency, without the queueing of an overload.
    const halfLoad = Math.max(100, Math.round(e2e.ordersPerSec / 200) * 100);
    console.log(`  latency at half capacity, ${halfLoad} orders/s...`);
    const halfLatency = await measureLatency(server, traders, signedOrders(traders, halfLoad * LATENCY_SECONDS, 3), halfLoad);
    console.log("  HTTP API with concurrent clients...");
    const http = await measureHttp({ server, traders, orders: e2eOrders, logger, freshPipeline, closePipeline });
    console.log(`  naive baseline (${NAIVE_ORDERS} orders)...`);
    const naive = await measureNaive(server, e2eOrders.slice(0, NAIVE_ORDERS));

    const result = {
      endToEndOrdersPerSec: Math.round(e2e.ordersPerSec),
      httpOrdersPerSec: Math.round(http.ordersPerSec),
      httpSingleOrderRequestsPerSec: Math.round(http.singleOrdersPerSec),
      p50LatencyMs: Number(latency.p50.toFixed(2)),
      p99LatencyMs: Number(latency.p99.toFixed(2)),
      offeredLoad: OFFERED_LOAD,
      naiveOrdersPerSec: Math.round(naive.ordersPerSec),
      inMemoryBookOrdersPerSec: Math.round(inMemory.ordersPerSec),
      endToEndVsNaive: Number((e2e.ordersPerSec / naive.ordersPerSec).toFixed(1)),
      achievedLoadAtLatencyTest: Math.round(latency.achieved),
      halfCapacityLoad: halfLoad,
      p50LatencyMsAtHalfCapacity: Number(halfLatency.p50.toFixed(2)),
      p99LatencyMsAtHalfCapacity: Number(halfLatency.p99.toFixed(2)),
      orders: ORDERS,
      acceptedOrders: e2e.accepted,
      rejectedOrders: e2e.rejected,
      fills: e2e.fills,
    };
    console.log("\nengine benchmark (one run, same machine)\n");
    table([
      ["measure", "value", "note"],
      ["end to end", `${result.endToEndOrdersPerSec} orders/s`, `${e2e.accepted} accepted, ${e2e.fills} fills, ${e2e.rejected} rejected`],
      ["HTTP API", `${result.httpOrdersPerSec} orders/s`, http.note],
      ["latency p50", `${result.p50LatencyMs} ms`, `offered ${OFFERED_LOAD}/s, achieved ${result.achievedLoadAtLatencyTest}/s`],
      ["latency p99", `${result.p99LatencyMs} ms`, ""],
      ["latency p50 / p99", `${result.p50LatencyMsAtHalfCapacity} / ${result.p99LatencyMsAtHalfCapacity} ms`, `at half capacity, ${halfLoad}/s offered`],
      ["naive", `${result.naiveOrdersPerSec} orders/s`, "ethers verifyTypedData + awaited ZADD, HSET"],
      ["in-memory book", `${result.inMemoryBookOrdersPerSec} orders/s`, "nodejs-order-book, no verification, no Redis"],
      ["end to end / naive", `${result.endToEndVsNaive}x`, "goal: >= 10x"],
    ]);
    console.log(`\ngoals: end to end >= 20,000/s: ${result.endToEndOrdersPerSec >= 20_000 ? "met" : "NOT met"}; >= 10x naive: ${result.endToEndVsNaive >= 10 ? "met" : "NOT met"}; p99 <= 10 ms at 10,000/s: ${result.p99LatencyMs <= 10 ? "met" : "NOT met"}`);
    const file = path.join(__dirname, "..", "..", "bench", "results", "engine.json");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(result, null, 2) + "\n");
    console.log(`wrote ${path.relative(process.cwd(), file)}`);
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

export type { Pipeline, ChunkOutcome };
export { processChunk };
export type { Address };
