/**
 * The Redis layout check and the v2 -> v3 migration (operator/migration) on a real Redis. The
 * v2 data is the engine's own v3 state rewritten in the v2 layout (./v2Fixtures.ts
 * downgradeToV2, the inverse of the migration), so migrating it must give that state back.
 */
import { expect } from "chai";
import { DEFAULT_RETENTION, JOURNAL_SCRIPTS, loadCursor, trimJournals } from "../../../operator/journal";
import { marketConfigJson, parseMarketConfig, registerMarket } from "../../../operator/markets";
import { bookKeys, fillIdOf, getOrder, placeOrders, stopEngine } from "../../../operator/matching";
import { checkKeyspace, clearOldKeyspace, KEYSPACE_MARKER, KeyspaceError, migrateV2ToV3, type MigrationReport } from "../../../operator/migration";
import { ScriptRunner, type RedisClient } from "../../../operator/redis";
import { useRedisServer } from "../../helpers/redis";
import { BTC_USDC, CHAIN, ETH_USDC, accepted, checkLedger, rejectedCode, request, silentLogger, startEngine } from "../matching/fixtures";
import {
  A,
  B,
  C,
  HALT_REASON,
  MARKETS,
  RATE_LIMITS,
  TRADERS,
  allKeys,
  buildV3State,
  doneHashes,
  doneListsWithoutTimes,
  downgradeToV2,
  dumpAll,
  engineView,
  restoreKeys,
  snapshotKeys,
  v2ConfigJson,
  withoutUncompared,
} from "./v2Fixtures";

const ADMIN_MIGRATE = "npm run admin -- migrate-keyspace";
const ADMIN_CLEAR = "npm run admin -- clear-old-keyspace --yes";

async function keyspaceError(promise: Promise<unknown>): Promise<KeyspaceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, "expected a KeyspaceError").to.be.instanceOf(KeyspaceError);
  return error as KeyspaceError;
}

/** The migration as the admin command runs it for the fixture chain and markets. */
function migrate(redis: RedisClient, onProgress?: (r: Readonly<MigrationReport>) => void): Promise<MigrationReport> {
  return migrateV2ToV3({ redis, logger: silentLogger }, { chainId: CHAIN, markets: MARKETS }, onProgress);
}

describe("keyspace check and v2 -> v3 migration", () => {
  const db = useRedisServer();

  it("refuses to start on data of an older layout, naming examples and how to migrate or clear it", async () => {
    await buildV3State(db.redis);
    await downgradeToV2(db.redis);
    const before = await dumpAll(db.redis);
    // The daemon calls checkKeyspace before it creates the engine (operator/daemon/start.ts).
    const error = await keyspaceError(checkKeyspace(db.redis));
    expect(error.code).to.equal("KEYSPACE_OLD");
    const examples = error.details.examples as string[];
    expect(examples).to.have.length.within(1, 5);
    for (const key of examples) expect(before, key).to.have.property(key);
    expect(error.message).to.include(examples[0]);
    expect(error.message).to.include(ADMIN_MIGRATE).and.to.include(ADMIN_CLEAR);
    expect(await dumpAll(db.redis), "nothing written, no marker").to.deep.equal(before);

    // One key of any older family is enough.
    const families = [
      "hx:v2:book:{m:1}:state",
      `hx:v2:ldg:{t:${A}}:acct`,
      "hx:v1:mkt:{m:1}:meta",
      `hx:v1:rl:{t:${A}}:place`,
      "hx:v1:book:{m:1}:orders",
      `hx:v1:ldg:{t:${A}}:acct`,
    ];
    for (const key of families) {
      await db.redis.flushall();
      await db.redis.hset(key, "f", "1");
      const e = await keyspaceError(checkKeyspace(db.redis));
      expect([e.code, e.details.examples], key).to.deep.equal(["KEYSPACE_OLD", [key]]);
    }
  });

  it("migrates v2 data to v3 and the engine continues exactly where it was", async () => {
    const seen = await buildV3State(db.redis);
    const original = await dumpAll(db.redis);
    await downgradeToV2(db.redis);
    expect((await allKeys(db.redis)).filter((k) => k.startsWith("hx:v3:") || k === KEYSPACE_MARKER)).to.deep.equal([]);

    const started = Date.now();
    const progress: MigrationReport[] = [];
    const report = await migrate(db.redis, (r) => progress.push(r));
    const finished = Date.now();
    const count = (re: RegExp) => Object.keys(original).filter((k) => re.test(k)).length;
    expect(report).to.deep.equal({
      ledgerKeys: count(/^hx:v3:ldg:/),
      bookKeys: count(/^hx:v3:book:/),
      journalStreams: count(/^hx:v3:jrn:.*:(accepted|fills|closed)$/),
      markets: 2,
      rateBucketsDropped: count(/^hx:v3:rl:/),
      doneOrdersListed: 4,
    });
    expect(report.rateBucketsDropped).to.be.greaterThan(0);
    expect(progress.at(-1)).to.deep.equal(report);

    // Key for key what the engine left, but the rate buckets (dropped) and the done lists (rebuilt).
    const migrated = await dumpAll(db.redis);
    expect(withoutUncompared(migrated)).to.deep.equal(withoutUncompared(original));
    expect(migrated[KEYSPACE_MARKER]).to.equal("3");
    expect(Object.keys(migrated).filter((k) => k.startsWith("hx:v3:rl:"))).to.deep.equal([]);
    expect(migrated).to.have.property(`hx:v1:cancel:{t:${A}}:0x${"ab".repeat(32)}`, "1");
    // The done lists hold the same finished orders, each marked with the market's counters at
    // the migration and its time.
    for (const m of MARKETS) {
      const [seq, fill, close] = await db.redis.hmget(bookKeys(m.id).state, "seq", "fill", "close");
      for (const entry of await db.redis.lrange(`hx:v3:jrn:{m:${m.id}}:done`, 0, -1)) {
        const [s, f, c, ts] = entry.split("|");
        expect([s, f, c]).to.deep.equal([seq, fill, close]);
        expect(Number(ts)).to.be.within(started, finished);
      }
    }
    expect(await doneHashes(db.redis, ETH_USDC.id)).to.deep.equal(doneOf(original, ETH_USDC.id));
    expect(await doneHashes(db.redis, BTC_USDC.id)).to.deep.equal(doneOf(original, BTC_USDC.id));

    await checkKeyspace(db.redis);
    const { engine } = await startEngine(db.redis, { rateLimits: RATE_LIMITS });
    try {
      const { balances, books, orders } = seen;
      expect(await engineView(engine, seen.hashes)).to.deep.equal({ balances, books, orders });
      // New orders match the migrated book, with fill counters that continue the journal's.
      const taker = accepted((await placeOrders(engine, [request({ trader: C, isBuy: true, ticks: 100, lots: 3 })]))[0]);
      expect(taker.state).to.equal("filled");
      expect(taker.fills.map((f) => [f.fillId, f.makerHash])).to.deep.equal([[fillIdOf(ETH_USDC.id, 2), seen.resting.aSells100]]);
      expect((await getOrder(engine, { orderHash: seen.resting.aSells100 }))?.state).to.equal("filled");
      expect(await loadCursor(db.redis, ETH_USDC.id, "engine")).to.deep.include({ mode: "durable", fill: 2, close: 2, accepted: null });
      // The halted market is still halted.
      expect(rejectedCode((await placeOrders(engine, [request({ trader: A, market: BTC_USDC, isBuy: false, ticks: 50, lots: 2 })]))[0])).to.equal("MARKET_HALTED");
      await checkLedger(db.redis, MARKETS, TRADERS, seen.deposits);
    } finally {
      await stopEngine(engine);
    }
  });

  it("lists the migrated finished orders for the retention, which drops them in time like any other", async () => {
    const seen = await buildV3State(db.redis);
    await downgradeToV2(db.redis);
    await migrate(db.redis);
    const scripts = new ScriptRunner({ redis: db.redis, logger: silentLogger }, JOURNAL_SCRIPTS);
    await scripts.load();
    const trim = (ms: number) =>
      trimJournals({ scripts, logger: silentLogger, clock: () => Date.now() + ms }, { ...DEFAULT_RETENTION, markets: MARKETS.map((m) => m.id), bookKeys });
    expect((await trim(0)).map((r) => r.removedOrders), "kept for orderRetentionMs").to.deep.equal([0, 0]);
    expect((await trim(DEFAULT_RETENTION.orderRetentionMs + 60_000)).map((r) => r.removedOrders)).to.deep.equal([3, 1]);
    const { engine } = await startEngine(db.redis);
    try {
      const left = [];
      for (const orderHash of seen.hashes) if ((await getOrder(engine, { orderHash })) !== null) left.push(orderHash);
      expect(left.sort()).to.deep.equal(Object.values(seen.resting).sort());
    } finally {
      await stopEngine(engine);
    }
  });

  it("can be run again after an interruption, and ends where an uninterrupted run ends", async () => {
    await buildV3State(db.redis);
    await downgradeToV2(db.redis);
    const v2 = await snapshotKeys(db.redis);
    let steps = 0;
    await migrate(db.redis, () => void steps++);
    const reference = withoutUncompared(await dumpAll(db.redis));
    const referenceDone = await doneListsWithoutTimes(db.redis);

    // Stopped after each step but the last (the progress callback runs after each batch of keys,
    // and once more after the marker is written).
    expect(steps).to.be.greaterThan(3);
    const interrupted = new Error("interrupted");
    for (let stopAt = 1; stopAt < steps; stopAt++) {
      await restoreKeys(db.redis, v2);
      let calls = 0;
      const stopped = await migrate(db.redis, () => {
        if (++calls === stopAt) throw interrupted;
      }).catch((e: unknown) => e);
      expect(stopped).to.equal(interrupted);
      expect(await db.redis.get(KEYSPACE_MARKER), `stopped at ${stopAt}: not marked`).to.equal(null);
      await migrate(db.redis);
      expect(withoutUncompared(await dumpAll(db.redis)), `stopped at ${stopAt}`).to.deep.equal(reference);
      expect(await doneListsWithoutTimes(db.redis), `done lists, stopped at ${stopAt}`).to.deep.equal(referenceDone);
      expect(await db.redis.get(KEYSPACE_MARKER)).to.equal("3");
    }

    // Stopped while listing the finished orders of a market: the half-built list is redone.
    await restoreKeys(db.redis, v2);
    const booksMoved = await migrate(db.redis, (r) => {
      if (r.bookKeys > 0) throw interrupted;
    }).catch((e: unknown) => e);
    expect(booksMoved).to.equal(interrupted);
    await db.redis.rpush(`hx:v3:jrn:{m:${ETH_USDC.id}}:done:migrating`, referenceDone[ETH_USDC.id][0]);
    await migrate(db.redis);
    expect(withoutUncompared(await dumpAll(db.redis))).to.deep.equal(reference);
    expect(await doneListsWithoutTimes(db.redis)).to.deep.equal(referenceDone);

    // Stopped inside a step: keys copied to their v3 name, the v2 key not deleted yet.
    await restoreKeys(db.redis, v2);
    const v2Keys = [...v2.keys()].filter((k) => /^hx:v2:/.test(k));
    for (const key of v2Keys.filter((_, i) => i % 2 === 0)) {
      if (key.endsWith(":state")) continue;
      const to = key
        .replace(/^hx:v2:ldg:\{t:/, `hx:v3:ldg:{t:${CHAIN}:`)
        .replace(/^hx:v2:book:(\{m:\d+\}):(accepted|fills|closed)$/, "hx:v3:jrn:$1:$2")
        .replace(/^hx:v2:book:/, "hx:v3:book:");
      await db.redis.copy(key, to);
    }
    await migrate(db.redis);
    expect(withoutUncompared(await dumpAll(db.redis))).to.deep.equal(reference);
    expect(await doneListsWithoutTimes(db.redis)).to.deep.equal(referenceDone);

    // And once done, another run changes nothing.
    const done = await dumpAll(db.redis);
    expect(await migrate(db.redis)).to.deep.equal({ ledgerKeys: 0, bookKeys: 0, journalStreams: 0, markets: 0, rateBucketsDropped: 0, doneOrdersListed: 0 });
    expect(await dumpAll(db.redis)).to.deep.equal(done);
  });

  it("marks a Redis without operator data as v3 on first start, and refuses a newer marker", async () => {
    await checkKeyspace(db.redis);
    expect(await dumpAll(db.redis)).to.deep.equal({ [KEYSPACE_MARKER]: "3" });
    await checkKeyspace(db.redis);

    // The signed-cancel memory did not change layout: it is not old data.
    await db.redis.flushall();
    const cancelKey = `hx:v1:cancel:{t:${A}}:0x${"cd".repeat(32)}`;
    await db.redis.set(cancelKey, "1", "PX", 60_000);
    await checkKeyspace(db.redis);
    expect(await dumpAll(db.redis)).to.deep.equal({ [KEYSPACE_MARKER]: "3", [cancelKey]: "1" });

    await db.redis.set(KEYSPACE_MARKER, "4");
    const error = await keyspaceError(checkKeyspace(db.redis));
    expect(error.code).to.equal("KEYSPACE_NEWER");
    expect(error.message).to.include("version 4").and.to.include("version 3");
    expect(error.details).to.deep.equal({ marker: "4", expected: 3 });
    // Neither the check nor the migration touches a newer layout's marker.
    expect((await keyspaceError(migrate(db.redis))).code).to.equal("KEYSPACE_NEWER");
    expect(await db.redis.get(KEYSPACE_MARKER)).to.equal("4");
  });

  it("refuses to migrate v1 data (KEYSPACE_UNMIGRATABLE), and clear-old-keyspace deletes old keys but not hx:v1:cancel:*", async () => {
    await buildV3State(db.redis);
    await downgradeToV2(db.redis);
    await db.redis.hset("hx:v1:book:{m:1}:orders", "0x01", "old");
    await db.redis.hset(`hx:v1:ldg:{t:${B}}:acct`, "b:0x00000000000000000000000000000000000000c2", "5");
    const before = await dumpAll(db.redis);
    const error = await keyspaceError(migrate(db.redis));
    expect(error.code).to.equal("KEYSPACE_UNMIGRATABLE");
    expect(error.message).to.match(/hx:v1:(book|ldg):/).and.to.include("clear-old-keyspace");
    expect(await dumpAll(db.redis), "refused before its first write").to.deep.equal(before);

    await db.redis.hset("hx:v3:mkt:{m:9}:meta", "status", "active"); // v3 data is not old
    const old = Object.keys(before).filter((k) => !k.startsWith("hx:v1:cancel:"));
    const progress: number[] = [];
    expect(await clearOldKeyspace(db.redis, (n) => progress.push(n))).to.equal(old.length);
    expect(progress.at(-1)).to.equal(old.length);
    expect(await allKeys(db.redis)).to.deep.equal([...Object.keys(before).filter((k) => k.startsWith("hx:v1:cancel:")), "hx:v3:mkt:{m:9}:meta"].sort());
    expect(await db.redis.pttl(`hx:v1:cancel:{t:${A}}:0x${"ab".repeat(32)}`)).to.be.greaterThan(0);
    await checkKeyspace(db.redis);
    expect(await db.redis.get(KEYSPACE_MARKER)).to.equal("3");
  });

  it("gives a migrated market configuration the chain of the configured market, else the chain given, and keeps its status and halt reason", async () => {
    const unlisted = parseMarketConfig({ ...JSON.parse(marketConfigJson(BTC_USDC)), id: 7, symbol: "WBTC-DAI", chainId: 5 });
    await db.redis.hset("hx:v1:mkt:{m:1}:meta", "config", v2ConfigJson(ETH_USDC), "status", "active");
    await db.redis.hset("hx:v1:mkt:{m:7}:meta", "config", v2ConfigJson(unlisted), "status", "halted", "reason", HALT_REASON);
    // The chain given (5) is not the configured market's (999): each market keeps its own.
    const report = await migrateV2ToV3({ redis: db.redis, logger: silentLogger }, { chainId: 5, markets: [ETH_USDC] });
    expect(report.markets).to.equal(2);
    expect(await dumpAll(db.redis)).to.deep.equal({
      [KEYSPACE_MARKER]: "3",
      "hx:v3:mkt:{m:1}:meta": { config: marketConfigJson(ETH_USDC), status: "active" },
      "hx:v3:mkt:{m:7}:meta": { config: marketConfigJson(unlisted), status: "halted", reason: HALT_REASON },
    });
    // The engine registers the configured market against it as unchanged.
    await registerMarket({ redis: db.redis, logger: silentLogger }, ETH_USDC);
  });
});

/** The order hashes in the done list of a dump. */
function doneOf(dump: Record<string, unknown>, marketId: number): string[] {
  return ((dump[`hx:v3:jrn:{m:${marketId}}:done`] as string[] | undefined) ?? []).map((e) => e.split("|")[4]).sort();
}
