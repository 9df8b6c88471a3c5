import { expect } from "chai";
import fc from "fast-check";
import { Command } from "ioredis";
import { ScriptRunner, defineScript, encodeEvalsha, encodeEvalshaBatch, joinArg, type ScriptArg } from "../../../operator/redis";
import { useRedisServer } from "../../helpers/redis";
import { silentLogger } from "./fixtures";

/** What ioredis writes for the same EVALSHA (its own encoder, arguments joined). */
function ioredisBytes(sha: string, keys: string[], args: ScriptArg[]): Buffer {
  const w = new Command("evalsha", [sha, String(keys.length), ...keys, ...args.map(joinArg)]).toWritable(undefined as never);
  return typeof w === "string" ? Buffer.from(w, "utf8") : w;
}

const ascii = fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 80 });
const part = fc.oneof(ascii, fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }));
const arg: fc.Arbitrary<ScriptArg> = fc.oneof(ascii, fc.integer({ min: -1e9, max: 1e9 }), fc.array(part, { maxLength: 12 }));
const sha = fc.stringMatching(/^[0-9a-f]{40}$/);

describe("EVALSHA wire encoding", () => {
  const db = useRedisServer({ appendonly: false });

  it("writes exactly the bytes ioredis writes, arguments given in parts included", () => {
    fc.assert(
      fc.property(sha, fc.array(ascii, { maxLength: 4 }), fc.array(arg, { maxLength: 30 }), (s, keys, args) => {
        expect(encodeEvalsha(s, keys, args)!.equals(ioredisBytes(s, keys, args))).to.equal(true);
      }),
      { numRuns: 300 },
    );
  });

  it("encodes a batch call by call, each exactly as ioredis would", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ sha, keys: fc.array(ascii, { maxLength: 3 }), args: fc.array(arg, { maxLength: 8 }) }), { minLength: 1, maxLength: 20 }), (calls) => {
        const views = encodeEvalshaBatch(calls)!;
        expect(views).to.have.length(calls.length);
        views.forEach((v, i) => expect(v.equals(ioredisBytes(calls[i].sha, calls[i].keys, calls[i].args))).to.equal(true));
      }),
      { numRuns: 100 },
    );
  });

  it("leaves anything not ASCII to ioredis, which sends it intact", async () => {
    expect(encodeEvalsha("a".repeat(40), ["k"], ["prix: 5 €"])).to.equal(undefined);
    expect(encodeEvalshaBatch([{ sha: "a".repeat(40), keys: ["k"], args: ["ok"] }, { sha: "a".repeat(40), keys: ["k"], args: [["é", 1n]] }])).to.equal(undefined);
    const echo = defineScript({ name: "test.echoAll", body: "-- echo_all.lua\nreturn ARGV" });
    const runner = new ScriptRunner({ redis: db.redis, logger: silentLogger }, [echo]);
    await runner.load();
    const [plain, mixed] = await runner.batch([
      { script: echo, keys: ["k"], args: ["abc", 12, ["x|", 7n, "|y"]] },
      { script: echo, keys: ["k"], args: ["naïve ✓", ["ü", 1n]] },
    ]);
    expect(plain).to.deep.equal({ ok: true, value: ["abc", "12", "x|7|y"] });
    expect(mixed).to.deep.equal({ ok: true, value: ["naïve ✓", "ü1"] });
  });
});
