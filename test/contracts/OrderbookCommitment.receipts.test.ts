/**
 * The receipt vectors on chain: OrderbookCommitment deployed at the vectors' address (from the
 * vectors' deployer, nonce 0) hashes every vector receipt to the vector digest, which the
 * TypeScript side reproduces too (test/operator/commitment/receipt.test.ts), and accepts the
 * vector signatures as its operator's.
 */
import { expect } from "chai";
import fc from "fast-check";
import hre from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import {
  CommitmentTree,
  RECEIPT_DOMAIN_NAME,
  RECEIPT_DOMAIN_VERSION,
  receiptDigest,
  type OrderAcceptedLeaf,
  type ReceiptDomain,
} from "../../operator/commitment";
import type { Hex } from "../../operator/orders";
import type { OrderbookCommitment } from "../../typechain-types";
import { ADMIN_TRANSFER_DELAY, OPERATOR_ROTATION_DELAY, arbBytes32 } from "../operator/commitment/fixture";
import vectorsJson from "../operator/commitment/vectors.json";

const { ethers } = hre;
const V = vectorsJson.receipts;
const U64 = (1n << 64n) - 1n;

/** OrderbookCommitment at the vectors' verifyingContract, with the vector signer as operator. */
async function deployVectorCommitment() {
  const [admin] = await ethers.getSigners();
  const deployer = new ethers.Wallet(V.deployer.privateKey, ethers.provider);
  const operator = new ethers.Wallet(V.signer.privateKey, ethers.provider);
  for (const wallet of [deployer, operator]) {
    await hre.network.provider.send("hardhat_setBalance", [wallet.address, "0x56bc75e2d63100000"]);
  }
  expect(await ethers.provider.getTransactionCount(deployer.address)).to.equal(0);
  const factory = await ethers.getContractFactory("OrderbookCommitment", deployer);
  const commitment = (await factory.deploy(
    admin!.address,
    ADMIN_TRANSFER_DELAY,
    operator.address,
    OPERATOR_ROTATION_DELAY
  )) as unknown as OrderbookCommitment;
  await commitment.waitForDeployment();
  return { commitment, operator };
}

describe("OrderbookCommitment receipts: fixed vectors", () => {
  it("is deployed at the vectors' address, with the vectors' EIP-712 domain", async () => {
    const { commitment } = await loadFixture(deployVectorCommitment);
    expect((await commitment.getAddress()).toLowerCase()).to.equal(V.domain.verifyingContract);
    expect(await commitment.domainSeparator()).to.equal(V.domainSeparator);
    const domain = await commitment.eip712Domain();
    expect([domain.name, domain.version, domain.chainId]).to.deep.equal([
      RECEIPT_DOMAIN_NAME,
      RECEIPT_DOMAIN_VERSION,
      BigInt(V.domain.chainId),
    ]);
    expect(domain.verifyingContract.toLowerCase()).to.equal(V.domain.verifyingContract);
  });

  it("hashes every vector receipt to the vector digest", async () => {
    const { commitment } = await loadFixture(deployVectorCommitment);
    for (const v of V.receipts) {
      expect(await commitment.hashReceipt(v.epoch, v.sequence, v.orderHash)).to.equal(v.digest);
    }
  });

  it("hashes any receipt exactly like the TypeScript receiptDigest", async () => {
    const { commitment } = await loadFixture(deployVectorCommitment);
    const domain: ReceiptDomain = { chainId: BigInt(V.domain.chainId), verifyingContract: V.domain.verifyingContract as Hex };
    const u64 = fc.oneof(fc.bigInt({ min: 0n, max: U64 }), fc.constantFrom(0n, U64));
    await fc.assert(
      fc.asyncProperty(u64, u64, arbBytes32, async (epoch, sequence, orderHash) => {
        expect(await commitment.hashReceipt(epoch, sequence, orderHash)).to.equal(
          receiptDigest(domain, { epoch, sequence, orderHash })
        );
      }),
      { numRuns: 50 }
    );
  });

  it("takes the vector signatures as its operator's: the committable vectors each prove a fault", async () => {
    const { commitment, operator } = await loadFixture(deployVectorCommitment);
    const [reporter] = await ethers.getSigners();
    const committable = V.receipts.filter((v) => BigInt(v.epoch) >= 1n && BigInt(v.epoch) <= 3n);
    expect(committable.length).to.equal(2);
    for (let epoch = 1n; epoch <= 3n; epoch++) {
      // In each epoch, whatever vector receipt names it finds another order at its sequence.
      const leaves: OrderAcceptedLeaf[] = committable
        .filter((v) => BigInt(v.epoch) === epoch)
        .map((v) => ({
          type: "orderAccepted",
          epoch,
          sequence: BigInt(v.sequence),
          orderHash: ethers.id(`not ${v.orderHash}`) as Hex,
          trader: `0x${"22".repeat(20)}`,
          receivedAt: 1_735_689_600_123n,
        }));
      if (leaves.length === 0) {
        leaves.push({ type: "orderAccepted", epoch, sequence: 0n, orderHash: ethers.ZeroHash as Hex, trader: `0x${"22".repeat(20)}`, receivedAt: 0n });
      }
      const tree = CommitmentTree.fromLeaves(leaves);
      await commitment.connect(operator).commitEpoch(epoch, tree.root, tree.leafCount, ethers.id(`data ${epoch}`));
      for (const [i, leaf] of leaves.entries()) {
        const v = committable.find((r) => BigInt(r.epoch) === epoch && BigInt(r.sequence) === leaf.sequence);
        if (v === undefined) continue;
        await expect(
          commitment.connect(reporter).proveEquivocation(
            epoch,
            leaf.sequence,
            v.orderHash,
            v.signature,
            leaf.orderHash,
            leaf.trader,
            leaf.receivedAt,
            tree.proof(i)
          )
        )
          .to.emit(commitment, "OperatorEquivocated")
          .withArgs(epoch, leaf.sequence, ethers.getAddress(V.signer.address), v.orderHash, leaf.orderHash, reporter!.address);
      }
    }
    expect(await commitment.faultCount()).to.equal(2n);
  });
});

