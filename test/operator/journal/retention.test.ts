/**
 * The journal's retention (operator/journal/retention.ts, lua/trim.lua) against a real Redis and
 * the real engine: streams trimmed up to the slowest consumer holding them back, finished
 * orders' records and payloads dropped once everyone is past them and the retention time has
 * passed, and the market's memory flat over a long run.
 */
import { expect } from "chai";
import {
  DEFAULT_RETENTION,
  JOURNAL_SCRIPTS,
  JournalError,
  counterOf,
  journalKeys,
  readJournal,
  registerConsumer,
  retentionMetrics,
  saveCursor,
  tailCursor,
  trimJournals,
  type ConsumerLag,
  type ConsumerSpec,
  type RetentionParams,
  type TrimDeps,
  type TrimResult,
} from "../../../operator/journal";
import { createLogger } from "../../../operator/log";
import {
  bookKeys,
  cancelOrders,
  fillIdOf,
  getBook,
  getOrder,
  placeOrders,
  stopEngine,
  sweepExpired,
  type MatchingEngine,
  type PlaceOrderRequest,
} from "../../../operator/matching";
import { Registry, type Gauge } from "../../../operator/metrics";
import { OrderFlags, type Address, type Hex } from "../../../operator/orders";
import { ScriptRunner } from "../../../operator/redis";
import { useRedisServer } from "../../helpers/redis";
import {
  BTC_USDC,
  ETH_USDC,
  T0,
  accepted,
  checkLedger,
  dumpKeys,
  fund,
  rejectedCode,
  request,
  silentLogger,
  startEngine,
  trader,
  type TestClock,
} from "../matching/fixtures";

const A = trader(1);
const B = trader(2);
const C = trader(3);
const D = trader(4);
const E = trader(5);
const TRADERS = [A, B, C, D, E];

const M = ETH_USDC.id;
const J = journalKeys(M);
const BOOK = bookKeys(M);
const LOT = ETH_USDC.lotSize;

/** A durable consumer of every stream (the settler, soon). */
const SETTLER: ConsumerSpec = { name: "settler", mode: "durable", streams: ["fills", "closed", "accepted"] };
/** A best-effort consumer of fills and accepted orders (the WebSocket feed). */
const FEED: ConsumerSpec = { name: "feed", mode: "best-effort", streams: ["fills", "accepted"] };

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe("journal retention", () => {
  const db = useRedisServer();
  let engine: MatchingEngine;
  let clock: TestClock;
  let scripts: ScriptRunner;

  beforeEach(async () => {
    ({ engine, clock } = await startEngine(db.redis));
    for (const t of TRADERS) await fund(engine, t);
    scripts = new ScriptRunner({ redis: db.redis, logger: silentLogger }, JOURNAL_SCRIPTS);
    await scripts.load();
  });
  afterEach(async () => {
    await stopEngine(engine);
  });

  /** Places the orders in one batch; each must be accepted. */
  async function place(...requests: PlaceOrderRequest[]) {
    return (await placeOrders(engine, requests)).map(accepted);
  }

  /** trimJournals of the given markets (default the WETH-USDC market), at the test clock. */
  async function trimAll(params: Partial<RetentionParams> = {}, deps: Partial<TrimDeps> = {}, markets: number[] = [M]): Promise<TrimResult[]> {
    // The engine persists its cursor without waiting for the write: let it land first.
    await engine.ctx.cursors.flushed();
    return trimJournals({ scripts, logger: silentLogger, clock: clock.now, ...deps }, { ...DEFAULT_RETENTION, ...params, markets, bookKeys });
  }

  async function trim(params: Partial<RetentionParams> = {}, deps: Partial<TrimDeps> = {}): Promise<TrimResult> {
    return (await trimAll(params, deps))[0];
  }

  /** The counters still in a stream, oldest first. */
  async function retained(key: string): Promise<number[]> {
    return ((await db.redis.xrange(key, "-", "+")) as [string, string[]][]).map(([id]) => counterOf(id));
  }

  const lagsOf = (r: TrimResult, consumer: string): Omit<ConsumerLag, "consumer">[] =>
    r.lags.filter((l) => l.consumer === consumer).map(({ stream, lag, mode, held }) => ({ stream, lag, mode, held }));

  /** n asks of `who` at 100 x 1 lot, then a buy of `taker` taking them all: n fills, n + 1 accepted, n + 1 finished. */
  async function trade(n: number, who: Address = A, taker: Address = B): Promise<{ makers: Hex[]; taker: Hex }> {
    const makers = await place(...range(n).map(() => request({ trader: who, isBuy: false, ticks: 100, lots: 1 })));
    const [t] = await place(request({ trader: taker, isBuy: true, ticks: 100, lots: n }));
    expect(t.state).to.equal("filled");
    return { makers: makers.map((o) => o.orderHash), taker: t.orderHash };
  }

  it("trims each stream up to the slowest durable consumer, and never past it however far it lags", async () => {
    await registerConsumer(db.redis, M, SETTLER, "start");
    const asks = await place(...range(6).map(() => request({ trader: A, isBuy: false, ticks: 100, lots: 1 })));
    await place(request({ trader: B, isBuy: true, ticks: 100, lots: 4 }));
    await cancelOrders(engine, { trader: A, orderHashes: [asks[4].orderHash, asks[5].orderHash] });

    // The settler has read nothing: everything is kept, though the engine is past it all.
    let r = await trim();
    expect(r.trimmedTo).to.deep.equal({ fill: 0, close: 0, accepted: 0 });
    expect(await retained(J.fills)).to.deep.equal([1, 2, 3, 4]);
    expect(await retained(J.closed)).to.deep.equal([1, 2]);
    expect(await retained(J.accepted)).to.deep.equal([1, 2, 3, 4, 5, 6, 7]);

    await saveCursor(db.redis, M, SETTLER, { fill: 3, close: 1, accepted: 5 });
    r = await trim();
    expect(r.trimmedTo).to.deep.equal({ fill: 3, close: 1, accepted: 5 });
    expect(await retained(J.fills)).to.deep.equal([4]);
    expect(await retained(J.closed)).to.deep.equal([2]);
    expect(await retained(J.accepted)).to.deep.equal([6, 7]);

    // The settler stalls while the market trades on: nothing after its cursor goes, far beyond the bound.
    for (let i = 0; i < 5; i++) await trade(20, C, D);
    r = await trim({ maxLagEntries: 10 });
    expect(r.trimmedTo).to.deep.equal({ fill: 3, close: 1, accepted: 5 });
    expect(await retained(J.fills)).to.deep.equal(range(101).map((i) => 4 + i));
    expect(await retained(J.closed)).to.deep.equal([2]);
    expect(await retained(J.accepted)).to.deep.equal(range(107).map((i) => 6 + i));
    expect(lagsOf(r, "settler")).to.deep.equal([
      { stream: "fills", lag: 101, mode: "durable", held: true },
      { stream: "closed", lag: 1, mode: "durable", held: true },
      { stream: "accepted", lag: 107, mode: "durable", held: true },
    ]);
    expect(lagsOf(r, "engine")).to.deep.equal([
      { stream: "fills", lag: 0, mode: "durable", held: true },
      { stream: "closed", lag: 0, mode: "durable", held: true },
    ]);

    // Caught up, it lets everything go; the counters carry on from where they were.
    const tail = await tailCursor(db.redis, M);
    expect(tail).to.deep.equal({ fill: 104, close: 2, accepted: 112 });
    await saveCursor(db.redis, M, SETTLER, tail);
    r = await trim();
    expect(r.trimmedTo).to.deep.equal({ fill: 104, close: 2, accepted: 112 });
    for (const key of [J.fills, J.closed, J.accepted]) expect(await retained(key)).to.deep.equal([]);
    expect(await tailCursor(db.redis, M)).to.deep.equal(tail);
    const [ask] = await place(request({ trader: A, isBuy: false, ticks: 100, lots: 1 }));
    const [bid] = await place(request({ trader: B, isBuy: true, ticks: 100, lots: 1 }));
    expect([ask.seq, bid.seq]).to.deep.equal([113, 114]);
    expect(bid.fills.map((f) => f.fillId)).to.deep.equal([fillIdOf(M, 105)]);
    await checkLedger(db.redis, [ETH_USDC, BTC_USDC], TRADERS);
  });

  it("a best-effort consumer holds the retention back only within the bound; beyond it the journal trims and the consumer's next read reports what it missed", async () => {
    let cursor = await registerConsumer(db.redis, M, FEED, "start");
    await trade(3); // fills 1-3, accepted 1-4

    // Within the bound it holds both streams it follows (closed is the engine's alone).
    let r = await trim({ maxLagEntries: 10 });
    expect(r.trimmedTo).to.deep.equal({ fill: 0, close: 0, accepted: 0 });
    expect(lagsOf(r, "feed")).to.deep.equal([
      { stream: "fills", lag: 3, mode: "best-effort", held: true },
      { stream: "accepted", lag: 4, mode: "best-effort", held: true },
    ]);
    let read = await readJournal(db.redis, M, cursor, 100, FEED.streams);
    expect(read.fills.map((f) => f.fillCtr)).to.deep.equal([1, 2, 3]);
    expect(read.accepted.map((a) => a.seq)).to.deep.equal([1, 2, 3, 4]);
    expect(read.missed).to.deep.equal({ fill: 0, close: 0, accepted: 0 });
    cursor = read.next;
    await saveCursor(db.redis, M, FEED, cursor);

    // It stalls. Exactly at the bound it still holds fills; one past it, accepted goes.
    await trade(10); // fills 4-13, accepted 5-15
    r = await trim({ maxLagEntries: 10 });
    expect(lagsOf(r, "feed")).to.deep.equal([
      { stream: "fills", lag: 10, mode: "best-effort", held: true },
      { stream: "accepted", lag: 11, mode: "best-effort", held: false },
    ]);
    expect(r.trimmedTo).to.deep.equal({ fill: 3, close: 0, accepted: null });
    expect(await retained(J.fills)).to.deep.equal(range(10).map((i) => 4 + i));
    expect(await retained(J.accepted)).to.deep.equal([]);

    // Further behind on fills too: they are trimmed up to the engine, the durable consumer.
    await trade(2); // fills 14-15, accepted 16-18
    r = await trim({ maxLagEntries: 10 });
    expect(lagsOf(r, "feed").map((l) => [l.stream, l.lag, l.held])).to.deep.equal([
      ["fills", 12, false],
      ["accepted", 14, false],
    ]);
    expect(r.trimmedTo).to.deep.equal({ fill: 15, close: 0, accepted: null });

    // The market trades on; the feed's next read starts after the gap and says how much it missed.
    await trade(1); // fill 16, accepted 19-20
    read = await readJournal(db.redis, M, cursor, 100, FEED.streams);
    expect(read.fills.map((f) => f.fillCtr)).to.deep.equal([16]);
    expect(read.accepted.map((a) => a.seq)).to.deep.equal([19, 20]);
    expect(read.missed).to.deep.equal({ fill: 12, close: 0, accepted: 14 });
    expect(read.next).to.deep.equal({ fill: 16, close: 0, accepted: 20 });

    // Back within the bound once it saved its cursor: it holds the streams again.
    await saveCursor(db.redis, M, FEED, read.next);
    await trade(1); // fill 17, accepted 21-22
    r = await trim({ maxLagEntries: 10 });
    expect(lagsOf(r, "feed").map((l) => [l.stream, l.lag, l.held])).to.deep.equal([
      ["fills", 1, true],
      ["accepted", 2, true],
    ]);
    expect(r.trimmedTo).to.deep.equal({ fill: 16, close: 0, accepted: 20 });
    expect(await retained(J.fills)).to.deep.equal([17]);
    expect(await retained(J.accepted)).to.deep.equal([21, 22]);
  });

  it("keeps skipping a best-effort consumer beyond the bound once its streams are trimmed empty, so a quiet market still drops its finished orders", async () => {
    await registerConsumer(db.redis, M, FEED, "start");
    const { makers, taker } = await trade(3); // fills 1-3, accepted 1-4, 4 finished orders

    let r = await trim({ maxLagEntries: 2, orderRetentionMs: 60_000 });
    expect(r.trimmedTo).to.deep.equal({ fill: 3, close: 0, accepted: null });
    expect(r.removedOrders).to.equal(0); // too young
    const skipped = [
      { stream: "fills", lag: 3, mode: "best-effort", held: false },
      { stream: "accepted", lag: 4, mode: "best-effort", held: false },
    ];
    expect(lagsOf(r, "feed")).to.deep.equal(skipped);

    // Nothing happens for a minute: the streams stay empty, the feed is still as far behind.
    clock.advance(60_000);
    r = await trim({ maxLagEntries: 2, orderRetentionMs: 60_000 });
    expect(lagsOf(r, "feed")).to.deep.equal(skipped);
    expect(r.trimmedTo).to.deep.equal({ fill: 3, close: 0, accepted: null });
    expect(r.removedOrders).to.equal(4);
    for (const h of [...makers, taker]) expect(await getOrder(engine, { orderHash: h })).to.equal(null);
  });

  it("trims a stream nobody follows through its newest entry, and its counters carry on", async () => {
    await trade(3); // fills 1-3 (the engine follows them), accepted 1-4 (nobody does)
    const [r1, r2] = await trimAll({}, {}, [ETH_USDC.id, BTC_USDC.id]);
    expect(r1.trimmedTo).to.deep.equal({ fill: 3, close: 0, accepted: null });
    expect(r1.lags.map((l) => l.consumer)).to.deep.equal(["engine", "engine"]);
    // A market that never traded: nothing to trim, nothing fails.
    expect(r2).to.deep.include({ market: BTC_USDC.id, trimmedTo: { fill: 0, close: 0, accepted: null }, removedOrders: 0 });
    expect(await retained(J.accepted)).to.deep.equal([]);
    expect(await retained(J.fills)).to.deep.equal([]);

    // The tail is still known, a follower joining now starts there and sees what comes next.
    expect(await tailCursor(db.redis, M)).to.deep.equal({ fill: 3, close: 0, accepted: 4 });
    const cursor = await registerConsumer(db.redis, M, FEED, "tail");
    expect(cursor).to.deep.equal({ fill: 3, close: 0, accepted: 4 });
    const [next] = await place(request({ trader: A, isBuy: false, ticks: 100, lots: 1 }));
    expect(next.seq).to.equal(5);
    const read = await readJournal(db.redis, M, cursor, 100, FEED.streams);
    expect(read.accepted.map((a) => [a.seq, a.orderHash])).to.deep.equal([[5, next.orderHash]]);
    expect(read.missed).to.deep.equal({ fill: 0, close: 0, accepted: 0 });
  });

  it("drops the record and payload of a finished order (filled, cancelled, IOC remainder, expired) once every consumer has passed it and the retention time has passed, and keeps open orders' records and payloads", async () => {
    const AUDITOR: ConsumerSpec = { name: "auditor", mode: "durable", streams: ["closed"] };
    await registerConsumer(db.redis, M, SETTLER, "start");
    await registerConsumer(db.redis, M, AUDITOR, "start");
    const [filledMaker, open, expiring] = await place(
      request({ trader: A, isBuy: false, ticks: 100, lots: 2 }),
      request({ trader: A, isBuy: false, ticks: 101, lots: 5 }),
      request({ trader: A, isBuy: false, ticks: 102, lots: 1, expiry: BigInt(T0 / 1000 + 10) }),
    );
    const [cancelled] = await place(request({ trader: B, isBuy: true, ticks: 90, lots: 1 }));
    await cancelOrders(engine, { trader: B, orderHashes: [cancelled.orderHash] }); // close 1
    const [ioc] = await place(request({ trader: C, isBuy: true, ticks: 100, lots: 3, flags: OrderFlags.IOC })); // fills 1, close 2
    expect([ioc.state, ioc.closeReason]).to.deep.equal(["cancelled", "IOC_REMAINDER"]);
    const [taker] = await place(request({ trader: D, isBuy: true, ticks: 101, lots: 1 })); // fill 2
    expect(taker.state).to.equal("filled");
    clock.advance(20_000);
    expect(await sweepExpired(engine, { market: M })).to.equal(1); // close 3
    expect((await getOrder(engine, { orderHash: expiring.orderHash }))?.closeReason).to.equal("EXPIRED");
    const finished = [cancelled, filledMaker, ioc, taker, expiring].map((o) => o.orderHash);
    expect(await db.redis.llen(J.done)).to.equal(5);
    const kept = async (h: Hex) => [(await getOrder(engine, { orderHash: h })) !== null, (await db.redis.hexists(BOOK.payloads, h)) === 1];

    const RETENTION = 600_000;
    await saveCursor(db.redis, M, SETTLER, await tailCursor(db.redis, M));
    // Everyone but the auditor is past them, and they are too young anyway.
    expect((await trim({ orderRetentionMs: RETENTION })).removedOrders).to.equal(0);
    // Old enough, but the auditor has not read a single close.
    clock.advance(RETENTION);
    expect((await trim({ orderRetentionMs: RETENTION })).removedOrders).to.equal(0);
    for (const h of finished) expect(await kept(h)).to.deep.equal([true, true]);

    // The auditor passes the first close: the cancelled order goes, the rest waits behind it.
    await saveCursor(db.redis, M, AUDITOR, { fill: 0, close: 1, accepted: 0 });
    expect((await trim({ orderRetentionMs: RETENTION })).removedOrders).to.equal(1);
    expect(await kept(cancelled.orderHash)).to.deep.equal([false, false]);
    expect(await kept(ioc.orderHash)).to.deep.equal([true, true]);

    await saveCursor(db.redis, M, AUDITOR, await tailCursor(db.redis, M));
    expect((await trim({ orderRetentionMs: RETENTION })).removedOrders).to.equal(4);
    for (const h of finished) expect(await kept(h)).to.deep.equal([false, false]);
    expect(await db.redis.exists(J.done)).to.equal(0);

    // The open order is untouched, still queryable, and still matches.
    expect(await kept(open.orderHash)).to.deep.equal([true, true]);
    expect(await db.redis.hlen(BOOK.orders)).to.equal(1);
    expect(await db.redis.hlen(BOOK.payloads)).to.equal(1);
    const view = await getOrder(engine, { orderHash: open.orderHash });
    expect([view?.state, view?.remainingAmount]).to.deep.equal(["open", 4n * LOT]);
    const [buy] = await place(request({ trader: E, isBuy: true, ticks: 101, lots: 4 }));
    expect(buy.fills.map((f) => [f.makerHash, f.amount])).to.deep.equal([[open.orderHash, 4n * LOT]]);
    expect((await getOrder(engine, { orderHash: open.orderHash }))?.state).to.equal("filled");
    await checkLedger(db.redis, [ETH_USDC, BTC_USDC], TRADERS);
  });

  it("drops at most maxOrdersPerCall finished orders per call, oldest first", async () => {
    const { makers, taker } = await trade(5); // makers finish first, then the taker
    let r = await trim({ orderRetentionMs: 0, maxOrdersPerCall: 4 });
    expect(r.removedOrders).to.equal(4);
    for (const h of makers.slice(0, 4)) expect(await getOrder(engine, { orderHash: h })).to.equal(null);
    expect(await getOrder(engine, { orderHash: makers[4] })).to.not.equal(null);
    expect(await getOrder(engine, { orderHash: taker })).to.not.equal(null);
    expect(await db.redis.llen(J.done)).to.equal(2);
    r = await trim({ orderRetentionMs: 0, maxOrdersPerCall: 4 });
    expect(r.removedOrders).to.equal(2);
    expect(await db.redis.hlen(BOOK.orders)).to.equal(0);
    expect(await db.redis.hlen(BOOK.payloads)).to.equal(0);
  });

  it("keeps the engine correct after trimming: new orders still match against resting ones, and a level whose head records were dropped is treated as tombstones", async () => {
    const reqB1 = request({ trader: B, isBuy: false, ticks: 100, lots: 1 });
    const [b1, b2, c1, b3, a1] = await place(
      reqB1,
      request({ trader: B, isBuy: false, ticks: 100, lots: 1 }),
      request({ trader: C, isBuy: false, ticks: 100, lots: 2 }),
      request({ trader: B, isBuy: false, ticks: 100, lots: 1 }),
      request({ trader: A, isBuy: false, ticks: 100, lots: 1 }),
    );
    await cancelOrders(engine, { trader: B, orderHashes: [b1.orderHash, b2.orderHash, b3.orderHash] });
    expect((await trim({ orderRetentionMs: 0 })).removedOrders).to.equal(3);

    // The cancelled orders linger in the level list (lazy deletion), their records gone.
    const level = `${BOOK.prefix}lvl:s:100`;
    expect(await db.redis.lrange(level, 0, -1)).to.deep.equal([b1, b2, c1, b3, a1].map((o) => o.orderHash));
    for (const o of [b1, b2, b3]) expect(await db.redis.hexists(BOOK.orders, o.orderHash)).to.equal(0);
    expect((await getBook(engine, { market: M })).asks).to.deep.equal([{ price: 100n * ETH_USDC.tickSize, amount: 3n * LOT }]);

    // A taker skips them and fills the live orders behind them, in time priority.
    const [taker] = await place(request({ trader: D, isBuy: true, ticks: 100, lots: 4 }));
    expect(taker.fills.map((f) => [f.makerHash, f.amount / LOT])).to.deep.equal([
      [c1.orderHash, 2n],
      [a1.orderHash, 1n],
    ]);
    expect([taker.state, taker.remainingAmount]).to.deep.equal(["open", LOT]);
    expect(await db.redis.exists(level)).to.equal(0);
    expect(await getBook(engine, { market: M })).to.deep.equal({ market: M, bids: [{ price: 100n * ETH_USDC.tickSize, amount: LOT }], asks: [] });

    // A dropped order is unknown to cancels, and submitting it again is still refused (the ledger keeps its nonce).
    const cancel = await cancelOrders(engine, { trader: B, orderHashes: [b1.orderHash] });
    expect(cancel.status === "done" && cancel.results.map((x) => (x.status === "rejected" ? x.code : x.status))).to.deep.equal(["ORDER_NOT_FOUND"]);
    expect(rejectedCode((await placeOrders(engine, [reqB1]))[0])).to.equal("DUPLICATE_ORDER");
    await checkLedger(db.redis, [ETH_USDC, BTC_USDC], TRADERS);
  });

  it("reports each consumer's lag in the metrics and logs a warning beyond the bound", async () => {
    const registry = new Registry();
    const metrics = retentionMetrics(registry);
    expect(retentionMetrics(registry)).to.equal(metrics);
    const logs: Record<string, unknown>[] = [];
    const logger = createLogger({ level: "info", destination: { write: (line: string) => void logs.push(JSON.parse(line)) } });
    await registerConsumer(db.redis, M, SETTLER, "start");
    await registerConsumer(db.redis, M, FEED, "start");
    await trade(3); // fills 1-3, accepted 1-4
    await place(...range(2).map(() => request({ trader: A, isBuy: false, ticks: 101, lots: 1 }))); // accepted 5-6, open

    const value = async (gauge: Gauge<"market" | "consumer" | "stream">, consumer: string, stream: string) =>
      (await gauge.get()).values.find((v) => v.labels.market === String(M) && v.labels.consumer === consumer && v.labels.stream === stream)?.value;

    const r = await trim({ maxLagEntries: 3 }, { logger, metrics });
    const expected: [string, string, number, boolean][] = [
      ["engine", "fills", 0, true],
      ["engine", "closed", 0, true],
      ["settler", "fills", 3, true],
      ["settler", "closed", 0, true],
      ["settler", "accepted", 6, true],
      ["feed", "fills", 3, true],
      ["feed", "accepted", 6, false],
    ];
    expect(r.lags.map((l) => [l.consumer, l.stream, l.lag, l.held])).to.have.deep.members(expected);
    for (const [consumer, stream, lag, held] of expected) {
      expect(await value(metrics.lag, consumer, stream), `${consumer} ${stream}`).to.equal(lag);
      expect(await value(metrics.skipped, consumer, stream), `${consumer} ${stream}`).to.equal(held ? 0 : 1);
    }
    const warnings = logs.filter((l) => l.level === "warn").map(({ market, consumer, stream, lag, maxLagEntries, mode, msg }) => ({ market, consumer, stream, lag, maxLagEntries, mode, msg }));
    expect(warnings).to.have.deep.members([
      { market: M, consumer: "settler", stream: "accepted", lag: 6, maxLagEntries: 3, mode: "durable", msg: "durable journal consumer lags beyond the retention bound; its entries are kept" },
      { market: M, consumer: "feed", stream: "accepted", lag: 6, maxLagEntries: 3, mode: "best-effort", msg: "best-effort journal consumer lags beyond the retention bound; entries trimmed past it" },
    ]);

    // Everyone catches up: the lags drop to 0, the finished orders go and are counted.
    const tail = await tailCursor(db.redis, M);
    await saveCursor(db.redis, M, SETTLER, tail);
    await saveCursor(db.redis, M, FEED, tail);
    logs.length = 0;
    const caughtUp = await trim({ maxLagEntries: 3, orderRetentionMs: 0 }, { logger, metrics });
    expect(caughtUp.removedOrders).to.equal(4);
    for (const [consumer, stream] of expected) {
      expect(await value(metrics.lag, consumer, stream)).to.equal(0);
      expect(await value(metrics.skipped, consumer, stream)).to.equal(0);
    }
    expect((await metrics.removedOrders.get()).values).to.deep.equal([{ value: 4, labels: { market: String(M) } }]);
    expect(logs.filter((l) => l.level === "warn")).to.deep.equal([]);
  });

  it("refuses a corrupt consumer cursor with JOURNAL_CORRUPT and trims nothing", async () => {
    // Everything could go: the engine alone follows the journal, and it is at the tail.
    await trade(2);
    for (const bad of ["d|1|x|0", "d|1|0", "q|1|0|0", "b|12345678901234567|0|0", "d|1-1|0|0", "d|1|0|0|"]) {
      await db.redis.hset(J.consumers, "broken", bad);
      const before = await dumpKeys(db.redis);
      const error = await trim({ orderRetentionMs: 0 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, bad).to.be.instanceOf(JournalError);
      expect((error as JournalError).code).to.equal("JOURNAL_CORRUPT");
      expect((error as JournalError).message).to.contain("broken");
      expect(await dumpKeys(db.redis), bad).to.deep.equal(before);
    }
    await db.redis.hdel(J.consumers, "broken");
    const r = await trim({ orderRetentionMs: 0 });
    expect(r.removedOrders).to.equal(3);
    expect(await retained(J.fills)).to.deep.equal([]);
  });

  it("keeps Redis memory flat over a long run while consumers keep up", async function () {
    this.timeout(60_000);
    const ROUNDS = 42;
    /** The first measurement is taken after this many rounds (hashes and streams have reached their working size). */
    const WARMUP = 4;
    const ARCHIVER: ConsumerSpec = { name: "archiver", mode: "durable", streams: ["fills", "closed", "accepted"] };
    const makers = range(6).map((i) => trader(10 + i));
    const takers = range(4).map((i) => trader(20 + i));
    const keeper = trader(30);
    const everyone = [...makers, ...takers, keeper];
    for (const t of everyone) await fund(engine, t);
    await registerConsumer(db.redis, M, ARCHIVER, "start");

    // Long-lived orders, far from the touch at levels of their own: open all along.
    const kept = await place(...range(20).map((i) => request({ trader: keeper, isBuy: true, ticks: 500 + i, lots: 1 })));

    /**
     * The market's keys: its book and journal (and metadata), all under its {m:<id>} tag. Not
     * the whole Redis: the ledger's per-trader nonce records and pending-fill records grow with
     * every order by design (they are not this module's to trim; fills settle on chain in a
     * later feature), and so do its rate buckets.
     */
    async function marketKeys(): Promise<{ keys: string[]; bytes: number }> {
      const keys = (await db.redis.keys(`*{m:${M}}*`)).sort();
      let bytes = 0;
      for (const k of keys) bytes += Number(await db.redis.call("MEMORY", "USAGE", k, "SAMPLES", "0"));
      return { keys, bytes };
    }

    let processed = kept.length;
    const samples: { round: number; processed: number; bytes: number; keys: string[] }[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const soon = BigInt(Math.floor(clock.ms / 1000) + 2);
      // Resting orders on both sides, a fifth of them about to expire.
      const resting = await place(
        ...range(100).map((i) => request({ trader: makers[i % 6], isBuy: false, ticks: 1000 + (i % 10), lots: 1 + (i % 3), expiry: i % 5 === 0 ? soon : undefined })),
        ...range(100).map((i) => request({ trader: makers[i % 6], isBuy: true, ticks: 900 + (i % 10), lots: 1 + (i % 3), expiry: i % 5 === 0 ? soon : undefined })),
      );
      // A fifth cancelled by their traders.
      const toCancel = new Map<Address, Hex[]>();
      resting.forEach((o, i) => {
        const owner = makers[(i % 100) % 6];
        if (i % 5 === 1) toCancel.set(owner, [...(toCancel.get(owner) ?? []), o.orderHash]);
      });
      for (const [who, orderHashes] of toCancel) await cancelOrders(engine, { trader: who, orderHashes });
      // Takers: IOC buys (remainders closed), sells that rest when the bids run out, post-only bids that would cross (refused).
      const results = await placeOrders(engine, [
        ...range(40).flatMap((i) => [
          request({ trader: takers[i % 4], isBuy: true, ticks: 1004, lots: 3, flags: OrderFlags.IOC }),
          request({ trader: takers[(i + 1) % 4], isBuy: false, ticks: 905, lots: 3 }),
        ]),
        ...range(10).map((i) => request({ trader: takers[i % 4], isBuy: true, ticks: 1009, lots: 1, flags: OrderFlags.PostOnly })),
      ]);
      expect(results.filter((x) => x.status === "rejected").map(rejectedCode)).to.deep.equal(range(10).map(() => "POST_ONLY_WOULD_CROSS"));
      // Time passes: the short-lived orders expire and are swept; what is left of the round is cancelled.
      clock.advance(3_000);
      expect(await sweepExpired(engine, { market: M })).to.be.greaterThan(0);
      for (const who of [...makers, ...takers]) await cancelOrders(engine, { trader: who, market: M, all: true });
      processed += resting.length + results.length;

      // The archiver keeps up; the retention keeps nothing it does not have to.
      await saveCursor(db.redis, M, ARCHIVER, await tailCursor(db.redis, M));
      const r = await trim({ orderRetentionMs: 0 });
      expect(r.removedOrders).to.be.greaterThan(0);
      for (const key of [J.fills, J.closed, J.accepted]) expect(await db.redis.xlen(key), key).to.equal(0);
      expect(await db.redis.llen(J.done)).to.equal(0);
      expect(await db.redis.hlen(BOOK.orders)).to.equal(kept.length);
      expect(await db.redis.hlen(BOOK.payloads)).to.equal(kept.length);
      expect(await db.redis.zcard(BOOK.expiry)).to.equal(kept.length);
      samples.push({ round, processed, ...(await marketKeys()) });
    }

    const base = samples[WARMUP - 1];
    const lastThird = samples.slice(Math.floor((ROUNDS * 2) / 3));
    expect(samples[ROUNDS - 1].processed).to.be.at.least(10 * base.processed);
    for (const s of samples.slice(WARMUP)) expect(s.keys, `round ${s.round}`).to.deep.equal(base.keys);
    for (const s of lastThird) expect(s.bytes, `round ${s.round}: ${s.bytes} bytes against ${base.bytes}`).to.be.at.most(base.bytes * 1.3);
    // The kept orders are still there and still trade.
    const [sell] = await place(request({ trader: A, isBuy: false, ticks: 519, lots: 1 }));
    expect(sell.fills.map((f) => f.makerHash)).to.deep.equal([kept[19].orderHash]);
    await checkLedger(db.redis, [ETH_USDC, BTC_USDC], [...TRADERS, ...everyone]);
  });
});
