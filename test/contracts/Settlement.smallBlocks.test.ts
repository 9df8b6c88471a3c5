/**
 * HyperEVM small blocks carry 3,000,000 gas: a settlement batch must fit in one. These tests
 * give the Hardhat network that block gas limit (evm_setBlockGasLimit) for their duration.
 */
import { expect } from "chai";
import hre from "hardhat";
import { buildStandardBatch, settleStandardBatch, standardSetup } from "../../scripts/bench/standardMix";

const SMALL_BLOCK_GAS = 3_000_000;

describe("Settlement in HyperEVM small blocks (3,000,000 gas)", function () {
  let previousLimit: bigint;

  before(async function () {
    const block = await hre.ethers.provider.getBlock("latest");
    previousLimit = block!.gasLimit;
  });

  afterEach(async function () {
    await hre.network.provider.send("evm_setBlockGasLimit", [`0x${previousLimit.toString(16)}`]);
  });

  async function steadyTraders(n: number, label: string) {
    const { fx, pop, nonces } = await standardSetup(n, label, true);
    await hre.network.provider.send("evm_setBlockGasLimit", [`0x${SMALL_BLOCK_GAS.toString(16)}`]);
    return { fx, pop, nonces };
  }

  it("settles a 100-fill standard batch inside one small block", async function () {
    const { fx, pop, nonces } = await steadyTraders(100, "small-block:100");
    const gas = await settleStandardBatch(fx, 2n, buildStandardBatch(fx, pop, nonces, 100, 1000n), SMALL_BLOCK_GAS);
    expect(gas <= BigInt(SMALL_BLOCK_GAS), `${gas} gas`).to.equal(true);
    expect(await fx.settlement.nextBatchId()).to.equal(3n);
  });

  it("cannot fit a 150-fill batch: the node refuses it, so the operator must split batches", async function () {
    const { fx, pop, nonces } = await steadyTraders(150, "small-block:150");
    const batch = buildStandardBatch(fx, pop, nonces, 150, 1000n);
    const estimate = await fx.settlement.connect(fx.operator).settleBatch.estimateGas(2n, batch.orders, batch.signatures, batch.fills, { gasLimit: 30_000_000 }).catch((e: Error) => e);
    // Either the estimate exceeds the block, or the node refuses to estimate above its limit.
    if (typeof estimate === "bigint") expect(estimate).to.be.greaterThan(BigInt(SMALL_BLOCK_GAS));
    let settled = false;
    try {
      await settleStandardBatch(fx, 2n, batch, SMALL_BLOCK_GAS);
      settled = true;
    } catch {
      // out of gas within the small block's 3,000,000: expected
    }
    expect(settled, "a 150-fill batch settled within 3,000,000 gas").to.equal(false);
    expect(await fx.settlement.nextBatchId()).to.equal(2n);
  });
});
