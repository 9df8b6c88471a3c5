/**
 * Shared by the API tests: a real Redis, a real verifier pool, a real engine (the matching
 * fixtures' markets and clock), the API built on them, traders with keys, signed wire orders
 * and cancels, and Redis dumps for "nothing changed" assertions.
 */
import type Redis from "ioredis";
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from "fastify";
import { buildApi, closeApi, CANCEL_KEYSPACE, type ApiConfig, type ApiDeps, type ApiSettings } from "../../../operator/api";
import { stopEngine, type EngineConfig, type MatchingEngine } from "../../../operator/matching";
import { Registry } from "../../../operator/metrics";
import {
  CancelHasher,
  OrderFlags,
  ZERO_ADDRESS,
  createVerifierPool,
  encodeSignedCancel,
  encodeSignedOrder,
  signDigest,
  signSubscribe,
  type Cancel,
  type Hex,
  type Order,
  type OrderDomain,
  type VerifierPool,
  type WireSubscribeAuth,
} from "../../../operator/orders";
import type { Market } from "../../../operator/markets";
import { useRedisServer, type RedisServer } from "../../helpers/redis";
import { makeTraders, type Trader } from "../../helpers/settlementFixture";
import { DOMAIN, sign } from "../orders/fixture";
import { BTC_USDC, CHAIN, ETH_USDC, RATE_KEYS, TestClock, dumpKeys, fund, haltMarketOf, resumeMarketOf, silentLogger, startEngine } from "../matching/fixtures";

export { BTC_USDC, CHAIN, ETH_USDC, DOMAIN, RATE_KEYS, TestClock, dumpKeys, fund, haltMarketOf, resumeMarketOf };

export const traders: Trader[] = makeTraders("api-test", 6);
export const [ALICE, BOB, CAROL, DAVE] = traders;
/** Keys a processed request may change without being "state": rate buckets and cancel replay memory. */
export const BOOKKEEPING_KEYS = new RegExp(`^(?:${RATE_KEYS.source.slice(1)}|${CANCEL_KEYSPACE}:)`);

export const TEST_LIMITS: ApiConfig["limits"] = { maxBodyBytes: 16_384, maxOrdersPerRequest: 20, maxExpirySeconds: 30n * 86_400n };

export interface Harness {
  server: RedisServer;
  redis: Redis;
  pool: VerifierPool;
  /** Verify calls the API made, by batch size (the real pool does the work). */
  verifyCalls: number[];
  engine: MatchingEngine;
  clock: TestClock;
  app: FastifyInstance;
  registry: Registry;
}

export interface StartOptions {
  engine?: Partial<EngineConfig>;
  api?: Partial<ApiSettings>;
  limits?: Partial<ApiConfig["limits"]>;
  clientLimits?: ApiConfig["clientLimits"];
  deps?: Partial<ApiDeps>;
}

/**
 * Registers the suite's hooks: Redis (useRedisServer) and the verifier pool, started once per
 * suite. The suite's tests build the rest with `reset` (which empties Redis) and `teardown`.
 */
export function useApiSuite(): Harness {
  const db = useRedisServer({ flushBeforeEach: false });
  const h = { verifyCalls: [] } as unknown as Harness;
  Object.defineProperties(h, { server: { get: () => db.server }, redis: { get: () => db.redis } });
  before(async () => {
    h.pool = createVerifierPool({ logger: silentLogger }, { domain: DOMAIN, size: 1 });
    await h.pool.ready();
  });
  after(async () => h.pool?.close());
  return h;
}

/** Empties Redis, starts an engine and an API (not listening), funds every trader. */
export async function reset(h: Harness, options: StartOptions = {}): Promise<void> {
  await h.redis.flushall();
  h.clock = new TestClock();
  ({ engine: h.engine } = await startEngine(h.redis, { clock: h.clock, ...options.engine }));
  h.registry = new Registry();
  h.verifyCalls = [];
  const verifier: ApiDeps["verifier"] = {
    verify: (batch) => {
      h.verifyCalls.push(batch.length);
      return h.pool.verify(batch);
    },
    stats: () => h.pool.stats(),
  };
  h.app = buildApi(
    { engine: h.engine, verifier, redis: h.redis, logger: silentLogger, metrics: h.registry, clock: h.clock, ...options.deps },
    {
      chains: [{ chainId: CHAIN, orderDomain: DOMAIN }],
      markets: [ETH_USDC, BTC_USDC],
      limits: { ...TEST_LIMITS, ...options.limits },
      clientLimits: options.clientLimits,
      api: { wsTickMs: 50, ...options.api },
    },
  );
  await h.app.ready();
  for (const t of traders) await fund(h.engine, t.address);
}

export async function teardown(h: Harness): Promise<void> {
  if (h.app) await closeApi(h.app);
  if (h.engine) await stopEngine(h.engine);
}

// ------------------------------------------------------------------ orders and cancels

export interface Spec {
  isBuy: boolean;
  ticks: number;
  lots: number;
  market?: Market;
  nonce?: bigint;
  flags?: number;
  /** Seconds after the clock's now. */
  ttl?: number;
}

let nonces = 1n;

export function makeOrder(h: Harness, trader: Trader, spec: Spec): Order {
  const m = spec.market ?? ETH_USDC;
  return {
    trader: trader.address,
    baseToken: m.baseToken,
    quoteToken: m.quoteToken,
    isBuy: spec.isBuy,
    price: BigInt(spec.ticks) * m.tickSize,
    amount: BigInt(spec.lots) * m.lotSize,
    nonce: spec.nonce ?? nonces++,
    expiry: BigInt(Math.floor(h.clock.now() / 1000) + (spec.ttl ?? 3600)),
    maxMakerFeeBps: 50,
    maxTakerFeeBps: 50,
    flags: spec.flags ?? OrderFlags.None,
  };
}

/** The JSON body of `order` signed by `signer` (the trader by default). */
export function wire(order: Order, signer: Trader, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...(encodeSignedOrder({ order, signature: sign(signer, order, DOMAIN) }) as unknown as Record<string, unknown>), ...extra };
}

export function signedBody(h: Harness, trader: Trader, spec: Spec): Record<string, unknown> {
  return wire(makeOrder(h, trader, spec), trader);
}

const cancelHasher = new CancelHasher(DOMAIN);
let salts = 1n;

export function makeCancel(h: Harness, trader: Trader, fields: Partial<Cancel> = {}): Cancel {
  return {
    trader: trader.address,
    orderHashes: [],
    baseToken: ZERO_ADDRESS,
    quoteToken: ZERO_ADDRESS,
    all: false,
    expiry: BigInt(Math.floor(h.clock.now() / 1000) + 60),
    salt: salts++,
    ...fields,
  };
}

export function cancelBody(cancel: Cancel, signer: Trader): Record<string, unknown> {
  return encodeSignedCancel({ cancel, signature: signDigest(signer.privateKey, cancelHasher.digest(cancel)) });
}

export function cancelHashOf(cancel: Cancel): Hex {
  return cancelHasher.hash(cancel);
}

/**
 * The `auth` of a subscription to `trader`'s orders channel, signed by `signer` (the trader by
 * default) for `domain` (the fixture's), expiring `ttl` seconds after the clock's now (60 s).
 */
export function subscribeAuth(h: Harness, trader: Trader, options: { signer?: Trader; ttl?: number; domain?: OrderDomain; nameDomain?: boolean } = {}): WireSubscribeAuth {
  const expiry = BigInt(Math.floor(h.clock.now() / 1000) + (options.ttl ?? 60));
  return signSubscribe((options.signer ?? trader).privateKey, { domain: options.domain ?? DOMAIN, trader: trader.address, expiry, nameDomain: options.nameDomain });
}

// ------------------------------------------------------------------ requests

export async function post(h: Harness, url: string, body: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  const payload = typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  return h.app.inject({ method: "POST", url, payload, headers: { "content-type": "application/json", ...headers } } as InjectOptions);
}

export async function get(h: Harness, url: string): Promise<LightMyRequestResponse> {
  return h.app.inject({ method: "GET", url });
}

/** Places orders through the API and returns the (201) results. */
export async function place(h: Harness, trader: Trader, spec: Spec): Promise<Record<string, any>> {
  const res = await post(h, "/v1/orders", signedBody(h, trader, spec));
  if (res.statusCode !== 201) throw new Error(`expected 201, got ${res.statusCode}: ${res.body}`);
  return res.json();
}

/** A dump once Redis stopped changing (the engine persists its cursors lazily). */
export async function quietDump(h: Harness, exclude?: RegExp): Promise<Record<string, unknown>> {
  let previous = JSON.stringify(await dumpKeys(h.redis, exclude));
  for (let i = 0; i < 50; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    const next = JSON.stringify(await dumpKeys(h.redis, exclude));
    if (next === previous) return JSON.parse(next);
    previous = next;
  }
  throw new Error("Redis did not settle");
}
