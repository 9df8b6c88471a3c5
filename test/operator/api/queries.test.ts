import { expect } from "chai";
import Redis from "ioredis";
import { freePort } from "../../helpers/redis";
import {
  ALICE,
  BOB,
  BTC_USDC,
  ETH_USDC,
  get,
  place,
  post,
  reset,
  signedBody,
  teardown,
  useApiSuite,
  CHAIN,
  DOMAIN,
  haltMarketOf,
} from "./fixture";

const TICK = ETH_USDC.tickSize;
const LOT = ETH_USDC.lotSize;

describe("operator/api queries, health and metrics", function () {
  const h = useApiSuite();

  beforeEach(async () => reset(h));
  afterEach(async () => teardown(h));

  it("GET /v1/orders/:hash returns the order with decimal-string amounts, 404 when unknown, 400 when not a hash", async () => {
    const o = await place(h, ALICE, { isBuy: true, ticks: 100_000, lots: 3 });
    const res = await get(h, `/v1/orders/${o.orderHash.toUpperCase().replace("0X", "0x")}`);
    expect(res.statusCode, res.body).to.equal(200);
    expect(res.json()).to.deep.include({
      orderHash: o.orderHash,
      market: 1,
      symbol: "WETH-USDC",
      trader: ALICE.address,
      side: "buy",
      isBuy: true,
      price: (100_000n * TICK).toString(),
      amount: (3n * LOT).toString(),
      filledAmount: "0",
      remainingAmount: (3n * LOT).toString(),
      state: "open",
      seq: 1,
    });
    const missing = await get(h, `/v1/orders/0x${"00".repeat(32)}`);
    expect([missing.statusCode, missing.json().error.code]).to.deep.equal([404, "ORDER_NOT_FOUND"]);
    const bad = await get(h, "/v1/orders/0x1234");
    expect([bad.statusCode, bad.json().error.code]).to.deep.equal([400, "INVALID_ORDER_HASH"]);
  });

  it("GET /v1/book/:market aggregates levels best first, by symbol or id, bounded by depth", async () => {
    await place(h, ALICE, { isBuy: true, ticks: 100_000, lots: 1 });
    await place(h, BOB, { isBuy: true, ticks: 100_000, lots: 2 });
    await place(h, BOB, { isBuy: true, ticks: 99_000, lots: 1 });
    await place(h, ALICE, { isBuy: false, ticks: 101_000, lots: 4 });
    const res = await get(h, "/v1/book/weth-usdc?depth=1");
    expect(res.statusCode, res.body).to.equal(200);
    expect(res.json()).to.deep.equal({
      market: 1,
      symbol: "WETH-USDC",
      depth: 1,
      bids: [{ price: (100_000n * TICK).toString(), amount: (3n * LOT).toString() }],
      asks: [{ price: (101_000n * TICK).toString(), amount: (4n * LOT).toString() }],
    });
    expect((await get(h, "/v1/book/1")).json().bids).to.have.length(2);
    expect((await get(h, "/v1/book/2")).json()).to.deep.include({ symbol: "WBTC-USDC", bids: [], asks: [] });
    const unknown = await get(h, "/v1/book/DOGE-USDC");
    expect([unknown.statusCode, unknown.json().error.code]).to.deep.equal([404, "MARKET_NOT_FOUND"]);
    for (const depth of ["0", "501", "-1", "abc", "1.5"]) {
      const bad = await get(h, `/v1/book/1?depth=${depth}`);
      expect([bad.statusCode, bad.json().error.code], depth).to.deep.equal([400, "INVALID_QUERY"]);
    }
  });

  it("GET /v1/markets lists each market's chain, tokens, tick, lot, the limits the engine enforces (defaults included), fees and status", async () => {
    await haltMarketOf(h.engine, { market: BTC_USDC.id, reason: "maintenance" });
    const res = await get(h, "/v1/markets");
    expect(res.statusCode).to.equal(200);
    const [eth, btc] = res.json().markets;
    expect(eth).to.deep.equal({
      id: 1,
      symbol: "WETH-USDC",
      chainId: CHAIN,
      settlement: DOMAIN.verifyingContract,
      baseToken: ETH_USDC.baseToken,
      quoteToken: ETH_USDC.quoteToken,
      baseDecimals: 18,
      tickSize: "10000",
      lotSize: "1000000000000000",
      minLots: 1,
      minAmount: "1000000000000000",
      maxPriceTicks: 1_000_000_000_000,
      maxLots: 1_000_000_000_000,
      maxPrice: (BigInt(ETH_USDC.maxPriceTicks) * TICK).toString(),
      maxAmount: (BigInt(ETH_USDC.maxLots) * LOT).toString(),
      makerFeeBps: 10,
      takerFeeBps: 30,
      status: "active",
    });
    expect(btc).to.deep.include({ symbol: "WBTC-USDC", minLots: 2, minAmount: "20000", status: "halted", haltReason: "maintenance" });
  });

  it("GET /v1/accounts/:trader/balances gives, per chain, every token's balances as decimal strings", async () => {
    await place(h, ALICE, { isBuy: true, ticks: 100_000, lots: 2 });
    const res = await get(h, `/v1/accounts/${ALICE.address}/balances`);
    expect(res.statusCode, res.body).to.equal(200);
    const { trader, chains } = res.json();
    expect(trader).to.equal(ALICE.address);
    expect(chains.map((c: { chainId: number }) => c.chainId)).to.deep.equal([CHAIN]);
    const balances = chains[0].balances;
    expect((await get(h, `/v1/accounts/${ALICE.address}/balances?chainId=${CHAIN}`)).json().chains).to.deep.equal(chains);
    const other = await get(h, `/v1/accounts/${ALICE.address}/balances?chainId=1`);
    expect([other.statusCode, other.json().error.code]).to.deep.equal([400, "INVALID_QUERY"]);
    expect(Object.keys(balances).sort()).to.deep.equal([ETH_USDC.baseToken, ETH_USDC.quoteToken, BTC_USDC.baseToken].sort());
    const locked = 2n * 100_000n * ETH_USDC.quotePerLotTick;
    expect(balances[ETH_USDC.quoteToken]).to.deep.equal({ available: (10n ** 15n - locked).toString(), locked: locked.toString(), pendingOut: "0", pendingIn: "0" });
    const bad = await get(h, "/v1/accounts/0x12/balances");
    expect([bad.statusCode, bad.json().error.code]).to.deep.equal([400, "ADDRESS_INVALID"]);
  });

  it("GET /health is 200 with Redis and the verifier up", async () => {
    const res = await get(h, "/health");
    expect(res.statusCode, res.body).to.equal(200);
    expect(res.json()).to.deep.include({ status: "ok" });
    expect(res.json().checks.verifier).to.deep.include({ ok: true, readyWorkers: 1 });
  });

  it("GET /health is 503 UNHEALTHY when Redis does not answer", async () => {
    await teardown(h);
    const dead = new Redis({ port: await freePort(), host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    dead.on("error", () => undefined);
    try {
      await reset(h, { deps: { redis: dead }, api: { healthTimeoutMs: 200 } });
      const res = await get(h, "/health");
      expect(res.statusCode, res.body).to.equal(503);
      expect(res.json().error.code).to.equal("UNHEALTHY");
      expect(res.json().error.details.checks.redis.ok).to.equal(false);
      expect(res.json().error.details.checks.verifier.ok).to.equal(true);
    } finally {
      dead.disconnect();
    }
  });

  it("GET /metrics exposes order counters by code, request and match latency, book depth", async () => {
    await place(h, ALICE, { isBuy: true, ticks: 100_000, lots: 2 });
    await post(h, "/v1/orders", signedBody(h, ALICE, { isBuy: true, ticks: 100_000, lots: 2, ttl: -5 }));
    await get(h, "/v1/book/1");
    const res = await get(h, "/metrics");
    expect(res.statusCode).to.equal(200);
    expect(res.headers["content-type"]).to.match(/^text\/plain/);
    const text = res.body;
    expect(text).to.include('hyperindex_api_orders_total{result="accepted",code=""} 1');
    expect(text).to.include('hyperindex_api_orders_total{result="rejected",code="ORDER_EXPIRED"} 1');
    expect(text).to.match(/hyperindex_api_request_duration_seconds_count\{method="POST",route="\/v1\/orders",status="201"\} 1/);
    expect(text).to.match(/hyperindex_api_match_latency_seconds_count 1/);
    expect(text).to.include('hyperindex_api_book_levels{market="WETH-USDC",side="bid"} 1');
    expect(text).to.include('hyperindex_api_book_depth_base{market="WETH-USDC",side="bid"} 0.002');
    expect(text).to.include("hyperindex_api_ws_connections 0");
  });
});
