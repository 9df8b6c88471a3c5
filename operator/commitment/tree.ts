/**
 * The epoch Merkle tree: merkletreejs over the already double-hashed leaves, with sorted
 * pairs, so its proofs verify with OpenZeppelin MerkleProof (commutative keccak of a pair).
 *
 * merkletreejs options, chosen one by one:
 * - hashLeaves: false. Leaves arrive double-hashed (./leaves); hashing again would give
 *   leaves the contract never computes.
 * - sortLeaves: false, and never `sort` (which turns sortLeaves on): leaves stay in the
 *   order given, the operator's arrival order, which the epoch data file and the rebuilt
 *   root must reproduce. Only the two children of each pair are sorted (sortPairs).
 * - duplicateOdd / fillDefaultHash / complete / isBitcoinTree: off. A lonely last node is
 *   promoted unchanged to the next layer, and its proof simply has no sibling there.
 *
 * Sorted pairs make the root blind to the order of two siblings (swapping leaves 0 and 1
 * keeps it). Arrival order is still pinned twice: by the sequence number inside every order
 * leaf, which a proof carries, and by the epoch data file, whose hash is committed with
 * the root.
 *
 * Edge cases: an empty epoch has no root and is refused (the contract refuses a zero root);
 * one leaf is its own root, with an empty proof.
 */
import { MerkleTree } from "merkletreejs";
import { keccak256, type Hex } from "../orders";
import { CommitmentError } from "./errors";
import { leafDigest, type CommitmentLeaf } from "./leaves";

const toHex = (buf: Buffer): Hex => `0x${buf.toString("hex")}`;
const BYTES32_RE = /^0x[0-9a-fA-F]{64}$/;

export class CommitmentTree {
  readonly root: Hex;

  private constructor(private readonly tree: MerkleTree, private readonly digests: readonly Buffer[]) {
    this.root = toHex(tree.getRoot());
  }

  /** Builds the tree over double-hashed leaves, in the order given. */
  static fromLeafHashes(leafHashes: readonly (Hex | Buffer)[]): CommitmentTree {
    if (leafHashes.length === 0) throw new CommitmentError("EMPTY_EPOCH", "an epoch without leaves has no root");
    const digests = leafHashes.map((leaf, index) => {
      if (typeof leaf === "string") return bytes32(leaf, `leaf hash ${index}`);
      if (!Buffer.isBuffer(leaf) || leaf.length !== 32) {
        throw new CommitmentError("INVALID_LEAF", `leaf hash ${index} is not 32 bytes`, { details: { index } });
      }
      return Buffer.from(leaf); // a private copy: the caller may reuse its buffers
    });
    const tree = new MerkleTree(digests, keccak256, {
      hashLeaves: false,
      sortLeaves: false,
      sortPairs: true,
      duplicateOdd: false,
      complete: false,
      isBitcoinTree: false,
    });
    return new CommitmentTree(tree, digests);
  }

  /** Encodes and double-hashes `leaves` (./leaves), then builds the tree in their order. */
  static fromLeaves(leaves: readonly CommitmentLeaf[]): CommitmentTree {
    return CommitmentTree.fromLeafHashes(leaves.map(leafDigest));
  }

  get leafCount(): number {
    return this.digests.length;
  }

  /** The leaf hash at `index` (arrival order). */
  leafHash(index: number): Hex {
    return toHex(this.digests[this.checkIndex(index)]!);
  }

  /**
   * The proof of the leaf at `index`, bottom-up, for MerkleProof.verify / verifyOrder /
   * verifyFill. By index, never by value: merkletreejs looks a value up as its LAST
   * occurrence, and identical leaves must still get their own proofs.
   */
  proof(index: number): Hex[] {
    const i = this.checkIndex(index);
    return this.tree.getProof(this.digests[i]!, i).map((node) => toHex(node.data));
  }

  private checkIndex(index: number): number {
    if (!Number.isInteger(index) || index < 0 || index >= this.digests.length) {
      throw new CommitmentError("LEAF_INDEX_OUT_OF_RANGE", "no leaf at this index", {
        details: { index, leafCount: this.digests.length },
      });
    }
    return index;
  }
}

/** keccak256 of the sorted pair: OpenZeppelin Hashes.commutativeKeccak256. */
function hashPair(a: Buffer, b: Buffer): Buffer {
  return keccak256(Buffer.compare(a, b) <= 0 ? Buffer.concat([a, b]) : Buffer.concat([b, a]));
}

function bytes32(value: Hex, what: string): Buffer {
  if (typeof value !== "string" || !BYTES32_RE.test(value)) {
    throw new CommitmentError("INVALID_LEAF", `${what} is not 32 bytes of hex`, { details: { value } });
  }
  return Buffer.from(value.slice(2), "hex");
}

/** The root a proof leads to from `leafHash` (OpenZeppelin MerkleProof.processProof). */
export function processProof(leafHash: Hex, proof: readonly Hex[]): Hex {
  let node = bytes32(leafHash, "leaf hash");
  for (const sibling of proof) node = hashPair(node, bytes32(sibling, "proof element"));
  return toHex(node);
}

/**
 * Off-chain mirror of MerkleProof.verify. It checks a leaf HASH, so like the raw library it
 * would accept an inner node; the typed, double-hashed leaf encoding is what prevents that
 * (verifyOrder / verifyFill take fields, never a hash).
 */
export function verifyProof(leafHash: Hex, proof: readonly Hex[], root: Hex): boolean {
  return processProof(leafHash, proof).toLowerCase() === root.toLowerCase();
}
