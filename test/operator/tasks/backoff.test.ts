import { expect } from "chai";
import fc from "fast-check";
import { backoffBase, backoffDelay, type BackoffPolicy } from "../../../operator/tasks";

const policies = fc
  .record({
    initialMs: fc.integer({ min: 1, max: 60_000 }),
    extra: fc.integer({ min: 0, max: 600_000 }),
    jitter: fc.constantFrom("equal" as const, "full" as const, "none" as const),
  })
  .map(({ initialMs, extra, jitter }): BackoffPolicy => ({ initialMs, maxMs: initialMs + extra, jitter }));
const failures = fc.integer({ min: 1, max: 10_000 });
const randoms = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe("operator/tasks backoff", function () {
  it("doubles from initialMs after each failure until it reaches maxMs", () => {
    const policy: BackoffPolicy = { initialMs: 500, maxMs: 30_000, jitter: "none" };
    expect([1, 2, 3, 4, 5, 6, 7, 8, 1_000].map((n) => backoffBase(policy, n))).to.deep.equal([500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  });

  it("never waits less than zero or more than maxMs, and equal jitter never less than half the base", () => {
    fc.assert(
      fc.property(policies, failures, randoms, (policy, n, r) => {
        const delay = backoffDelay(policy, n, () => r);
        const base = backoffBase(policy, n);
        expect(Number.isInteger(delay)).to.equal(true);
        expect(delay).to.be.within(0, policy.maxMs);
        if (policy.jitter === "equal") expect(delay).to.be.at.least(Math.floor(base / 2));
        if (policy.jitter === "none") expect(delay).to.equal(Math.round(base));
      }),
    );
  });

  it("never shrinks the base as failures add up", () => {
    fc.assert(
      fc.property(policies, failures, (policy, n) => {
        expect(backoffBase(policy, n + 1)).to.be.at.least(backoffBase(policy, n));
      }),
    );
  });
});
