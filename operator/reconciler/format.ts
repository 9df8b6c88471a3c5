/**
 * The report as people and machines read it: a plain-text table per chain and token (the
 * one-shot command, the benchmark), and JSON with every amount as a decimal string (bigint
 * does not survive JSON.stringify, and atoms above 2^53 must stay exact).
 */
import { jsonSafe } from "../errors";
import type { ReconcileReport } from "./compare";

function table(rows: readonly string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  "));
}

/** A table per chain and token (ledger, in flight, on chain, drift, solvency), drifting accounts, cross-chain totals. */
export function formatReport(report: ReconcileReport, extra: { rpcRequests?: Record<number, number>; roundMs?: number } = {}): string {
  const lines: string[] = [];
  for (const c of report.chains) {
    const requests = extra.rpcRequests?.[c.chainId];
    lines.push(`chain ${c.chainId} (${c.name}): ${c.status.toUpperCase()}${c.block === undefined ? "" : ` at block ${c.block}`}${requests === undefined ? "" : `, ${requests} RPC requests`}`);
    if (c.status === "unknown") {
      lines.push(`  unknown: ${c.error ?? "not read"}`, "");
      continue;
    }
    const rows = [["token", "address", "accounts", "ledger", "pendingOut", "pendingIn", "wdrHold", "on-chain", "untracked", "drift", "vault holds", "solvency"]];
    for (const t of c.tokens) {
      const solvency = t.deficit > 0n ? `DEFICIT ${t.deficit}` : t.surplus > 0n ? `surplus ${t.surplus}` : "exact";
      rows.push([t.symbol, t.token, String(t.accountsChecked), String(t.ledger), String(t.pendingOut), String(t.pendingIn), String(t.withdrawalHold), String(t.onChain), String(t.untracked), String(t.drift), String(t.holdings), solvency]);
    }
    lines.push(...table(rows).map((l) => `  ${l}`));
    if (c.settlement !== undefined) {
      const s = c.settlement;
      lines.push(`  in flight: ${s.openBatches} open batch(es), ${s.unsettledFills} fill(s) awaiting their outcome, ${s.retryFills} to retry, ${s.dropFills} to unwind`);
    }
    if (c.drifts.length > 0) {
      const d = [["token", "trader", "ledger", "on-chain", "drift"], ...c.drifts.slice(0, 50).map((x) => [x.symbol, x.trader, String(x.ledger), String(x.onChain), String(x.drift)])];
      lines.push("  drifting accounts:", ...table(d).map((l) => `    ${l}`));
      if (c.drifts.length > 50) lines.push(`    ... ${c.drifts.length - 50} more`);
    }
    lines.push("");
  }
  if (report.assets.length > 0) {
    const rows = [["asset", "chains", "ledger", "on-chain", "drift", "vault holds", "surplus", "deficit"]];
    for (const a of report.assets) {
      const chains = a.chains.join(",") + (a.unknownChains.length > 0 ? ` (unknown: ${a.unknownChains.join(",")})` : "");
      rows.push([a.symbol, chains, String(a.ledger), String(a.onChain), String(a.drift), String(a.holdings), String(a.surplus), String(a.deficit)]);
    }
    lines.push("cross-chain totals:", ...table(rows).map((l) => `  ${l}`), "");
  }
  lines.push(`status: ${report.status.toUpperCase()}${report.alerts.length > 0 ? `, ${report.alerts.length} alert(s)` : ""}${extra.roundMs === undefined ? "" : ` (round ${extra.roundMs} ms)`}`);
  return lines.join("\n");
}

/** The report as JSON-safe data: amounts as decimal strings. */
export function reportJson(report: ReconcileReport, extra: Record<string, unknown> = {}): unknown {
  return jsonSafe({ ...report, ...extra });
}
