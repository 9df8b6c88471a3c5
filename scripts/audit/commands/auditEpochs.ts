/**
 * audit-epochs --from N [--to M]: rebuild-epoch over a range of committed epochs (to the latest
 * by default), one after the other, with a progress bar on stderr (a terminal only). An epoch
 * is ok, mismatched (a check of ./epochCheck failed) or missing (no data file where the source
 * should have it, or the source did not answer). Ends with a summary; exit 0 only when every
 * epoch is ok. An RPC that stops answering ends the walk (exit 5): no verdict without the chain.
 */
import { MultiBar, Presets } from "cli-progress";
import { epochOf, latestEpoch, notCommitted } from "../chain";
import type { AuditContext } from "../context";
import { checkEpoch, type CheckRow } from "../epochCheck";
import { AuditError, EXIT, type ExitCode } from "../errors";
import { epochSourceOf, fetchEpochBytes, isMissing, type EpochSourceOptions } from "../epochSource";
import { fields, table } from "../output";
import { CHECK_LABEL } from "./rebuildEpoch";

export interface AuditEpochsParams {
  from: bigint;
  to?: bigint;
  source: Pick<EpochSourceOptions, "dir" | "baseUrl">;
  /** Draw the progress bar (stderr is a terminal, and no --json). */
  progress: boolean;
}

type Status = "ok" | "mismatch" | "missing";

interface EpochResult {
  epoch: bigint;
  status: Status;
  /** What failed: the checks that differ, or why the file is missing. */
  problem?: string;
  checks?: CheckRow[];
}

export async function auditEpochsCommand(ctx: AuditContext, params: AuditEpochsParams): Promise<ExitCode> {
  if (params.from < 1n) throw new AuditError("USAGE", "epochs are numbered from 1: --from must be 1 or more");
  const latest = await latestEpoch(ctx.commitment);
  const to = params.to ?? latest;
  if (to < params.from) throw new AuditError("USAGE", `--to ${to} is before --from ${params.from}`);
  if (params.from > latest) throw notCommitted(ctx.commitment, params.from, latest);
  if (to > latest) throw notCommitted(ctx.commitment, to, latest);
  const source = epochSourceOf(params.source, ctx.api);

  const total = Number(to - params.from + 1n);
  const bars = params.progress ? new MultiBar({ format: "epochs [{bar}] {value}/{total} | epoch {epoch} | {problems} | ETA {eta_formatted}", hideCursor: true, clearOnComplete: false }, Presets.shades_classic) : undefined;
  const bar = bars?.create(total, 0, { epoch: params.from.toString(), problems: "no problem so far" });
  const say = (line: string) => (bars !== undefined ? bars.log(`${line}\n`) : ctx.out.note(line));

  const results: EpochResult[] = [];
  try {
    for (let epoch = params.from; epoch <= to; epoch++) {
      const result = await auditOne(ctx, source, epoch);
      results.push(result);
      if (result.status !== "ok") say(`epoch ${epoch}: ${result.status.toUpperCase()}: ${result.problem}`);
      const bad = results.filter((r) => r.status !== "ok").length;
      bar?.increment(1, { epoch: epoch.toString(), problems: bad === 0 ? "no problem so far" : `${bad} not ok` });
    }
  } finally {
    bars?.stop();
  }

  const count = (s: Status) => results.filter((r) => r.status === s).length;
  const summary = { epochs: results.length, ok: count("ok"), mismatched: count("mismatch"), missing: count("missing") };
  const allOk = summary.ok === summary.epochs;
  ctx.out.result(
    {
      command: "audit-epochs",
      verdict: allOk ? "ok" : "failed",
      chainId: ctx.chain.chainId,
      commitment: ctx.commitment.address,
      blockNumber: ctx.chain.blockNumber,
      from: params.from,
      to,
      latestEpoch: latest,
      summary,
      epochs: results,
    },
    () => [
      allOk
        ? `OK: all ${summary.epochs} epochs from ${params.from} to ${to} rebuild exactly what was committed on chain ${ctx.chain.chainId}`
        : `FAILED: ${summary.epochs - summary.ok} of ${summary.epochs} epochs from ${params.from} to ${to} are not ok`,
      ...(allOk ? [] : [...table(["epoch", "status", "problem"], results.filter((r) => r.status !== "ok").map((r) => [r.epoch.toString(), r.status, r.problem ?? ""])), ""]),
      ...fields([
        ["epochs ok", summary.ok.toString()],
        ["mismatched", summary.mismatched.toString()],
        ["missing files", summary.missing.toString()],
        ["latest epoch", latest.toString()],
        ["read at block", ctx.chain.blockNumber.toString()],
        ["contract", `OrderbookCommitment ${ctx.commitment.address} on chain ${ctx.chain.chainId} (RPC ${ctx.chain.safeUrl})`],
      ]),
    ],
  );
  return allOk ? EXIT.ok : EXIT.failed;
}

async function auditOne(ctx: AuditContext, source: ReturnType<typeof epochSourceOf>, epoch: bigint): Promise<EpochResult> {
  const onChain = await epochOf(ctx.commitment, epoch);
  let bytes: Buffer;
  try {
    ({ bytes } = await fetchEpochBytes(source, epoch, ctx.options.timeoutMs));
  } catch (error) {
    // A file the source lacks, or a source that does not answer: this epoch cannot be audited.
    if (isMissing(error) || (error instanceof AuditError && (error.code === "EPOCH_DATA_UNAVAILABLE" || error.code === "API_UNREACHABLE"))) {
      return { epoch, status: "missing", problem: (error as Error).message };
    }
    throw error;
  }
  const check = await checkEpoch(epoch, onChain, bytes);
  if (check.ok) return { epoch, status: "ok" };
  const differ = check.rows.filter((r) => !r.ok).map((r) => CHECK_LABEL[r.check]);
  return { epoch, status: "mismatch", problem: `${differ.join(", ")} differ${differ.length === 1 ? "s" : ""}${check.problem === undefined ? "" : ` (${check.problem})`}`, checks: check.rows };
}
