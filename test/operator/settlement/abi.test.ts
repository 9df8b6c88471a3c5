/**
 * The settler's hand-kept ABI (operator/settlement/abi.ts) against what the compiler made of
 * the contracts: the artifact for the entry points and errors, ISettlement.sol itself for the
 * SkipReason codes (an enum is not in the ABI: only its position, the uint8 of FillSkipped).
 */
import fs from "node:fs";
import path from "node:path";
import { expect } from "chai";
import hre from "hardhat";
import { RETRYABLE_SKIP, SKIP_REASONS, settleBatchAbi, skipReasonName } from "../../../operator/settlement/abi";

interface Param {
  name?: string;
  type: string;
  components?: readonly Param[];
}

/** A parameter as the ABI encoder sees it, with tuple members by name and type (viem decodes tuples into objects by name). */
function shape(p: Param): string {
  if (p.type.startsWith("tuple")) return `${p.type.replace("tuple", `(${(p.components ?? []).map((c) => `${c.name}:${shape(c)}`).join(",")})`)}`;
  return p.type;
}

const shapes = (params: readonly Param[]) => params.map(shape);

/** The members of `enum <name> { ... }` in a Solidity source, in order, comments removed. */
function enumMembers(source: string, name: string): string[] {
  const body = new RegExp(`enum\\s+${name}\\s*\\{([^}]*)\\}`).exec(source);
  if (body === null) throw new Error(`enum ${name} not found`);
  return body[1]
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/\/\/[^\n]*/g, "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

describe("operator/settlement ABI constants", function () {
  it("match the compiled Settlement artifact entry for entry (settleBatch, nextBatchId, pausedUntil and the errors the simulation decodes)", async function () {
    const artifact = await hre.artifacts.readArtifact("Settlement");
    expect(settleBatchAbi.filter((e) => e.type === "function").map((e) => e.name)).to.deep.equal(["settleBatch", "nextBatchId", "pausedUntil"]);
    expect(settleBatchAbi.filter((e) => e.type === "error").map((e) => e.name)).to.have.members([
      "SettlementBatchOutOfOrder",
      "SettlementOrdersNotSorted",
      "SettlementLengthMismatch",
      "SettlementPaused",
    ]);
    for (const entry of settleBatchAbi) {
      const compiled = artifact.abi.find((e: { type: string; name?: string }) => e.type === entry.type && e.name === entry.name);
      expect(compiled, `${entry.type} ${entry.name} exists in the artifact`).to.not.equal(undefined);
      expect(shapes(compiled.inputs), `${entry.name} inputs`).to.deep.equal(shapes(entry.inputs));
      if (entry.type === "function") {
        expect(shapes(compiled.outputs), `${entry.name} outputs`).to.deep.equal(shapes(entry.outputs));
        expect(compiled.stateMutability, `${entry.name} mutability`).to.equal(entry.stateMutability);
      }
    }
  });

  it("name the SkipReason codes in the order ISettlement.sol declares them, and 17 is SignatureBudgetExhausted", function () {
    const source = fs.readFileSync(path.join(__dirname, "../../../contracts/interfaces/ISettlement.sol"), "utf8");
    const members = enumMembers(source, "SkipReason");
    expect(members.length, "the enum parsed to something").to.be.greaterThan(10);
    expect([...SKIP_REASONS]).to.deep.equal(members);
    expect(members[RETRYABLE_SKIP]).to.equal("SignatureBudgetExhausted");
    expect(skipReasonName(RETRYABLE_SKIP)).to.equal("SignatureBudgetExhausted");
    expect(skipReasonName(members.length)).to.equal(`Unknown${members.length}`);
  });
});
