import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { ENGINE_SCRIPTS } from "../../../operator/matching";
import { ScriptRunner, createRedisClient, defineScript, keySlot, marketTag, traderTag } from "../../../operator/redis";
import { useRedisServer } from "../../helpers/redis";
import { silentLogger } from "./fixtures";

const LUA_DIRS = ["operator/redis/lua", "operator/ledger/lua", "operator/matching/lua"].map((d) => path.join(__dirname, "../../..", d));

describe("lua scripts and their loader", () => {
  const db = useRedisServer({ appendonly: false });

  before(() => {
    db.redis.on("error", () => undefined); // refused connections while Redis restarts
  });

  it("opens every script with a comment block documenting its KEYS, ARGV and return value", () => {
    const scripts = LUA_DIRS.flatMap((d) => fs.readdirSync(d).map((f) => path.join(d, f)));
    let checked = 0;
    for (const file of scripts) {
      const text = fs.readFileSync(file, "utf8");
      expect(text.startsWith("--"), file).to.equal(true);
      const header = text.split("\n").filter((l) => l.startsWith("--")).join("\n");
      // Helper libraries document what they define; scripts document their interface.
      if (/^-- [a-z_]+\.lua[ :]/.test(text)) {
        expect(header, file).to.match(/KEYS/);
        expect(header, file).to.match(/ARGV/);
        expect(header, file).to.match(/Returns/);
        checked++;
      }
    }
    expect(checked).to.equal(12); // withdrawal.lua and nonce_cancel.lua joined the nine, then seal.lua
  });

  it("loads every script by SHA, and reloads them when Redis answers NOSCRIPT", async () => {
    const runner = new ScriptRunner({ redis: db.redis, logger: silentLogger }, ENGINE_SCRIPTS);
    await runner.load();
    const exists = (await db.redis.script("EXISTS", ...ENGINE_SCRIPTS.map((s) => s.sha))) as number[];
    expect(exists.every((e) => e === 1)).to.equal(true);
    const echo = defineScript({ name: "test.echo", body: "-- echo.lua\nreturn ARGV[1]" });
    expect(await runner.call({ script: echo, keys: ["k"], args: ["hi"] })).to.equal("hi");
    await db.redis.script("FLUSH");
    // Both the registered scripts and the one first seen in a call come back.
    expect(await runner.call({ script: echo, keys: ["k"], args: ["again"] })).to.equal("again");
    const after = (await db.redis.script("EXISTS", ...ENGINE_SCRIPTS.map((s) => s.sha))) as number[];
    expect(after.every((e) => e === 1)).to.equal(true);
  });

  it("creates a client from a URL that runs the scripts and survives a restart of Redis", async () => {
    const client = createRedisClient({ logger: silentLogger }, { url: db.server.url });
    try {
      const runner = new ScriptRunner({ redis: client, logger: silentLogger }, []);
      const echo = defineScript({ name: "test.echo", body: "-- echo.lua\nreturn ARGV[1]" });
      expect(await runner.call({ script: echo, keys: ["k"], args: ["one"] })).to.equal("one");
      await db.server.restart();
      expect(await runner.call({ script: echo, keys: ["k"], args: ["two"] })).to.equal("two");
    } finally {
      client.disconnect();
    }
  });

  it("returns a script's error reply to its own call only", async () => {
    const runner = new ScriptRunner({ redis: db.redis, logger: silentLogger }, []);
    const failing = defineScript({ name: "test.fail", body: "return redis.error_reply('BAD_INPUT nope')" });
    const fine = defineScript({ name: "test.fine", body: "return 1" });
    const [a, b] = await runner.batch([
      { script: failing, keys: ["x"], args: [] },
      { script: fine, keys: ["x"], args: [] },
    ]);
    expect(!a.ok && a.error.message).to.match(/BAD_INPUT nope/);
    expect(b).to.deep.equal({ ok: true, value: 1 });
  });

  it("refuses, in TypeScript, a call whose declared keys span two slots when asked to check", async () => {
    const runner = new ScriptRunner({ redis: db.redis, logger: silentLogger }, [], { assertSingleSlot: true });
    const fine = defineScript({ name: "test.fine", body: "return 1" });
    let message = "";
    await runner.batch([{ script: fine, keys: [`a:${marketTag(1)}`, `b:${traderTag("0x" + "1".repeat(40))}`], args: [] }]).catch((e: Error) => (message = e.message));
    expect(message).to.match(/several slots/);
  });

  it("computes key slots from the hash tag like Redis Cluster", () => {
    // Reference values of CLUSTER KEYSLOT.
    expect(keySlot("foo")).to.equal(12182);
    expect(keySlot("{user1000}.following")).to.equal(keySlot("{user1000}.followers"));
    expect(keySlot("foo{}{bar}")).to.not.equal(keySlot("bar")); // an empty tag hashes the whole key
    expect(keySlot("123456789")).to.equal(12739);
    expect(keySlot(`hx:v1:book:${marketTag(7)}:orders`)).to.equal(keySlot(`hx:v1:mkt:${marketTag(7)}:meta`));
  });
});
