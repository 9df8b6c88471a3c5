/**
 * The HTTP part of the engine benchmark: the real API (operator/api) listening on a loopback
 * port in front of the same pipeline, driven by concurrent keep-alive clients. Measured twice:
 * batches of 50 orders per POST (how a market maker submits) and one order per POST.
 */
import http from "node:http";
import { performance } from "node:perf_hooks";
import { buildApi } from "../../operator/api";
import type { Logger } from "../../operator/log";
import type { MatchingEngine } from "../../operator/matching";
import { createRegistry } from "../../operator/metrics";
import { encodeSignedOrder } from "../../operator/orders";
import type { VerifierPool } from "../../operator/orders/verifier";
import type { RedisClient } from "../../operator/redis";
import type { RedisServer } from "../lib/redisServer";
import { BENCH_DOMAIN, BENCH_MARKET, type BenchTrader, type SignedBenchOrder } from "./engineWorkload";

interface PipelineLike {
  engine: MatchingEngine;
  pool: VerifierPool;
  redis: RedisClient;
}

export interface HttpBenchParams<P extends PipelineLike> {
  server: RedisServer;
  traders: readonly BenchTrader[];
  orders: readonly SignedBenchOrder[];
  logger: Logger;
  freshPipeline: (server: RedisServer, traders: readonly BenchTrader[]) => Promise<P>;
  closePipeline: (p: P) => Promise<void>;
}

const BATCH = 50;
const BATCH_CLIENTS = 16;
const SINGLE_CLIENTS = 32;
const SINGLE_ORDERS = 6_000;

function postJson(agent: http.Agent, port: number, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: "127.0.0.1", port, path: "/v1/orders", method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
      (response) => {
        response.resume();
        response.on("end", () => resolve(response.statusCode ?? 0));
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

/** Sends `bodies` through `clients` concurrent keep-alive connections; returns elapsed seconds. */
async function drive(port: number, bodies: readonly string[], clients: number): Promise<{ seconds: number; failures: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  let next = 0;
  let failures = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < bodies.length) {
        const status = await postJson(agent, port, bodies[next++]);
        if (status >= 500) failures++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return { seconds, failures };
}

async function withApi<P extends PipelineLike, T>(params: HttpBenchParams<P>, run: (port: number) => Promise<T>): Promise<T> {
  const p = await params.freshPipeline(params.server, params.traders);
  const app = buildApi(
    { engine: p.engine, verifier: p.pool, redis: p.redis, logger: params.logger, metrics: createRegistry() },
    {
      chains: [{ chainId: BENCH_MARKET.chainId, orderDomain: BENCH_DOMAIN }],
      markets: [BENCH_MARKET],
      limits: { maxBodyBytes: 1 << 20, maxOrdersPerRequest: BATCH, maxExpirySeconds: 10n ** 10n },
    },
  );
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("api did not listen on a port");
  try {
    return await run(address.port);
  } finally {
    await app.close();
    await params.closePipeline(p);
  }
}

export async function measureHttp<P extends PipelineLike>(params: HttpBenchParams<P>): Promise<{ ordersPerSec: number; singleOrdersPerSec: number; note: string }> {
  const wire = params.orders.map((o) => encodeSignedOrder({ order: o.order, signature: o.signature }));
  const batches: string[] = [];
  for (let i = 0; i < wire.length; i += BATCH) batches.push(JSON.stringify({ orders: wire.slice(i, i + BATCH) }));
  const batched = await withApi(params, (port) => drive(port, batches, BATCH_CLIENTS));
  const singles = wire.slice(0, SINGLE_ORDERS).map((w) => JSON.stringify(w));
  const single = await withApi(params, (port) => drive(port, singles, SINGLE_CLIENTS));
  const ordersPerSec = wire.length / batched.seconds;
  const singleOrdersPerSec = singles.length / single.seconds;
  const failures = batched.failures + single.failures;
  return {
    ordersPerSec,
    singleOrdersPerSec,
    note: `${BATCH} orders/POST, ${BATCH_CLIENTS} clients; 1 order/POST, ${SINGLE_CLIENTS} clients: ${Math.round(singleOrdersPerSec)}/s${failures ? `; ${failures} 5xx` : ""}`,
  };
}
