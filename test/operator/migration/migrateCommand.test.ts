import { expect } from "chai";
import { execFile } from "node:child_process";
import path from "node:path";
import { marketConfigJson } from "../../../operator/markets";
import { KEYSPACE_MARKER } from "../../../operator/migration";
import { useRedisServer } from "../../helpers/redis";
import { CHAIN, USDC, WETH } from "../matching/fixtures";
import { A, B, MARKETS, buildV3State, downgradeToV2, dumpAll, withoutUncompared } from "./v2Fixtures";

const ROOT = path.resolve(__dirname, "../../..");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `npm run admin -- <args>` (ts-node scripts/admin.ts) with the daemon's environment for one
 * chain and the fixture markets. The RPC URL is never contacted by the keyspace commands.
 */
function admin(redisUrl: string, args: string[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("HYPERINDEX_")));
  Object.assign(env, {
    HYPERINDEX_REDIS_URL: redisUrl,
    HYPERINDEX_RPC_URL: "http://127.0.0.1:8545",
    HYPERINDEX_CHAIN_ID: String(CHAIN),
    HYPERINDEX_SETTLEMENT_ADDRESS: "0x00000000000000000000000000000000000005e7",
    HYPERINDEX_COMMITMENT_ADDRESS: "0x00000000000000000000000000000000000000c0",
    HYPERINDEX_OPERATOR_PRIVATE_KEY: "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    HYPERINDEX_MARKETS: JSON.stringify(MARKETS.map((m) => JSON.parse(marketConfigJson(m)))),
  });
  return new Promise((resolve) => {
    execFile("npx", ["ts-node", "--transpile-only", "scripts/admin.ts", ...args], { cwd: ROOT, env, timeout: 120_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

describe("admin keyspace commands (scripts/admin.ts)", () => {
  const db = useRedisServer();

  it("migrate-keyspace moves v2 data to v3 with the daemon's configuration; until then other commands refuse the old data", async () => {
    const seen = await buildV3State(db.redis);
    const original = await dumpAll(db.redis);
    await downgradeToV2(db.redis);

    const refused = await admin(db.server.url, ["balances", A]);
    expect(refused.code, refused.stderr).to.equal(1);
    expect(refused.stderr).to.include("older layout").and.to.include("npm run admin -- migrate-keyspace");

    const run = await admin(db.server.url, ["migrate-keyspace"]);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.include(`v2 ledgers go to chain ${CHAIN}`);
    const ledgerKeys = Object.keys(original).filter((k) => k.startsWith("hx:v3:ldg:")).length;
    const buckets = Object.keys(original).filter((k) => k.startsWith("hx:v3:rl:")).length;
    expect(run.stdout).to.match(new RegExp(`done: ${ledgerKeys} ledger keys, \\d+ book keys, 5 journal streams, 2 markets, 4 finished orders listed for retention, ${buckets} rate buckets dropped`));
    expect(withoutUncompared(await dumpAll(db.redis))).to.deep.equal(withoutUncompared(original));
    expect(await db.redis.get(KEYSPACE_MARKER)).to.equal("3");

    const balances = await admin(db.server.url, ["balances", A]);
    expect(balances.code, balances.stderr).to.equal(0);
    for (const token of [WETH, USDC]) {
      const b = seen.balances[A][token];
      expect(balances.stdout).to.include(`chain ${CHAIN}  ${token}  available ${b.available}  locked ${b.locked}  pendingOut ${b.pendingOut}  pendingIn ${b.pendingIn}`);
    }
  });

  it("migrate-keyspace refuses v1 data, and clear-old-keyspace deletes old keys only when told --yes", async () => {
    await buildV3State(db.redis);
    await downgradeToV2(db.redis);
    await db.redis.hset(`hx:v1:ldg:{t:${B}}:acct`, "b:0x00000000000000000000000000000000000000c2", "5");

    const refused = await admin(db.server.url, ["migrate-keyspace"]);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.include(`hx:v1:ldg:{t:${B}}:acct`).and.to.include("clear-old-keyspace");

    const unconfirmed = await admin(db.server.url, ["clear-old-keyspace"]);
    expect(unconfirmed.code).to.equal(1);
    expect(unconfirmed.stderr).to.include("--yes");

    const old = (await db.redis.keys("*")).filter((k) => !k.startsWith("hx:v1:cancel:"));
    const cleared = await admin(db.server.url, ["clear-old-keyspace", "--yes"]);
    expect(cleared.code, cleared.stderr).to.equal(0);
    expect(cleared.stdout).to.include(`done: ${old.length} keys of older layouts deleted`);
    expect((await db.redis.keys("*")).every((k) => k.startsWith("hx:v1:cancel:"))).to.equal(true);
  });
});
