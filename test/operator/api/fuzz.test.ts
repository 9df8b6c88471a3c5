/**
 * Property: whatever body arrives at POST /v1/orders or /v1/cancel, the API answers with a
 * status below 500 in its error format, and a refused request leaves the books and ledgers
 * exactly as they were (rate buckets and the cancel replay memory aside).
 */
import { expect } from "chai";
import fc from "fast-check";
import {
  ALICE,
  BOB,
  BOOKKEEPING_KEYS,
  cancelBody,
  makeCancel,
  place,
  post,
  quietDump,
  reset,
  signedBody,
  teardown,
  useApiSuite,
} from "./fixture";

type Json = unknown;

/** Replaces, deletes or adds one field somewhere in a JSON object tree. */
function mutate(value: Json, path: readonly number[], action: "replace" | "delete" | "add", replacement: Json): Json {
  if (typeof value !== "object" || value === null) return replacement;
  const keys = Object.keys(value);
  if (keys.length === 0 || path.length === 0) return action === "add" ? { ...(value as object), junk: replacement } : replacement;
  const key = keys[path[0] % keys.length];
  const copy: Record<string, unknown> = Array.isArray(value) ? ([...value] as unknown as Record<string, unknown>) : { ...(value as Record<string, unknown>) };
  const child = copy[key];
  if (path.length === 1 || typeof child !== "object" || child === null) {
    if (action === "delete") delete copy[key];
    else if (action === "add") copy[`${key}_extra`] = replacement;
    else copy[key] = replacement;
    return copy;
  }
  copy[key] = mutate(child, path.slice(1), action, replacement);
  return copy;
}

const scalar = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom("0", "-1", "01", "1e3", "0x", "0x00", `0x${"11".repeat(65)}`, "115792089237316195423570985008687907853269984665640564039457584007913129639936"),
);

function bodies(valid: () => Json): fc.Arbitrary<string> {
  return fc.oneof(
    // random text, random JSON
    fc.string({ maxLength: 200 }),
    fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
    // a valid body with one field replaced, deleted or added
    fc
      .record({
        path: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }),
        action: fc.constantFrom("replace" as const, "delete" as const, "add" as const),
        replacement: fc.oneof(scalar, fc.jsonValue({ maxDepth: 2 })),
      })
      .map(({ path, action, replacement }) => JSON.stringify(mutate(valid(), path, action, replacement))),
    // a valid body, truncated
    fc.nat().map((n) => {
      const text = JSON.stringify(valid());
      return text.slice(0, n % text.length);
    }),
  );
}

describe("operator/api fuzz: malformed bodies never answer 500 nor leave partial state", function () {
  const h = useApiSuite();

  beforeEach(async () => reset(h));
  afterEach(async () => teardown(h));

  async function check(url: string, body: string): Promise<void> {
    const before = await quietDump(h, BOOKKEEPING_KEYS);
    const res = await post(h, url, body);
    expect(res.statusCode, `${res.statusCode} ${res.body} for ${body.slice(0, 300)}`).to.be.below(500);
    if (res.statusCode >= 300) {
      const error = res.json().error;
      expect(error.code, res.body).to.match(/^[A-Z0-9_]+$/);
      expect(error.message).to.be.a("string");
      expect(error.details).to.be.an("object");
      expect(await quietDump(h, BOOKKEEPING_KEYS), `state changed by ${res.statusCode} ${res.body}`).to.deep.equal(before);
    }
  }

  it("POST /v1/orders", async () => {
    await place(h, BOB, { isBuy: false, ticks: 200_000, lots: 5 });
    await fc.assert(
      fc.asyncProperty(bodies(() => signedBody(h, ALICE, { isBuy: true, ticks: 100_000, lots: 1 })), (body) => check("/v1/orders", body)),
      { numRuns: 150 },
    );
  });

  it("POST /v1/orders, batches", async () => {
    await place(h, BOB, { isBuy: false, ticks: 200_000, lots: 5 });
    const batch = () => ({ orders: [signedBody(h, ALICE, { isBuy: true, ticks: 100_000, lots: 1 }), signedBody(h, BOB, { isBuy: false, ticks: 300_000, lots: 1 })] });
    await fc.assert(fc.asyncProperty(bodies(batch), (body) => check("/v1/orders", body)), { numRuns: 100 });
  });

  it("POST /v1/cancel", async () => {
    const resting = await place(h, ALICE, { isBuy: true, ticks: 100_000, lots: 1 });
    // Targets an order that does not exist: even a no-op mutation cancels nothing.
    const valid = () => cancelBody(makeCancel(h, ALICE, { orderHashes: [`0x${"5a".repeat(32)}`] }), ALICE);
    await fc.assert(fc.asyncProperty(bodies(valid), (body) => check("/v1/cancel", body)), { numRuns: 150 });
    expect((await h.app.inject({ method: "GET", url: `/v1/orders/${resting.orderHash}` })).json().state).to.equal("open");
  });
});
