import { expect } from "chai";
import { concat, keccak256 } from "ethers";
import fc from "fast-check";
import { CommitmentError, CommitmentTree, hashLeaf, processProof, verifyProof } from "../../../operator/commitment";
import type { Hex } from "../../../operator/orders";
import { arbBytes32, arbEpochLeaves, vectors } from "./fixture";

/** An independent sorted-pair tree with the same shape: a lonely last node moves up unchanged. */
function referenceRoot(leaves: readonly Hex[]): Hex {
  let layer = [...leaves];
  while (layer.length > 1) {
    const next: Hex[] = [];
    for (let i = 0; i < layer.length; i += 2) {
      const [a, b] = [layer[i]!, layer[i + 1]];
      next.push(b === undefined ? a : (keccak256(a < b ? concat([a, b]) : concat([b, a])) as Hex));
    }
    layer = next;
  }
  return layer[0]!;
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(CommitmentError);
    return (error as CommitmentError).code;
  }
  return expect.fail("expected a CommitmentError");
}

describe("commitment tree", () => {
  it("reproduces the fixed vector root from the vector leaves, in order", () => {
    const tree = CommitmentTree.fromLeaves(vectors.epoch.leaves);
    expect(tree.root).to.equal(vectors.epoch.root);
    expect(tree.leafCount).to.equal(vectors.epoch.leaves.length);
    vectors.epoch.leafHashes.forEach((hash, i) => expect(tree.leafHash(i)).to.equal(hash));
  });

  it("builds the same root as an independent sorted-pair tree, for any leaves", () => {
    fc.assert(
      fc.property(fc.array(arbBytes32, { minLength: 1, maxLength: 300, size: "max" }), (leaves) => {
        expect(CommitmentTree.fromLeafHashes(leaves).root).to.equal(referenceRoot(leaves));
      }),
      { numRuns: 100 }
    );
  });

  it("keeps the leaves in arrival order: moving a leaf to another pair changes the root", () => {
    const leaves = vectors.epoch.leaves;
    const tree = CommitmentTree.fromLeaves(leaves);
    leaves.forEach((leaf, i) => expect(tree.leafHash(i)).to.equal(hashLeaf(leaf)));
    const moved = [leaves[2]!, leaves[1]!, leaves[0]!, ...leaves.slice(3)];
    expect(CommitmentTree.fromLeaves(moved).root).to.not.equal(tree.root);
  });

  it("hashes pairs sorted, so swapping two siblings keeps the root (the data file pins their order)", () => {
    const leaves = vectors.epoch.leaves;
    const swapped = [leaves[1]!, leaves[0]!, ...leaves.slice(2)];
    expect(CommitmentTree.fromLeaves(swapped).root).to.equal(CommitmentTree.fromLeaves(leaves).root);
  });

  it("gives every leaf a proof that leads to the root", () => {
    fc.assert(
      fc.property(arbEpochLeaves(3n), (leaves) => {
        const tree = CommitmentTree.fromLeaves(leaves);
        for (let i = 0; i < leaves.length; i++) {
          const proof = tree.proof(i);
          expect(verifyProof(tree.leafHash(i), proof, tree.root)).to.equal(true);
          expect(proof.length).to.be.at.most(Math.ceil(Math.log2(leaves.length)));
        }
      }),
      { numRuns: 30 }
    );
  });

  it("makes a single leaf its own root, with an empty proof", () => {
    const tree = CommitmentTree.fromLeaves([vectors.epoch.leaves[0]!]);
    expect(tree.root).to.equal(vectors.epoch.leafHashes[0]);
    expect(tree.proof(0)).to.deep.equal([]);
  });

  it("refuses an empty epoch, which has no root to commit", () => {
    expect(codeOf(() => CommitmentTree.fromLeaves([]))).to.equal("EMPTY_EPOCH");
  });

  it("gives identical leaves their own proofs, by index", () => {
    const [a, b] = vectors.epoch.leafHashes as [Hex, Hex];
    const tree = CommitmentTree.fromLeafHashes([a, b, a]);
    // Layer 1 is [hash(a, b), a]: the lonely third leaf moved up unchanged.
    expect(tree.proof(0)).to.deep.equal([b, a]);
    expect(tree.proof(2)).to.deep.equal([keccak256(a < b ? concat([a, b]) : concat([b, a]))]);
    for (const i of [0, 1, 2]) expect(verifyProof(tree.leafHash(i), tree.proof(i), tree.root)).to.equal(true);
  });

  it("refuses a leaf index outside the tree and a leaf hash that is not 32 bytes", () => {
    const tree = CommitmentTree.fromLeaves(vectors.epoch.leaves);
    expect(codeOf(() => tree.proof(vectors.epoch.leaves.length))).to.equal("LEAF_INDEX_OUT_OF_RANGE");
    expect(codeOf(() => tree.proof(-1))).to.equal("LEAF_INDEX_OUT_OF_RANGE");
    expect(codeOf(() => CommitmentTree.fromLeafHashes(["0x1234"]))).to.equal("INVALID_LEAF");
    expect(codeOf(() => CommitmentTree.fromLeafHashes([Buffer.alloc(31)]))).to.equal("INVALID_LEAF");
  });

  it("does not alias the caller's leaf buffers", () => {
    const leaf = Buffer.from(vectors.epoch.leafHashes[0]!.slice(2), "hex");
    const tree = CommitmentTree.fromLeafHashes([leaf]);
    leaf.fill(0);
    expect(tree.leafHash(0)).to.equal(vectors.epoch.leafHashes[0]);
  });

  it("processes a proof exactly like OpenZeppelin's commutative pair hash", () => {
    const [a, b] = vectors.epoch.leafHashes as [Hex, Hex];
    expect(processProof(a, [b])).to.equal(processProof(b, [a]));
    expect(processProof(a, [])).to.equal(a);
  });
});
