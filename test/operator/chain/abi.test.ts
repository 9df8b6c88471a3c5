import { expect } from "chai";
import hre from "hardhat";
import { commitmentAbi, settlementAbi } from "../../../operator/chain/abi";

interface Param {
  type: string;
  indexed?: boolean;
}

describe("operator/chain ABI constants", function () {
  for (const [contract, abi] of [
    ["Settlement", settlementAbi],
    ["OrderbookCommitment", commitmentAbi],
  ] as const) {
    it(`match the compiled ${contract} artifact entry for entry (functions and events)`, async function () {
      const artifact = await hre.artifacts.readArtifact(contract);
      for (const entry of abi) {
        const compiled = artifact.abi.find((e: { type: string; name?: string }) => e.type === entry.type && e.name === entry.name);
        expect(compiled, `${entry.name} exists in the artifact`).to.not.equal(undefined);
        const strip = (params: readonly Param[]) => params.map((p) => p.type);
        expect(strip(compiled.inputs), `${entry.name} inputs`).to.deep.equal(strip(entry.inputs));
        if (entry.type === "function") {
          expect(strip(compiled.outputs), `${entry.name} outputs`).to.deep.equal(strip(entry.outputs));
          expect(compiled.stateMutability, `${entry.name} mutability`).to.equal(entry.stateMutability);
        } else {
          // An event's topic hash is its signature: types, and which inputs are indexed, must match.
          const indexed = (params: readonly Param[]) => params.map((p) => p.indexed === true);
          expect(indexed(compiled.inputs), `${entry.name} indexed inputs`).to.deep.equal(indexed(entry.inputs));
          expect(compiled.anonymous, `${entry.name} anonymous`).to.equal(entry.anonymous);
        }
      }
    });
  }
});
