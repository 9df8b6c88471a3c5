import { expect } from "chai";
import fc from "fast-check";
import {
  CommitmentError,
  CommitmentTree,
  TreeWorkerError,
  buildTreeInWorker,
} from "../../../operator/commitment";
import { keccak256 } from "../../../operator/orders";

/** `count` pseudo-random leaf digests, back to back in one owned buffer. */
function flatDigests(count: number, seed: number): Buffer {
  const flat = Buffer.from(new ArrayBuffer(count * 32));
  for (let i = 0; i < count; i++) keccak256(Buffer.from(`${seed}:${i}`)).copy(flat, i * 32);
  return flat;
}

function expectSameTree(a: CommitmentTree, b: CommitmentTree, indexes: Iterable<number>): void {
  expect(a.root).to.equal(b.root);
  expect(a.leafCount).to.equal(b.leafCount);
  for (const i of indexes) {
    expect(a.leafHash(i)).to.equal(b.leafHash(i));
    expect(a.proof(i)).to.deep.equal(b.proof(i));
  }
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  return expect.fail("expected a rejection");
}

describe("commitment tree built in a worker thread", function () {
  this.timeout(60_000); // each build starts a thread, which compiles its TypeScript under ts-node

  it("builds the same tree as the main thread, root and proofs, for any leaf count", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3_000 }), fc.nat(), async (count, seed) => {
        const flat = flatDigests(count, seed);
        const here = CommitmentTree.fromLeafDigests(flat);
        const there = await buildTreeInWorker(flat, { transfer: false });
        expectSameTree(there, here, [0, count >> 1, count - 1]);
      }),
      { numRuns: 6 }
    );
  });

  it("builds a 70,000-leaf tree whose every sampled proof matches the main thread's", async () => {
    const flat = flatDigests(70_001, 9);
    const here = CommitmentTree.fromLeafDigests(flat);
    const there = await buildTreeInWorker(flat);
    expectSameTree(there, here, [0, 1, 4_095, 65_536, 70_000, ...Array.from({ length: 50 }, (_, i) => i * 1_399)]);
  });

  it("takes the caller's buffer by transfer unless told to copy, and copies a view into a larger buffer", async () => {
    const moved = flatDigests(64, 1);
    await buildTreeInWorker(moved);
    expect(moved.length).to.equal(0); // detached: the memory went to the thread and came back in the tree

    const kept = flatDigests(64, 1);
    const tree = await buildTreeInWorker(kept, { transfer: false, niceness: 0 });
    expect(kept.length).to.equal(64 * 32);
    expect(tree.root).to.equal(CommitmentTree.fromLeafDigests(kept).root);

    const view = flatDigests(65, 1).subarray(32);
    await buildTreeInWorker(view);
    expect(view.length).to.equal(64 * 32);
  });

  it("refuses no leaves and digests that are not whole hashes, before starting a thread", async () => {
    const empty = await rejection(buildTreeInWorker(Buffer.alloc(0)));
    expect(empty).to.be.instanceOf(CommitmentError);
    expect((empty as CommitmentError).code).to.equal("EMPTY_EPOCH");
    const ragged = await rejection(buildTreeInWorker(Buffer.alloc(40)));
    expect((ragged as CommitmentError).code).to.equal("INVALID_LEAF");
  });

  it("names its failure class for a thread that dies", () => {
    const error = new TreeWorkerError("the proof thread failed", new Error("out of memory"));
    expect(error.code).to.equal("TREE_WORKER_FAILED");
    expect(error.name).to.equal("TreeWorkerError");
  });
});
