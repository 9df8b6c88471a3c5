/**
 * The heart of the audit: an epoch data file against what the operator committed on-chain.
 *
 *   data hash   keccak256 of the file's exact bytes  ==  epochOf(N).dataHash
 *   epoch       the file's "epoch"                   ==  N
 *   leaf count  the file's leaves                    ==  epochOf(N).leafCount
 *   root        the root rebuilt from the leaves     ==  epochOf(N).root
 *
 * Each check is reported on its own, so a tampered leaf (root differs, hash differs) reads
 * differently from a re-ordered file (hash differs, root the same: sorted pairs hide a swap of
 * two siblings) or a file that does not parse. Decoding and the tree are operator/commitment's
 * own (EpochDataDecoder, defaultTreeBuilder): the auditor rebuilds exactly as the operator
 * builds, a leaf at a time, without leaf objects unless a command needs them (a proof by order
 * hash), and large trees off the main thread.
 */
import { CommitmentError, EpochDataDecoder, defaultTreeBuilder, epochDataHash, type CommitmentLeaf, type CommitmentTree } from "../../operator/commitment";
import type { Hex } from "../../operator/orders";
import type { OnChainEpoch } from "./chain";

export type CheckName = "dataHash" | "epoch" | "parse" | "leafCount" | "root";

export interface CheckRow {
  check: CheckName;
  onChain: string;
  file: string;
  ok: boolean;
}

/** An epoch data file decoded, with its tree. */
export interface DecodedEpoch {
  epoch: bigint;
  leafCount: number;
  dataHash: Hex;
  tree: CommitmentTree;
  /** The leaf objects, when asked for (keepLeaves). */
  leaves?: CommitmentLeaf[];
}

export interface EpochCheck {
  epoch: bigint;
  ok: boolean;
  rows: CheckRow[];
  /** Present when the file decoded. */
  decoded?: DecodedEpoch;
  /** Why the file did not decode. */
  problem?: string;
}

/** Decodes an epoch data file and builds its tree. Throws CommitmentError for a file that is not canonical. */
export async function decodeEpochFile(bytes: Buffer, options: { keepLeaves: boolean }): Promise<DecodedEpoch> {
  const decoder = new EpochDataDecoder({ keepLeaves: options.keepLeaves });
  decoder.push(bytes);
  const summary = decoder.finish();
  const tree = await defaultTreeBuilder(summary.leafDigests);
  return { epoch: summary.epoch, leafCount: summary.leafCount, dataHash: summary.dataHash, tree, ...(summary.leaves === undefined ? {} : { leaves: summary.leaves }) };
}

export async function checkEpoch(epoch: bigint, onChain: OnChainEpoch, bytes: Buffer, options: { keepLeaves?: boolean } = {}): Promise<EpochCheck> {
  const rows: CheckRow[] = [];
  const row = (check: CheckName, chainValue: string, fileValue: string, ok = chainValue.toLowerCase() === fileValue.toLowerCase()) =>
    rows.push({ check, onChain: chainValue, file: fileValue, ok });

  let decoded: DecodedEpoch;
  try {
    decoded = await decodeEpochFile(bytes, { keepLeaves: options.keepLeaves === true });
  } catch (error) {
    if (!(error instanceof CommitmentError)) throw error;
    row("dataHash", onChain.dataHash, epochDataHash(bytes));
    row("parse", "-", `does not parse: ${error.message}`, false);
    return { epoch, ok: false, rows, problem: error.message };
  }
  row("dataHash", onChain.dataHash, decoded.dataHash);
  row("epoch", epoch.toString(), decoded.epoch.toString());
  row("leafCount", onChain.leafCount.toString(), decoded.leafCount.toString());
  row("root", onChain.root, decoded.tree.root);
  return { epoch, ok: rows.every((r) => r.ok), rows, decoded };
}
