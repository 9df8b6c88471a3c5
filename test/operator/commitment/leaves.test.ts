import { expect } from "chai";
import { AbiCoder, getAddress, keccak256 } from "ethers";
import fc from "fast-check";
import {
  CommitmentError,
  LEAF_TYPE_TAG,
  encodeLeaf,
  hashLeaf,
  type CommitmentLeaf,
} from "../../../operator/commitment";
import { arbEpochLeaves, vectors } from "./fixture";

const order: CommitmentLeaf = vectors.epoch.leaves[0]!;
const fill: CommitmentLeaf = vectors.epoch.leaves[2]!;

/** ethers' generic ABI coder: an independent encoder to compare the fixed-word one with. */
function abiEncode(leaf: CommitmentLeaf): string {
  const coder = AbiCoder.defaultAbiCoder();
  return leaf.type === "orderAccepted"
    ? coder.encode(
        ["uint8", "uint64", "uint64", "bytes32", "address", "uint64"],
        [1, leaf.epoch, leaf.sequence, leaf.orderHash, leaf.trader, leaf.receivedAt]
      )
    : coder.encode(
        ["uint8", "uint64", "uint64", "bytes32", "bytes32", "uint256", "uint256", "uint64"],
        [2, leaf.epoch, leaf.fillId, leaf.makerHash, leaf.takerHash, leaf.price, leaf.amount, leaf.batchId]
      );
}

function expectInvalidLeaf(leaf: unknown, field: string): void {
  try {
    hashLeaf(leaf as CommitmentLeaf);
  } catch (error) {
    expect(error).to.be.instanceOf(CommitmentError);
    expect((error as CommitmentError).code).to.equal("INVALID_LEAF");
    expect((error as CommitmentError).details.field).to.equal(field);
    return;
  }
  expect.fail(`expected ${field} to be rejected`);
}

describe("commitment leaves", () => {
  it("reproduces every fixed vector leaf hash", () => {
    for (const { leaf, hash } of vectors.leaves) expect(hashLeaf(leaf)).to.equal(hash);
    vectors.epoch.leaves.forEach((leaf, i) => expect(hashLeaf(leaf)).to.equal(vectors.epoch.leafHashes[i]));
  });

  it("encodes exactly what abi.encode gives, for any leaf", () => {
    fc.assert(
      fc.property(arbEpochLeaves(7n, 20), (leaves) => {
        for (const leaf of leaves) {
          expect(`0x${encodeLeaf(leaf).toString("hex")}`).to.equal(abiEncode(leaf));
          expect(hashLeaf(leaf)).to.equal(keccak256(keccak256(abiEncode(leaf))));
        }
      }),
      { numRuns: 100 }
    );
  });

  it("starts every encoding with its type tag, so an order and a fill never share a layout", () => {
    expect(encodeLeaf(order)[31]).to.equal(LEAF_TYPE_TAG.orderAccepted);
    expect(encodeLeaf(fill)[31]).to.equal(LEAF_TYPE_TAG.fill);
    expect(encodeLeaf(order).length).to.equal(6 * 32);
    expect(encodeLeaf(fill).length).to.equal(8 * 32);
  });

  it("hashes twice, so the leaf is not the plain hash of its encoding", () => {
    expect(hashLeaf(order)).to.not.equal(keccak256(encodeLeaf(order)));
  });

  it("hashes a checksummed address like its lowercase form", () => {
    if (order.type !== "orderAccepted") throw new Error("vector 0 is an order");
    expect(hashLeaf({ ...order, trader: getAddress(order.trader) as `0x${string}` })).to.equal(hashLeaf(order));
  });

  it("binds the epoch: the same fields in another epoch give another leaf", () => {
    expect(hashLeaf({ ...order, epoch: order.epoch + 1n })).to.not.equal(hashLeaf(order));
  });

  it("rejects an integer outside its Solidity type instead of hashing a truncated value", () => {
    expectInvalidLeaf({ ...order, epoch: 1n << 64n }, "epoch");
    expectInvalidLeaf({ ...order, sequence: -1n }, "sequence");
    expectInvalidLeaf({ ...order, receivedAt: 1735689600123 }, "receivedAt"); // a number, not a bigint
    expectInvalidLeaf({ ...fill, price: 1n << 256n }, "price");
    expectInvalidLeaf({ ...fill, batchId: 1n << 64n }, "batchId");
  });

  it("rejects a malformed hash or address", () => {
    expectInvalidLeaf({ ...order, orderHash: "0x1234" }, "orderHash");
    expectInvalidLeaf({ ...order, trader: "0x" + "g".repeat(40) }, "trader");
    expectInvalidLeaf({ ...fill, takerHash: "1c".repeat(32) }, "takerHash");
  });

  it("rejects an unknown leaf type", () => {
    expectInvalidLeaf({ ...order, type: "cancel" }, "type");
  });
});
