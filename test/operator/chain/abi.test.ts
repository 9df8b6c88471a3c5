import { expect } from "chai";
import hre from "hardhat";
import { settlementAbi } from "../../../operator/chain/abi";

describe("operator/chain ABI constants", function () {
  it("match the compiled Settlement artifact entry for entry", async function () {
    const artifact = await hre.artifacts.readArtifact("Settlement");
    for (const entry of settlementAbi) {
      const compiled = artifact.abi.find((e: { type: string; name?: string }) => e.type === entry.type && e.name === entry.name);
      expect(compiled, `${entry.name} exists in the artifact`).to.not.equal(undefined);
      const strip = (params: readonly { type: string }[]) => params.map((p) => p.type);
      expect(strip(compiled.inputs), `${entry.name} inputs`).to.deep.equal(strip(entry.inputs));
      expect(strip(compiled.outputs), `${entry.name} outputs`).to.deep.equal(strip(entry.outputs));
      expect(compiled.stateMutability, `${entry.name} mutability`).to.equal(entry.stateMutability);
    }
  });
});
