/**
 * Proofs built by operator/commitment, checked by the OrderbookCommitment contract on the
 * in-process Hardhat network: what an auditor's tool does.
 */
import { expect } from "chai";
import fc from "fast-check";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { concat, keccak256 } from "ethers";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CommitmentTree,
  buildTreeInWorker,
  leafDigest,
  readEpochCommitment,
  verifyProof,
  writeEpochDataFileInWorker,
  type CommitmentLeaf,
} from "../../../operator/commitment";
import type { Hex } from "../../../operator/orders";
import {
  arbEpochLeaves,
  commitTree,
  deployCommitmentFixture,
  vectors,
  verifyOnChain,
  type CommitmentFixture,
} from "./fixture";

const inEpoch = (leaves: readonly CommitmentLeaf[], epoch: bigint): CommitmentLeaf[] =>
  leaves.map((leaf) => ({ ...leaf, epoch }));

/** A random epoch (1..300 leaves) and a few leaf positions in it to check. */
const arbEpochAndPicks = arbEpochLeaves(0n).chain((leaves) =>
  fc.record({
    leaves: fc.constant(leaves),
    picks: fc.uniqueArray(fc.nat({ max: leaves.length - 1 }), { minLength: 1, maxLength: 6 }),
  })
);

/**
 * A large random epoch (about 5,000 leaves: 45 runs of up to 300 random leaves), renumbered so
 * that sequence numbers and fill ids stay unique, and leaf positions to check: random ones
 * and the last few, where lonely nodes are promoted.
 */
const arbLargeEpochAndPicks = fc
  .array(arbEpochLeaves(0n), { minLength: 45, maxLength: 45 })
  .map((runs) =>
    runs.flat().map((leaf, i): CommitmentLeaf =>
      leaf.type === "orderAccepted" ? { ...leaf, sequence: BigInt(i) } : { ...leaf, fillId: BigInt(i) }
    )
  )
  .chain((leaves) =>
    fc.record({
      leaves: fc.constant(leaves),
      picks: fc
        .uniqueArray(fc.nat({ max: leaves.length - 1 }), { minLength: 4, maxLength: 6 })
        .map((picks) => [...picks, leaves.length - 1, leaves.length - 2].filter((i) => i >= 0)),
    })
  );

/** The leaf with one hashed field changed (which one: `which`). */
function tamperLeaf(leaf: CommitmentLeaf, which: number): CommitmentLeaf {
  const flipHex = (h: Hex): Hex => `0x${(h[2] === "0" ? "1" : "0")}${h.slice(3)}`;
  if (leaf.type === "orderAccepted") {
    const edits = [
      { sequence: leaf.sequence ^ 1n },
      { orderHash: flipHex(leaf.orderHash) },
      { trader: flipHex(leaf.trader) },
      { receivedAt: leaf.receivedAt ^ 1n },
    ];
    return { ...leaf, ...edits[which % edits.length] };
  }
  const edits = [
    { fillId: leaf.fillId ^ 1n },
    { makerHash: flipHex(leaf.makerHash) },
    { takerHash: flipHex(leaf.takerHash) },
    { price: leaf.price ^ 1n },
    { amount: leaf.amount ^ 1n },
    { batchId: leaf.batchId ^ 1n },
    { makerHash: leaf.takerHash, takerHash: leaf.makerHash },
  ];
  const tampered = { ...leaf, ...edits[which % edits.length] };
  // Swapping equal maker and taker hashes changes nothing: take another edit.
  return leafDigest(tampered).equals(leafDigest(leaf)) ? { ...leaf, fillId: leaf.fillId ^ 1n } : tampered;
}

type Tamper = "flip" | "drop" | "swap" | "append";
function tamper(proof: readonly Hex[], kind: Tamper, at: number, byte: number): Hex[] | undefined {
  const out = [...proof];
  const j = at % Math.max(out.length, 1);
  switch (kind) {
    case "flip": {
      if (out.length === 0) return undefined;
      const buf = Buffer.from(out[j]!.slice(2), "hex");
      buf[byte % 32] ^= 0x01 << byte % 8;
      out[j] = `0x${buf.toString("hex")}`;
      return out;
    }
    case "drop":
      return out.length === 0 ? undefined : out.filter((_, i) => i !== j);
    case "swap":
      if (out.length < 2) return undefined;
      [out[j], out[(j + 1) % out.length]] = [out[(j + 1) % out.length]!, out[j]!];
      return out;
    case "append":
      return [...out, keccak256(concat([out[j] ?? "0x", "0x01"])) as Hex];
  }
}

describe("commitment proofs on-chain", () => {
  let fx: CommitmentFixture;
  beforeEach(async () => {
    fx = await loadFixture(deployCommitmentFixture);
  });

  async function commitNext(leaves: readonly CommitmentLeaf[]) {
    const epoch = (await fx.commitment.latestEpoch()) + 1n;
    const tree = CommitmentTree.fromLeaves(inEpoch(leaves, epoch));
    await commitTree(fx, epoch, tree);
    return { epoch, tree, leaves: inEpoch(leaves, epoch) };
  }

  it("verifies sampled leaves of random epochs built in TypeScript, and nowhere else", async () => {
    await fc.assert(
      fc.asyncProperty(arbEpochAndPicks, async ({ leaves: raw, picks }) => {
        const { epoch, tree, leaves } = await commitNext(raw);
        for (const i of picks) {
          expect(await verifyOnChain(fx.commitment, leaves[i]!, tree.proof(i))).to.equal(true);
          // The same fields and proof against the previous epoch's root: the leaf binds its epoch.
          if (epoch > 1n)
            expect(await verifyOnChain(fx.commitment, leaves[i]!, tree.proof(i), epoch - 1n)).to.equal(false);
        }
      }),
      { numRuns: 40 }
    );
  });

  it("verifies sampled leaves of large random epochs (about 5,000 leaves), and rejects each with one field changed", async function () {
    this.timeout(120_000);
    await fc.assert(
      fc.asyncProperty(arbLargeEpochAndPicks, fc.nat(), async ({ leaves: raw, picks }, which) => {
        const { epoch, tree, leaves } = await commitNext(raw);
        expect(tree.leafCount).to.equal(leaves.length);
        for (const i of picks) {
          const proof = tree.proof(i);
          expect(await verifyOnChain(fx.commitment, leaves[i]!, proof)).to.equal(true, `leaf ${i} of ${leaves.length}`);
          expect(await verifyOnChain(fx.commitment, tamperLeaf(leaves[i]!, which + i), proof)).to.equal(false);
          if (epoch > 1n) expect(await verifyOnChain(fx.commitment, leaves[i]!, proof, epoch - 1n)).to.equal(false);
        }
      }),
      { numRuns: 4 }
    );
  });

  it("verifies on-chain the proofs of a tree built in a worker thread from the leaf digests", async function () {
    this.timeout(120_000);
    const [{ leaves: raw, picks }] = fc.sample(arbLargeEpochAndPicks, { numRuns: 1, seed: 7 });
    const epoch = (await fx.commitment.latestEpoch()) + 1n;
    const leaves = inEpoch(raw!, epoch);
    const tree = await buildTreeInWorker(Buffer.concat(leaves.map(leafDigest)));
    expect(tree.root).to.equal(CommitmentTree.fromLeaves(leaves).root);
    await commitTree(fx, epoch, tree);
    for (const i of picks!) expect(await verifyOnChain(fx.commitment, leaves[i]!, tree.proof(i))).to.equal(true);
  });

  it("commits what an epoch data file written in a worker rebuilds to, and verifies its leaves", async function () {
    this.timeout(120_000);
    const dir = await mkdtemp(join(tmpdir(), "hyperindex-epochs-"));
    try {
      const [{ leaves: raw, picks }] = fc.sample(arbLargeEpochAndPicks, { numRuns: 1, seed: 11 });
      const epoch = (await fx.commitment.latestEpoch()) + 1n;
      const leaves = inEpoch(raw!, epoch);
      const written = await writeEpochDataFileInWorker(dir, { epoch, leaves });
      await fx.commitment.connect(fx.operator).commitEpoch(epoch, written.root, written.leafCount, written.dataHash);
      // An auditor: the file alone rebuilds what is on-chain, and its proofs verify there.
      const audited = await readEpochCommitment(written.path);
      const onChain = await fx.commitment.epochOf(epoch);
      expect([onChain.root, onChain.leafCount, onChain.dataHash]).to.deep.equal([audited.root, audited.leafCount, audited.dataHash]);
      for (const i of picks!) expect(await verifyOnChain(fx.commitment, leaves[i]!, audited.tree.proof(i))).to.equal(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("rejects a tampered proof: a flipped bit, a dropped, swapped or extra element", async () => {
    const arbCase = fc.record({
      epoch: arbEpochAndPicks,
      kind: fc.constantFrom<Tamper>("flip", "drop", "swap", "append"),
      at: fc.nat(),
      byte: fc.nat({ max: 255 }),
    });
    await fc.assert(
      fc.asyncProperty(arbCase, async ({ epoch: { leaves: raw, picks }, kind, at, byte }) => {
        const { tree, leaves } = await commitNext(raw);
        const i = picks[0]!;
        const bad = tamper(tree.proof(i), kind, at, byte);
        fc.pre(bad !== undefined);
        expect(await verifyOnChain(fx.commitment, leaves[i]!, bad!)).to.equal(false);
      }),
      { numRuns: 60 }
    );
  });

  it("rejects a leaf proven against another epoch, even where that epoch holds the same fields", async () => {
    const first = await commitNext(vectors.epoch.leaves);
    const second = await commitNext(vectors.epoch.leaves);
    // verifyOrder / verifyFill hash the epoch they are asked about into the leaf, so a leaf
    // of epoch 1 asked about in epoch 2 is a different leaf, whatever proof comes with it.
    for (const [i, leaf] of first.leaves.entries()) {
      expect(await verifyOnChain(fx.commitment, leaf, first.tree.proof(i))).to.equal(true);
      expect(await verifyOnChain(fx.commitment, second.leaves[i]!, second.tree.proof(i))).to.equal(true);
      expect(await verifyOnChain(fx.commitment, leaf, first.tree.proof(i), second.epoch)).to.equal(false);
      expect(await verifyOnChain(fx.commitment, leaf, second.tree.proof(i), first.epoch)).to.equal(false);
    }
    expect(first.tree.root).to.not.equal(second.tree.root);
  });

  it("never accepts an inner node as a leaf, though its shortened proof reaches the root", async () => {
    const { tree } = await commitNext(vectors.epoch.leaves);
    const [a, b] = [tree.leafHash(0), tree.leafHash(1)];
    const [lo, hi] = a < b ? [a, b] : [b, a];
    const inner = keccak256(concat([lo, hi])) as Hex;
    const shortened = tree.proof(0).slice(1);
    // At the level of hashes the second-preimage attack is real: MerkleProof alone accepts it.
    expect(verifyProof(inner, shortened, tree.root)).to.equal(true);
    // Through the typed, double-hashed leaves it is not: neither the node nor its 64-byte
    // preimage laid out as fields makes a leaf that reaches the root.
    const c = fx.commitment;
    const trader = `0x${inner.slice(-40)}`;
    expect(await c.verifyOrder(1n, 0n, inner, trader, 0n, shortened)).to.equal(false);
    expect(await c.verifyFill(1n, 0n, inner, inner, 0n, 0n, 0n, shortened)).to.equal(false);
    expect(await c.verifyFill(1n, 0n, lo, hi, 0n, 0n, 0n, shortened)).to.equal(false);
    expect(await c.verifyFill(1n, 0n, lo, hi, 0n, 0n, 0n, tree.proof(0))).to.equal(false);
  });
});
