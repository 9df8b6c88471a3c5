/**
 * The settler's gas model (operator/settlement/gasModel.ts): batch sizing, gas limits and the
 * moving average of the per-fill gas, as properties over the whole range a chain can report.
 */
import { expect } from "chai";
import fc from "fast-check";
import {
  BATCH_OVERHEAD_GAS,
  ERC1271_BATCH_GAS_BUDGET,
  ERC1271_CALL_OVERHEAD_GAS,
  GAS_LIMIT_MARGIN_FIXED,
  INITIAL_GAS_PER_FILL,
  createGasModel,
  walletHeadroom,
} from "../../../operator/settlement/gasModel";

/** Budgets from a tiny one to a HyperEVM big block (30M). */
const budget = fc.integer({ min: 100_000, max: 30_000_000 });
const perFill = fc.integer({ min: 5_000, max: 200_000 });
const walletOrders = fc.integer({ min: 0, max: 200 });
const estimate = fc.bigInt({ min: 21_000n, max: 40_000_000n });

describe("operator/settlement gas model", function () {
  it("adds 1% and 10,000 gas to a simulation, and the EIP-1271 headroom only when the batch has new wallet orders", function () {
    const model = createGasModel();
    expect(model.required(1_000_000n, 0)).to.equal(1_000_000n + 10_000n + GAS_LIMIT_MARGIN_FIXED);
    expect(model.required(1_000_000n, 2)).to.equal(1_020_000n + ERC1271_BATCH_GAS_BUDGET + 2n * ERC1271_CALL_OVERHEAD_GAS);
    expect(walletHeadroom(0)).to.equal(0n);
    expect(walletHeadroom(3)).to.equal(500_000n + 9_000n);
    expect(model.gasLimit(1_000_000n, 0, 1_010_000n), "capped at the budget").to.equal(1_010_000n);
    expect(model.gasLimit(1_000_000n, 0, 5_000_000n), "uncapped below it").to.equal(1_020_000n);
  });

  it("never gives a gas limit above the budget, nor below the simulated gas when that fits the budget", function () {
    fc.assert(
      fc.property(estimate, walletOrders, fc.bigInt({ min: 21_000n, max: 40_000_000n }), (gas, wallets, cap) => {
        const model = createGasModel();
        const limit = model.gasLimit(gas, wallets, cap);
        expect(limit <= cap, `limit ${limit} <= budget ${cap}`).to.equal(true);
        if (gas <= cap) expect(limit >= gas, `limit ${limit} >= estimate ${gas}`).to.equal(true);
        // Below the budget the limit is exactly what the batch requires.
        if (model.required(gas, wallets) <= cap) expect(limit).to.equal(model.required(gas, wallets));
      }),
      { numRuns: 1_000 },
    );
  });

  it("sizes a batch that, simulated at the model's per-fill gas, still gets its full margins within the budget", function () {
    fc.assert(
      fc.property(budget, perFill, (b, per) => {
        const model = createGasModel(per);
        const n = model.fillsFor(b);
        expect(n).to.be.at.least(1);
        expect(Number.isInteger(n)).to.equal(true);
        const simulated = BigInt(Math.ceil(BATCH_OVERHEAD_GAS + n * per));
        // One fill always goes (the settler then learns from the simulation); beyond one, the margins fit.
        if (n > 1) expect(model.required(simulated, 0) <= BigInt(b), `${n} fills of ${per} in ${b}`).to.equal(true);
        // And it is not needlessly small: one more fill at the same cost would not leave the 2% cushion.
        const oneMore = BATCH_OVERHEAD_GAS + (n + 1) * per * 1.02;
        if (n > 1) expect(oneMore * 1.01 + Number(GAS_LIMIT_MARGIN_FIXED)).to.be.greaterThan(b);
      }),
      { numRuns: 1_000 },
    );
  });

  it("puts at least as many fills in a bigger budget (fillsFor is monotone in the budget)", function () {
    fc.assert(
      fc.property(budget, budget, perFill, (a, b, per) => {
        const model = createGasModel(per);
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(model.fillsFor(lo)).to.be.at.most(model.fillsFor(hi));
      }),
      { numRuns: 1_000 },
    );
  });

  it("moves the per-fill average by at most 10% on one observation, however odd the batch", function () {
    fc.assert(
      fc.property(perFill, fc.bigInt({ min: 0n, max: 100_000_000n }), fc.integer({ min: -5, max: 5_000 }), (per, gas, fills) => {
        const model = createGasModel(per);
        model.observe(gas, fills);
        if (fills <= 0) expect(model.perFill, "a batch of no fills teaches nothing").to.equal(per);
        expect(model.perFill).to.be.within(per * 0.9 - 1e-6, per * 1.1 + 1e-6);
      }),
      { numRuns: 1_000 },
    );
  });

  it("converges on the per-fill gas the chain keeps reporting, and sizes batches by it", function () {
    const model = createGasModel();
    expect(model.perFill).to.equal(INITIAL_GAS_PER_FILL);
    const before = model.fillsFor(2_900_000);
    for (let i = 0; i < 60; i++) model.observe(BigInt(BATCH_OVERHEAD_GAS + 100 * 24_000), 100);
    expect(model.perFill).to.be.closeTo(24_000, 24);
    expect(model.fillsFor(2_900_000)).to.be.greaterThan(before);
    // A small batch weighs little: one 2-fill batch at twice the cost moves the average by about 2%.
    model.observe(BigInt(BATCH_OVERHEAD_GAS + 2 * 48_000), 2);
    expect(model.perFill).to.be.within(24_000, 24_000 * 1.021);
  });
});
