import { expect } from "chai";
import {
  bookKeys,
  cancelOrders,
  getBook,
  getOrder,
  placeOrders,
  setMinNonce,
  stopEngine,
  sweepExpired,
  type MatchingEngine,
} from "../../../operator/matching";
import { journalKeys } from "../../../operator/journal";
import { OrderFlags } from "../../../operator/orders";
import { useRedisServer } from "../../helpers/redis";
import {
  BTC_USDC,
  ETH_USDC,
  FEE_ACCOUNT,
  RATE_KEYS,
  T0,
  USDC,
  WETH,
  accepted,
  balancesOf,
  checkLedger,
  haltMarketOf,
  resumeMarketOf,
  dumpKeys,
  fund,
  rejectedCode,
  request,
  startEngine,
  trader,
  type TestClock,
} from "./fixtures";

const A = trader(1);
const B = trader(2);
const C = trader(3);
const D = trader(4);
const E = trader(5);
const LOT = ETH_USDC.lotSize;
const TICK = ETH_USDC.tickSize;
/** Quote atoms of `lots` at `ticks` in WETH-USDC (10 per lot-tick). */
const quote = (lots: number, ticks: number) => BigInt(lots * ticks) * ETH_USDC.quotePerLotTick;

describe("matching engine", () => {
  const db = useRedisServer();
  let engine: MatchingEngine;
  let clock: TestClock;
  beforeEach(async () => {
    ({ engine, clock } = await startEngine(db.redis));
    for (const t of [A, B, C, D, E]) await fund(engine, t);
  });
  afterEach(async () => {
    await stopEngine(engine);
  });

  async function restart(options: Parameters<typeof startEngine>[1]): Promise<void> {
    await stopEngine(engine);
    ({ engine, clock } = await startEngine(db.redis, { clock, ...options }));
  }

  it("matches at the maker's price in price-time priority: best price first, then earliest arrival", async () => {
    const asks = await placeOrders(engine, [
      request({ trader: A, isBuy: false, ticks: 101, lots: 5 }),
      request({ trader: B, isBuy: false, ticks: 100, lots: 5 }),
      request({ trader: C, isBuy: false, ticks: 100, lots: 5 }),
      request({ trader: D, isBuy: false, ticks: 102, lots: 5 }),
    ]);
    const [a, b, c, d] = asks.map(accepted);
    expect([a.seq, b.seq, c.seq, d.seq]).to.deep.equal([1, 2, 3, 4]);
    const taker = accepted((await placeOrders(engine, [request({ trader: E, isBuy: true, ticks: 102, lots: 12 })]))[0]);
    expect(taker.fills.map((f) => [f.makerHash, f.price / TICK, f.amount / LOT])).to.deep.equal([
      [b.orderHash, 100n, 5n],
      [c.orderHash, 100n, 5n],
      [a.orderHash, 101n, 2n],
    ]);
    expect(taker.state).to.equal("filled");
    expect((await getOrder(engine, { orderHash: a.orderHash }))?.remainingAmount).to.equal(3n * LOT);
    expect((await getOrder(engine, { orderHash: b.orderHash }))?.state).to.equal("filled");
    const book = await getBook(engine, { market: ETH_USDC.id, depth: 5 });
    expect(book.asks).to.deep.equal([
      { price: 101n * TICK, amount: 3n * LOT },
      { price: 102n * TICK, amount: 5n * LOT },
    ]);
    expect(book.bids).to.deep.equal([]);
  });

  it("fills partially across levels, rests the remainder at the limit and returns the price improvement", async () => {
    await placeOrders(engine, [request({ trader: A, isBuy: false, ticks: 100, lots: 2 }), request({ trader: B, isBuy: false, ticks: 101, lots: 3 })]);
    const before = (await balancesOf(engine, { trader: E }))[USDC];
    const r = accepted((await placeOrders(engine, [request({ trader: E, isBuy: true, ticks: 101, lots: 10 })]))[0]);
    expect(r.fills.map((f) => Number(f.amount / LOT))).to.deep.equal([2, 3]);
    expect(r.state).to.equal("open");
    expect(r.filledAmount).to.equal(5n * LOT);
    expect(r.remainingAmount).to.equal(5n * LOT);
    const book = await getBook(engine, { market: ETH_USDC.id });
    expect(book).to.deep.equal({ market: ETH_USDC.id, bids: [{ price: 101n * TICK, amount: 5n * LOT }], asks: [] });
    const after = (await balancesOf(engine, { trader: E }))[USDC];
    const spent = quote(2, 100) + quote(3, 101);
    expect(after.locked - before.locked).to.equal(quote(5, 101));
    expect(after.pendingOut - before.pendingOut).to.equal(spent);
    expect(before.available - after.available).to.equal(spent + quote(5, 101));
    // The taker pays its fee in what it receives: base, 30 bps, rounded down.
    const weth = (await balancesOf(engine, { trader: E }))[WETH];
    expect(weth.pendingIn).to.equal(5n * LOT - (5n * LOT * 30n) / 10_000n);
    expect(r.fills[0].takerFee).to.equal((2n * LOT * 30n) / 10_000n);
    expect(r.fills[0].makerFee).to.equal((quote(2, 100) * 10n) / 10_000n);
  });

  it("cancels the remainder of an IOC order and unlocks it", async () => {
    await placeOrders(engine, [request({ trader: A, isBuy: false, ticks: 100, lots: 3 })]);
    const r = accepted((await placeOrders(engine, [request({ trader: E, isBuy: true, ticks: 100, lots: 5, flags: OrderFlags.IOC })]))[0]);
    expect(r.fills).to.have.length(1);
    expect(r.state).to.equal("cancelled");
    expect(r.closeReason).to.equal("IOC_REMAINDER");
    expect(r.remainingAmount).to.equal(2n * LOT);
    const usdc = (await balancesOf(engine, { trader: E }))[USDC];
    expect(usdc.locked).to.equal(0n);
    expect(usdc.pendingOut).to.equal(quote(3, 100));
    expect((await getBook(engine, { market: ETH_USDC.id })).bids).to.deep.equal([]);
    const closed = await db.redis.xrange(journalKeys(ETH_USDC.id).closed, "-", "+");
    expect(closed.map(([, f]) => [f[1], f[11]])).to.deep.equal([[r.orderHash, "I"]]);
    // Nothing to take at all: cancelled whole, everything unlocked.
    const none = accepted((await placeOrders(engine, [request({ trader: E, isBuy: true, ticks: 99, lots: 5, flags: OrderFlags.IOC })]))[0]);
    expect([none.state, none.fills.length, none.remainingAmount]).to.deep.equal(["cancelled", 0, 5n * LOT]);
    expect((await balancesOf(engine, { trader: E }))[USDC].locked).to.equal(0n);
  });

  it("rejects a post-only order that would cross, leaving Redis as it was (but the rate bucket)", async () => {
    await placeOrders(engine, [request({ trader: A, isBuy: false, ticks: 100, lots: 5 }), request({ trader: B, isBuy: true, ticks: 98, lots: 5 })]);
    const before = await dumpKeys(db.redis, RATE_KEYS);
    const r = (await placeOrders(engine, [request({ trader: E, isBuy: true, ticks: 100, lots: 1, flags: OrderFlags.PostOnly })]))[0];
    expect(rejectedCode(r)).to.equal("POST_ONLY_WOULD_CROSS");
    expect(await dumpKeys(db.redis, RATE_KEYS)).to.deep.equal(before);
    const rests = accepted((await placeOrders(engine, [request({ trader: E, isBuy: true, ticks: 99, lots: 1, flags: OrderFlags.PostOnly })]))[0]);
    expect([rests.state, rests.fills.length]).to.deep.equal(["open", 0]);
  });

  it("prevents self-trade by expiring the trader's own resting order and matching on behind it", async () => {
    const [own, other] = (await placeOrders(engine, [request({ trader: A, isBuy: false, ticks: 100, lots: 2 }), request({ trader: B, isBuy: false, ticks: 100, lots: 3 })])).map(accepted);
    const r = accepted((await placeOrders(engine, [request({ trader: A, isBuy: true, ticks: 100, lots: 4 })]))[0]);
    expect(r.fills.map((f) => [f.makerHash, Number(f.amount / LOT)])).to.deep.equal([[other.orderHash, 3]]);
    expect([r.state, r.remainingAmount]).to.deep.equal(["open", 1n * LOT]);
    const ownView = await getOrder(engine, { orderHash: own.orderHash });
    expect([ownView?.state, ownView?.closeReason, ownView?.remainingAmount]).to.deep.equal(["cancelled", "SELF_TRADE", 2n * LOT]);
    // Its sell lock came back.
    expect((await balancesOf(engine, { trader: A }))[WETH].locked).to.equal(0n);
  });

  it("cancels the trader's own order, refuses another trader's, and tells unknown from closed", async () => {
    const [mine, theirs, filled] = (await placeOrders(engine, [
      request({ trader: A, isBuy: true, ticks: 90, lots: 2 }),
      request({ trader: B, isBuy: true, ticks: 91, lots: 2 }),
      request({ trader: A, isBuy: false, ticks: 120, lots: 1 }),
    ])).map(accepted);
    await placeOrders(engine, [request({ trader: C, isBuy: true, ticks: 120, lots: 1 })]);
    const unknown = `0x${"99".repeat(32)}` as const;
    const result = await cancelOrders(engine, { trader: A, orderHashes: [mine.orderHash, theirs.orderHash, filled.orderHash, unknown] });
    if (result.status !== "done") throw new Error("rejected");
    expect(result.results.map((r) => (r.status === "cancelled" ? "cancelled" : r.code))).to.deep.equal([
      "cancelled",
      "NOT_ORDER_OWNER",
      "ORDER_NOT_OPEN",
      "ORDER_NOT_FOUND",
    ]);
    expect(result.results[0]).to.include({ remainingAmount: 2n * LOT, market: ETH_USDC.id });
    expect((await getOrder(engine, { orderHash: theirs.orderHash }))?.state).to.equal("open");
    expect((await balancesOf(engine, { trader: A }))[USDC].locked).to.equal(0n);
    const again = await cancelOrders(engine, { trader: A, orderHashes: [mine.orderHash] });
    expect(again.status === "done" && again.results[0].status === "rejected" && again.results[0].details).to.deep.equal({ state: "cancelled", reason: "CANCELLED" });
  });

  it("cancels all of a trader's orders in one market, and none elsewhere", async () => {
    const eth = (await placeOrders(engine, [
      request({ trader: A, isBuy: true, ticks: 90, lots: 2 }),
      request({ trader: A, isBuy: false, ticks: 110, lots: 3 }),
      request({ trader: B, isBuy: true, ticks: 91, lots: 2 }),
    ])).map(accepted);
    const btc = accepted((await placeOrders(engine, [request({ trader: A, market: BTC_USDC, isBuy: true, ticks: 20_000, lots: 2 })]))[0]);
    const result = await cancelOrders(engine, { trader: A, market: ETH_USDC.id, all: true });
    if (result.status !== "done") throw new Error("rejected");
    expect(result.results.map((r) => r.orderHash).sort()).to.deep.equal([eth[0].orderHash, eth[1].orderHash].sort());
    expect((await getOrder(engine, { orderHash: btc.orderHash }))?.state).to.equal("open");
    expect((await getOrder(engine, { orderHash: eth[2].orderHash }))?.state).to.equal("open");
    const book = await getBook(engine, { market: ETH_USDC.id });
    expect(book.bids).to.deep.equal([{ price: 91n * TICK, amount: 2n * LOT }]);
    expect(book.asks).to.deep.equal([]);
    const bal = await balancesOf(engine, { trader: A });
    expect(bal[WETH].locked).to.equal(0n);
    expect(bal[USDC].locked).to.equal(BigInt(2 * 20_000) * BTC_USDC.quotePerLotTick);
  });

  it("rate-limits placements with a token bucket refilled by the caller's clock", async () => {
    await restart({ rateLimits: { place: { capacity: 3, refillPerSecond: 1 } } });
    const burst = await placeOrders(engine, [1, 2, 3, 4].map((i) => request({ trader: A, isBuy: true, ticks: 90 + i, lots: 1 })));
    expect(burst.map((r) => r.status)).to.deep.equal(["accepted", "accepted", "accepted", "rejected"]);
    expect(burst[3]).to.deep.include({ code: "RATE_LIMITED", details: { retryAfterMs: 1000 } });
    clock.advance(999);
    expect(rejectedCode((await placeOrders(engine, [request({ trader: A, isBuy: true, ticks: 80, lots: 1 })]))[0])).to.equal("RATE_LIMITED");
    clock.advance(1);
    accepted((await placeOrders(engine, [request({ trader: A, isBuy: true, ticks: 80, lots: 1 })]))[0]);
    // Another trader has its own bucket.
    accepted((await placeOrders(engine, [request({ trader: B, isBuy: true, ticks: 80, lots: 1 })]))[0]);
    // A long pause refills to capacity, never beyond.
    clock.advance(60_000);
    const refilled = await placeOrders(engine, [1, 2, 3, 4].map((i) => request({ trader: A, isBuy: true, ticks: 70 + i, lots: 1 })));
    expect(refilled.map((r) => r.status)).to.deep.equal(["accepted", "accepted", "accepted", "rejected"]);
  });

  it("rate-limits cancels with their own bucket", async () => {
    await restart({ rateLimits: { cancel: { capacity: 2, refillPerSecond: 2 } } });
    const orders = (await placeOrders(engine, [1, 2, 3].map((i) => request({ trader: A, isBuy: true, ticks: 90 + i, lots: 1 })))).map(accepted);
    expect((await cancelOrders(engine, { trader: A, orderHashes: [orders[0].orderHash] })).status).to.equal("done");
    expect((await cancelOrders(engine, { trader: A, orderHashes: [orders[1].orderHash] })).status).to.equal("done");
    const limited = await cancelOrders(engine, { trader: A, orderHashes: [orders[2].orderHash] });
    expect(limited).to.deep.include({ status: "rejected", code: "RATE_LIMITED", details: { retryAfterMs: 500 } });
    expect((await getOrder(engine, { orderHash: orders[2].orderHash }))?.state).to.equal("open");
    clock.advance(500);
    expect((await cancelOrders(engine, { trader: A, orderHashes: [orders[2].orderHash] })).status).to.equal("done");
  });

  it("rejects off-tick, off-lot and below-minimum orders before anything is written", async () => {
    const before = await dumpKeys(db.redis);
    const results = await placeOrders(engine, [
      { ...request({ trader: A, isBuy: true, ticks: 100, lots: 1 }), order: { ...request({ trader: A, isBuy: true, ticks: 100, lots: 1 }).order, price: 100n * TICK + 1n } },
      { ...request({ trader: A, isBuy: true, ticks: 100, lots: 1 }), order: { ...request({ trader: A, isBuy: true, ticks: 100, lots: 1 }).order, amount: LOT + 7n } },
      request({ trader: A, market: BTC_USDC, isBuy: true, ticks: 20_000, lots: 1 }), // BTC minLots is 2
      { ...request({ trader: A, isBuy: true, ticks: 100, lots: 1 }), market: 99 },
    ]);
    expect(results.map(rejectedCode)).to.deep.equal(["PRICE_OFF_TICK", "AMOUNT_OFF_LOT", "AMOUNT_BELOW_MIN", "MARKET_UNKNOWN"]);
    expect(await dumpKeys(db.redis)).to.deep.equal(before);
  });

  it("refuses an order the trader cannot fund, leaving Redis as it was (but the rate bucket)", async () => {
    const poor = trader(42);
    await fund(engine, poor, { [USDC]: quote(3, 100), [WETH]: 0n, [`0x${"00".repeat(19)}b3`]: 0n });
    await placeOrders(engine, [request({ trader: A, isBuy: false, ticks: 110, lots: 1 })]);
    const before = await dumpKeys(db.redis, RATE_KEYS);
    const r = (await placeOrders(engine, [request({ trader: poor, isBuy: true, ticks: 100, lots: 4 })]))[0];
    expect(r).to.deep.include({ status: "rejected", code: "INSUFFICIENT_FUNDS" });
    expect(r.status === "rejected" && r.details).to.deep.include({ required: quote(4, 100), available: quote(3, 100) });
    expect(await dumpKeys(db.redis, RATE_KEYS)).to.deep.equal(before);
    accepted((await placeOrders(engine, [request({ trader: poor, isBuy: true, ticks: 100, lots: 3 })]))[0]);
  });

  it("refuses a second order with a nonce the trader already used, and the same order twice", async () => {
    const first = request({ trader: A, isBuy: true, ticks: 90, lots: 1, nonce: 555n });
    accepted((await placeOrders(engine, [first]))[0]);
    const sameNonce = request({ trader: A, isBuy: true, ticks: 91, lots: 1, nonce: 555n });
    const r = await placeOrders(engine, [sameNonce, first]);
    expect(r.map(rejectedCode)).to.deep.equal(["DUPLICATE_ORDER", "DUPLICATE_ORDER"]);
    expect(r[0].status === "rejected" && r[0].details.existingOrderHash).to.equal(first.orderHash);
    // The refused duplicates did not disturb the live order's payload.
    expect(await db.redis.hexists(bookKeys(ETH_USDC.id).payloads, first.orderHash)).to.equal(1);
    expect(await db.redis.scard(bookKeys(ETH_USDC.id).inbox)).to.equal(0);
  });

  it("raises a trader's minimum nonce: cancels its open orders below it, unlocks them, and refuses lower nonces from then on", async () => {
    const [low, partly, high] = (await placeOrders(engine, [
      request({ trader: A, isBuy: true, ticks: 90, lots: 2, nonce: 10n }),
      request({ trader: A, isBuy: false, ticks: 120, lots: 4, nonce: 11n }),
      request({ trader: A, isBuy: true, ticks: 91, lots: 1, nonce: 50n }),
    ])).map(accepted);
    const other = accepted((await placeOrders(engine, [request({ trader: B, isBuy: true, ticks: 89, lots: 1, nonce: 5n })]))[0]);
    accepted((await placeOrders(engine, [request({ trader: C, isBuy: true, ticks: 120, lots: 1 })]))[0]); // fills 1 lot of `partly`

    const result = await setMinNonce(engine, { trader: A, minNonce: 12n });
    expect([result.minNonce, result.raised, result.notCancelled]).to.deep.equal([12n, true, []]);
    expect(result.cancelled.map((o) => [o.orderHash, o.nonce, o.remainingAmount]).sort()).to.deep.equal(
      [
        [low.orderHash, 10n, 2n * LOT],
        [partly.orderHash, 11n, 3n * LOT],
      ].sort(),
    );
    expect((await getOrder(engine, { orderHash: low.orderHash }))?.state).to.equal("cancelled");
    expect((await getOrder(engine, { orderHash: high.orderHash }))?.state).to.equal("open");
    expect((await getOrder(engine, { orderHash: other.orderHash }))?.state).to.equal("open");
    const bal = await balancesOf(engine, { trader: A });
    expect([bal[USDC].locked, bal[WETH].locked]).to.deep.equal([quote(1, 91), 0n]);

    // Below the minimum: refused, nothing written but the rate bucket; at it: accepted.
    const before = await dumpKeys(db.redis, RATE_KEYS);
    const refused = (await placeOrders(engine, [request({ trader: A, isBuy: true, ticks: 80, lots: 1, nonce: 11n })]))[0];
    expect(refused).to.deep.include({ status: "rejected", code: "NONCE_BELOW_MINIMUM", details: { nonce: 11n, minNonce: 12n } });
    expect(await dumpKeys(db.redis, RATE_KEYS)).to.deep.equal(before);
    accepted((await placeOrders(engine, [request({ trader: A, isBuy: true, ticks: 80, lots: 1, nonce: 12n })]))[0]);
    // Another trader's nonces are its own.
    accepted((await placeOrders(engine, [request({ trader: B, isBuy: true, ticks: 80, lots: 1, nonce: 6n })]))[0]);

    // Only ever raised; a repeat changes nothing.
    const lower = await setMinNonce(engine, { trader: A, minNonce: 3n });
    expect([lower.minNonce, lower.raised, lower.cancelled, lower.notCancelled]).to.deep.equal([12n, false, [], []]);
    const again = await setMinNonce(engine, { trader: A, minNonce: 12n });
    expect([again.raised, again.cancelled.length]).to.deep.equal([false, 0]);
    await checkLedger(db.redis, [ETH_USDC, BTC_USDC], [A, B, C]);
  });

  it("applies a minimum nonce raised by a second engine on the same Redis (the admin command beside the daemon)", async () => {
    const resting = (await placeOrders(engine, [
      request({ trader: A, isBuy: true, ticks: 90, lots: 2, nonce: 1n }),
      request({ trader: A, isBuy: false, ticks: 110, lots: 3, nonce: 2n }),
      request({ trader: A, isBuy: false, ticks: 111, lots: 3, nonce: 9n }),
    ])).map(accepted);
    accepted((await placeOrders(engine, [request({ trader: B, isBuy: false, ticks: 90, lots: 1 })]))[0]); // fills half of nonce 1
    const { engine: admin } = await startEngine(db.redis, { clock, recoverOnStart: false });
    try {
      const result = await setMinNonce(admin, { trader: A, minNonce: 5n });
      expect(result.cancelled.map((o) => o.nonce).sort()).to.deep.equal([1n, 2n]);
    } finally {
      await stopEngine(admin);
    }
    // The daemon's engine goes on: the cancelled orders are gone from its book, the minimum holds.
    expect(rejectedCode((await placeOrders(engine, [request({ trader: A, isBuy: true, ticks: 80, lots: 1, nonce: 4n })]))[0])).to.equal("NONCE_BELOW_MINIMUM");
    const taker = accepted((await placeOrders(engine, [request({ trader: C, isBuy: true, ticks: 111, lots: 4 })]))[0]);
    expect(taker.fills.map((f) => [f.makerHash, Number(f.amount / LOT)])).to.deep.equal([[resting[2].orderHash, 3]]);
    accepted((await placeOrders(engine, [request({ trader: D, isBuy: false, ticks: 85, lots: 1 })]))[0]); // rests: the bid at 90 is gone
    await checkLedger(db.redis, [ETH_USDC, BTC_USDC], [A, B, C, D]);
    await stopEngine(engine);
    ({ engine, clock } = await startEngine(db.redis, { clock }));
    await checkLedger(db.redis, [ETH_USDC, BTC_USDC], [A, B, C, D]);
    const bal = await balancesOf(engine, { trader: A });
    expect([bal[USDC].locked, bal[WETH].locked]).to.deep.equal([0n, 0n]);
  });

  it("refuses a resting order beyond maxOpenOrdersPerTrader, never an IOC order, and accepts again once one closes", async () => {
    await restart({ maxOpenOrdersPerTrader: 2 });
    const open = (await placeOrders(engine, [
      request({ trader: A, isBuy: true, ticks: 90, lots: 1 }),
      request({ trader: A, market: BTC_USDC, isBuy: true, ticks: 20_000, lots: 2 }), // the limit spans markets
      request({ trader: A, isBuy: true, ticks: 91, lots: 1 }),
    ]));
    expect(open.map((r) => r.status)).to.deep.equal(["accepted", "accepted", "rejected"]);
    expect(open[2]).to.deep.include({ code: "TOO_MANY_OPEN_ORDERS", details: { openOrders: 2, maxOpenOrders: 2 } });
    // Another trader has its own count; an IOC order never rests and is not counted.
    accepted((await placeOrders(engine, [request({ trader: B, isBuy: false, ticks: 95, lots: 3 })]))[0]);
    const ioc = accepted((await placeOrders(engine, [request({ trader: A, isBuy: true, ticks: 95, lots: 1, flags: OrderFlags.IOC })]))[0]);
    expect(ioc.state).to.equal("filled");
    // A filled order frees its place as a cancelled one does.
    const taker = accepted((await placeOrders(engine, [request({ trader: C, isBuy: false, ticks: 90, lots: 1 })]))[0]);
    expect(taker.fills.map((f) => f.makerHash)).to.deep.equal([accepted(open[0]).orderHash]);
    accepted((await placeOrders(engine, [request({ trader: A, isBuy: true, ticks: 92, lots: 1 })]))[0]);
    expect(rejectedCode((await placeOrders(engine, [request({ trader: A, isBuy: true, ticks: 93, lots: 1 })]))[0])).to.equal("TOO_MANY_OPEN_ORDERS");
    const cancelled = await cancelOrders(engine, { trader: A, orderHashes: [accepted(open[1]).orderHash] });
    expect(cancelled.status).to.equal("done");
    accepted((await placeOrders(engine, [request({ trader: A, isBuy: true, ticks: 93, lots: 1 })]))[0]);
  });

  it("refuses orders in a halted market and unlocks them, while cancels still work", async () => {
    const resting = accepted((await placeOrders(engine, [request({ trader: A, isBuy: true, ticks: 90, lots: 1 })]))[0]);
    const before = await dumpKeys(db.redis, RATE_KEYS);
    await haltMarketOf(engine, { market: ETH_USDC.id, reason: "reconciler drift" });
    const r = (await placeOrders(engine, [request({ trader: B, isBuy: false, ticks: 90, lots: 1 })]))[0];
    expect(rejectedCode(r)).to.equal("MARKET_HALTED");
    await resumeMarketOf(engine, { market: ETH_USDC.id });
    expect(await dumpKeys(db.redis, RATE_KEYS)).to.deep.equal(before);
    await haltMarketOf(engine, { market: ETH_USDC.id, reason: "again" });
    expect((await cancelOrders(engine, { trader: A, orderHashes: [resting.orderHash] })).status).to.equal("done");
    expect((await getOrder(engine, { orderHash: resting.orderHash }))?.state).to.equal("cancelled");
  });

  it("never matches an expired maker: it is closed when matching reaches it, and the sweep closes the others", async () => {
    const nowSec = BigInt(Math.floor(T0 / 1000));
    const [short, long, other] = (await placeOrders(engine, [
      request({ trader: A, isBuy: false, ticks: 100, lots: 1, expiry: nowSec + 10n }),
      request({ trader: B, isBuy: false, ticks: 101, lots: 1, expiry: nowSec + 1000n }),
      request({ trader: C, isBuy: true, ticks: 50, lots: 1, expiry: nowSec + 20n }),
    ])).map(accepted);
    clock.advance(11_000);
    const r = accepted((await placeOrders(engine, [request({ trader: E, isBuy: true, ticks: 101, lots: 1 })]))[0]);
    expect(r.fills.map((f) => f.makerHash)).to.deep.equal([long.orderHash]);
    expect((await getOrder(engine, { orderHash: short.orderHash }))?.closeReason).to.equal("EXPIRED");
    expect((await balancesOf(engine, { trader: A }))[WETH].locked).to.equal(0n);
    // An expired taker is refused outright.
    const stale = request({ trader: D, isBuy: true, ticks: 50, lots: 1, expiry: nowSec + 5n });
    expect(rejectedCode((await placeOrders(engine, [stale]))[0])).to.equal("ORDER_EXPIRED");
    clock.advance(10_000);
    expect(await sweepExpired(engine)).to.equal(1);
    expect((await getOrder(engine, { orderHash: other.orderHash }))?.closeReason).to.equal("EXPIRED");
    expect((await balancesOf(engine, { trader: C }))[USDC].locked).to.equal(0n);
    expect(await sweepExpired(engine)).to.equal(0);
  });

  it("cuts a long sweep into capped calls, never leaving the book crossed, with the fills of one uncapped call", async () => {
    await restart({ maxFillsPerCall: 3 });
    const makers = [A, B, C, D];
    const asks = (await placeOrders(engine, Array.from({ length: 10 }, (_, i) => request({ trader: makers[i % 4], isBuy: false, ticks: 100 + (i % 3), lots: 1 })))).map(accepted);
    const [sweep, after] = await placeOrders(engine, [
      request({ trader: E, isBuy: true, ticks: 102, lots: 12 }),
      request({ trader: A, isBuy: false, ticks: 102, lots: 1 }),
    ]);
    const taker = accepted(sweep);
    expect(taker.fills).to.have.length(10);
    // Price-time: level 100 (asks 0, 3, 6, 9 in arrival order), then 101, then 102.
    expect(taker.fills.map((f) => f.makerHash)).to.deep.equal([0, 3, 6, 9, 1, 4, 7, 2, 5, 8].map((i) => asks[i].orderHash));
    expect(taker.fills.map((f) => Number(f.price / TICK))).to.deep.equal([100, 100, 100, 100, 101, 101, 101, 102, 102, 102]);
    // The next order of the batch came after the cut taker finished: it met the taker's rest.
    const next = accepted(after);
    expect(next.fills.map((f) => f.makerHash)).to.deep.equal([taker.orderHash]);
    const book = await getBook(engine, { market: ETH_USDC.id });
    expect(book).to.deep.equal({ market: ETH_USDC.id, bids: [{ price: 102n * TICK, amount: LOT }], asks: [] });
    expect(await db.redis.hget(bookKeys(ETH_USDC.id).state, "pending")).to.equal("");
  });

  it("sweeps a level deeper than one read window in arrival order, skipping cancelled orders, in one call", async () => {
    // 40 asks at one price (match.lua reads a level 16 hashes at a time), 7 of them cancelled.
    const makers = [A, B, C, D];
    const asks = (await placeOrders(engine, Array.from({ length: 40 }, (_, i) => request({ trader: makers[i % 4], isBuy: false, ticks: 100, lots: 1 })))).map(accepted);
    const cancelled = [3, 15, 16, 17, 31, 32, 38];
    for (const i of cancelled) expect((await cancelOrders(engine, { trader: makers[i % 4], orderHashes: [asks[i].orderHash] })).status).to.equal("done");
    const open = asks.map((a, i) => (cancelled.includes(i) ? undefined : a.orderHash)).filter((h) => h !== undefined);
    const taker = accepted((await placeOrders(engine, [request({ trader: E, isBuy: true, ticks: 100, lots: 30 })]))[0]);
    expect(taker.fills.map((f) => f.makerHash)).to.deep.equal(open.slice(0, 30));
    const book = await getBook(engine, { market: ETH_USDC.id });
    expect(book.asks).to.deep.equal([{ price: 100n * TICK, amount: 3n * LOT }]);
    // The rest of the level is still in order, for the next call.
    const next = accepted((await placeOrders(engine, [request({ trader: E, isBuy: true, ticks: 100, lots: 3 })]))[0]);
    expect(next.fills.map((f) => f.makerHash)).to.deep.equal(open.slice(30));
    expect((await getBook(engine, { market: ETH_USDC.id })).asks).to.deep.equal([]);
  });

  it("empties and refills a level within one call, keeping time priority across the refill", async () => {
    const [a1, a2] = (await placeOrders(engine, [request({ trader: A, isBuy: false, ticks: 100, lots: 2 }), request({ trader: B, isBuy: false, ticks: 100, lots: 1 })])).map(accepted);
    // One batch: a buy empties the level, two sells rest there again, a buy takes the first.
    const [sweep, s1, s2, take, rest] = await placeOrders(engine, [
      request({ trader: E, isBuy: true, ticks: 100, lots: 3 }),
      request({ trader: C, isBuy: false, ticks: 100, lots: 1 }),
      request({ trader: D, isBuy: false, ticks: 100, lots: 2 }),
      request({ trader: E, isBuy: true, ticks: 101, lots: 2 }),
      request({ trader: A, isBuy: false, ticks: 101, lots: 1 }),
    ]);
    expect(accepted(sweep).fills.map((f) => f.makerHash)).to.deep.equal([a1.orderHash, a2.orderHash]);
    expect(accepted(take).fills.map((f) => [f.makerHash, Number(f.amount / LOT)])).to.deep.equal([
      [accepted(s1).orderHash, 1],
      [accepted(s2).orderHash, 1],
    ]);
    expect(accepted(rest).state).to.equal("open");
    const book = await getBook(engine, { market: ETH_USDC.id });
    expect(book.asks).to.deep.equal([
      { price: 100n * TICK, amount: LOT },
      { price: 101n * TICK, amount: LOT },
    ]);
    expect(await db.redis.lrange(`${bookKeys(ETH_USDC.id).prefix}lvl:s:100`, 0, -1)).to.deep.equal([accepted(s2).orderHash]);
    const last = accepted((await placeOrders(engine, [request({ trader: E, isBuy: true, ticks: 101, lots: 2 })]))[0]);
    expect(last.fills.map((f) => f.makerHash)).to.deep.equal([accepted(s2).orderHash, accepted(rest).orderHash]);
  });

  it("journals accepted orders and fills in the market streams, with unique 64-bit fill ids", async () => {
    const maker = accepted((await placeOrders(engine, [request({ trader: A, isBuy: false, ticks: 100, lots: 3, receivedAt: T0 + 5 })]))[0]);
    const taker = accepted((await placeOrders(engine, [request({ trader: B, isBuy: true, ticks: 100, lots: 2, receivedAt: T0 + 9 })]))[0]);
    const k = journalKeys(ETH_USDC.id);
    const acceptedStream = await db.redis.xrange(k.accepted, "-", "+");
    expect(acceptedStream).to.deep.equal([
      ["1-0", ["h", maker.orderHash, "t", A, "ra", String(T0 + 5), "ep", "1"]],
      ["2-0", ["h", taker.orderHash, "t", B, "ra", String(T0 + 9), "ep", "1"]],
    ]);
    const fills = await db.redis.xrange(k.fills, "-", "+");
    expect(fills).to.have.length(1);
    const [id, fields] = fills[0];
    const f = Object.fromEntries(fields.map((v, i) => [v, fields[i + 1]]).filter((_, i) => i % 2 === 0));
    expect(id).to.equal("1-0");
    expect(BigInt(f.id)).to.equal((BigInt(ETH_USDC.id) << 48n) | 1n);
    expect(taker.fills[0].fillId).to.equal(BigInt(f.id));
    expect(f).to.deep.include({ m: maker.orderHash, t: taker.orderHash, mt: A, tt: B, sd: "b", px: "100", tpx: "100", l: "2", mf: "10", tf: "30", ts: String(T0) });
    // Another market's fill ids never collide.
    await placeOrders(engine, [request({ trader: A, market: BTC_USDC, isBuy: false, ticks: 20_000, lots: 2 })]);
    const btc = accepted((await placeOrders(engine, [request({ trader: B, market: BTC_USDC, isBuy: true, ticks: 20_000, lots: 2 })]))[0]);
    expect(btc.fills[0].fillId).to.equal((2n << 48n) | 1n);
  });

  it("keeps every lock exactly what the open orders can still spend, and credits fees to the fee account", async () => {
    await placeOrders(engine, [
      request({ trader: A, isBuy: false, ticks: 100, lots: 4 }),
      request({ trader: A, isBuy: true, ticks: 95, lots: 3 }),
      request({ trader: B, isBuy: false, ticks: 102, lots: 2 }),
    ]);
    await placeOrders(engine, [request({ trader: C, isBuy: true, ticks: 102, lots: 5 }), request({ trader: D, isBuy: false, ticks: 95, lots: 1 })]);
    const a = await balancesOf(engine, { trader: A });
    expect(a[WETH].locked).to.equal(0n); // 4 lots sold
    expect(a[USDC].locked).to.equal(quote(2, 95)); // 1 of 3 bought
    const b = await balancesOf(engine, { trader: B });
    expect(b[WETH].locked).to.equal(LOT); // 1 of 2 sold
    const fees = await balancesOf(engine, { trader: FEE_ACCOUNT });
    // C bought 4 @100 + 1 @102 (taker, 30 bps of base); A was maker of 4 sold (10 bps of quote)
    // and of 1 bought from D (10 bps of base); B maker of 1 sold; D taker sold 1 @95.
    const base = (l: number, bps: number) => (BigInt(l) * LOT * BigInt(bps)) / 10_000n;
    const q = (l: number, t: number, bps: number) => (quote(l, t) * BigInt(bps)) / 10_000n;
    expect(fees[WETH].pendingIn).to.equal(base(4, 30) + base(1, 30) + base(1, 10));
    expect(fees[USDC].pendingIn).to.equal(q(4, 100, 10) + q(1, 102, 10) + q(1, 95, 30));
  });
});
