import { expect } from "chai";
import { DEFAULT_MAX_LOTS, DEFAULT_MAX_PRICE_TICKS } from "../../../operator/markets";
import { placeOrders, setMinNonce } from "../../../operator/matching";
import { OrderFlags } from "../../../operator/orders";
import { highSSignature } from "../../helpers/settlementFixture";
import {
  ALICE,
  BOB,
  BTC_USDC,
  CAROL,
  ETH_USDC,
  RATE_KEYS,
  makeOrder,
  place,
  post,
  quietDump,
  reset,
  signedBody,
  teardown,
  useApiSuite,
  wire,
  get,
  haltMarketOf,
} from "./fixture";
import { request as engineRequest } from "../matching/fixtures";

describe("operator/api POST /v1/orders", function () {
  const h = useApiSuite();

  beforeEach(async () => reset(h));
  afterEach(async () => teardown(h));

  it("places a valid signed order: 201 with the engine's result, bigints as decimal strings", async () => {
    const order = makeOrder(h, ALICE, { isBuy: false, ticks: 200_000, lots: 3 });
    const res = await post(h, "/v1/orders", wire(order, ALICE));
    expect(res.statusCode, res.body).to.equal(201);
    const body = res.json();
    expect(body).to.deep.include({ status: "accepted", market: 1, seq: 1, state: "open", filledAmount: "0", remainingAmount: (3n * ETH_USDC.lotSize).toString(), fills: [] });
    expect(body.orderHash).to.match(/^0x[0-9a-f]{64}$/);
    expect(h.verifyCalls).to.deep.equal([1]);
  });

  it("matches a crossing order and returns its fills at the maker's price", async () => {
    const maker = await place(h, ALICE, { isBuy: false, ticks: 200_000, lots: 3 });
    const res = await post(h, "/v1/orders", signedBody(h, BOB, { isBuy: true, ticks: 200_100, lots: 2 }));
    expect(res.statusCode, res.body).to.equal(201);
    const body = res.json();
    expect(body.state).to.equal("filled");
    expect(body.fills).to.have.length(1);
    expect(body.fills[0]).to.deep.include({ makerHash: maker.orderHash, price: (200_000n * ETH_USDC.tickSize).toString(), amount: (2n * ETH_USDC.lotSize).toString() });
    expect(body.fills[0].fillId).to.match(/^[0-9]+$/);
  });

  it("answers a batch with one result per order, in order, after ONE verify call and one engine call", async () => {
    const good = makeOrder(h, ALICE, { isBuy: false, ticks: 200_000, lots: 2 });
    const offTick = { ...makeOrder(h, ALICE, { isBuy: false, ticks: 200_000, lots: 2 }), price: 200_000n * ETH_USDC.tickSize + 1n };
    const crossing = makeOrder(h, BOB, { isBuy: true, ticks: 200_000, lots: 1 });
    const res = await post(h, "/v1/orders", {
      orders: [wire(good, ALICE), wire(offTick, ALICE), wire(makeOrder(h, CAROL, { isBuy: true, ticks: 1, lots: 1 }), BOB), wire(crossing, BOB), wire(good, ALICE), { order: {} }],
    });
    expect(res.statusCode, res.body).to.equal(200);
    const results = res.json().results;
    expect(results.map((r: any) => r.status)).to.deep.equal(["accepted", "rejected", "rejected", "accepted", "rejected", "rejected"]);
    expect(results.map((r: any) => r.error?.code)).to.deep.equal([undefined, "PRICE_OFF_TICK", "SIGNER_MISMATCH", undefined, "DUPLICATE_ORDER", "FIELD_MISSING"]);
    expect(results.map((r: any) => r.httpStatus)).to.deep.equal([undefined, 422, 401, undefined, 409, 400]);
    expect(results[3].fills).to.have.length(1);
    // Four orders passed validation (the off-tick and empty ones did not): one verify call for the four.
    expect(h.verifyCalls).to.deep.equal([4]);
  });

  it("refuses an empty batch and one above the configured maximum", async () => {
    const empty = await post(h, "/v1/orders", { orders: [] });
    expect([empty.statusCode, empty.json().error.code]).to.deep.equal([400, "INVALID_FIELD"]);
    const big = await post(h, "/v1/orders", { orders: Array.from({ length: 21 }, () => ({})) });
    expect([big.statusCode, big.json().error.code]).to.deep.equal([400, "TOO_MANY_ORDERS"]);
    expect(big.json().error.details).to.deep.equal({ max: 20, got: 21 });
  });

  describe("refuses malformed or unacceptable input with a stable code, leaving Redis unchanged", () => {
    interface Case {
      name: string;
      status: number;
      code: string;
      /** Runs before the snapshot (e.g. a first order for the duplicate). */
      setup?: () => Promise<void>;
      body: () => unknown;
      /** A refusal by the ledger charges the trader's rate bucket: allowed to change. */
      exclude?: RegExp;
    }
    const price = 200_000;
    const cases: Case[] = [
      { name: "malformed JSON", status: 400, code: "BODY_NOT_JSON", body: () => '{"order": {"trader": ' },
      { name: "an empty body", status: 400, code: "BODY_NOT_JSON", body: () => "" },
      { name: "a payload above the configured maximum", status: 413, code: "PAYLOAD_TOO_LARGE", body: () => ({ ...signedBody(h, ALICE, { isBuy: true, ticks: price, lots: 1 }), pad: "x".repeat(20_000) }) },
      { name: "an unknown field", status: 400, code: "FIELD_UNKNOWN", body: () => ({ ...signedBody(h, ALICE, { isBuy: true, ticks: price, lots: 1 }), memo: "hi" }) },
      {
        name: "a JSON number where a decimal string belongs",
        status: 400,
        code: "INVALID_FIELD",
        body: () => {
          const b = signedBody(h, ALICE, { isBuy: true, ticks: price, lots: 1 }) as any;
          return { ...b, order: { ...b.order, price: 2000000000 } };
        },
      },
      {
        name: "an unknown market",
        status: 422,
        code: "MARKET_UNKNOWN",
        body: () => wire({ ...makeOrder(h, ALICE, { isBuy: true, ticks: price, lots: 1 }), baseToken: "0x00000000000000000000000000000000000000d4" }, ALICE),
      },
      {
        name: "a domain with another chain id",
        status: 422,
        code: "DOMAIN_CHAIN_MISMATCH",
        body: () => ({ ...signedBody(h, ALICE, { isBuy: true, ticks: price, lots: 1 }), domain: { chainId: "1", verifyingContract: "0x5fbdb2315678afecb367f032d93f642f64180aa3" } }),
      },
      {
        name: "a domain with another verifying contract",
        status: 422,
        code: "DOMAIN_CONTRACT_MISMATCH",
        body: () => ({ ...signedBody(h, ALICE, { isBuy: true, ticks: price, lots: 1 }), domain: { chainId: "999", verifyingContract: "0x00000000000000000000000000000000000000aa" } }),
      },
      { name: "a signature by another key", status: 401, code: "SIGNER_MISMATCH", body: () => wire(makeOrder(h, ALICE, { isBuy: true, ticks: price, lots: 1 }), BOB) },
      {
        name: "a malleable (high-s) signature",
        status: 401,
        code: "SIGNATURE_HIGH_S",
        body: () => {
          const b = signedBody(h, ALICE, { isBuy: true, ticks: price, lots: 1 }) as any;
          return { ...b, signature: highSSignature(b.signature) };
        },
      },
      { name: "a signature nobody can have made", status: 401, code: "SIGNATURE_INVALID", body: () => ({ ...signedBody(h, ALICE, { isBuy: true, ticks: price, lots: 1 }), signature: `0x${"00".repeat(64)}1b` }) },
      { name: "a signature that is not hex", status: 400, code: "SIGNATURE_MALFORMED", body: () => ({ ...signedBody(h, ALICE, { isBuy: true, ticks: price, lots: 1 }), signature: "0xzz" }) },
      { name: "a signature with v = 29", status: 400, code: "SIGNATURE_MALFORMED", body: () => ({ ...signedBody(h, ALICE, { isBuy: true, ticks: price, lots: 1 }), signature: `0x${"11".repeat(64)}1d` }) },
      { name: "an expired order", status: 422, code: "ORDER_EXPIRED", body: () => signedBody(h, ALICE, { isBuy: true, ticks: price, lots: 1, ttl: -1 }) },
      { name: "an order expiring beyond the horizon", status: 422, code: "EXPIRY_TOO_FAR", body: () => signedBody(h, ALICE, { isBuy: true, ticks: price, lots: 1, ttl: 31 * 86_400 }) },
      {
        name: "an off-tick price",
        status: 422,
        code: "PRICE_OFF_TICK",
        body: () => wire({ ...makeOrder(h, ALICE, { isBuy: true, ticks: price, lots: 1 }), price: BigInt(price) * ETH_USDC.tickSize + 1n }, ALICE),
      },
      {
        name: "an off-lot amount",
        status: 422,
        code: "AMOUNT_OFF_LOT",
        body: () => wire({ ...makeOrder(h, ALICE, { isBuy: true, ticks: price, lots: 1 }), amount: ETH_USDC.lotSize + 1n }, ALICE),
      },
      {
        name: "an amount below the market's minimum",
        status: 422,
        code: "AMOUNT_BELOW_MIN",
        body: () => signedBody(h, ALICE, { market: BTC_USDC, isBuy: true, ticks: 30_000, lots: 1 }),
      },
      {
        name: "a fee cap below the market's fee",
        status: 422,
        code: "FEE_CAP_TOO_LOW",
        body: () => wire({ ...makeOrder(h, ALICE, { isBuy: true, ticks: price, lots: 1 }), maxTakerFeeBps: 29 }, ALICE),
      },
      {
        name: "an order the trader cannot fund",
        status: 422,
        code: "INSUFFICIENT_FUNDS",
        exclude: RATE_KEYS,
        body: () => signedBody(h, ALICE, { isBuy: true, ticks: price, lots: 1_000_000_000 }),
      },
      {
        name: "a duplicate order (the same nonce again)",
        status: 409,
        code: "DUPLICATE_ORDER",
        exclude: RATE_KEYS,
        setup: async () => void (await place(h, ALICE, { isBuy: true, ticks: price - 10, lots: 1, nonce: 4242n })),
        body: () => signedBody(h, ALICE, { isBuy: true, ticks: price - 20, lots: 1, nonce: 4242n }),
      },
      {
        name: "a post-only order that would cross",
        status: 422,
        code: "POST_ONLY_WOULD_CROSS",
        exclude: RATE_KEYS,
        setup: async () => void (await place(h, BOB, { isBuy: false, ticks: price, lots: 1 })),
        body: () => signedBody(h, ALICE, { isBuy: true, ticks: price, lots: 1, flags: OrderFlags.PostOnly }),
      },
      {
        name: "an order whose nonce is below the trader's on-chain minimum",
        status: 422,
        code: "NONCE_BELOW_MINIMUM",
        exclude: RATE_KEYS,
        setup: async () => void (await setMinNonce(h.engine, { trader: ALICE.address, minNonce: 1_000_000n })),
        body: () => signedBody(h, ALICE, { isBuy: true, ticks: price, lots: 1, nonce: 999_999n }),
      },
      {
        name: "an order in a halted market",
        status: 503,
        code: "MARKET_HALTED",
        exclude: RATE_KEYS,
        setup: async () => haltMarketOf(h.engine, { market: ETH_USDC.id, reason: "test" }),
        body: () => signedBody(h, ALICE, { isBuy: true, ticks: price, lots: 1 }),
      },
    ];

    for (const c of cases) {
      it(`${c.name}: ${c.status} ${c.code}`, async () => {
        await place(h, CAROL, { isBuy: false, ticks: 300_000, lots: 5 }); // some state to keep
        await c.setup?.();
        const body = await c.body();
        const before = await quietDump(h, c.exclude);
        const res = await post(h, "/v1/orders", body);
        expect(res.statusCode, res.body).to.equal(c.status);
        const error = res.json().error;
        expect(error.code).to.equal(c.code);
        expect(error.message).to.be.a("string").and.not.equal("");
        expect(error.details).to.be.an("object");
        expect(await quietDump(h, c.exclude)).to.deep.equal(before);
      });
    }

  });

  it("rate-limits a trader's orders: 429 RATE_LIMITED with Retry-After, the book unchanged", async () => {
    await teardown(h);
    await reset(h, { engine: { rateLimits: { place: { capacity: 2, refillPerSecond: 1 } } } });
    await place(h, ALICE, { isBuy: true, ticks: 100, lots: 1 });
    await place(h, ALICE, { isBuy: true, ticks: 101, lots: 1 });
    const before = await quietDump(h, RATE_KEYS);
    const res = await post(h, "/v1/orders", signedBody(h, ALICE, { isBuy: true, ticks: 102, lots: 1 }));
    expect(res.statusCode, res.body).to.equal(429);
    expect(res.json().error.code).to.equal("RATE_LIMITED");
    expect(res.headers["retry-after"]).to.equal("1");
    expect(await quietDump(h, RATE_KEYS)).to.deep.equal(before);
    h.clock.advance(1_000);
    expect((await post(h, "/v1/orders", signedBody(h, ALICE, { isBuy: true, ticks: 102, lots: 1 }))).statusCode).to.equal(201);
  });

  it("refuses a resting order beyond the open-order limit: 422 TOO_MANY_OPEN_ORDERS with the count, IOC orders exempt", async () => {
    await teardown(h);
    await reset(h, { engine: { maxOpenOrdersPerTrader: 2 } });
    await place(h, ALICE, { isBuy: true, ticks: 100, lots: 1 });
    await place(h, ALICE, { isBuy: true, ticks: 101, lots: 1 });
    const before = await quietDump(h);
    const res = await post(h, "/v1/orders", signedBody(h, ALICE, { isBuy: true, ticks: 102, lots: 1 }));
    expect(res.statusCode, res.body).to.equal(422);
    expect(res.json().error.code).to.equal("TOO_MANY_OPEN_ORDERS");
    expect(res.json().error.details).to.deep.include({ openOrders: 2, maxOpenOrders: 2 });
    expect(await quietDump(h)).to.deep.equal(before);
    const ioc = await post(h, "/v1/orders", signedBody(h, ALICE, { isBuy: true, ticks: 102, lots: 1, flags: OrderFlags.IOC }));
    expect([ioc.statusCode, ioc.json().state], ioc.body).to.deep.equal([201, "cancelled"]);
  });

  it("refuses an order above the default maximum amount or price of a market configured without them: 422 AMOUNT_ABOVE_MAX / PRICE_ABOVE_MAX, the limits GET /v1/markets shows, the engine's codes too", async () => {
    // WETH-USDC is configured without maxLots / maxPriceTicks (test/operator/matching/fixtures.ts).
    const shown = (await get(h, "/v1/markets")).json().markets.find((m: any) => m.symbol === "WETH-USDC");
    expect(shown).to.deep.include({
      maxLots: DEFAULT_MAX_LOTS,
      maxPriceTicks: DEFAULT_MAX_PRICE_TICKS,
      maxAmount: (BigInt(DEFAULT_MAX_LOTS) * ETH_USDC.lotSize).toString(),
      maxPrice: (BigInt(DEFAULT_MAX_PRICE_TICKS) * ETH_USDC.tickSize).toString(),
    });
    const maxAmount = BigInt(shown.maxAmount);
    const maxPrice = BigInt(shown.maxPrice);
    const before = await quietDump(h);
    const refusal = async (fields: { amount?: bigint; price?: bigint }) => {
      const res = await post(h, "/v1/orders", wire({ ...makeOrder(h, ALICE, { isBuy: false, ticks: 100_000, lots: 1 }), ...fields }, ALICE));
      return [res.statusCode, res.json().error?.code, res.json().error?.details];
    };
    expect(await refusal({ amount: maxAmount + ETH_USDC.lotSize })).to.deep.equal([422, "AMOUNT_ABOVE_MAX", { field: "order.amount", maxAmount: shown.maxAmount }]);
    expect(await refusal({ price: maxPrice + ETH_USDC.tickSize })).to.deep.equal([422, "PRICE_ABOVE_MAX", { field: "order.price", maxPrice: shown.maxPrice }]);
    expect(await quietDump(h)).to.deep.equal(before);
    // At the maximum, the market's rules pass (what stops it is the seller's funds).
    expect((await refusal({ amount: maxAmount, price: maxPrice })).slice(0, 2)).to.deep.equal([422, "INSUFFICIENT_FUNDS"]);
    // The engine, handed the same orders without the API, answers the same codes.
    const [lots, ticks] = [DEFAULT_MAX_LOTS + 1, DEFAULT_MAX_PRICE_TICKS + 1];
    const engine = await placeOrders(h.engine, [engineRequest({ trader: ALICE.address, isBuy: false, ticks: 100_000, lots }), engineRequest({ trader: ALICE.address, isBuy: false, ticks, lots: 1 })]);
    expect(engine.map((r) => (r.status === "rejected" ? r.code : r.status))).to.deep.equal(["AMOUNT_ABOVE_MAX", "PRICE_ABOVE_MAX"]);
  });

  it("reads the body whatever its content type, and answers unknown routes with ROUTE_NOT_FOUND", async () => {
    const res = await h.app.inject({ method: "POST", url: "/v1/orders", payload: "nope", headers: { "content-type": "text/plain" } });
    expect([res.statusCode, res.json().error.code]).to.deep.equal([400, "BODY_NOT_JSON"]);
    const missing = await h.app.inject({ method: "GET", url: "/v1/nothing" });
    expect([missing.statusCode, missing.json().error.code]).to.deep.equal([404, "ROUTE_NOT_FOUND"]);
  });
});
