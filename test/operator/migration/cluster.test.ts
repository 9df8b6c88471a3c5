import { expect } from "chai";
import type { Cluster } from "ioredis";
import { stopEngine } from "../../../operator/matching";
import { checkKeyspace, clearOldKeyspace, KEYSPACE_MARKER, migrateV2ToV3 } from "../../../operator/migration";
import { keySlot } from "../../../operator/redis";
import { startRedisCluster, type RedisClusterHandle } from "../../helpers/redis";
import { CHAIN, checkLedger, silentLogger, startEngine } from "../matching/fixtures";
import { MARKETS, RATE_LIMITS, TRADERS, allKeys, buildV3State, doneListsWithoutTimes, downgradeToV2, dumpAll, engineView, withoutUncompared } from "./v2Fixtures";

/**
 * The migration against a 3-master Redis Cluster: a v2 key and its v3 name carry other hash
 * tags ({t:<trader>} and {t:<chain>:<trader>}), so they usually live on other nodes, and the
 * keys one SCAN returns belong to many slots.
 */
describe("keyspace migration on Redis Cluster", () => {
  let cluster: RedisClusterHandle;
  let redis: Cluster;

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
  });

  it("migrates v2 data spread over every node, and the engine continues exactly where it was", async () => {
    const seen = await buildV3State(redis);
    const original = await dumpAll(redis);
    await downgradeToV2(redis);
    const v2 = await allKeys(redis);
    const owners = new Set(v2.map((k) => redis.slots[keySlot(k)]?.[0]));
    expect(owners.size, "old keys on several nodes").to.be.greaterThan(1);
    expect(new Set(v2.filter((k) => k.startsWith("hx:v1:rl:")).map(keySlot)).size, "rate buckets in several slots").to.be.greaterThan(1);

    expect(await checkKeyspace(redis).then(() => "passed", (e: { code: string }) => e.code)).to.equal("KEYSPACE_OLD");
    await migrateV2ToV3({ redis, logger: silentLogger }, { chainId: CHAIN, markets: MARKETS });
    const migrated = await dumpAll(redis);
    expect(withoutUncompared(migrated)).to.deep.equal(withoutUncompared(original));
    expect(migrated[KEYSPACE_MARKER]).to.equal("3");
    expect(Object.keys(migrated).filter((k) => k.startsWith("hx:v3:rl:"))).to.deep.equal([]);
    expect(Object.values(await doneListsWithoutTimes(redis)).map((l) => l.length)).to.deep.equal([3, 1]);
    await checkKeyspace(redis);

    const { engine } = await startEngine(redis, { rateLimits: RATE_LIMITS, assertSingleSlot: true });
    try {
      const { balances, books, orders } = seen;
      expect(await engineView(engine, seen.hashes)).to.deep.equal({ balances, books, orders });
      await checkLedger(redis, MARKETS, TRADERS, seen.deposits);
    } finally {
      await stopEngine(engine);
    }
  });

  it("clears old keys on every node", async () => {
    await buildV3State(redis);
    await downgradeToV2(redis);
    const old = (await allKeys(redis)).filter((k) => !k.startsWith("hx:v1:cancel:"));
    expect(await clearOldKeyspace(redis)).to.equal(old.length);
    expect((await allKeys(redis)).every((k) => k.startsWith("hx:v1:cancel:"))).to.equal(true);
  });
});
