/**
 * The demo's closing summary, for people: what the traders sent and what became of it, what
 * settled on chain (batches, gas per fill, settlement lag), the WebSocket feed, the withdrawal,
 * and the final check: every trader's vault balance on chain equals the ledger, with nothing
 * pending and no fill unresolved. Returns whether that check (and the demo's other
 * expectations) held.
 */
import type { Address } from "../../operator/orders";
import type { VaultCheck } from "../lib/stack";
import type { RefusalOutcome } from "./market";
import type { SettlementReport } from "./settlement";
import { byCode, ms, percentile, units, type OrderStats } from "./stats";
import type { MarketWatch } from "./watch";
import type { WithdrawalReport } from "./withdrawal";

export interface SummaryInput {
  stats: OrderStats;
  refusals: readonly RefusalOutcome[];
  settlement: SettlementReport;
  watch: MarketWatch;
  /** Traders whose private channel the WebSocket client followed. */
  watched: readonly { name: string; address: Address }[];
  book: { bids: { price: string; amount: string }[]; asks: { price: string; amount: string }[] } | undefined;
  withdrawal: WithdrawalReport | undefined;
  /** Every account's vault balances on chain (WETH, USDC), the fee recipient's included. */
  vaults: readonly { name: string; address: Address; weth: bigint; usdc: bigint }[];
  check: VaultCheck;
  tokens: { weth: Address; usdc: Address };
  tradingSeconds: number;
}

const label = (s: string) => `  ${s.padEnd(16)}`;

export function printSummary(input: SummaryInput): boolean {
  const { stats, settlement: st, check } = input;
  const problems: string[] = [];

  const latencies = [...stats.latencies].sort((a, b) => a - b);
  console.log(`${label("orders")}${stats.sent} sent in ${input.tradingSeconds.toFixed(0)} s: ${stats.accepted} accepted, ${stats.refusedTotal} refused`);
  console.log(`${label("")}refused for cause: ${byCode(stats.refusedForCause)}`);
  console.log(`${label("")}refused otherwise: ${byCode(stats.refused)}`);
  for (const r of input.refusals) {
    if (r.code !== r.expected) problems.push(`the order "${r.what}" got ${r.code ?? `accepted (${r.status})`}, not ${r.expected}`);
  }
  console.log(`${label("order latency")}median ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms per order over HTTP`);
  const c = stats.cancelled;
  console.log(`${label("cancels")}${c.oneByOne} one by one, ${c.requote} in the maker's re-quotes, ${c.atEnd} by cancel-all at the end${c.tooLate > 0 ? ` (${c.tooLate} too late: already filled)` : ""}`);

  const resolved = st.fillsSettled + st.fillsSkipped;
  console.log(`${label("fills")}${stats.fills} matched; on chain ${st.fillsSettled} settled, ${st.fillsSkipped} skipped${st.skipped.size > 0 ? ` (${byCode(st.skipped)})` : ""}`);
  if (resolved !== stats.fills) problems.push(`${stats.fills} fills matched but ${resolved} resolved on chain`);
  const batchStates = [...st.batches.entries()].filter(([s]) => s !== "settled");
  console.log(`${label("batches")}${st.batchesSettled} settled${batchStates.length > 0 ? `, ${batchStates.map(([s, n]) => `${n} ${s}`).join(", ")}` : ", none reverted"}; ${(st.gasFills / Math.max(1, st.batches.get("settled") ?? 0)).toFixed(1)} fills per batch`);
  const gasPerFill = st.gasFills > 0 ? Number(st.gasUsed / BigInt(st.gasFills)) : NaN;
  console.log(`${label("gas per fill")}${Number.isNaN(gasPerFill) ? "n/a" : gasPerFill.toLocaleString("en-US")} (settled batches' gasUsed ${st.gasUsed.toLocaleString("en-US")} / ${st.gasFills} fills; blocks of 3,000,000 gas)`);
  console.log(`${label("settlement lag")}p50 ${ms(st.lagP50)}, p99 ${ms(st.lagP99)}, max ${ms(st.lagMax)} (matched -> Filled applied, ${st.lagCount} fills)`);

  const w = input.watch;
  const perTrader = input.watched.map((t) => {
    const u = w.updatesOf(t.address);
    const n = (f: (x: (typeof u)[number]) => boolean) => u.filter(f).length;
    return `${t.name}: ${n((x) => x.event === "fill")} fills, ${n((x) => x.event === "settlement" && x.status === "settled")} settled, ${n((x) => x.event === "cancelled")} cancelled (${n((x) => x.reason === "WITHDRAWAL")} WITHDRAWAL)`;
  });
  console.log(`${label("websocket")}${w.seen.book} book snapshots, ${w.seen.trades} trade messages (${w.seen.tradeCount} trades)`);
  console.log(`${label("")}private channels: ${perTrader.join("; ")}`);
  if (w.seen.errors.length > 0) problems.push(`WebSocket errors: ${w.seen.errors.join("; ")}`);
  const top = (levels: { price: string; amount: string }[] = []) => levels.slice(0, 3).map((l) => `${units(l.price, 6, 2)} x ${units(l.amount, 18, 3)}`).join(", ") || "(empty)";
  console.log(`${label("book at the end")}(before the cancel-all) bids ${top(input.book?.bids)}`);
  console.log(`${label("")}(before the cancel-all) asks ${top(input.book?.asks)}`);

  const wd = input.withdrawal;
  if (wd === undefined) problems.push("the withdrawal did not happen");
  else {
    const f = (v: bigint | undefined) => `${units(v ?? 0n, 18, 2)} ${wd.symbol}`;
    console.log(
      `${label("withdrawal")}${f(wd.amount)} through the escape hatch in ${wd.seconds.toFixed(1)} s: ledger hold ${f(wd.held.withdrawalHold)} ` +
        `(${wd.cancelledForWithdrawal} orders cancelled to fund it), finalize before the ${wd.delaySeconds} s delay ${wd.earlyFinalize}, finalized by the trader after it; ` +
        `wallet ${f(wd.walletBefore)} -> ${f(wd.walletAfter)}`,
    );
  }

  console.log("\n  vaults on chain (Settlement.balancesOf) against the ledger (available + locked + pendingOut + withdrawalHold - withdrawalDebt)");
  const widths = [18, 16, 20, 10];
  const row = (cells: string[]) => "    " + cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ");
  console.log(row(["account", "WETH", "USDC", "ledger"]));
  for (const v of input.vaults) {
    const bad = check.mismatches.filter((m) => m.trader.toLowerCase() === v.address.toLowerCase());
    console.log(row([v.name, units(v.weth, 18, 4), units(v.usdc, 6, 2), bad.length === 0 ? "equal" : "DIFFERENT"]));
    for (const m of bad) {
      const token = m.token === input.tokens.weth ? "WETH" : m.token === input.tokens.usdc ? "USDC" : m.token;
      const d = token === "WETH" ? 18 : 6;
      console.log(`      ${token}: vault ${units(m.vault, d, d)}, ledger ${units(m.ledger, d, d)} (difference ${units(m.vault - m.ledger, d, d)})`);
    }
  }
  for (const m of check.mismatches) {
    if (!input.vaults.some((v) => v.address.toLowerCase() === m.trader.toLowerCase())) problems.push(`${m.trader} ${m.token}: vault ${m.vault}, ledger ${m.ledger}`);
  }
  if (check.mismatches.length > 0) problems.push(`${check.mismatches.length} vault balance(s) differ from the ledger`);
  if (check.pending !== 0n) problems.push(`the ledger still has ${check.pending} atoms pending settlement`);
  if (check.unresolvedFills !== 0) problems.push(`${check.unresolvedFills} fill(s) unresolved by the settler`);

  const ok = check.ok && problems.length === 0;
  console.log(
    ok
      ? `\n  check: every vault on chain equals the ledger (${input.vaults.length} accounts x 2 tokens), nothing pending, no fill unresolved: OK`
      : `\n  check FAILED:\n${problems.map((p) => `    - ${p}`).join("\n")}`,
  );
  return ok;
}
