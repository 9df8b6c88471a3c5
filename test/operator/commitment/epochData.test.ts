import { expect } from "chai";
import fc from "fast-check";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CommitmentError,
  CommitmentTree,
  epochCommitment,
  epochDataFileName,
  epochDataHash,
  parseEpochData,
  readEpochDataFile,
  rebuildRoot,
  serializeEpochData,
  writeEpochDataFile,
  type EpochData,
} from "../../../operator/commitment";
import { arbEpochLeaves, vectors } from "./fixture";

const vectorData: EpochData = { epoch: vectors.epoch.epoch, leaves: vectors.epoch.leaves };
const arbEpoch = fc
  .bigInt({ min: 1n, max: (1n << 64n) - 1n })
  .chain((epoch) => arbEpochLeaves(epoch, 60).map((leaves) => ({ epoch, leaves })));

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(CommitmentError);
    return (error as CommitmentError).code;
  }
  return expect.fail("expected a CommitmentError");
}

/** The vector file with one edit to its parsed JSON, re-serialized the canonical way. */
function editedVectorFile(
  edit: (file: { leaves: Record<string, unknown>[] } & Record<string, unknown>) => void
): string {
  const file = JSON.parse(vectors.epoch.dataFile);
  edit(file);
  return JSON.stringify(file) + "\n";
}

describe("epoch data file", () => {
  it("writes the fixed vector file byte for byte, and its data hash", () => {
    const bytes = serializeEpochData(vectorData);
    expect(bytes.toString("utf8")).to.equal(vectors.epoch.dataFile);
    expect(epochDataHash(bytes)).to.equal(vectors.epoch.dataHash);
  });

  it("lets an auditor rebuild the committed root and leaf count from the file alone", () => {
    expect(epochCommitment(vectors.epoch.dataFile)).to.deep.equal({
      epoch: vectors.epoch.epoch,
      root: vectors.epoch.root,
      leafCount: BigInt(vectors.epoch.leaves.length),
      dataHash: vectors.epoch.dataHash,
    });
    expect(rebuildRoot(parseEpochData(vectors.epoch.dataFile))).to.equal(vectors.epoch.root);
  });

  it("reads back exactly what it wrote, in the same order, for any epoch", () => {
    fc.assert(
      fc.property(arbEpoch, ({ epoch, leaves }) => {
        const bytes = serializeEpochData({ epoch, leaves });
        const parsed = parseEpochData(bytes);
        expect(parsed.epoch).to.equal(epoch);
        expect(parsed.leaves).to.deep.equal(
          leaves.map((leaf) =>
            Object.fromEntries(
              Object.entries(leaf).map(([k, v]) => [
                k,
                typeof v === "string" && v.startsWith("0x") ? v.toLowerCase() : v,
              ])
            )
          )
        );
        expect(rebuildRoot(parsed)).to.equal(CommitmentTree.fromLeaves(leaves).root);
      }),
      { numRuns: 100 }
    );
  });

  it("rejects a file that is not in the writer's canonical form", () => {
    const pretty = JSON.stringify(JSON.parse(vectors.epoch.dataFile), null, 2) + "\n";
    expect(codeOf(() => parseEpochData(pretty))).to.equal("INVALID_EPOCH_DATA");
    expect(codeOf(() => parseEpochData(vectors.epoch.dataFile.trimEnd()))).to.equal("INVALID_EPOCH_DATA");
    const upper = editedVectorFile((f) => (f.leaves[0]!.trader = "0x" + "A".repeat(40)));
    expect(codeOf(() => parseEpochData(upper))).to.equal("INVALID_EPOCH_DATA");
    const duplicateKey = vectors.epoch.dataFile.replace('"epoch":"1",', '"epoch":"2","epoch":"1",');
    expect(codeOf(() => parseEpochData(duplicateKey))).to.equal("INVALID_EPOCH_DATA");
  });

  it("rejects a leaf with a field its hash does not cover, or one missing", () => {
    const extra = editedVectorFile((f) => (f.leaves[0]!.note = "x"));
    expect(codeOf(() => parseEpochData(extra))).to.equal("INVALID_EPOCH_DATA");
    const missing = editedVectorFile((f) => delete f.leaves[2]!.batchId);
    expect(codeOf(() => parseEpochData(missing))).to.equal("INVALID_EPOCH_DATA");
  });

  it("rejects an unknown leaf type, a number where a decimal string belongs, and an unknown version", () => {
    expect(codeOf(() => parseEpochData(editedVectorFile((f) => (f.leaves[0]!.type = "cancel"))))).to.equal(
      "INVALID_EPOCH_DATA"
    );
    expect(codeOf(() => parseEpochData(editedVectorFile((f) => (f.leaves[0]!.sequence = 1))))).to.equal(
      "INVALID_EPOCH_DATA"
    );
    expect(codeOf(() => parseEpochData(editedVectorFile((f) => (f.version = 2))))).to.equal("INVALID_EPOCH_DATA");
    expect(codeOf(() => parseEpochData("not json"))).to.equal("INVALID_EPOCH_DATA");
  });

  it("rejects a leaf of another epoch, on write and on read", () => {
    const stray = { ...vectors.epoch.leaves[1]!, epoch: 2n };
    expect(codeOf(() => serializeEpochData({ epoch: 1n, leaves: [vectors.epoch.leaves[0]!, stray] }))).to.equal(
      "INVALID_EPOCH_DATA"
    );
    expect(codeOf(() => parseEpochData(editedVectorFile((f) => (f.leaves[3]!.epoch = "2"))))).to.equal(
      "INVALID_EPOCH_DATA"
    );
  });

  it("rejects a field out of range and an empty epoch", () => {
    const tooBig = editedVectorFile((f) => (f.leaves[0]!.receivedAt = (1n << 64n).toString()));
    expect(codeOf(() => parseEpochData(tooBig))).to.equal("INVALID_LEAF");
    expect(codeOf(() => serializeEpochData({ epoch: 1n, leaves: [] }))).to.equal("EMPTY_EPOCH");
    expect(codeOf(() => parseEpochData(editedVectorFile((f) => (f.leaves = []))))).to.equal("EMPTY_EPOCH");
  });

  describe("on disk", () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), "hyperindex-epochs-"));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("writes the file under a name that sorts by epoch and returns what to commit", async () => {
      expect(epochDataFileName(42n)).to.equal("epoch-000000000042.json");
      const written = await writeEpochDataFile(dir, vectorData);
      expect(written.path).to.equal(join(dir, "epoch-000000000001.json"));
      expect(written.root).to.equal(vectors.epoch.root);
      expect(written.dataHash).to.equal(vectors.epoch.dataHash);
      expect((await readFile(written.path)).toString("utf8")).to.equal(vectors.epoch.dataFile);
      const read = await readEpochDataFile(written.path);
      expect(read.commitment).to.deep.equal({
        epoch: 1n,
        root: written.root,
        leafCount: 5n,
        dataHash: written.dataHash,
      });
    });

    it("accepts rewriting the same epoch with the same bytes, and refuses different ones", async () => {
      await writeEpochDataFile(dir, vectorData);
      await writeEpochDataFile(dir, vectorData);
      try {
        await writeEpochDataFile(dir, { epoch: 1n, leaves: vectorData.leaves.slice(1) });
        expect.fail("expected the rewrite to be refused");
      } catch (error) {
        expect((error as CommitmentError).code).to.equal("INVALID_EPOCH_DATA");
      }
      expect((await readFile(join(dir, epochDataFileName(1n)))).toString("utf8")).to.equal(vectors.epoch.dataFile);
    });

    it("exposes a file altered after publication: its data hash and root no longer match", async () => {
      const { path } = await writeEpochDataFile(dir, vectorData);
      await writeFile(path, vectors.epoch.dataFile.replace('"sequence":"2"', '"sequence":"9"'));
      const read = await readEpochDataFile(path);
      expect(read.commitment.dataHash).to.not.equal(vectors.epoch.dataHash);
      expect(read.commitment.root).to.not.equal(vectors.epoch.root);
    });
  });
});
