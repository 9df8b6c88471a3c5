import { expect } from "chai";
import type { Cluster } from "ioredis";
import {
  cancelOrders,
  getBook,
  getOrder,
  placeOrders,
  stopEngine,
  type MatchingEngine,
} from "../../../operator/matching";
import { processPlaceBatch } from "../../../operator/matching/place";
import { OrderFlags } from "../../../operator/orders";
import { keySlot } from "../../../operator/redis";
import { startRedisCluster, type RedisClusterHandle } from "../../helpers/redis";
import { BTC_USDC, ETH_USDC, USDC, WETH, accepted, balancesOf, checkLedger, fund, fundedTotals, request, settleFillsOf, startEngine, trader } from "./fixtures";

/**
 * The same engine against a 3-master Redis Cluster. Every script carries the #!lua shebang, so
 * the server refuses any key access outside the slot of a call's declared keys: a script that
 * broke the one-slot rule would fail here. The engine also checks the declared keys of every
 * call in TypeScript (assertSingleSlot).
 */
describe("matching engine on Redis Cluster", () => {
  let cluster: RedisClusterHandle;
  let redis: Cluster;
  let engine: MatchingEngine;
  const traders = Array.from({ length: 6 }, (_, i) => trader(200 + i));

  before(async function () {
    this.timeout(60_000);
    cluster = await startRedisCluster(3);
    redis = cluster.connect();
  });
  after(async () => {
    redis.disconnect();
    await cluster.destroy();
  });
  beforeEach(async () => {
    await Promise.all(redis.nodes("master").map((n) => n.flushall()));
    ({ engine } = await startEngine(redis, { assertSingleSlot: true, maxFillsPerCall: 2 }));
    for (const t of traders) await fund(engine, t);
  });
  afterEach(async () => {
    await stopEngine(engine);
  });

  it("computes the same key slots as the cluster", async () => {
    const keys = ["foo", "foo{}{bar}", "foo{{bar}}zap", "{t:0xabc}:acct", `hx:v1:book:{m:1}:orders`, "a{b}c{d}"];
    for (const k of keys) expect(keySlot(k), k).to.equal(await redis.cluster("KEYSLOT", k));
  });

  it("spreads markets and traders over several nodes", () => {
    const owner = (key: string) => redis.slots[keySlot(key)]?.[0];
    const nodes = new Set([...traders.map((t) => owner(`{t:${t}}`)), owner(`{m:${ETH_USDC.id}}`), owner(`{m:${BTC_USDC.id}}`)]);
    expect(nodes.size).to.be.greaterThan(1);
  });

  it("places, matches across levels in capped calls, and applies fills and fees to ledgers on other nodes", async () => {
    const [t0, t1, t2, t3] = traders;
    const asks = (await placeOrders(engine, [
      request({ trader: t0, isBuy: false, ticks: 100, lots: 2 }),
      request({ trader: t1, isBuy: false, ticks: 100, lots: 2 }),
      request({ trader: t2, isBuy: false, ticks: 101, lots: 3 }),
      request({ trader: t0, market: BTC_USDC, isBuy: false, ticks: 20_000, lots: 4 }),
    ])).map(accepted);
    const [eth, btc] = (await placeOrders(engine, [
      request({ trader: t3, isBuy: true, ticks: 101, lots: 6 }),
      request({ trader: t3, market: BTC_USDC, isBuy: true, ticks: 20_000, lots: 2, flags: OrderFlags.IOC }),
    ])).map(accepted);
    expect(eth.fills.map((f) => f.makerHash)).to.deep.equal([asks[0].orderHash, asks[1].orderHash, asks[2].orderHash]);
    expect(eth.state).to.equal("filled");
    expect(btc.fills).to.have.length(1);
    expect((await getBook(engine, { market: ETH_USDC.id })).asks).to.deep.equal([{ price: 101n * ETH_USDC.tickSize, amount: ETH_USDC.lotSize }]);
    expect((await balancesOf(engine, { trader: t2 }))[WETH]).to.deep.include({ locked: ETH_USDC.lotSize, pendingOut: 2n * ETH_USDC.lotSize });
    await checkLedger(redis, [ETH_USDC, BTC_USDC], traders, fundedTotals(traders.length));
    const fills = [...eth.fills, ...btc.fills].map((f) => ({ fillId: f.fillId, maker: f.maker, taker: f.taker }));
    expect(await settleFillsOf(engine, fills)).to.equal(4 * 3);
    const usdc = (await balancesOf(engine, { trader: t3 }))[USDC];
    expect([usdc.pendingOut, usdc.pendingIn]).to.deep.equal([0n, 0n]);
  });

  it("cancels own orders, refuses another trader's, and cancels all of a market", async () => {
    const [t0, t1] = traders;
    const [a, b, c] = (await placeOrders(engine, [
      request({ trader: t0, isBuy: true, ticks: 90, lots: 1 }),
      request({ trader: t0, isBuy: true, ticks: 91, lots: 1 }),
      request({ trader: t1, isBuy: true, ticks: 92, lots: 1 }),
    ])).map(accepted);
    const r = await cancelOrders(engine, { trader: t0, orderHashes: [a.orderHash, c.orderHash] });
    expect(r.status === "done" && r.results.map((x) => (x.status === "cancelled" ? "cancelled" : x.code))).to.deep.equal(["cancelled", "NOT_ORDER_OWNER"]);
    const all = await cancelOrders(engine, { trader: t0, market: ETH_USDC.id, all: true });
    expect(all.status === "done" && all.results.map((x) => x.orderHash)).to.deep.equal([b.orderHash]);
    expect((await getOrder(engine, { orderHash: c.orderHash }))?.state).to.equal("open");
    await checkLedger(redis, [ETH_USDC, BTC_USDC], traders, fundedTotals(traders.length));
  });

  it("recovers on start the journal of a batch whose process died before its ledger round", async () => {
    const [t0, t1] = traders;
    await placeOrders(engine, [request({ trader: t0, isBuy: false, ticks: 100, lots: 4 })]);
    const [r] = await processPlaceBatch(engine.ctx, [request({ trader: t1, isBuy: true, ticks: 100, lots: 3 })]);
    expect(accepted(r).fills).to.have.length(1);
    // The process dies with the ledger effects owed; a new one starts on the same cluster.
    const { engine: second } = await startEngine(redis, { assertSingleSlot: true });
    try {
      expect((await balancesOf(second, { trader: t0 }))[WETH]).to.deep.include({ locked: ETH_USDC.lotSize, pendingOut: 3n * ETH_USDC.lotSize });
      await checkLedger(redis, [ETH_USDC, BTC_USDC], traders, fundedTotals(traders.length));
    } finally {
      await stopEngine(second);
    }
  });

  it("refuses, on the server, a script that reaches outside its slot", async () => {
    const script = "#!lua\nredis.call('GET', KEYS[1]); return redis.call('GET', ARGV[1])";
    // Two keys served by the same node but in different slots.
    const first = `hx:test:{m:${ETH_USDC.id}}:a`;
    const node = redis.slots[keySlot(first)][0];
    let other = "";
    for (let i = 0; !other; i++) {
      const k = `hx:test:{x${i}}:b`;
      if (redis.slots[keySlot(k)][0] === node && keySlot(k) !== keySlot(first)) other = k;
    }
    let message = "";
    await redis.eval(script, 1, first, other).catch((e: Error) => (message = e.message));
    expect(message).to.match(/do not hash to the same slot/);
  });
});
