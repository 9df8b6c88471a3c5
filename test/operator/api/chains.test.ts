/**
 * The HTTP API over an engine whose markets settle on two chains: WETH-USDC on chain 999
 * (market 1, Settlement SETTLEMENT) and on chain 998 (market 3, "WETH-USDC.t", another
 * Settlement); WBTC-USDC on 999 only. A real verifier pool with both domains, real signatures.
 */
import { expect } from "chai";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import type { AddressInfo } from "node:net";
import { buildApi, closeApi } from "../../../operator/api";
import { creditDeposit } from "../../../operator/ledger";
import { parseMarketConfig, type Market } from "../../../operator/markets";
import { getOrder, stopEngine, type MatchingEngine } from "../../../operator/matching";
import { Registry } from "../../../operator/metrics";
import {
  CancelHasher,
  OrderFlags,
  OrderHasher,
  ZERO_ADDRESS,
  createVerifierPool,
  encodeSignedCancel,
  encodeSignedOrder,
  signDigest,
  signSubscribe,
  type Address,
  type Cancel,
  type Hex,
  type Order,
  type OrderDomain,
  type VerifierPool,
} from "../../../operator/orders";
import { useRedisServer } from "../../helpers/redis";
import type { Trader } from "../../helpers/settlementFixture";
import { BTC_USDC, CHAIN, ETH_USDC, FEE_ACCOUNT, TestClock, USDC, WBTC, WETH, dumpKeys, ledgerOf, silentLogger, startEngine } from "../matching/fixtures";
import { DOMAIN, SETTLEMENT, sign } from "../orders/fixture";
import { ALICE, BOB, BOOKKEEPING_KEYS, CAROL, TEST_LIMITS } from "./fixture";
import { TestClient } from "./wsClient";

const CHAIN_T = 998;
const SETTLEMENT_T = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512" as Address;
const DOMAIN_T: OrderDomain = { chainId: BigInt(CHAIN_T), verifyingContract: SETTLEMENT_T };
const DOMAIN_OF: Record<number, OrderDomain> = { [CHAIN]: DOMAIN, [CHAIN_T]: DOMAIN_T };
const ETH_USDC_T: Market = parseMarketConfig({
  id: 3,
  symbol: "WETH-USDC.t",
  chainId: CHAIN_T,
  baseToken: WETH,
  quoteToken: USDC,
  baseDecimals: 18,
  tickSize: 10_000n,
  lotSize: 10n ** 15n,
  minLots: 1,
  makerFeeBps: 5,
  takerFeeBps: 20,
});
const FEE_ACCOUNT_T = "0x00000000000000000000000000000000000000fd" as Address;
const MARKETS = [ETH_USDC, BTC_USDC, ETH_USDC_T];
const TOKENS_OF: Record<number, Address[]> = { [CHAIN]: [WETH, USDC, WBTC], [CHAIN_T]: [WETH, USDC] };
const LOT = ETH_USDC.lotSize;
const TICK = ETH_USDC.tickSize;

interface Spec {
  isBuy: boolean;
  ticks: number;
  lots: number;
  nonce?: bigint;
}

describe("operator/api on two chains", function () {
  const db = useRedisServer();
  let pool: VerifierPool;
  let clock: TestClock;
  let engine: MatchingEngine;
  let app: FastifyInstance;
  let nonces = 1n;
  let salts = 1n;

  before(async () => {
    pool = createVerifierPool({ logger: silentLogger }, { domains: [DOMAIN, DOMAIN_T], size: 1 });
    await pool.ready();
  });
  after(async () => pool?.close());

  beforeEach(async () => {
    clock = new TestClock();
    ({ engine } = await startEngine(db.redis, { clock, markets: MARKETS, feeAccounts: { [CHAIN]: FEE_ACCOUNT, [CHAIN_T]: FEE_ACCOUNT_T } }));
    app = buildApi(
      { engine, verifier: pool, redis: db.redis, logger: silentLogger, metrics: new Registry(), clock },
      {
        chains: [
          { chainId: CHAIN, orderDomain: DOMAIN },
          { chainId: CHAIN_T, orderDomain: DOMAIN_T },
        ],
        markets: MARKETS,
        limits: TEST_LIMITS,
        api: { wsTickMs: 50 },
      },
    );
    await app.ready();
    for (const t of [ALICE, BOB, CAROL]) {
      for (const chainId of [CHAIN, CHAIN_T]) {
        for (const token of TOKENS_OF[chainId]) {
          const amount = token === WETH ? 10n ** 22n : 10n ** 14n;
          await creditDeposit(ledgerOf(engine), { chainId, trader: t.address, token, amount, depositId: `seed:${token}` });
        }
      }
    }
  });
  afterEach(async () => {
    await closeApi(app);
    await stopEngine(engine);
  });

  // ---------------------------------------------------------------- helpers

  function makeOrder(trader: Trader, market: Market, spec: Spec): Order {
    return {
      trader: trader.address,
      baseToken: market.baseToken,
      quoteToken: market.quoteToken,
      isBuy: spec.isBuy,
      price: BigInt(spec.ticks) * market.tickSize,
      amount: BigInt(spec.lots) * market.lotSize,
      nonce: spec.nonce ?? nonces++,
      expiry: BigInt(Math.floor(clock.now() / 1000) + 3600),
      maxMakerFeeBps: 50,
      maxTakerFeeBps: 50,
      flags: OrderFlags.None,
    };
  }

  /** The wire body of `order`, signed by `signer` for `signedFor`, saying `domain` (that one by default; null: none). */
  function wire(order: Order, signer: Trader, signedFor: OrderDomain, domain: OrderDomain | null = signedFor): Record<string, unknown> {
    return encodeSignedOrder({ order, signature: sign(signer, order, signedFor), domain: domain ?? undefined }) as unknown as Record<string, unknown>;
  }

  async function post(url: string, body: unknown): Promise<LightMyRequestResponse> {
    return app.inject({ method: "POST", url, payload: JSON.stringify(body), headers: { "content-type": "application/json" } });
  }

  async function get(url: string): Promise<LightMyRequestResponse> {
    return app.inject({ method: "GET", url });
  }

  /** Places an order in `market`, signed for and naming its chain's domain; returns the 201 body. */
  async function placeIn(trader: Trader, market: Market, spec: Spec): Promise<Record<string, any>> {
    const res = await post("/v1/orders", wire(makeOrder(trader, market, spec), trader, DOMAIN_OF[market.chainId]));
    if (res.statusCode !== 201) throw new Error(`expected 201, got ${res.statusCode}: ${res.body}`);
    return res.json();
  }

  function makeCancel(trader: Trader, fields: Partial<Cancel>): Cancel {
    return {
      trader: trader.address,
      orderHashes: [],
      baseToken: ZERO_ADDRESS,
      quoteToken: ZERO_ADDRESS,
      all: false,
      expiry: BigInt(Math.floor(clock.now() / 1000) + 60),
      salt: salts++,
      ...fields,
    };
  }

  /** The wire body of `cancel`, signed by `signer` for `signedFor`, saying `domain` (that one by default; null: none). */
  function cancelWire(cancel: Cancel, signer: Trader, signedFor: OrderDomain, domain: OrderDomain | null = signedFor): Record<string, unknown> {
    return encodeSignedCancel({ cancel, signature: signDigest(signer.privateKey, new CancelHasher(signedFor).digest(cancel)), domain: domain ?? undefined });
  }

  async function stateOf(orderHash: string): Promise<string | undefined> {
    return (await getOrder(engine, { orderHash: orderHash as Hex }))?.state;
  }

  /** A dump once Redis stopped changing (cursors are written lazily), without rate buckets and cancel memory. */
  async function quietDump(): Promise<Record<string, unknown>> {
    let previous = JSON.stringify(await dumpKeys(db.redis, BOOKKEEPING_KEYS));
    for (let i = 0; i < 50; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      const next = JSON.stringify(await dumpKeys(db.redis, BOOKKEEPING_KEYS));
      if (next === previous) return JSON.parse(next);
      previous = next;
    }
    throw new Error("Redis did not settle");
  }

  function codeOf(res: LightMyRequestResponse): [number, string] {
    return [res.statusCode, res.json().error?.code];
  }

  // ---------------------------------------------------------------- orders

  it("accepts an order signed for each chain's domain and places it in that chain's market", async () => {
    // The same order, signed once per chain: two orders, two hashes, one nonce on each chain.
    const order = makeOrder(ALICE, ETH_USDC, { isBuy: false, ticks: 100_000, lots: 2 });
    const here = await post("/v1/orders", wire(order, ALICE, DOMAIN));
    const there = await post("/v1/orders", wire(order, ALICE, DOMAIN_T));
    expect(here.statusCode, here.body).to.equal(201);
    expect(there.statusCode, there.body).to.equal(201);
    expect(here.json()).to.deep.include({ status: "accepted", market: ETH_USDC.id, orderHash: new OrderHasher(DOMAIN).hash(order), state: "open" });
    expect(there.json()).to.deep.include({ status: "accepted", market: ETH_USDC_T.id, orderHash: new OrderHasher(DOMAIN_T).hash(order), state: "open" });

    const view = await get(`/v1/orders/${there.json().orderHash}`);
    expect(view.json()).to.deep.include({ market: ETH_USDC_T.id, chainId: CHAIN_T, symbol: "WETH-USDC.t", side: "sell" });
    expect((await get(`/v1/orders/${here.json().orderHash}`)).json()).to.deep.include({ market: ETH_USDC.id, chainId: CHAIN, symbol: "WETH-USDC" });

    // Bob buys on 998: he meets Alice's 998 order only.
    const buy = await placeIn(BOB, ETH_USDC_T, { isBuy: true, ticks: 100_000, lots: 3 });
    expect(buy.fills.map((f: any) => [f.makerHash, f.amount])).to.deep.equal([[there.json().orderHash, (2n * LOT).toString()]]);
    expect(buy).to.deep.include({ market: ETH_USDC_T.id, state: "open", remainingAmount: LOT.toString() });
    expect(await stateOf(here.json().orderHash)).to.equal("open");
    expect((await get("/v1/book/weth-usdc.t")).json()).to.deep.include({ bids: [{ price: (100_000n * TICK).toString(), amount: LOT.toString() }], asks: [] });
    expect((await get("/v1/book/WETH-USDC")).json()).to.deep.include({ bids: [], asks: [{ price: (100_000n * TICK).toString(), amount: (2n * LOT).toString() }] });
  });

  it("accepts an order for a pair that trades on one chain without a domain, in that chain's", async () => {
    const o = makeOrder(ALICE, BTC_USDC, { isBuy: true, ticks: 20_000, lots: 2 });
    const res = await post("/v1/orders", wire(o, ALICE, DOMAIN, null));
    expect(res.statusCode, res.body).to.equal(201);
    expect(res.json()).to.deep.include({ market: BTC_USDC.id, orderHash: new OrderHasher(DOMAIN).hash(o) });
  });

  it("places a batch with orders for both chains, each in its own chain's market", async () => {
    const a = makeOrder(ALICE, ETH_USDC, { isBuy: true, ticks: 90_000, lots: 1 });
    const b = makeOrder(ALICE, ETH_USDC_T, { isBuy: true, ticks: 90_000, lots: 1 });
    const c = makeOrder(BOB, BTC_USDC, { isBuy: true, ticks: 20_000, lots: 2 });
    const bad = makeOrder(BOB, ETH_USDC_T, { isBuy: true, ticks: 90_000, lots: 1 });
    const res = await post("/v1/orders", { orders: [wire(a, ALICE, DOMAIN), wire(b, ALICE, DOMAIN_T), wire(c, BOB, DOMAIN, null), wire(bad, BOB, DOMAIN, DOMAIN_T)] });
    expect(res.statusCode, res.body).to.equal(200);
    expect(res.json().results.map((r: any) => r.market ?? r.error.code)).to.deep.equal([ETH_USDC.id, ETH_USDC_T.id, BTC_USDC.id, "SIGNER_MISMATCH"]);
    expect(res.json().results.slice(0, 3).map((r: any) => r.orderHash)).to.deep.equal([new OrderHasher(DOMAIN).hash(a), new OrderHasher(DOMAIN_T).hash(b), new OrderHasher(DOMAIN).hash(c)]);
  });

  it("refuses an order for a pair on two chains without a domain: 422 DOMAIN_REQUIRED, Redis unchanged", async () => {
    const before = await quietDump();
    const res = await post("/v1/orders", wire(makeOrder(ALICE, ETH_USDC, { isBuy: true, ticks: 90_000, lots: 1 }), ALICE, DOMAIN, null));
    expect(codeOf(res)).to.deep.equal([422, "DOMAIN_REQUIRED"]);
    expect(res.json().error.details).to.deep.include({ field: "domain", chains: [CHAIN, CHAIN_T] });
    expect(await quietDump()).to.deep.equal(before);
  });

  it("refuses an order whose domain names a chain the pair does not trade on (DOMAIN_CHAIN_MISMATCH) or another contract (DOMAIN_CONTRACT_MISMATCH)", async () => {
    const before = await quietDump();
    const unknownChain: OrderDomain = { chainId: 1n, verifyingContract: SETTLEMENT };
    const eth = makeOrder(ALICE, ETH_USDC, { isBuy: true, ticks: 90_000, lots: 1 });
    const r1 = await post("/v1/orders", wire(eth, ALICE, unknownChain));
    expect(codeOf(r1)).to.deep.equal([422, "DOMAIN_CHAIN_MISMATCH"]);
    expect(r1.json().error.details).to.deep.include({ field: "domain.chainId", expected: [CHAIN, CHAIN_T], got: "1" });
    // WBTC-USDC trades on 999 only: an order signed for 998 names the wrong chain.
    const btc = makeOrder(ALICE, BTC_USDC, { isBuy: true, ticks: 20_000, lots: 2 });
    const r2 = await post("/v1/orders", wire(btc, ALICE, DOMAIN_T));
    expect(codeOf(r2)).to.deep.equal([422, "DOMAIN_CHAIN_MISMATCH"]);
    expect(r2.json().error.details).to.deep.include({ expected: CHAIN, got: String(CHAIN_T) });
    // Chain 998 with chain 999's Settlement.
    const crossed: OrderDomain = { chainId: BigInt(CHAIN_T), verifyingContract: SETTLEMENT };
    const r3 = await post("/v1/orders", wire(eth, ALICE, crossed));
    expect(codeOf(r3)).to.deep.equal([422, "DOMAIN_CONTRACT_MISMATCH"]);
    expect(r3.json().error.details).to.deep.include({ field: "domain.verifyingContract", expected: SETTLEMENT_T, got: SETTLEMENT });
    expect(await quietDump()).to.deep.equal(before);
  });

  it("refuses a signature made for the other chain's domain: 401 SIGNER_MISMATCH", async () => {
    const before = await quietDump();
    const eth = makeOrder(ALICE, ETH_USDC, { isBuy: true, ticks: 90_000, lots: 1 });
    // Signed for 999, sent as an order for 998: verified in 998's domain, it recovers someone else.
    const r1 = await post("/v1/orders", wire(eth, ALICE, DOMAIN, DOMAIN_T));
    expect(codeOf(r1)).to.deep.equal([401, "SIGNER_MISMATCH"]);
    expect(r1.json().error.details).to.deep.include({ orderHash: new OrderHasher(DOMAIN_T).hash(eth) });
    // Signed for 998, sent without a domain for a pair of 999 only.
    const btc = makeOrder(ALICE, BTC_USDC, { isBuy: true, ticks: 20_000, lots: 2 });
    expect(codeOf(await post("/v1/orders", wire(btc, ALICE, DOMAIN_T, null)))).to.deep.equal([401, "SIGNER_MISMATCH"]);
    expect(await quietDump()).to.deep.equal(before);
  });

  // ---------------------------------------------------------------- queries

  it("GET /v1/markets shows each market's chain and settlement contract", async () => {
    const res = await get("/v1/markets");
    expect(res.statusCode, res.body).to.equal(200);
    expect(res.json().markets.map((m: any) => [m.id, m.symbol, m.chainId, m.settlement, m.baseToken, m.quoteToken, m.makerFeeBps, m.takerFeeBps, m.status])).to.deep.equal([
      [1, "WETH-USDC", CHAIN, SETTLEMENT, WETH, USDC, 10, 30, "active"],
      [2, "WBTC-USDC", CHAIN, SETTLEMENT, WBTC, USDC, 0, 20, "active"],
      [3, "WETH-USDC.t", CHAIN_T, SETTLEMENT_T, WETH, USDC, 5, 20, "active"],
    ]);
  });

  it("GET /v1/accounts/:trader/balances lists each chain, and ?chainId= one of them", async () => {
    await placeIn(ALICE, ETH_USDC_T, { isBuy: true, ticks: 100_000, lots: 2 });
    await placeIn(ALICE, ETH_USDC, { isBuy: false, ticks: 100_000, lots: 3 });
    const locked998 = 2n * 100_000n * ETH_USDC_T.quotePerLotTick;
    const res = await get(`/v1/accounts/${ALICE.address}/balances`);
    expect(res.statusCode, res.body).to.equal(200);
    const body = res.json();
    expect(body.trader).to.equal(ALICE.address);
    expect(body.chains.map((c: any) => [c.chainId, Object.keys(c.balances).sort()])).to.deep.equal([
      [CHAIN_T, [WETH, USDC].sort()],
      [CHAIN, [WETH, USDC, WBTC].sort()],
    ]);
    const [t, m] = body.chains;
    expect(t.balances[USDC]).to.deep.equal({ available: (10n ** 14n - locked998).toString(), locked: locked998.toString(), pendingOut: "0", pendingIn: "0" });
    expect(t.balances[WETH]).to.deep.include({ available: (10n ** 22n).toString(), locked: "0" });
    expect(m.balances[WETH]).to.deep.include({ available: (10n ** 22n - 3n * LOT).toString(), locked: (3n * LOT).toString() });
    expect(m.balances[USDC]).to.deep.include({ available: (10n ** 14n).toString(), locked: "0" });

    const one = await get(`/v1/accounts/${ALICE.address}/balances?chainId=${CHAIN_T}`);
    expect(one.statusCode, one.body).to.equal(200);
    expect(one.json()).to.deep.equal({ trader: ALICE.address, chains: [t] });
    const notServed = await get(`/v1/accounts/${ALICE.address}/balances?chainId=1`);
    expect(codeOf(notServed)).to.deep.equal([400, "INVALID_QUERY"]);
    expect(notServed.json().error.details).to.deep.include({ chains: [CHAIN_T, CHAIN] });
  });

  // ---------------------------------------------------------------- cancels

  it("a signed cancel applies on the chain of its domain only", async () => {
    const here = await placeIn(ALICE, ETH_USDC, { isBuy: true, ticks: 90_000, lots: 1 });
    const there = await placeIn(ALICE, ETH_USDC_T, { isBuy: true, ticks: 90_000, lots: 1 });
    const fields = { orderHashes: [here.orderHash, there.orderHash] as Hex[] };
    const c = makeCancel(ALICE, fields);
    const res = await post("/v1/cancel", cancelWire(c, ALICE, DOMAIN_T));
    expect(res.statusCode, res.body).to.equal(200);
    expect(res.json().cancelHash).to.equal(new CancelHasher(DOMAIN_T).hash(c));
    expect(res.json().results.map((r: any) => [r.orderHash, r.status, r.market ?? r.error.code, r.httpStatus])).to.deep.equal([
      [here.orderHash, "rejected", "ORDER_NOT_FOUND", 404],
      [there.orderHash, "cancelled", ETH_USDC_T.id, undefined],
    ]);
    expect([await stateOf(here.orderHash), await stateOf(there.orderHash)]).to.deep.equal(["open", "cancelled"]);
    // The same cancel signed for 999 is another cancel (not a replay): it takes 999's order.
    const again = await post("/v1/cancel", cancelWire(c, ALICE, DOMAIN));
    expect(again.statusCode, again.body).to.equal(200);
    expect(again.json().results.map((r: any) => [r.orderHash, r.status, r.error?.code])).to.deep.equal([
      [here.orderHash, "cancelled", undefined],
      [there.orderHash, "rejected", "ORDER_NOT_FOUND"],
    ]);
    expect(await stateOf(here.orderHash)).to.equal("cancelled");
    // One hash on the other chain: that order's refusal is the response.
    const other = await placeIn(ALICE, ETH_USDC_T, { isBuy: true, ticks: 90_000, lots: 1 });
    const one = await post("/v1/cancel", cancelWire(makeCancel(ALICE, { orderHashes: [other.orderHash] }), ALICE, DOMAIN));
    expect(codeOf(one)).to.deep.equal([404, "ORDER_NOT_FOUND"]);
    expect(await stateOf(other.orderHash)).to.equal("open");
  });

  it("refuses a cancel by hashes without a domain when two chains are served: 422 DOMAIN_REQUIRED, nothing cancelled", async () => {
    const o = await placeIn(ALICE, ETH_USDC_T, { isBuy: true, ticks: 90_000, lots: 1 });
    const before = await quietDump();
    const res = await post("/v1/cancel", cancelWire(makeCancel(ALICE, { orderHashes: [o.orderHash] }), ALICE, DOMAIN_T, null));
    expect(codeOf(res)).to.deep.equal([422, "DOMAIN_REQUIRED"]);
    expect(await quietDump()).to.deep.equal(before);
    expect(await stateOf(o.orderHash)).to.equal("open");
  });

  it("refuses a cancel signed for the other chain's domain: 401 SIGNER_MISMATCH", async () => {
    const o = await placeIn(ALICE, ETH_USDC_T, { isBuy: true, ticks: 90_000, lots: 1 });
    const res = await post("/v1/cancel", cancelWire(makeCancel(ALICE, { orderHashes: [o.orderHash] }), ALICE, DOMAIN, DOMAIN_T));
    expect(codeOf(res)).to.deep.equal([401, "SIGNER_MISMATCH"]);
    expect(await stateOf(o.orderHash)).to.equal("open");
  });

  it("refuses a cancel whose domain names a chain not served (DOMAIN_CHAIN_MISMATCH) or another contract (DOMAIN_CONTRACT_MISMATCH)", async () => {
    const o = await placeIn(ALICE, ETH_USDC_T, { isBuy: true, ticks: 90_000, lots: 1 });
    const c1 = makeCancel(ALICE, { orderHashes: [o.orderHash] });
    expect(codeOf(await post("/v1/cancel", cancelWire(c1, ALICE, { chainId: 1n, verifyingContract: SETTLEMENT_T })))).to.deep.equal([422, "DOMAIN_CHAIN_MISMATCH"]);
    const c2 = makeCancel(ALICE, { orderHashes: [o.orderHash] });
    expect(codeOf(await post("/v1/cancel", cancelWire(c2, ALICE, { chainId: BigInt(CHAIN_T), verifyingContract: SETTLEMENT })))).to.deep.equal([
      422,
      "DOMAIN_CONTRACT_MISMATCH",
    ]);
    expect(await stateOf(o.orderHash)).to.equal("open");
  });

  it("a signed cancel-all of a pair on two chains cancels in the market of its domain, and needs one", async () => {
    const here = await placeIn(ALICE, ETH_USDC, { isBuy: true, ticks: 90_000, lots: 1 });
    const btc = await placeIn(ALICE, BTC_USDC, { isBuy: true, ticks: 20_000, lots: 2 });
    const there = [await placeIn(ALICE, ETH_USDC_T, { isBuy: true, ticks: 90_000, lots: 1 }), await placeIn(ALICE, ETH_USDC_T, { isBuy: false, ticks: 120_000, lots: 1 })];
    const all = { all: true, baseToken: WETH, quoteToken: USDC };

    const noDomain = await post("/v1/cancel", cancelWire(makeCancel(ALICE, all), ALICE, DOMAIN_T, null));
    expect(codeOf(noDomain)).to.deep.equal([422, "DOMAIN_REQUIRED"]);

    const res = await post("/v1/cancel", cancelWire(makeCancel(ALICE, all), ALICE, DOMAIN_T));
    expect(res.statusCode, res.body).to.equal(200);
    expect(res.json().results.map((r: any) => [r.orderHash, r.market]).sort()).to.deep.equal(there.map((o) => [o.orderHash, ETH_USDC_T.id]).sort());
    expect([await stateOf(here.orderHash), await stateOf(btc.orderHash)]).to.deep.equal(["open", "open"]);

    // A pair of one chain needs no domain.
    const btcAll = await post("/v1/cancel", cancelWire(makeCancel(ALICE, { all: true, baseToken: WBTC, quoteToken: USDC }), ALICE, DOMAIN, null));
    expect(btcAll.statusCode, btcAll.body).to.equal(200);
    expect(btcAll.json().results.map((r: any) => r.orderHash)).to.deep.equal([btc.orderHash]);
    expect(await stateOf(here.orderHash)).to.equal("open");
  });

  // ---------------------------------------------------------------- WebSocket

  it("opens a trader's orders channel with a subscription signed for either chain's domain, named or found; refuses a domain not served", async () => {
    await app.listen({ host: "127.0.0.1", port: 0 });
    const c = await TestClient.connect(`ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/ws`);
    try {
      const channel = `orders:${ALICE.address}`;
      const expiry = BigInt(Math.floor(clock.now() / 1000) + 60);
      const auth = (domain: OrderDomain, nameDomain = true) => signSubscribe(ALICE.privateKey, { domain, trader: ALICE.address, expiry, nameDomain });
      const answer = async (a: unknown, id: number) => {
        const m = await c.request({ op: "subscribe", channel, auth: a }, id);
        return m.type === "error" ? [m.error.code, m.error.details.reason] : [m.type];
      };
      expect(await answer(auth(DOMAIN_T), 1)).to.deep.equal(["subscribed"]);
      expect(await answer(auth(DOMAIN_T, false), 2)).to.deep.equal(["subscribed"]);
      expect(await answer(auth(DOMAIN, false), 3)).to.deep.equal(["subscribed"]);
      // Signed for chain 999, saying 998: not the trader's signature in that domain.
      expect(await answer({ ...auth(DOMAIN), domain: auth(DOMAIN_T).domain }, 4)).to.deep.equal(["WS_AUTH_INVALID", "SIGNER_MISMATCH"]);
      expect(await answer(auth({ chainId: 1n, verifyingContract: SETTLEMENT }), 5)).to.deep.equal(["WS_AUTH_INVALID", "DOMAIN_NOT_SERVED"]);
    } finally {
      c.close();
    }
  });
});
