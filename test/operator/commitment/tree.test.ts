import { expect } from "chai";
import { concat, keccak256 } from "ethers";
import fc from "fast-check";
import { MerkleTree } from "merkletreejs";
import {
  CommitmentError,
  CommitmentTree,
  buildLayers,
  hashLeaf,
  layerSizes,
  processProof,
  verifyProof,
} from "../../../operator/commitment";
import { keccak256 as nativeKeccak256, type Hex } from "../../../operator/orders";
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

/** The tree this one replaced: merkletreejs with the options it was built with (see tree.ts). */
function merkletreejs(digests: readonly Buffer[]): MerkleTree {
  return new MerkleTree([...digests], nativeKeccak256, {
    hashLeaves: false,
    sortLeaves: false,
    sortPairs: true,
    duplicateOdd: false,
    complete: false,
    isBitcoinTree: false,
  });
}

/** `count` pseudo-random leaf digests; `distinct` > 0 draws them from that many values only (duplicates). */
function digestsOf(count: number, seed: number, distinct = 0): Buffer[] {
  return Array.from({ length: count }, (_, i) => nativeKeccak256(Buffer.from(`${seed}:${distinct > 0 ? i % distinct : i}`)));
}

/** Root and proofs of both trees agree, at every index in `indexes`. */
function expectSameAsMerkletreejs(digests: readonly Buffer[], indexes: Iterable<number>): void {
  const reference = merkletreejs(digests);
  const tree = CommitmentTree.fromLeafHashes(digests);
  expect(tree.root).to.equal(reference.getHexRoot());
  for (const i of indexes) {
    // Joined, not deep.equal: chai's deep comparison of thousands of arrays dominates otherwise.
    const [ours, theirs] = [tree.proof(i).join(), reference.getHexProof(digests[i]!, i).join()];
    if (ours !== theirs) expect(ours).to.equal(theirs, `proof of leaf ${i} of ${digests.length}`);
  }
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

  it("gives the same root and the same proof of every leaf as merkletreejs, for any leaf count up to 2,000", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2_000 }),
        fc.nat(),
        fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5 })),
        (count, seed, distinct) => {
          const digests = digestsOf(count, seed, distinct);
          expectSameAsMerkletreejs(digests, digests.keys());
        }
      ),
      { numRuns: 100 }
    );
  });

  it("matches merkletreejs at larger sizes, around powers of two and with lonely nodes on many layers", () => {
    for (const count of [4_096, 4_097, 65_535, 65_537, 100_003]) {
      const digests = digestsOf(count, count);
      const sampled = [0, 1, count - 2, count - 1, ...Array.from({ length: 40 }, (_, i) => (i * 7_919 * 13) % count)];
      expectSameAsMerkletreejs(digests, sampled);
    }
  });

  it("builds its layers flat: each half the one below, rounded up, ending in the root", () => {
    for (const count of [1, 2, 3, 5, 8, 1_000, 1_025]) {
      const digests = digestsOf(count, 1);
      const layers = buildLayers(Buffer.concat(digests));
      expect(layers.map((l) => l.length / 32)).to.deep.equal(layerSizes(count));
      expect(`0x${layers[layers.length - 1]!.toString("hex")}`).to.equal(CommitmentTree.fromLeafHashes(digests).root);
    }
    expect(layerSizes(5)).to.deep.equal([5, 3, 2, 1]);
  });

  it("builds the same tree from flat digests or from layers as from leaf hashes, and copies the digests", () => {
    const digests = digestsOf(777, 3);
    const flat = Buffer.concat(digests);
    const fromHashes = CommitmentTree.fromLeafHashes(digests);
    const fromFlat = CommitmentTree.fromLeafDigests(flat);
    const fromLayers = CommitmentTree.fromLayers(buildLayers(Buffer.from(flat)));
    flat.fill(0);
    for (const tree of [fromFlat, fromLayers]) {
      expect(tree.root).to.equal(fromHashes.root);
      expect(tree.leafCount).to.equal(777);
      expect(tree.depth).to.equal(10);
      for (const i of [0, 500, 776]) expect(tree.proof(i)).to.deep.equal(fromHashes.proof(i));
    }
  });

  it("refuses flat digests that are not whole hashes, and layers of the wrong shape", () => {
    expect(codeOf(() => CommitmentTree.fromLeafDigests(Buffer.alloc(0)))).to.equal("EMPTY_EPOCH");
    expect(codeOf(() => CommitmentTree.fromLeafDigests(Buffer.alloc(33)))).to.equal("INVALID_LEAF");
    const layers = buildLayers(Buffer.concat(digestsOf(5, 1)));
    expect(codeOf(() => CommitmentTree.fromLayers(layers.slice(0, -1)))).to.equal("INVALID_LEAF");
    expect(codeOf(() => CommitmentTree.fromLayers([layers[0]!, layers[1]!.subarray(32), ...layers.slice(2)]))).to.equal(
      "INVALID_LEAF"
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
