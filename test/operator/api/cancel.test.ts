import { expect } from "chai";
import { getOrder } from "../../../operator/matching";
import { cancelReplayKey } from "../../../operator/api";
import { highSSignature } from "../../helpers/settlementFixture";
import {
  ALICE,
  BOB,
  BOOKKEEPING_KEYS,
  BTC_USDC,
  ETH_USDC,
  cancelBody,
  cancelHashOf,
  get,
  makeCancel,
  place,
  post,
  quietDump,
  reset,
  teardown,
  useApiSuite,
} from "./fixture";

describe("operator/api POST /v1/cancel", function () {
  const h = useApiSuite();

  beforeEach(async () => reset(h));
  afterEach(async () => teardown(h));

  async function stateOf(orderHash: string): Promise<string | undefined> {
    return (await getOrder(h.engine, { orderHash: orderHash as `0x${string}` }))?.state;
  }

  it("cancels one order: 200, the order closed and its funds unlocked", async () => {
    const o = await place(h, ALICE, { isBuy: true, ticks: 100_000, lots: 2 });
    const before = (await get(h, `/v1/accounts/${ALICE.address}/balances`)).json().chains[0].balances[ETH_USDC.quoteToken];
    expect(before.locked).to.not.equal("0");
    const c = makeCancel(h, ALICE, { orderHashes: [o.orderHash] });
    const res = await post(h, "/v1/cancel", cancelBody(c, ALICE));
    expect(res.statusCode, res.body).to.equal(200);
    expect(res.json()).to.deep.include({ status: "cancelled", orderHash: o.orderHash, market: 1, remainingAmount: (2n * ETH_USDC.lotSize).toString(), cancelHash: cancelHashOf(c) });
    expect(await stateOf(o.orderHash)).to.equal("cancelled");
    const after = (await get(h, `/v1/accounts/${ALICE.address}/balances`)).json().chains[0].balances[ETH_USDC.quoteToken];
    expect(after.locked).to.equal("0");
    expect(BigInt(after.available)).to.equal(BigInt(before.available) + BigInt(before.locked));
  });

  it("cancels several orders at once and reports each, closed or not", async () => {
    const a = await place(h, ALICE, { isBuy: true, ticks: 100_000, lots: 1 });
    const b = await place(h, ALICE, { isBuy: false, ticks: 300_000, lots: 1 });
    const unknown = `0x${"77".repeat(32)}`;
    const res = await post(h, "/v1/cancel", cancelBody(makeCancel(h, ALICE, { orderHashes: [a.orderHash, b.orderHash, unknown as `0x${string}`] }), ALICE));
    expect(res.statusCode, res.body).to.equal(200);
    const results = res.json().results;
    expect(results.map((r: any) => [r.orderHash, r.status, r.error?.code, r.httpStatus])).to.deep.equal([
      [a.orderHash, "cancelled", undefined, undefined],
      [b.orderHash, "cancelled", undefined, undefined],
      [unknown, "rejected", "ORDER_NOT_FOUND", 404],
    ]);
  });

  it("cancels all of the trader's orders in one market and nothing elsewhere", async () => {
    const eth1 = await place(h, ALICE, { isBuy: true, ticks: 100_000, lots: 1 });
    const eth2 = await place(h, ALICE, { isBuy: false, ticks: 300_000, lots: 1 });
    const btc = await place(h, ALICE, { market: BTC_USDC, isBuy: true, ticks: 30_000, lots: 2 });
    const bobs = await place(h, BOB, { isBuy: true, ticks: 100_000, lots: 1 });
    const c = makeCancel(h, ALICE, { all: true, baseToken: ETH_USDC.baseToken, quoteToken: ETH_USDC.quoteToken });
    const res = await post(h, "/v1/cancel", cancelBody(c, ALICE));
    expect(res.statusCode, res.body).to.equal(200);
    expect(res.json().results.map((r: any) => r.orderHash).sort()).to.deep.equal([eth1.orderHash, eth2.orderHash].sort());
    expect(await Promise.all([eth1, eth2, btc, bobs].map((o) => stateOf(o.orderHash)))).to.deep.equal(["cancelled", "cancelled", "open", "open"]);
  });

  it("refuses a replayed cancel with 409 CANCEL_REPLAYED, leaving Redis unchanged, and remembers it until its expiry", async () => {
    const o = await place(h, ALICE, { isBuy: true, ticks: 100_000, lots: 1 });
    const c = makeCancel(h, ALICE, { orderHashes: [o.orderHash] });
    expect((await post(h, "/v1/cancel", cancelBody(c, ALICE))).statusCode).to.equal(200);
    const ttl = await h.redis.pttl(cancelReplayKey(ALICE.address, cancelHashOf(c)));
    expect(ttl).to.be.within(60_000, 120_000); // 60 s to expiry + the margin
    const before = await quietDump(h);
    const replay = await post(h, "/v1/cancel", cancelBody(c, ALICE));
    expect([replay.statusCode, replay.json().error.code]).to.deep.equal([409, "CANCEL_REPLAYED"]);
    expect(await quietDump(h)).to.deep.equal(before);
  });

  describe("refuses a bad cancel with its status and code, leaving Redis unchanged", () => {
    const cases: { name: string; status: number; code: string; body: (orderHash: `0x${string}`) => unknown }[] = [
      { name: "an expired cancel", status: 422, code: "CANCEL_EXPIRED", body: (o) => cancelBody(makeCancel(h, ALICE, { orderHashes: [o], expiry: BigInt(Math.floor(h.clock.now() / 1000)) }), ALICE) },
      {
        name: "a cancel expiring beyond the 10-minute horizon",
        status: 422,
        code: "CANCEL_EXPIRY_TOO_FAR",
        body: (o) => cancelBody(makeCancel(h, ALICE, { orderHashes: [o], expiry: BigInt(Math.floor(h.clock.now() / 1000) + 601) }), ALICE),
      },
      { name: "a cancel signed by someone else", status: 401, code: "SIGNER_MISMATCH", body: (o) => cancelBody(makeCancel(h, ALICE, { orderHashes: [o] }), BOB) },
      {
        name: "a malleable (high-s) cancel signature",
        status: 401,
        code: "SIGNATURE_HIGH_S",
        body: (o) => {
          const b = cancelBody(makeCancel(h, ALICE, { orderHashes: [o] }), ALICE) as any;
          return { ...b, signature: highSSignature(b.signature) };
        },
      },
      { name: "a cancel-all that also names hashes", status: 422, code: "CANCEL_INVALID", body: (o) => cancelBody(makeCancel(h, ALICE, { orderHashes: [o], all: true, baseToken: ETH_USDC.baseToken, quoteToken: ETH_USDC.quoteToken }), ALICE) },
      {
        name: "a cancel-all of an unknown market",
        status: 422,
        code: "MARKET_UNKNOWN",
        body: () => cancelBody(makeCancel(h, ALICE, { all: true, baseToken: ETH_USDC.quoteToken, quoteToken: ETH_USDC.baseToken }), ALICE),
      },
      {
        name: "a cancel signed for another chain",
        status: 422,
        code: "DOMAIN_CHAIN_MISMATCH",
        body: (o) => ({ ...cancelBody(makeCancel(h, ALICE, { orderHashes: [o] }), ALICE), domain: { chainId: "1", verifyingContract: "0x5fbdb2315678afecb367f032d93f642f64180aa3" } }),
      },
      { name: "malformed JSON", status: 400, code: "BODY_NOT_JSON", body: () => "{" },
      { name: "an order body sent as a cancel", status: 400, code: "FIELD_UNKNOWN", body: () => ({ order: {}, signature: "0x11" }) },
    ];
    for (const c of cases) {
      it(`${c.name}: ${c.status} ${c.code}`, async () => {
        const o = await place(h, ALICE, { isBuy: true, ticks: 100_000, lots: 1 });
        const body = c.body(o.orderHash);
        const before = await quietDump(h);
        const res = await post(h, "/v1/cancel", body);
        expect(res.statusCode, res.body).to.equal(c.status);
        expect(res.json().error.code).to.equal(c.code);
        expect(await quietDump(h)).to.deep.equal(before);
        expect(await stateOf(o.orderHash)).to.equal("open");
      });
    }
  });

  it("refuses to cancel another trader's order with 403 NOT_ORDER_OWNER: book and ledger unchanged", async () => {
    const bobs = await place(h, BOB, { isBuy: true, ticks: 100_000, lots: 1 });
    const before = await quietDump(h, BOOKKEEPING_KEYS);
    const res = await post(h, "/v1/cancel", cancelBody(makeCancel(h, ALICE, { orderHashes: [bobs.orderHash] }), ALICE));
    expect([res.statusCode, res.json().error.code]).to.deep.equal([403, "NOT_ORDER_OWNER"]);
    expect(res.json().error.details.orderHash).to.equal(bobs.orderHash);
    expect(await quietDump(h, BOOKKEEPING_KEYS)).to.deep.equal(before);
    expect(await stateOf(bobs.orderHash)).to.equal("open");
  });

  it("answers 409 ORDER_NOT_OPEN for an order already closed", async () => {
    const o = await place(h, ALICE, { isBuy: true, ticks: 100_000, lots: 1 });
    expect((await post(h, "/v1/cancel", cancelBody(makeCancel(h, ALICE, { orderHashes: [o.orderHash] }), ALICE))).statusCode).to.equal(200);
    const again = await post(h, "/v1/cancel", cancelBody(makeCancel(h, ALICE, { orderHashes: [o.orderHash] }), ALICE));
    expect([again.statusCode, again.json().error.code]).to.deep.equal([409, "ORDER_NOT_OPEN"]);
  });

  it("rate-limits cancels (429) and forgets such a cancel, so the same signed cancel can be sent again", async () => {
    await teardown(h);
    await reset(h, { engine: { rateLimits: { cancel: { capacity: 1, refillPerSecond: 1 } } } });
    const a = await place(h, ALICE, { isBuy: true, ticks: 100_000, lots: 1 });
    const b = await place(h, ALICE, { isBuy: true, ticks: 100_001, lots: 1 });
    expect((await post(h, "/v1/cancel", cancelBody(makeCancel(h, ALICE, { orderHashes: [a.orderHash] }), ALICE))).statusCode).to.equal(200);
    const second = cancelBody(makeCancel(h, ALICE, { orderHashes: [b.orderHash] }), ALICE);
    const limited = await post(h, "/v1/cancel", second);
    expect([limited.statusCode, limited.json().error.code, limited.headers["retry-after"]]).to.deep.equal([429, "RATE_LIMITED", "1"]);
    h.clock.advance(1_000);
    expect((await post(h, "/v1/cancel", second)).statusCode).to.equal(200);
    expect(await stateOf(b.orderHash)).to.equal("cancelled");
  });
});
