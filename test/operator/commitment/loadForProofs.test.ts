/**
 * loadEpochForProofs (operator/commitment/epochFile.ts): what the daemon reads back to serve
 * proofs of an epoch built by an earlier process gives the same leaves, root and proofs as the
 * tree built when the file was written (small epochs in place, large ones in a worker thread).
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import fc from "fast-check";
import { CommitmentTree, verifyProof } from "../../../operator/commitment";
import { loadEpochForProofs, writeEpochDataFile } from "../../../operator/commitment/epochFile";
import { arbEpochLeaves } from "./fixture";

describe("operator/commitment loadEpochForProofs", function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), "hyperindex-load-proofs-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("reads back the leaves and the tree the writer built, for random epochs", async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(arbEpochLeaves(7n, 200).filter((l) => l.length > 0), async (leaves) => {
        const sub = join(dir, String(n++));
        mkdirSync(sub);
        const written = await writeEpochDataFile(sub, { epoch: 7n, leaves });
        const loaded = await loadEpochForProofs(written.path);
        expect(loaded.epoch).to.equal(7n);
        expect(loaded.leaves).to.deep.equal(leaves);
        expect(loaded.tree.root).to.equal(written.root);
        const i = leaves.length - 1;
        expect(loaded.tree.proof(i)).to.deep.equal(written.tree.proof(i));
        expect(verifyProof(loaded.tree.leafHash(i), loaded.tree.proof(i), written.root)).to.equal(true);
      }),
      { numRuns: 25 },
    );
  });

  it("builds a large epoch's tree in a worker thread, equal to the one built in place", async () => {
    const leaves = fc.sample(arbEpochLeaves(9n, 1), 6000).flat().map((l) => ({ ...l, epoch: 9n }));
    mkdirSync(join(dir, "large"));
    const written = await writeEpochDataFile(join(dir, "large"), { epoch: 9n, leaves });
    const loaded = await loadEpochForProofs(written.path);
    expect(loaded.leaves.length).to.equal(leaves.length);
    expect(loaded.tree.root).to.equal(CommitmentTree.fromLeaves(leaves).root);
  });
});
