/**
 * proveEquivocation end to end: an epoch built with operator/commitment and committed by the
 * operator, receipts signed with signReceipt by the operator's key (the Hardhat account's),
 * and every refusal.
 */
import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatNetworkHDAccountsConfig } from "hardhat/types";
import {
  CommitmentTree,
  arrivalSequence,
  hashLeaf,
  processProof,
  signReceipt,
  type CommitmentLeaf,
  type OrderAcceptedLeaf,
  type OrderReceipt,
  type ReceiptDomain,
} from "../../operator/commitment";
import type { Hex } from "../../operator/orders";
import {
  OPERATOR_ROTATION_DELAY,
  commitTree,
  deployCommitmentFixture,
  type CommitmentFixture,
} from "../operator/commitment/fixture";

const { ethers } = hre;
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const TRADER = "0x1111111111111111111111111111111111111111" as Hex;
const HASH_A = ethers.id("order A, the one the trader got a receipt for") as Hex;
const HASH_B = ethers.id("order B, the one the operator committed instead") as Hex;
const SEQ = arrivalSequence(3, 41n);

/** The private key of Hardhat account `index` (the public test mnemonic). */
function hardhatKey(index: number): Hex {
  const accounts = hre.network.config.accounts as HardhatNetworkHDAccountsConfig;
  return ethers.HDNodeWallet.fromPhrase(accounts.mnemonic, accounts.passphrase, `${accounts.path}/${index}`)
    .privateKey as Hex;
}
const OPERATOR_KEY = hardhatKey(1);
const STRANGER_KEY = hardhatKey(2);
const NEXT_OPERATOR_KEY = hardhatKey(3);

const orderLeaf = (epoch: bigint, sequence: bigint, orderHash: Hex, receivedAt = 1_735_689_600_000n + sequence): OrderAcceptedLeaf => ({
  type: "orderAccepted",
  epoch,
  sequence,
  orderHash,
  trader: TRADER,
  receivedAt,
});

/** An epoch around the conflicting leaf (epoch, SEQ, HASH_B): other orders and a fill. */
function epochLeaves(epoch: bigint): CommitmentLeaf[] {
  return [
    orderLeaf(epoch, SEQ - 2n, ethers.id(`order ${epoch} 1`) as Hex),
    orderLeaf(epoch, SEQ - 1n, ethers.id(`order ${epoch} 2`) as Hex),
    orderLeaf(epoch, SEQ, HASH_B),
    {
      type: "fill",
      epoch,
      fillId: arrivalSequence(3, 7n),
      makerHash: ethers.id(`order ${epoch} 1`) as Hex,
      takerHash: HASH_B,
      price: 2_000_000_000n,
      amount: 10n ** 18n,
      batchId: 5n,
    },
    orderLeaf(epoch, SEQ + 1n, ethers.id(`order ${epoch} 3`) as Hex),
  ];
}
const CONFLICT_INDEX = 2;

describe("OrderbookCommitment.proveEquivocation", () => {
  let fx: CommitmentFixture;
  let domain: ReceiptDomain;
  beforeEach(async () => {
    fx = await loadFixture(deployCommitmentFixture);
    domain = {
      chainId: (await ethers.provider.getNetwork()).chainId,
      verifyingContract: (await fx.commitment.getAddress()) as Hex,
    };
  });

  it("derives the operator's and the others' keys from the Hardhat accounts", () => {
    expect(new ethers.Wallet(OPERATOR_KEY).address).to.equal(fx.operator.address);
    expect(new ethers.Wallet(STRANGER_KEY).address).to.equal(fx.stranger.address);
    expect(new ethers.Wallet(NEXT_OPERATOR_KEY).address).to.equal(fx.nextOperator.address);
  });

  /** Commits epochLeaves(epoch) as the next epoch; returns its tree and the conflicting leaf. */
  async function commitConflict(epoch = 1n) {
    const leaves = epochLeaves(epoch);
    const tree = CommitmentTree.fromLeaves(leaves);
    await commitTree(fx, epoch, tree);
    const leaf = leaves[CONFLICT_INDEX] as OrderAcceptedLeaf;
    return { tree, leaf, proof: tree.proof(CONFLICT_INDEX) };
  }

  interface Report {
    receipt: OrderReceipt;
    signature: Hex | string;
    leaf: OrderAcceptedLeaf;
    proof: readonly string[];
  }
  function prove({ receipt, signature, leaf, proof }: Report, reporter = fx.stranger) {
    return fx.commitment
      .connect(reporter)
      .proveEquivocation(
        receipt.epoch,
        receipt.sequence,
        receipt.orderHash,
        signature,
        leaf.orderHash,
        leaf.trader,
        leaf.receivedAt,
        [...proof]
      );
  }

  /** The committed conflict and a receipt for (1, SEQ, HASH_A) signed with `key`. */
  async function conflictReport(key = OPERATOR_KEY): Promise<Report> {
    const { leaf, proof } = await commitConflict(1n);
    const receipt = { epoch: 1n, sequence: SEQ, orderHash: HASH_A };
    return { receipt, signature: signReceipt(key, domain, receipt), leaf, proof };
  }

  it("records the operator's fault for a receipt the committed epoch contradicts, for anyone to read", async () => {
    const report = await conflictReport();
    expect(await fx.commitment.verifyOrder(1n, SEQ, HASH_B, TRADER, report.leaf.receivedAt, [...report.proof])).to.equal(true);
    expect(await fx.commitment.faultCount()).to.equal(0n);

    await expect(prove(report))
      .to.emit(fx.commitment, "OperatorEquivocated")
      .withArgs(1n, SEQ, fx.operator.address, HASH_A, HASH_B, fx.stranger.address);

    expect(await fx.commitment.faultCount()).to.equal(1n);
    const fault = await fx.commitment.equivocationOf(1n, SEQ);
    expect([fault.operator, fault.reporter, fault.receiptOrderHash, fault.committedOrderHash]).to.deep.equal([
      fx.operator.address,
      fx.stranger.address,
      HASH_A,
      HASH_B,
    ]);
    expect(fault.provenAt).to.equal(BigInt(await time.latest()));
    const none = await fx.commitment.equivocationOf(1n, SEQ + 1n);
    expect([none.operator, none.provenAt, none.receiptOrderHash]).to.deep.equal([ethers.ZeroAddress, 0n, ethers.ZeroHash]);
  });

  it("rejects a receipt signed by a key that was never the operator", async () => {
    const report = await conflictReport(STRANGER_KEY);
    await expect(prove(report))
      .to.be.revertedWithCustomError(fx.commitment, "CommitmentReceiptSignerNotOperator")
      .withArgs(fx.stranger.address);
    expect(await fx.commitment.hasBeenOperator(fx.stranger.address)).to.equal(false);
    expect(await fx.commitment.faultCount()).to.equal(0n);
  });

  it("rejects a receipt the operator signed for another contract or chain: the domain binds both", async () => {
    const { leaf, proof } = await commitConflict(1n);
    const receipt = { epoch: 1n, sequence: SEQ, orderHash: HASH_A };
    for (const other of [
      { ...domain, verifyingContract: fx.stranger.address as Hex },
      { ...domain, chainId: 999n },
    ]) {
      await expect(
        prove({ receipt, signature: signReceipt(OPERATOR_KEY, other, receipt), leaf, proof })
      ).to.be.revertedWithCustomError(fx.commitment, "CommitmentReceiptSignerNotOperator");
    }
  });

  it("accepts a receipt by an operator rotated out since, and names that operator", async () => {
    // The old operator signs, then is rotated out; the new one commits another order there.
    const receipt = { epoch: 1n, sequence: SEQ, orderHash: HASH_A };
    const signature = signReceipt(OPERATOR_KEY, domain, receipt);
    await fx.commitment.connect(fx.admin).scheduleOperatorRotation(fx.nextOperator.address);
    await time.increase(OPERATOR_ROTATION_DELAY);
    await fx.commitment.executeOperatorRotation();
    expect(await fx.commitment.operator()).to.equal(fx.nextOperator.address);

    const tree = CommitmentTree.fromLeaves(epochLeaves(1n));
    await fx.commitment.connect(fx.nextOperator).commitEpoch(1n, tree.root, tree.leafCount, ethers.id("data"));
    const leaf = epochLeaves(1n)[CONFLICT_INDEX] as OrderAcceptedLeaf;
    await expect(prove({ receipt, signature, leaf, proof: tree.proof(CONFLICT_INDEX) }))
      .to.emit(fx.commitment, "OperatorEquivocated")
      .withArgs(1n, SEQ, fx.operator.address, HASH_A, HASH_B, fx.stranger.address);

    expect(await fx.commitment.hasBeenOperator(fx.operator.address)).to.equal(true);
    expect(await fx.commitment.hasBeenOperator(fx.nextOperator.address)).to.equal(true);
    expect(await fx.commitment.hasBeenOperator(fx.admin.address)).to.equal(false);
    // The new operator's receipts count as well.
    const next = { epoch: 1n, sequence: SEQ - 1n, orderHash: HASH_A };
    const nextLeaf = epochLeaves(1n)[1] as OrderAcceptedLeaf;
    await expect(
      prove({ receipt: next, signature: signReceipt(NEXT_OPERATOR_KEY, domain, next), leaf: nextLeaf, proof: tree.proof(1) })
    )
      .to.emit(fx.commitment, "OperatorEquivocated")
      .withArgs(1n, SEQ - 1n, fx.nextOperator.address, HASH_A, nextLeaf.orderHash, fx.stranger.address);
    expect(await fx.commitment.faultCount()).to.equal(2n);
  });

  it("rejects a receipt that names the committed order: the operator kept its word", async () => {
    const { leaf, proof } = await commitConflict(1n);
    const receipt = { epoch: 1n, sequence: SEQ, orderHash: HASH_B };
    await expect(prove({ receipt, signature: signReceipt(OPERATOR_KEY, domain, receipt), leaf, proof }))
      .to.be.revertedWithCustomError(fx.commitment, "CommitmentReceiptMatchesLeaf")
      .withArgs(HASH_B);
  });

  it("rejects a tampered proof, a leaf whose trader or time were changed, and a leaf at another sequence", async () => {
    const report = await conflictReport();
    const flipped = [...report.proof];
    flipped[0] = ethers.toBeHex(BigInt(flipped[0]!) ^ 1n, 32);
    const attempts: Report[] = [
      { ...report, proof: flipped },
      { ...report, proof: report.proof.slice(1) },
      { ...report, proof: [...report.proof].reverse() },
      { ...report, proof: [...report.proof, ethers.ZeroHash] },
      { ...report, leaf: { ...report.leaf, trader: fx.stranger.address as Hex } },
      { ...report, leaf: { ...report.leaf, receivedAt: report.leaf.receivedAt + 1n } },
    ];
    for (const attempt of attempts) {
      await expect(prove(attempt))
        .to.be.revertedWithCustomError(fx.commitment, "CommitmentLeafProofInvalid")
        .withArgs(1n, SEQ);
    }
    // The leaf next door, with its own valid proof, is at another sequence: no conflict with SEQ.
    const neighbour = epochLeaves(1n)[4] as OrderAcceptedLeaf;
    const tree = CommitmentTree.fromLeaves(epochLeaves(1n));
    await expect(prove({ ...report, leaf: neighbour, proof: tree.proof(4) }))
      .to.be.revertedWithCustomError(fx.commitment, "CommitmentLeafProofInvalid")
      .withArgs(1n, SEQ);
    expect(await fx.commitment.faultCount()).to.equal(0n);
  });

  it("does not prove a receipt for one epoch with a leaf of another", async () => {
    const { leaf, proof } = await commitConflict(1n);
    await commitConflict(2n);
    const receipt = { epoch: 2n, sequence: SEQ, orderHash: HASH_A };
    await expect(prove({ receipt, signature: signReceipt(OPERATOR_KEY, domain, receipt), leaf, proof }))
      .to.be.revertedWithCustomError(fx.commitment, "CommitmentLeafProofInvalid")
      .withArgs(2n, SEQ);
  });

  it("rejects a receipt for an epoch not committed yet", async () => {
    const report = await conflictReport();
    const receipt = { ...report.receipt, epoch: 2n };
    await expect(prove({ ...report, receipt, signature: signReceipt(OPERATOR_KEY, domain, receipt) }))
      .to.be.revertedWithCustomError(fx.commitment, "CommitmentEpochNotCommitted")
      .withArgs(2n);
  });

  it("records a fault once: a second report of the same position is refused, and changes nothing", async () => {
    const report = await conflictReport();
    await prove(report);
    for (const reporter of [fx.stranger, fx.admin]) {
      await expect(prove(report, reporter))
        .to.be.revertedWithCustomError(fx.commitment, "CommitmentEquivocationAlreadyProven")
        .withArgs(1n, SEQ);
    }
    // Even with another receipt for the same position (another order promised there).
    const other = { ...report.receipt, orderHash: ethers.id("order C") as Hex };
    await expect(prove({ ...report, receipt: other, signature: signReceipt(OPERATOR_KEY, domain, other) }))
      .to.be.revertedWithCustomError(fx.commitment, "CommitmentEquivocationAlreadyProven")
      .withArgs(1n, SEQ);
    expect(await fx.commitment.faultCount()).to.equal(1n);
    expect((await fx.commitment.equivocationOf(1n, SEQ)).reporter).to.equal(fx.stranger.address);
  });

  it("rejects the malleable high-s twin of the operator's signature", async () => {
    const report = await conflictReport();
    const bytes = Buffer.from((report.signature as string).slice(2), "hex");
    const s = N - BigInt(`0x${bytes.subarray(32, 64).toString("hex")}`);
    const sHex = ethers.toBeHex(s, 32);
    Buffer.from(sHex.slice(2), "hex").copy(bytes, 32);
    bytes[64] = bytes[64] === 27 ? 28 : 27;
    await expect(prove({ ...report, signature: `0x${bytes.toString("hex")}` }))
      .to.be.revertedWithCustomError(fx.commitment, "CommitmentReceiptSignatureHighS")
      .withArgs(sHex);
  });

  it("rejects a signature of the wrong length (the compact form included) or with a bad v", async () => {
    const report = await conflictReport();
    const signature = report.signature as string;
    const compact = ethers.Signature.from(signature).compactSerialized;
    await expect(prove({ ...report, signature: compact }))
      .to.be.revertedWithCustomError(fx.commitment, "CommitmentReceiptSignatureLength")
      .withArgs(64n);
    await expect(prove({ ...report, signature: "0x" }))
      .to.be.revertedWithCustomError(fx.commitment, "CommitmentReceiptSignatureLength")
      .withArgs(0n);
    for (const v of ["00", "1d"]) {
      await expect(prove({ ...report, signature: `${signature.slice(0, 130)}${v}` })).to.be.revertedWithCustomError(
        fx.commitment,
        "CommitmentReceiptSignatureInvalid"
      );
    }
    await expect(
      prove({ ...report, signature: `0x${"00".repeat(32)}${signature.slice(66)}` })
    ).to.be.revertedWithCustomError(fx.commitment, "CommitmentReceiptSignatureInvalid");
  });

  it("proves a fault with a 20-sibling proof (an epoch of a million leaves) for under 150k gas", async () => {
    const leaf = orderLeaf(1n, SEQ, HASH_B);
    const proof = Array.from({ length: 20 }, (_, i) => ethers.id(`sibling ${i}`) as Hex);
    // The root of a 2^20-leaf tree, from the leaf and its path: the contract sees nothing else.
    const root = processProof(hashLeaf(leaf), proof);
    await fx.commitment.connect(fx.operator).commitEpoch(1n, root, 1_000_000n, ethers.id("data"));
    const receipt = { epoch: 1n, sequence: SEQ, orderHash: HASH_A };
    const tx = await prove({ receipt, signature: signReceipt(OPERATOR_KEY, domain, receipt), leaf, proof });
    const gasUsed = (await tx.wait())!.gasUsed;
    expect(gasUsed < 150_000n, `gas used ${gasUsed}`).to.equal(true);
  });
});
