import { expect } from "chai";
import hre from "hardhat";

describe("deploy scripts", function () {
  it("deploy Settlement and OrderbookCommitment with the operator and guardian roles granted", async function () {
    await hre.deployments.fixture(["HyperIndex"]);
    const { operator, guardian } = await hre.getNamedAccounts();
    const settlement = await hre.deployments.get("Settlement");
    const commitment = await hre.deployments.get("OrderbookCommitment");
    const s = await hre.ethers.getContractAt("Settlement", settlement.address);
    const c = await hre.ethers.getContractAt("OrderbookCommitment", commitment.address);
    expect(await s.operator()).to.equal(operator);
    expect(await s.hasRole(await s.GUARDIAN_ROLE(), guardian)).to.equal(true);
    expect(await c.operator()).to.equal(operator);
    expect(await s.nextBatchId()).to.equal(1n);
  });

  it("is a no-op when run a second time: same addresses, no new transaction", async function () {
    await hre.deployments.fixture(["HyperIndex"]);
    const before = await hre.deployments.all();
    const blockBefore = await hre.ethers.provider.getBlockNumber();
    await hre.deployments.run(["HyperIndex"], { resetMemory: false, writeDeploymentsToFiles: false });
    const after = await hre.deployments.all();
    expect(await hre.ethers.provider.getBlockNumber()).to.equal(blockBefore);
    for (const name of ["Settlement", "OrderbookCommitment"]) {
      expect(after[name].address).to.equal(before[name].address);
    }
  });
});
