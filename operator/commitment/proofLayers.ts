/**
 * The epoch tree as flat layers, the form ./tree serves proofs from and ./treeWorker builds in
 * a worker thread: layer 0 is the leaf digests, 32 bytes each, in arrival order; layer k+1 is
 * the sorted-pair keccak of each pair of layer k (OpenZeppelin Hashes.commutativeKeccak256),
 * and a lonely last node moves up unchanged, never paired with itself. The last layer holds
 * the root. This is merkletreejs's shape with sortPairs and no duplicateOdd, node for node, so
 * proofs are the same (a test pins both to merkletreejs).
 *
 * Why not merkletreejs itself, which built the tree before: measured on the 2-core build
 * machine (Node 20, the native keccak, random leaves; `npm run bench:merkle`), merkletreejs
 * builds 1e5 leaves in 0.26-0.31 s and 1e6 in 2.3-3.1 s, within the time goals, but a process
 * that holds a 1e6-leaf merkletreejs tree peaks at 930-980 MB RSS: one Buffer object per node,
 * 2e6 of them at ~200 bytes each with their headers, which leaves no room under the 1 GiB goal
 * for the epoch file written alongside. Objects also cannot leave a worker thread without
 * being copied one by one. One Buffer per layer holds the same tree in 64 MB (the process
 * peaks at ~270 MB), builds 1e5 leaves in 0.15 s and 1e6 in 1.6-2.1 s (the ~1.3 us native
 * keccak call is most of it), and moves between threads as 21 transferred ArrayBuffers.
 *
 * This file imports nothing heavier than the native keccak, so the worker thread that runs it
 * starts fast.
 */
import { keccak256 } from "../orders/keccak";
import { CommitmentError } from "./errors";

export const NODE_BYTES = 32;

/** A Buffer over a fresh ArrayBuffer of its own (never a slice of Node's pool): transferable. */
export function ownedBuffer(byteLength: number): Buffer {
  return Buffer.from(new ArrayBuffer(byteLength));
}

/** Throws unless `leafDigests` is one or more 32-byte digests back to back. */
export function checkLeafDigests(leafDigests: Buffer): number {
  if (!Buffer.isBuffer(leafDigests) || leafDigests.length % NODE_BYTES !== 0) {
    throw new CommitmentError("INVALID_LEAF", "leaf digests are not a whole number of 32-byte hashes", {
      details: { byteLength: Buffer.isBuffer(leafDigests) ? leafDigests.length : undefined },
    });
  }
  if (leafDigests.length === 0) throw new CommitmentError("EMPTY_EPOCH", "an epoch without leaves has no root");
  return leafDigests.length / NODE_BYTES;
}

/** Number of nodes in each layer for `leafCount` leaves, bottom-up (the last is 1). */
export function layerSizes(leafCount: number): number[] {
  const sizes = [leafCount];
  for (let n = leafCount; n > 1; ) sizes.push((n = (n + 1) >> 1));
  return sizes;
}

/**
 * Builds every layer above `leafDigests`, which becomes layer 0 as given (not copied). Inner
 * layers are owned buffers (see ownedBuffer). Throws EMPTY_EPOCH or INVALID_LEAF.
 */
export function buildLayers(leafDigests: Buffer): Buffer[] {
  checkLeafDigests(leafDigests);
  const layers = [leafDigests];
  const pair = Buffer.allocUnsafe(2 * NODE_BYTES);
  for (let below = leafDigests; below.length > NODE_BYTES; ) {
    const count = below.length / NODE_BYTES;
    const above = ownedBuffer(((count + 1) >> 1) * NODE_BYTES);
    let out = 0;
    for (let a = 0; a + NODE_BYTES < below.length; a += 2 * NODE_BYTES, out += NODE_BYTES) {
      const b = a + NODE_BYTES;
      // compare(target = b, source = a) <= 0: a sorts first, and the pair is already in order.
      if (below.compare(below, b, b + NODE_BYTES, a, b) <= 0) below.copy(pair, 0, a, b + NODE_BYTES);
      else {
        below.copy(pair, 0, b, b + NODE_BYTES);
        below.copy(pair, NODE_BYTES, a, b);
      }
      keccak256(pair).copy(above, out);
    }
    if (count % 2 === 1) below.copy(above, out, below.length - NODE_BYTES); // the lonely last node moves up
    layers.push(above);
    below = above;
  }
  return layers;
}

/**
 * Throws unless `layers` has the shape buildLayers gives for its layer 0 (sizes only: the
 * hashes are trusted, as they come from buildLayers in this process or a worker thread).
 */
export function checkLayers(layers: readonly Buffer[]): void {
  const sizes = layerSizes(checkLeafDigests(layers[0] ?? Buffer.alloc(0)));
  const fits = layers.length === sizes.length && layers.every((l, k) => Buffer.isBuffer(l) && l.length === sizes[k]! * NODE_BYTES);
  if (!fits) {
    throw new CommitmentError("INVALID_LEAF", "tree layers do not have the shape of their leaves", {
      details: { layers: layers.length, expected: sizes.length },
    });
  }
}

/**
 * The proof of leaf `index` bottom-up: its sibling on every layer that has one. Views into the
 * layers, not copies. Assumes a valid index.
 */
export function proofNodes(layers: readonly Buffer[], index: number): Buffer[] {
  const proof: Buffer[] = [];
  for (let k = 0, i = index; k < layers.length - 1; k++, i >>= 1) {
    const sibling = (i ^ 1) * NODE_BYTES;
    if (sibling < layers[k]!.length) proof.push(layers[k]!.subarray(sibling, sibling + NODE_BYTES));
  }
  return proof;
}
