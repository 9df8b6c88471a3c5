/**
 * The epoch Merkle tree over the already double-hashed leaves (./leaves), with sorted pairs,
 * so its proofs verify with OpenZeppelin MerkleProof (commutative keccak of a pair). It is
 * held as flat layers (./proofLayers, which says why this replaced merkletreejs); the shape
 * is merkletreejs's with these options, and a test keeps both equal, root and proofs:
 * - leaves not hashed again: they arrive double-hashed; hashing again would give leaves the
 *   contract never computes.
 * - leaves never sorted: they stay in the order given, the operator's arrival order, which
 *   the epoch data file and the rebuilt root must reproduce. Only the two children of each
 *   pair are sorted.
 * - no duplication of an odd node, no default fill, not "complete": a lonely last node is
 *   promoted unchanged to the next layer, and its proof simply has no sibling there.
 *
 * Sorted pairs make the root blind to the order of two siblings (swapping leaves 0 and 1
 * keeps it). Arrival order is still pinned twice: by the sequence number inside every order
 * leaf, which a proof carries, and by the epoch data file, whose hash is committed with
 * the root.
 *
 * Edge cases: an empty epoch has no root and is refused (the contract refuses a zero root);
 * one leaf is its own root, with an empty proof.
 *
 * Building 1e6 leaves takes about a second of CPU: a daemon builds large trees off its main
 * thread with ./treeWorker, which hands back the layers for fromLayers.
 */
import { keccak256, type Hex } from "../orders";
import { CommitmentError } from "./errors";
import { leafDigest, type CommitmentLeaf } from "./leaves";
import { NODE_BYTES, buildLayers, checkLayers, checkLeafDigests, ownedBuffer, proofNodes } from "./proofLayers";

const toHex = (buf: Buffer): Hex => `0x${buf.toString("hex")}`;
const BYTES32_RE = /^0x[0-9a-fA-F]{64}$/;

export class CommitmentTree {
  readonly root: Hex;

  /** `layers`: bottom-up, layer 0 the leaf digests; owned by the tree from here on. */
  private constructor(private readonly layers: readonly Buffer[]) {
    this.root = toHex(layers[layers.length - 1]!);
  }

  /** Builds the tree over double-hashed leaves, in the order given. */
  static fromLeafHashes(leafHashes: readonly (Hex | Buffer)[]): CommitmentTree {
    if (leafHashes.length === 0) throw new CommitmentError("EMPTY_EPOCH", "an epoch without leaves has no root");
    const digests = ownedBuffer(leafHashes.length * NODE_BYTES); // a private copy: the caller may reuse its buffers
    leafHashes.forEach((leaf, index) => {
      if (typeof leaf === "string") bytes32(leaf, `leaf hash ${index}`).copy(digests, index * NODE_BYTES);
      else if (Buffer.isBuffer(leaf) && leaf.length === NODE_BYTES) leaf.copy(digests, index * NODE_BYTES);
      else throw new CommitmentError("INVALID_LEAF", `leaf hash ${index} is not 32 bytes`, { details: { index } });
    });
    return new CommitmentTree(buildLayers(digests));
  }

  /**
   * Builds the tree over `leafDigests`: n double-hashed leaves, 32 bytes each, back to back
   * (what the epoch data encoder collects). Copies them: the caller keeps its buffer.
   */
  static fromLeafDigests(leafDigests: Buffer): CommitmentTree {
    checkLeafDigests(leafDigests);
    const digests = ownedBuffer(leafDigests.length);
    leafDigests.copy(digests);
    return new CommitmentTree(buildLayers(digests));
  }

  /** Encodes and double-hashes `leaves` (./leaves), then builds the tree in their order. */
  static fromLeaves(leaves: readonly CommitmentLeaf[]): CommitmentTree {
    if (leaves.length === 0) throw new CommitmentError("EMPTY_EPOCH", "an epoch without leaves has no root");
    const digests = ownedBuffer(leaves.length * NODE_BYTES);
    leaves.forEach((leaf, index) => leafDigest(leaf).copy(digests, index * NODE_BYTES));
    return new CommitmentTree(buildLayers(digests));
  }

  /**
   * Adopts layers built by proofLayers.buildLayers (in a worker thread: ./treeWorker), without
   * copying them. Checks their sizes, not their hashes.
   */
  static fromLayers(layers: readonly Buffer[]): CommitmentTree {
    checkLayers(layers);
    return new CommitmentTree([...layers]);
  }

  get leafCount(): number {
    return this.layers[0]!.length / NODE_BYTES;
  }

  /** Tree height: the number of layers above the leaves, and the longest proof. */
  get depth(): number {
    return this.layers.length - 1;
  }

  /** The leaf hash at `index` (arrival order). */
  leafHash(index: number): Hex {
    const at = this.checkIndex(index) * NODE_BYTES;
    return toHex(this.layers[0]!.subarray(at, at + NODE_BYTES));
  }

  /**
   * The proof of the leaf at `index`, bottom-up, for MerkleProof.verify / verifyOrder /
   * verifyFill: O(log n) lookups. By index, never by value: identical leaves get their own
   * proofs.
   */
  proof(index: number): Hex[] {
    return proofNodes(this.layers, this.checkIndex(index)).map(toHex);
  }

  private checkIndex(index: number): number {
    if (!Number.isInteger(index) || index < 0 || index >= this.leafCount) {
      throw new CommitmentError("LEAF_INDEX_OUT_OF_RANGE", "no leaf at this index", {
        details: { index, leafCount: this.leafCount },
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
