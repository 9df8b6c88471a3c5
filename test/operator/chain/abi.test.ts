import { expect } from "chai";
import hre from "hardhat";
import { commitmentAbi, settlementAbi } from "../../../operator/chain/abi";

describe("operator/chain ABI constants", function () {
  for (const [contract, abi] of [
    ["Settlement", settlementAbi],
    ["OrderbookCommitment", commitmentAbi],
  ] as const) {
    it(`match the compiled ${contract} artifact entry for entry`, async function () {
      const artifact = await hre.artifacts.readArtifact(contract);
      for (const entry of abi) {
        const compiled = artifact.abi.find((e: { type: string; name?: string }) => e.type === entry.type && e.name === entry.name);
        expect(compiled, `${entry.name} exists in the artifact`).to.not.equal(undefined);
        const strip = (params: readonly { type: string }[]) => params.map((p) => p.type);
        expect(strip(compiled.inputs), `${entry.name} inputs`).to.deep.equal(strip(entry.inputs));
        expect(strip(compiled.outputs), `${entry.name} outputs`).to.deep.equal(strip(entry.outputs));
        expect(compiled.stateMutability, `${entry.name} mutability`).to.equal(entry.stateMutability);
      }
    });
  }
});
