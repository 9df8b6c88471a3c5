import { expect } from "chai";
import { readFileSync, readdirSync } from "node:fs";
import { Worker } from "node:worker_threads";
import fc from "fast-check";
import {
  CommitmentError,
  CommitmentTree,
  TreeWorkerError,
  buildTreeInWorker,
} from "../../../operator/commitment";
import { proofThreadAnswer } from "../../../operator/commitment/treeWorker";
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

  it("builds at nice 19 on its own thread, leaving the process and its main thread at their priority", async function () {
    if (process.platform !== "linux") this.skip();
    const niceOf = (tid: string) => {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
      return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]); // field 19, nice
    };
    const before = new Set(readdirSync("/proc/self/task"));
    const mainNice = niceOf(String(process.pid));
    const build = buildTreeInWorker(flatDigests(100_000, 2));
    const seen = new Set<number>();
    let done = false;
    void build.finally(() => (done = true));
    while (!done) {
      for (const tid of readdirSync("/proc/self/task")) {
        if (!before.has(tid)) seen.add(niceOf(tid));
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    await build;
    expect([...seen]).to.include(19);
    expect(niceOf(String(process.pid))).to.equal(mainNice);
  });

  it("refuses no leaves and digests that are not whole hashes, before starting a thread", async () => {
    const empty = await rejection(buildTreeInWorker(Buffer.alloc(0)));
    expect(empty).to.be.instanceOf(CommitmentError);
    expect((empty as CommitmentError).code).to.equal("EMPTY_EPOCH");
    const ragged = await rejection(buildTreeInWorker(Buffer.alloc(40)));
    expect((ragged as CommitmentError).code).to.equal("INVALID_LEAF");
  });

  it("rejects with TreeWorkerError when the thread dies or ends without an answer", async () => {
    const crashed = await rejection(proofThreadAnswer(new Worker(`throw new Error("out of memory")`, { eval: true }), () => {}));
    expect(crashed).to.be.instanceOf(TreeWorkerError);
    expect((crashed as TreeWorkerError).code).to.equal("TREE_WORKER_FAILED");
    expect((crashed.cause as Error).message).to.equal("out of memory");
    const silent = await rejection(proofThreadAnswer(new Worker("", { eval: true }), () => {}));
    expect(silent).to.be.instanceOf(TreeWorkerError);
  });
});
