/**
 * rebuild-epoch N: fetches epoch N's data file, checks its hash against the committed
 * dataHash, rebuilds the Merkle root from its leaves, and compares root and leaf count with
 * epochOf(N). Exit 0 when everything matches, 1 on any mismatch, 3 when N is not committed.
 */
import { epochOf, isCommitted, latestEpoch, notCommitted } from "../chain";
import type { AuditContext } from "../context";
import { checkEpoch, type CheckName, type CheckRow } from "../epochCheck";
import { EXIT, type ExitCode } from "../errors";
import { epochSourceOf, fetchEpochBytes, type EpochSourceOptions } from "../epochSource";
import { fields, table, when } from "../output";

export interface RebuildParams {
  epoch: bigint;
  source: EpochSourceOptions;
}

export const CHECK_LABEL: { readonly [C in CheckName]: string } = {
  dataHash: "data hash",
  parse: "file format",
  epoch: "epoch number",
  leafCount: "leaf count",
  root: "Merkle root",
};

export async function rebuildEpochCommand(ctx: AuditContext, params: RebuildParams): Promise<ExitCode> {
  const source = epochSourceOf(params.source, ctx.api);
  const onChain = await epochOf(ctx.commitment, params.epoch);
  if (!isCommitted(onChain)) throw notCommitted(ctx.commitment, params.epoch, await latestEpoch(ctx.commitment));
  const { bytes, from } = await fetchEpochBytes(source, params.epoch, ctx.options.timeoutMs);
  const check = await checkEpoch(params.epoch, onChain, bytes);
  const failed = check.rows.filter((r) => !r.ok).map((r) => CHECK_LABEL[r.check]);

  ctx.out.result(
    {
      command: "rebuild-epoch",
      verdict: check.ok ? "match" : "mismatch",
      chainId: ctx.chain.chainId,
      commitment: ctx.commitment.address,
      blockNumber: ctx.chain.blockNumber,
      epoch: params.epoch,
      source: from,
      bytes: bytes.length,
      committedAt: onChain.committedAt,
      checks: check.rows,
      ...(check.problem === undefined ? {} : { problem: check.problem }),
    },
    () => [
      check.ok
        ? `MATCH: the data file of epoch ${params.epoch} rebuilds exactly what was committed on chain ${ctx.chain.chainId}`
        : `MISMATCH: the data file of epoch ${params.epoch} does not rebuild the commitment (${failed.join(", ")} differ${failed.length === 1 ? "s" : ""})`,
      ...checkTable(check.rows),
      "",
      ...fields([
        ["file", `${from} (${bytes.length} bytes)`],
        ["committed at", when(onChain.committedAt, "s")],
        ["read at block", ctx.chain.blockNumber.toString()],
        ["contract", `OrderbookCommitment ${ctx.commitment.address} on chain ${ctx.chain.chainId} (RPC ${ctx.chain.safeUrl})`],
      ]),
    ],
  );
  return check.ok ? EXIT.ok : EXIT.failed;
}

export function checkTable(rows: readonly CheckRow[]): string[] {
  return table(
    ["check", "on-chain", "from the file", "result"],
    rows.map((r) => [CHECK_LABEL[r.check], r.onChain, r.file, r.ok ? "ok" : "MISMATCH"]),
  );
}
