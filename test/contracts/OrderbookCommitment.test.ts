import { expect } from "chai";
import fc from "fast-check";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { CommitmentTree, epochCommitment } from "../../operator/commitment";
import type { Hex } from "../../operator/orders";
import {
  OPERATOR_ROTATION_DELAY,
  commitTree,
  deployCommitmentFixture,
  vectors,
  verifyOnChain,
  type CommitmentFixture,
} from "../operator/commitment/fixture";

const { ethers } = hre;
const ROOT = ethers.id("root") as Hex;
const DATA_HASH = ethers.id("data") as Hex;

describe("OrderbookCommitment", () => {
  let fx: CommitmentFixture;
  beforeEach(async () => {
    fx = await loadFixture(deployCommitmentFixture);
  });

  const commit = (epoch: bigint, root: string = ROOT, leafCount = 3n, dataHash: string = DATA_HASH) =>
    fx.commitment.connect(fx.operator).commitEpoch(epoch, root, leafCount, dataHash);

  describe("commitEpoch", () => {
    it("stores the root, leaf count, data hash and time of the first epoch, and says so", async () => {
      await expect(commit(1n)).to.emit(fx.commitment, "EpochCommitted").withArgs(1n, ROOT, 3n, DATA_HASH);
      const stored = await fx.commitment.epochOf(1n);
      expect(stored.root).to.equal(ROOT);
      expect(stored.leafCount).to.equal(3n);
      expect(stored.dataHash).to.equal(DATA_HASH);
      expect(stored.committedAt).to.equal(BigInt(await time.latest()));
      expect(await fx.commitment.latestEpoch()).to.equal(1n);
    });

    it("reports no epoch before the first commit, and an all-zero record for an uncommitted epoch", async () => {
      expect(await fx.commitment.latestEpoch()).to.equal(0n);
      const stored = await fx.commitment.epochOf(1n);
      expect([stored.root, stored.dataHash, stored.leafCount, stored.committedAt]).to.deep.equal([
        ethers.ZeroHash,
        ethers.ZeroHash,
        0n,
        0n,
      ]);
    });

    it("rejects a caller that is not the operator", async () => {
      const role = await fx.commitment.OPERATOR_ROLE();
      for (const caller of [fx.stranger, fx.admin]) {
        await expect(fx.commitment.connect(caller).commitEpoch(1n, ROOT, 3n, DATA_HASH))
          .to.be.revertedWithCustomError(fx.commitment, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, role);
      }
    });

    it("accepts commits from a rotated-in operator only, once the rotation took effect", async () => {
      await fx.commitment.connect(fx.admin).scheduleOperatorRotation(fx.nextOperator.address);
      await time.increase(OPERATOR_ROTATION_DELAY);
      await fx.commitment.executeOperatorRotation();
      await expect(commit(1n)).to.be.revertedWithCustomError(fx.commitment, "AccessControlUnauthorizedAccount");
      await fx.commitment.connect(fx.nextOperator).commitEpoch(1n, ROOT, 3n, DATA_HASH);
      expect(await fx.commitment.latestEpoch()).to.equal(1n);
    });

    it("rejects epoch 0: epochs start at 1", async () => {
      await expect(commit(0n))
        .to.be.revertedWithCustomError(fx.commitment, "CommitmentEpochOutOfOrder")
        .withArgs(1n, 0n);
    });

    it("rejects an epoch that skips ahead", async () => {
      await commit(1n);
      await expect(commit(3n))
        .to.be.revertedWithCustomError(fx.commitment, "CommitmentEpochOutOfOrder")
        .withArgs(2n, 3n);
    });

    it("rejects a duplicate epoch and never overwrites a committed root", async () => {
      await commit(1n);
      const other = ethers.id("other root");
      await expect(commit(1n, other))
        .to.be.revertedWithCustomError(fx.commitment, "CommitmentEpochOutOfOrder")
        .withArgs(2n, 1n);
      expect((await fx.commitment.epochOf(1n)).root).to.equal(ROOT);
    });

    it("rejects an epoch older than the latest", async () => {
      await commit(1n);
      await commit(2n);
      await commit(3n);
      await expect(commit(2n))
        .to.be.revertedWithCustomError(fx.commitment, "CommitmentEpochOutOfOrder")
        .withArgs(4n, 2n);
    });

    it("rejects a zero root, a zero leaf count and a zero data hash", async () => {
      await expect(commit(1n, ethers.ZeroHash)).to.be.revertedWithCustomError(fx.commitment, "CommitmentZeroRoot");
      await expect(commit(1n, ROOT, 0n)).to.be.revertedWithCustomError(fx.commitment, "CommitmentZeroLeafCount");
      await expect(commit(1n, ROOT, 3n, ethers.ZeroHash)).to.be.revertedWithCustomError(
        fx.commitment,
        "CommitmentZeroDataHash"
      );
      expect(await fx.commitment.latestEpoch()).to.equal(0n);
    });

    it("lets only the next epoch through, in any sequence of attempts, and never changes a committed one", async () => {
      const attempt = fc.record({ epoch: fc.bigInt({ min: 0n, max: 6n }), seed: fc.nat() });
      await fc.assert(
        fc.asyncProperty(fc.array(attempt, { minLength: 1, maxLength: 15, size: "max" }), async (attempts) => {
          const { commitment, operator } = await loadFixture(deployCommitmentFixture);
          const committed = new Map<bigint, string>();
          let latest = 0n;
          for (const { epoch, seed } of attempts) {
            const root = ethers.id(`root ${seed}`);
            const tx = commitment.connect(operator).commitEpoch(epoch, root, 1n, DATA_HASH);
            if (epoch === latest + 1n) {
              await tx;
              committed.set(epoch, root);
              latest = epoch;
            } else {
              await expect(tx)
                .to.be.revertedWithCustomError(commitment, "CommitmentEpochOutOfOrder")
                .withArgs(latest + 1n, epoch);
            }
            expect(await commitment.latestEpoch()).to.equal(latest);
          }
          for (const [epoch, root] of committed) expect((await commitment.epochOf(epoch)).root).to.equal(root);
          expect((await commitment.epochOf(latest + 1n)).root).to.equal(ethers.ZeroHash);
        }),
        { numRuns: 25 }
      );
    });
  });

  describe("fixed vectors", () => {
    it("hashes every vector leaf exactly like the TypeScript encoder", async () => {
      for (const { leaf, hash } of vectors.leaves) {
        const onChain =
          leaf.type === "orderAccepted"
            ? await fx.commitment.hashOrderLeaf(leaf.epoch, leaf.sequence, leaf.orderHash, leaf.trader, leaf.receivedAt)
            : await fx.commitment.hashFillLeaf(
                leaf.epoch,
                leaf.fillId,
                leaf.makerHash,
                leaf.takerHash,
                leaf.price,
                leaf.amount,
                leaf.batchId
              );
        expect(onChain).to.equal(hash);
      }
    });

    it("verifies every leaf of the vector epoch committed from its data file", async () => {
      const { epoch, root, leafCount, dataHash } = epochCommitment(vectors.epoch.dataFile);
      expect(root).to.equal(vectors.epoch.root);
      await fx.commitment.connect(fx.operator).commitEpoch(epoch, root, leafCount, dataHash);
      const tree = CommitmentTree.fromLeaves(vectors.epoch.leaves);
      for (const [i, leaf] of vectors.epoch.leaves.entries()) {
        expect(await verifyOnChain(fx.commitment, leaf, tree.proof(i))).to.equal(true);
      }
      expect((await fx.commitment.epochOf(1n)).dataHash).to.equal(vectors.epoch.dataHash);
    });
  });

  describe("verifyOrder and verifyFill", () => {
    it("revert for an epoch that has not been committed, rather than answer false", async () => {
      const [order, , fill] = vectors.epoch.leaves;
      await expect(verifyOnChain(fx.commitment, order!, []))
        .to.be.revertedWithCustomError(fx.commitment, "CommitmentEpochNotCommitted")
        .withArgs(1n);
      await expect(verifyOnChain(fx.commitment, fill!, [])).to.be.revertedWithCustomError(
        fx.commitment,
        "CommitmentEpochNotCommitted"
      );
    });

    it("verify the only leaf of a one-leaf epoch with an empty proof", async () => {
      const leaf = vectors.epoch.leaves[2]!;
      const tree = CommitmentTree.fromLeaves([leaf]);
      await commitTree(fx, 1n, tree);
      if (leaf.type !== "fill") throw new Error("vector 2 is a fill");
      expect(await verifyOnChain(fx.commitment, leaf, [])).to.equal(true);
      expect(await verifyOnChain(fx.commitment, { ...leaf, amount: leaf.amount + 1n }, [])).to.equal(false);
    });

    it("reject an order's fields proven as a fill and a fill's as an order", async () => {
      const tree = CommitmentTree.fromLeaves(vectors.epoch.leaves);
      await commitTree(fx, 1n, tree);
      const [order, , fill] = vectors.epoch.leaves;
      if (order?.type !== "orderAccepted" || fill?.type !== "fill")
        throw new Error("vectors 0 and 2 are an order and a fill");
      const c = fx.commitment;
      expect(
        await c.verifyFill(1n, order.sequence, order.orderHash, ethers.ZeroHash, 0n, 0n, 0n, tree.proof(0))
      ).to.equal(false);
      const trader = ethers.dataSlice(fill.takerHash, 12);
      expect(await c.verifyOrder(1n, fill.fillId, fill.makerHash, trader, 0n, tree.proof(2))).to.equal(false);
    });
  });
});
