/**
 * Shared by the commitment tests: the OrderbookCommitment deployment on the in-process
 * Hardhat network, the fixed vectors, and fast-check arbitraries of epoch leaves.
 */
import hre from "hardhat";
import fc from "fast-check";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { OrderbookCommitment } from "../../../typechain-types";
import type { CommitmentLeaf, CommitmentTree, FillLeaf, OrderAcceptedLeaf } from "../../../operator/commitment";
import type { Address, Hex } from "../../../operator/orders";
import vectorsJson from "./vectors.json";

export const ADMIN_TRANSFER_DELAY = 3n * 86400n;
export const OPERATOR_ROTATION_DELAY = 2n * 86400n;

export interface CommitmentFixture {
  commitment: OrderbookCommitment;
  admin: HardhatEthersSigner;
  operator: HardhatEthersSigner;
  stranger: HardhatEthersSigner;
  nextOperator: HardhatEthersSigner;
}

export async function deployCommitmentFixture(): Promise<CommitmentFixture> {
  const [admin, operator, stranger, nextOperator] = await hre.ethers.getSigners();
  const factory = await hre.ethers.getContractFactory("OrderbookCommitment");
  const commitment = await factory.deploy(
    admin.address,
    ADMIN_TRANSFER_DELAY,
    operator.address,
    OPERATOR_ROTATION_DELAY
  );
  return { commitment, admin, operator, stranger, nextOperator };
}

// ------------------------------------------------------------------ fixed vectors

const INTEGER_FIELDS = new Set(["epoch", "sequence", "receivedAt", "fillId", "price", "amount", "batchId"]);

/** A leaf from its JSON record (decimal strings become bigints). */
export function leafFromJson(record: object): CommitmentLeaf {
  const entries = Object.entries(record).map(([k, v]) => [k, INTEGER_FIELDS.has(k) ? BigInt(v) : v]);
  return Object.fromEntries(entries) as CommitmentLeaf;
}

export const vectors = {
  leaves: vectorsJson.leaves.map((v) => ({ leaf: leafFromJson(v.leaf), hash: v.hash as Hex })),
  epoch: {
    epoch: BigInt(vectorsJson.epoch.epoch),
    leaves: vectorsJson.epoch.leaves.map(leafFromJson),
    leafHashes: vectorsJson.epoch.leafHashes as Hex[],
    root: vectorsJson.epoch.root as Hex,
    dataFile: vectorsJson.epoch.dataFile,
    dataHash: vectorsJson.epoch.dataHash as Hex,
  },
};

// ------------------------------------------------------------------ on-chain helpers

/** Calls verifyOrder or verifyFill with the leaf's fields. */
export async function verifyOnChain(
  commitment: OrderbookCommitment,
  leaf: CommitmentLeaf,
  proof: readonly Hex[],
  epoch = leaf.epoch
) {
  if (leaf.type === "orderAccepted") {
    return commitment.verifyOrder(epoch, leaf.sequence, leaf.orderHash, leaf.trader, leaf.receivedAt, [...proof]);
  }
  return commitment.verifyFill(
    epoch,
    leaf.fillId,
    leaf.makerHash,
    leaf.takerHash,
    leaf.price,
    leaf.amount,
    leaf.batchId,
    [...proof]
  );
}

/** Commits `tree` as the next epoch with a stand-in data hash (the file is not under test here). */
export async function commitTree(fx: CommitmentFixture, epoch: bigint, tree: CommitmentTree) {
  const dataHash = hre.ethers.id(`epoch-data-${epoch}-${tree.root}`);
  return fx.commitment.connect(fx.operator).commitEpoch(epoch, tree.root, tree.leafCount, dataHash);
}

// ------------------------------------------------------------------ arbitraries

const U64 = (1n << 64n) - 1n;
const U256 = (1n << 256n) - 1n;
const toHex = (bytes: Uint8Array): Hex => `0x${Buffer.from(bytes).toString("hex")}`;
export const arbBytes32: fc.Arbitrary<Hex> = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(toHex);
export const arbAddress: fc.Arbitrary<Address> = fc.uint8Array({ minLength: 20, maxLength: 20 }).map(toHex);
const arbU64 = fc.oneof(fc.bigInt({ min: 0n, max: U64 }), fc.constantFrom(0n, U64));
const arbU256 = fc.oneof(
  fc.bigInt({ min: 0n, max: U256 }),
  fc.bigInt({ min: 1n, max: 10n ** 30n }),
  fc.constantFrom(0n, U256)
);

/** The fields of a leaf other than epoch and its unique id (sequence / fillId). */
type LeafBody = Omit<OrderAcceptedLeaf, "epoch" | "sequence"> | Omit<FillLeaf, "epoch" | "fillId">;

const arbLeafBody: fc.Arbitrary<LeafBody> = fc.oneof(
  fc.record({
    type: fc.constant("orderAccepted" as const),
    orderHash: arbBytes32,
    trader: arbAddress,
    receivedAt: arbU64,
  }),
  fc.record({
    type: fc.constant("fill" as const),
    makerHash: arbBytes32,
    takerHash: arbBytes32,
    price: arbU256,
    amount: arbU256,
    batchId: arbU64,
  })
);

/**
 * The leaves of one epoch, in arrival order, a random mix of orders and fills. Sequence
 * numbers and fill ids count up from a random start, as the operator's do, so no two
 * leaves are equal.
 */
export function arbEpochLeaves(epoch: bigint, maxLength = 300): fc.Arbitrary<CommitmentLeaf[]> {
  return (
    fc
      // size "max": without it fast-check keeps arrays to about ten elements, far from the
      // deep, ragged trees (300 leaves, lonely nodes on several layers) this is meant to reach.
      .tuple(fc.array(arbLeafBody, { minLength: 1, maxLength, size: "max" }), fc.bigInt({ min: 0n, max: U64 - 1000n }))
      .map(([bodies, start]) =>
        bodies.map((body, i): CommitmentLeaf => {
          const id = start + BigInt(i);
          return body.type === "orderAccepted" ? { ...body, epoch, sequence: id } : { ...body, epoch, fillId: id };
        })
      )
  );
}
