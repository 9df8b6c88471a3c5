import { expect } from "chai";
import Redis from "ioredis";
import { accountKey, stepCall } from "../../../operator/ledger";
import {
  EngineError,
  bookKeys,
  getBook,
  getOrder,
  placeOrders,
  recover,
  stopEngine,
  type MatchingEngine,
  type PlaceOrderRequest,
} from "../../../operator/matching";
import { flush, ledgerRound } from "../../../operator/matching/ledgerRound";
import { matchCall, matchStage } from "../../../operator/matching/match";
import { processPlaceBatch, toMatchItem } from "../../../operator/matching/place";
import { INTAKE_SCRIPT } from "../../../operator/matching/scripts";
import { checkOrderForMarket } from "../../../operator/markets";
import { journalKeys, loadCursor } from "../../../operator/journal";
import type { Address, Hex } from "../../../operator/orders";
import { startRedis, useRedisServer } from "../../helpers/redis";
import {
  BTC_USDC,
  CHAIN,
  ETH_USDC,
  T0,
  USDC,
  WETH,
  accepted,
  balancesOf,
  checkLedger,
  dumpKeys,
  fund,
  fundedTotals,
  request,
  startEngine,
  trader,
} from "./fixtures";

const MAKERS = [trader(1), trader(2), trader(3)];
const TAKER = trader(9);
const ALL = [...MAKERS, TAKER];
const LOT = ETH_USDC.lotSize;

/** The market's view of an order request: ticks, lots and lock, as the engine computes them. */
function prepared(engine: MatchingEngine, req: PlaceOrderRequest) {
  const check = checkOrderForMarket(ETH_USDC, req.order, Math.floor(T0 / 1000));
  if (!check.ok) throw new Error(check.code);
  const item = toMatchItem(engine.ctx, req, check.priceTicks, check.lots);
  const lock = { orderHash: item.hash, nonce: req.order.nonce, marketId: item.market.id, lockToken: check.lockToken, lockAtoms: check.lockAtoms, lots: check.lots };
  const k = bookKeys(ETH_USDC.id);
  const intake = { script: INTAKE_SCRIPT, keys: [k.payloads, k.inbox], args: [item.hash, item.payload] };
  return { item, lock, intake };
}

/** What a crash right after the intake + lock round trip leaves: the order locked, in the inbox. */
async function lockWithoutMatch(engine: MatchingEngine, req: PlaceOrderRequest): Promise<void> {
  const { lock, intake } = prepared(engine, req);
  const trader = req.order.trader.toLowerCase() as Address;
  const results = await engine.ctx.scripts.batch([intake, stepCall({ chainId: CHAIN, trader, nowMs: T0, limit: null, lockId: "crashed:1", ops: [], orders: [lock] })]);
  for (const r of results) if (!r.ok) throw r.error;
}

describe("matching engine recovery", () => {
  const db = useRedisServer({ appendonly: true, appendfsync: "everysec" });
  const engines: MatchingEngine[] = [];

  async function engineOn(options: Parameters<typeof startEngine>[1] = {}): Promise<MatchingEngine> {
    const { engine } = await startEngine(db.redis, options);
    engines.push(engine);
    return engine;
  }

  before(() => {
    db.redis.on("error", () => undefined); // refused connections while Redis restarts
  });
  afterEach(async () => {
    // A "crashed" engine is simply abandoned; stopping it only detaches its listener.
    for (const e of engines.splice(0)) await stopEngine(e).catch(() => undefined);
  });

  it("keeps books, ledger and streams across a Redis restart, and the engine continues where it was", async () => {
    const engine = await engineOn();
    for (const t of ALL) await fund(engine, t);
    const [ask] = (await placeOrders(engine, [request({ trader: MAKERS[0], isBuy: false, ticks: 100, lots: 5 }), request({ trader: MAKERS[1], isBuy: true, ticks: 90, lots: 5 })])).map(accepted);
    accepted((await placeOrders(engine, [request({ trader: TAKER, isBuy: true, ticks: 100, lots: 2 })]))[0]);
    await new Promise((r) => setTimeout(r, 50)); // the engine's lazy cursor write
    const before = await dumpKeys(db.redis);
    await db.server.restart(); // SHUTDOWN (AOF flushed), start again on the same files
    expect(await dumpKeys(db.redis)).to.deep.equal(before);
    // The restarted Redis has no scripts: the engine reloads them on NOSCRIPT and continues.
    const r = accepted((await placeOrders(engine, [request({ trader: TAKER, isBuy: true, ticks: 100, lots: 3 })]))[0]);
    expect(r.fills.map((f) => [f.makerHash, f.fillId & 0xffffn])).to.deep.equal([[ask.orderHash, 2n]]);
    expect((await getOrder(engine, { orderHash: ask.orderHash }))?.state).to.equal("filled");
    await checkLedger(db.redis, [ETH_USDC, BTC_USDC], ALL, fundedTotals(ALL.length));
  });

  it("loses and doubles nothing when Redis restarts while placements are in flight", async function () {
    this.timeout(60_000);
    const engine = await engineOn();
    const traders = Array.from({ length: 8 }, (_, i) => trader(100 + i));
    for (const t of traders) await fund(engine, t);
    let seed = 7;
    const rnd = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    const outcomes: ("accepted" | "rejected" | "error")[] = [];
    const accepted_: Hex[] = [];
    const flow = (async () => {
      for (let round = 0; round < 40; round++) {
        const reqs = Array.from({ length: 10 }, () =>
          request({ trader: traders[Math.floor(rnd() * traders.length)], isBuy: rnd() < 0.5, ticks: 95 + Math.floor(rnd() * 10), lots: 1 + Math.floor(rnd() * 4) }),
        );
        await Promise.all(
          reqs.map((req) =>
            placeOrders(engine, [req]).then(
              ([r]) => {
                outcomes.push(r.status);
                if (r.status === "accepted") accepted_.push(r.orderHash);
              },
              (e: unknown) => {
                expect(e).to.be.instanceOf(EngineError);
                outcomes.push("error");
              },
            ),
          ),
        );
      }
    })();
    await new Promise((r) => setTimeout(r, 30));
    await db.server.restart();
    await flow;
    // Settle anything an error left open, then everything must add up.
    await recover(engine);
    await checkLedger(db.redis, [ETH_USDC, BTC_USDC], traders, fundedTotals(traders.length));
    for (const h of accepted_) expect(await getOrder(engine, { orderHash: h }), h).to.not.equal(null);
    expect(outcomes.filter((o) => o === "accepted").length).to.be.greaterThan(200);
    // Every accepted order has exactly one sequence number.
    const seqs = (await db.redis.xrange(journalKeys(ETH_USDC.id).accepted, "-", "+")).map(([, f]) => f[1]);
    expect(new Set(seqs).size).to.equal(seqs.length);
  });

  it("fails placements while Redis is down, saying whether they may have been taken, then resynchronises and loses nothing it accepted", async function () {
    this.timeout(60_000);
    // A Redis that fsyncs every write, killed without warning; a client that gives up quickly.
    const crashy = await startRedis({ appendonly: true, appendfsync: "always" });
    const client = new Redis(crashy.url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    client.on("error", () => undefined);
    try {
      const { engine } = await startEngine(client);
      for (const t of ALL) await fund(engine, t);
      const acceptedHashes: string[] = [];
      const refusedHashes: string[] = [];
      const place = async (req: PlaceOrderRequest) => {
        try {
          const [r] = await placeOrders(engine, [req]);
          if (r.status === "accepted") acceptedHashes.push(r.orderHash);
          return r.status;
        } catch (error) {
          expect(error).to.be.instanceOf(EngineError);
          // Sent before Redis failed: unknown (maybe taken); not sent: unavailable (not taken).
          expect((error as EngineError).code).to.be.oneOf(["ENGINE_OUTCOME_UNKNOWN", "ENGINE_UNAVAILABLE"]);
          if ((error as EngineError).code === "ENGINE_UNAVAILABLE") refusedHashes.push(req.orderHash);
          return "error";
        }
      };
      expect(await place(request({ trader: MAKERS[0], isBuy: false, ticks: 100, lots: 5 }))).to.equal("accepted");
      await crashy.kill();
      const during = await Promise.all([1, 2, 3].map((i) => place(request({ trader: MAKERS[i % 3], isBuy: true, ticks: 90 + i, lots: 1 }))));
      expect(during).to.deep.equal(["error", "error", "error"]);
      await crashy.restart();
      expect(await place(request({ trader: TAKER, isBuy: true, ticks: 100, lots: 2 }))).to.equal("accepted");
      await checkLedger(client, [ETH_USDC, BTC_USDC], ALL, fundedTotals(ALL.length));
      for (const h of acceptedHashes) expect(await getOrder(engine, { orderHash: h as `0x${string}` })).to.not.equal(null);
      for (const h of refusedHashes) expect(await getOrder(engine, { orderHash: h as `0x${string}` })).to.equal(null);
      await stopEngine(engine);
    } finally {
      client.disconnect();
      await crashy.destroy();
    }
  });

  it("matches, on start, an order that was locked but never reached its market", async () => {
    const first = await engineOn();
    for (const t of ALL) await fund(first, t);
    const ask = accepted((await placeOrders(first, [request({ trader: MAKERS[0], isBuy: false, ticks: 100, lots: 5 })]))[0]);
    const lost = request({ trader: TAKER, isBuy: true, ticks: 100, lots: 2 });
    await lockWithoutMatch(first, lost);
    expect((await balancesOf(first, { trader: TAKER }))[USDC].locked > 0n).to.equal(true);
    expect((await getOrder(first, { orderHash: lost.orderHash }))?.state).to.equal("pending"); // in the inbox, not processed
    // An order whose lock was refused is in the inbox too; it is discarded.
    const refused = request({ trader: trader(77), isBuy: true, ticks: 100, lots: 1 });
    await first.ctx.scripts.call(prepared(first, refused).intake);
    // ... the process dies here. A new one starts:
    const second = await engineOn();
    const view = await getOrder(second, { orderHash: lost.orderHash });
    expect([view?.state, view?.filledAmount, view?.seq]).to.deep.equal(["filled", 2n * LOT, 2]);
    expect((await getOrder(second, { orderHash: ask.orderHash }))?.remainingAmount).to.equal(3n * LOT);
    expect(await getOrder(second, { orderHash: refused.orderHash })).to.equal(null);
    expect(await db.redis.hexists(bookKeys(ETH_USDC.id).payloads, refused.orderHash)).to.equal(0);
    await checkLedger(db.redis, [ETH_USDC, BTC_USDC], ALL, fundedTotals(ALL.length));
  });

  it("applies, on start, the journal a crash left between the match and the ledger, exactly once", async () => {
    const first = await engineOn();
    for (const t of ALL) await fund(first, t);
    await placeOrders(first, [request({ trader: MAKERS[0], isBuy: false, ticks: 100, lots: 5 }), request({ trader: MAKERS[1], isBuy: false, ticks: 101, lots: 5 })]);
    // Intake, lock and match run, then the process dies before the ledger round.
    const [r] = await processPlaceBatch(first.ctx, [request({ trader: TAKER, isBuy: true, ticks: 101, lots: 7 })]);
    expect(accepted(r).fills).to.have.length(2);
    expect((await balancesOf(first, { trader: MAKERS[0] }))[WETH].locked).to.equal(5n * LOT); // not applied
    expect((await loadCursor(db.redis, ETH_USDC.id, "engine"))?.fill).to.equal(0);
    const second = await engineOn();
    expect((await balancesOf(second, { trader: MAKERS[0] }))[WETH]).to.deep.include({ locked: 0n, pendingOut: 5n * LOT });
    expect((await loadCursor(db.redis, ETH_USDC.id, "engine"))?.fill).to.equal(2);
    await checkLedger(db.redis, [ETH_USDC, BTC_USDC], ALL, fundedTotals(ALL.length));
    // Applying everything again from an old cursor changes nothing.
    await db.redis.hset(journalKeys(ETH_USDC.id).consumers, "engine", "d|0|0|-");
    const before = await dumpKeys(db.redis, /:consumers$/);
    await recover(second);
    expect(await dumpKeys(db.redis, /:consumers$/)).to.deep.equal(before);
  });

  it("finishes, on start, a taker whose matching the fill cap had cut when the process died", async () => {
    const first = await engineOn({ maxFillsPerCall: 2 });
    for (const t of ALL) await fund(first, t);
    await placeOrders(first, Array.from({ length: 5 }, (_, i) => request({ trader: MAKERS[i % 3], isBuy: false, ticks: 100 + i, lots: 1 })));
    const taker = request({ trader: TAKER, isBuy: true, ticks: 104, lots: 6 });
    await lockWithoutMatch(first, taker);
    const { item } = prepared(first, taker);
    const [pending] = (await first.ctx.scripts.call(matchCall(first.ctx, ETH_USDC, [item], [], T0, Math.floor(T0 / 1000)))) as [string];
    expect(pending).to.equal(item.hash); // cut after 2 fills; the process dies here
    const book = await getBook(first, { market: ETH_USDC.id });
    expect(book.bids).to.deep.equal([]); // the cut taker does not rest: the book is not crossed
    const second = await engineOn({ maxFillsPerCall: 2 });
    const view = await getOrder(second, { orderHash: item.hash });
    expect([view?.state, view?.filledAmount, view?.remainingAmount]).to.deep.equal(["open", 5n * LOT, 1n * LOT]);
    expect(await getBook(second, { market: ETH_USDC.id })).to.deep.equal({ market: ETH_USDC.id, bids: [{ price: 104n * ETH_USDC.tickSize, amount: LOT }], asks: [] });
    await checkLedger(db.redis, [ETH_USDC, BTC_USDC], ALL, fundedTotals(ALL.length));
  });

  it("treats a match call whose reply was lost as known, and reads its fills back from the stream", async () => {
    const engine = await engineOn();
    for (const t of ALL) await fund(engine, t);
    const ask = accepted((await placeOrders(engine, [request({ trader: MAKERS[0], isBuy: false, ticks: 100, lots: 5 })]))[0]);
    const req = request({ trader: TAKER, isBuy: true, ticks: 100, lots: 2 });
    const { item, lock, intake } = prepared(engine, req);
    await ledgerRound(engine.ctx, { now: T0, intake: [intake], locks: new Map([[accountKey(CHAIN, item.trader), [lock]]]) });
    // The match runs in Redis but its reply never arrives...
    await engine.ctx.scripts.call(matchCall(engine.ctx, ETH_USDC, [item], [], T0, Math.floor(T0 / 1000)));
    // ... so the call is sent again.
    const outcomes = await matchStage(engine.ctx, [item], { now: T0 });
    const o = outcomes.get(item.hash)!;
    expect([o.status, o.state, o.fills.map((f) => f.makerHash)]).to.deep.equal(["K", "f", [ask.orderHash]]);
    await flush(engine.ctx, T0);
    await checkLedger(db.redis, [ETH_USDC, BTC_USDC], ALL, fundedTotals(ALL.length));
    expect((await balancesOf(engine, { trader: TAKER }))[WETH].pendingIn).to.equal(2n * LOT - (2n * LOT * 30n) / 10_000n);
  });
});
