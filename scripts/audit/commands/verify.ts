/**
 * verify-order HASH / verify-fill ID: is this order (this fill) in the epoch the operator
 * committed? The leaf and its proof come from the API or from an epoch data file; the verdict
 * is the contract's own (verifyOrder / verifyFill at one block). Exit 0 only when it says true.
 */
import type { CommitmentLeaf } from "../../../operator/commitment";
import type { Hex } from "../../../operator/orders";
import { epochOf, findCommitTx } from "../chain";
import type { AuditContext } from "../context";
import { AuditError, EXIT, type ExitCode } from "../errors";
import { describeSource, epochSourceOf, fetchEpochBytes, type EpochSourceOptions } from "../epochSource";
import { fields, when } from "../output";
import { decodeEpochFileForProof, proofFromApi, proofFromEpochFile, type LeafKind, type LeafProof } from "../proofs";
import { verifyLeafOnChain } from "../verifyLeaf";

export interface VerifyParams {
  kind: LeafKind;
  /** The order hash (0x + 64 hex) or the fill id (decimal). */
  key: string;
  /** An epoch data file to take the proof from, instead of the API's proof route. */
  source: EpochSourceOptions;
  /** The epoch of that file (needed with --dir / --base-url, checked against --file / --url). */
  epoch?: bigint;
}

export async function verifyCommand(ctx: AuditContext, params: VerifyParams): Promise<ExitCode> {
  const command = params.kind === "order" ? "verify-order" : "verify-fill";
  const { proof, fileDataHash } = await obtainProof(ctx, params);
  const leaf = proof.leaf;
  const verified = await verifyLeafOnChain(ctx.commitment, leaf, proof.proof);
  const onChain = await epochOf(ctx.commitment, leaf.epoch);
  const commit = proof.commitTx !== undefined ? { hash: proof.commitTx, blockNumber: undefined } : await findCommitTx(ctx.commitment, leaf.epoch, ctx.options.fromBlock);
  const dataHashMatches = fileDataHash === undefined ? undefined : fileDataHash.toLowerCase() === onChain.dataHash.toLowerCase();
  const what = params.kind === "order" ? `order ${params.key}` : `fill ${params.key}`;
  const fn = params.kind === "order" ? "verifyOrder" : "verifyFill";

  ctx.out.result(
    {
      command,
      verdict: verified ? "verified" : "not-verified",
      chainId: ctx.chain.chainId,
      commitment: ctx.commitment.address,
      blockNumber: ctx.chain.blockNumber,
      epoch: leaf.epoch,
      leaf,
      leafIndex: proof.leafIndex ?? null,
      proof: proof.proof,
      source: proof.from,
      epochRoot: onChain.root,
      epochLeafCount: onChain.leafCount,
      committedAt: onChain.committedAt,
      commitTx: commit?.hash ?? null,
      commitBlock: commit?.blockNumber ?? null,
      ...(fileDataHash === undefined ? {} : { fileDataHash, dataHashMatches }),
    },
    () => [
      verified
        ? `VERIFIED: ${what} is in epoch ${leaf.epoch} as committed on chain ${ctx.chain.chainId} (${fn} returned true)`
        : `NOT VERIFIED: ${fn} returned false for ${what} in epoch ${leaf.epoch}: its fields and proof do not lead to the committed root`,
      ...fields([
        ["epoch", leaf.epoch.toString()],
        ...leafFields(leaf),
        ["leaf index", proof.leafIndex === undefined ? "unknown" : `${proof.leafIndex} of ${onChain.leafCount}`],
        ["proof", `${proof.proof.length} node${proof.proof.length === 1 ? "" : "s"}, from ${proof.from}`],
        ["file data hash", dataHashMatches === undefined ? undefined : dataHashMatches ? "matches the commitment" : `DIFFERS from the commitment (${fileDataHash} vs ${onChain.dataHash})`],
        ["epoch root", onChain.root],
        ["committed at", when(onChain.committedAt, "s")],
        ["commit tx", commit === undefined ? "unknown (not in the API's answer; the RPC did not return the EpochCommitted log: try --from-block)" : `${commit.hash}${commit.blockNumber === undefined ? "" : ` (block ${commit.blockNumber})`}`],
        ["read at block", ctx.chain.blockNumber.toString()],
        ["contract", `OrderbookCommitment ${ctx.commitment.address} on chain ${ctx.chain.chainId} (RPC ${ctx.chain.safeUrl})`],
      ]),
    ],
  );
  return verified ? EXIT.ok : EXIT.failed;
}

async function obtainProof(ctx: AuditContext, params: VerifyParams): Promise<{ proof: LeafProof; fileDataHash?: Hex }> {
  const fromFile = params.epoch !== undefined || Object.values(params.source).some((v) => v !== undefined);
  if (!fromFile) {
    if (ctx.api === undefined) {
      throw new AuditError("USAGE", "no proof source: give --api URL (the operator's proof), or an epoch data file (--file F, --url U, or --dir D / --base-url B with --epoch N)");
    }
    return { proof: await proofFromApi(ctx.api, params.kind, params.key, ctx.commitment.address) };
  }
  const source = epochSourceOf(params.source, ctx.api);
  if (params.epoch === undefined && source.kind !== "file" && source.kind !== "url") {
    throw new AuditError("USAGE", `--epoch N is needed to find the epoch data file in the ${describeSource(source)}`);
  }
  // With --file / --url and no --epoch, the file says its epoch (the number only names files in a directory).
  const { bytes, from } = await fetchEpochBytes(source, params.epoch ?? 0n, ctx.options.timeoutMs);
  const decoded = await decodeEpochFileForProof(bytes, from);
  if (params.epoch !== undefined && decoded.epoch !== params.epoch) {
    throw new AuditError("INVALID_INPUT", `${from} is the data file of epoch ${decoded.epoch}, not of epoch ${params.epoch} (--epoch)`, { details: { file: decoded.epoch, asked: params.epoch } });
  }
  return { proof: proofFromEpochFile(decoded, params.kind, params.key, from), fileDataHash: decoded.dataHash };
}

function leafFields(leaf: CommitmentLeaf): [string, string][] {
  if (leaf.type === "orderAccepted") {
    return [
      ["order hash", leaf.orderHash],
      ["sequence", leaf.sequence.toString()],
      ["trader", leaf.trader],
      ["received at", when(leaf.receivedAt, "ms")],
    ];
  }
  return [
    ["fill id", leaf.fillId.toString()],
    ["maker order", leaf.makerHash],
    ["taker order", leaf.takerHash],
    ["price", leaf.price.toString()],
    ["amount", leaf.amount.toString()],
    ["batch id", leaf.batchId.toString()],
  ];
}
