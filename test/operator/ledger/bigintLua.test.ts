import { expect } from "chai";
import fc from "fast-check";
import { LUA_ARGS, LUA_BIGINT, LUA_PRELUDE } from "../../../operator/redis";
import { useRedisServer } from "../../helpers/redis";

/**
 * The Lua decimal-string bigint helpers, property-tested against JS bigint. Each EVAL checks a
 * whole batch of pairs, so thousands of cases run in a few round trips.
 */
const HARNESS = `#!lua flags=no-writes
${LUA_PRELUDE}
${LUA_BIGINT}
${LUA_ARGS}
local out = {}
for i = 1, #ARGV, 2 do
  local a, b = ARGV[i], ARGV[i + 1]
  out[#out + 1] = bi_add(a, b) or "OVER"
  out[#out + 1] = bi_sub(a, b) or "NEG"
  out[#out + 1] = tostring(bi_cmp(a, b))
  out[#out + 1] = tostring(bi_valid(a))
end
return out
`;

const VALID_HARNESS = `#!lua flags=no-writes
${LUA_PRELUDE}
${LUA_BIGINT}
local out = {}
for i = 1, #ARGV do out[i] = tostring(bi_valid(ARGV[i])) end
return out
`;

const MAX = (1n << 256n) - 1n;
/** The largest value bi_valid accepts (78 nines): beyond uint256, so any sum with it overflows. */
const MAX_78 = 10n ** 78n - 1n;
const sum = (a: bigint, b: bigint): string => (a + b > MAX ? "OVER" : (a + b).toString());

/**
 * Pairs whose sum lies within 2^k of 2^256 - 1 (k up to 256, on either side): split evenly at
 * random, or as a big value plus a small one (15, 45 or 78 digits against a short one), so the
 * sum crosses the boundary by a few atoms on every path. Operands stay within 78 digits.
 */
const nearMax = fc
  .tuple(
    fc.integer({ min: 0, max: 256 }).chain((k) => fc.bigInt({ min: -(1n << BigInt(k)), max: 1n << BigInt(k) })),
    fc.oneof(
      fc.bigInt({ min: 0n, max: MAX_78 }).map((r) => (x: bigint) => r % (x + 1n)),
      fc.bigInt({ min: 0n, max: 10n ** 20n }).map((small) => (x: bigint) => (small > x ? x : small)),
      fc.bigInt({ min: 0n, max: 10n ** 45n }).map((mid) => (x: bigint) => (mid > x ? x : mid)),
    ),
    fc.boolean(),
  )
  .map(([delta, pick, swap]): [bigint, bigint] => {
    const total = MAX + delta < 0n ? 0n : MAX + delta;
    let a = pick(total);
    if (total - a > MAX_78) a = total - MAX_78;
    return swap ? [total - a, a] : [a, total - a];
  });

/** Values that stress chunk boundaries (10^15), the fast path (15 digits) and uint256. */
const interesting = fc.oneof(
  fc.bigInt({ min: 0n, max: 10n ** 15n + 10n }),
  fc.bigInt({ min: 0n, max: 10n ** 30n + 10n }),
  fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }),
  fc.integer({ min: 0, max: 77 }).chain((e) => fc.bigInt({ min: -3n, max: 3n }).map((d) => { const v = 10n ** BigInt(e) + d; return v < 0n ? 0n : v; })),
  fc.integer({ min: 0, max: 255 }).chain((e) => fc.bigInt({ min: -2n, max: 2n }).map((d) => { const v = (1n << BigInt(e)) + d; return v < 0n ? 0n : v; })),
  fc.constantFrom(0n, 1n, 999_999_999_999_999n, 1_000_000_000_000_000n, (1n << 53n) - 1n, 1n << 53n, MAX),
);

describe("Lua bigint helpers", () => {
  const db = useRedisServer({ appendonly: false });

  it("add, subtract and compare exactly like JS bigint, for values up to uint256 (a sum beyond it is nil)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(interesting, interesting), { minLength: 1, maxLength: 200 }), async (pairs) => {
        const args = pairs.flatMap(([a, b]) => [a.toString(), b.toString()]);
        const out = (await db.redis.eval(HARNESS, 0, ...args)) as string[];
        pairs.forEach(([a, b], i) => {
          expect(out[4 * i], `${a} + ${b}`).to.equal(sum(a, b));
          expect(out[4 * i + 1], `${a} - ${b}`).to.equal(a >= b ? (a - b).toString() : "NEG");
          expect(out[4 * i + 2], `cmp ${a} ${b}`).to.equal(String(a < b ? -1 : a > b ? 1 : 0));
          expect(out[4 * i + 3]).to.equal("true");
        });
      }),
      { numRuns: 60 },
    );
  });

  it("add exactly up to 2^256 - 1 and answer nil for any sum beyond it, by one atom or by many", async () => {
    const fixed: [bigint, bigint][] = [
      [MAX, 0n],
      [0n, MAX],
      [MAX, 1n],
      [1n, MAX],
      [MAX - 1n, 1n],
      [MAX, MAX],
      [MAX / 2n, MAX - MAX / 2n],
      [MAX / 2n + 1n, MAX - MAX / 2n],
      [0n, MAX + 1n],
      [MAX + 1n, 0n],
      [MAX_78, 0n],
      [MAX_78, MAX_78],
      [10n ** 77n - 1n, 1n], // 78 digits, far below the max
      [5n * 10n ** 76n, 5n * 10n ** 76n], // 10^77: 78 digits, still below
      [6n * 10n ** 76n, 6n * 10n ** 76n], // 78 digits, just beyond (2^256 ~ 1.158e77)
      [10n ** 45n - 1n, MAX - 10n ** 45n + 1n],
      [10n ** 15n - 1n, MAX - 10n ** 15n + 2n],
    ];
    const check = async (pairs: [bigint, bigint][]) => {
      const out = (await db.redis.eval(HARNESS, 0, ...pairs.flatMap(([a, b]) => [a.toString(), b.toString()]))) as string[];
      pairs.forEach(([a, b], i) => {
        expect(out[4 * i], `${a} + ${b}`).to.equal(sum(a, b));
        expect(out[4 * i + 1], `${a} - ${b}`).to.equal(a >= b ? (a - b).toString() : "NEG");
        expect(out[4 * i + 2], `cmp ${a} ${b}`).to.equal(String(a < b ? -1 : a > b ? 1 : 0));
      });
    };
    await check(fixed);
    await fc.assert(
      fc.asyncProperty(fc.array(nearMax, { minLength: 1, maxLength: 200 }), check),
      { numRuns: 60 },
    );
  });

  it("accept only canonical decimal strings of at most 78 digits", async () => {
    const cases: [string, boolean][] = [
      ["0", true],
      ["7", true],
      ["10", true],
      ["9".repeat(78), true],
      ["1" + "0".repeat(78), false],
      ["", false],
      ["01", false],
      ["00", false],
      ["-1", false],
      ["1.5", false],
      ["1e5", false],
      [" 1", false],
      ["0x10", false],
    ];
    const out = (await db.redis.eval(VALID_HARNESS, 0, ...cases.map((c) => c[0]))) as string[];
    cases.forEach(([value, valid], i) => expect(out[i], JSON.stringify(value)).to.equal(String(valid)));
  });
});
