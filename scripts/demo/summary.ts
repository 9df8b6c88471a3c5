/**
 * The demo's closing summary, for people: what was sent and what happened, the book, every
 * trader's ledger, and the ledger checked against the Settlement vault on chain
 * (available + locked + pendingOut must equal the vault balance while nothing is settled).
 */
import type { Address } from "../../operator/orders";

export interface DemoStats {
  sent: number;
  accepted: number;
  rejected: Map<string, number>;
  fills: number;
  /** Milliseconds per order of each request. */
  latencies: number[];
  cancelled: number;
}

interface LedgerEntry {
  available: string;
  locked: string;
  pendingOut: string;
  pendingIn: string;
}

interface SummaryInput {
  stats: DemoStats;
  wsSeen: { book: number; trades: number; tradeCount: number };
  book: { bids: { price: string; amount: string }[]; asks: { price: string; amount: string }[] };
  traders: { name: string; address: Address }[];
  balances: Map<string, unknown>;
  onChain: { name: string; weth: bigint; usdc: bigint }[];
  tokens: { weth: Address; usdc: Address };
  seconds: number;
}

function units(atoms: bigint | string, decimals: number, shown = 4): string {
  const value = BigInt(atoms);
  const scale = 10n ** BigInt(decimals);
  const whole = value / scale;
  const frac = (value % scale).toString().padStart(decimals, "0").slice(0, shown);
  return `${whole}.${frac}`;
}

function row(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
}

export function printSummary(input: SummaryInput): void {
  const { stats } = input;
  const latencies = [...stats.latencies].sort((a, b) => a - b);
  const median = latencies[Math.floor(latencies.length / 2)] ?? 0;
  console.log(`  orders sent       ${stats.sent}`);
  console.log(`  accepted          ${stats.accepted}`);
  console.log(`  refused           ${[...stats.rejected.values()].reduce((a, b) => a + b, 0)}  (${[...stats.rejected.entries()].map(([c, n]) => `${c} x${n}`).join(", ")})`);
  console.log(`  fills             ${stats.fills}  (pending on-chain settlement: batches are not built yet)`);
  console.log(`  cancelled         ${stats.cancelled}`);
  console.log(`  order latency     median ${median.toFixed(1)} ms per order over HTTP`);
  console.log(`  websocket         ${input.wsSeen.book} book updates, ${input.wsSeen.trades} trade messages (${input.wsSeen.tradeCount} trades)`);
  const top = (levels: { price: string; amount: string }[]) => levels.slice(0, 3).map((l) => `${units(l.price, 6, 2)} x ${units(l.amount, 18, 3)}`).join(", ") || "(empty)";
  console.log(`  book before cancels: bids ${top(input.book.bids)}`);
  console.log(`                       asks ${top(input.book.asks)}`);

  console.log("\n  ledger (WETH | USDC: available / locked / pending out / pending in) and the vault on chain");
  const widths = [9, 44, 50, 9];
  console.log(row(["trader", "WETH", "USDC", "matches"], widths));
  let mismatches = 0;
  for (const [i, t] of input.traders.entries()) {
    const ledger = input.balances.get(t.name) as { chains: { chainId: number; balances: Record<string, LedgerEntry> }[] };
    const w = ledger.chains[0].balances[input.tokens.weth];
    const u = ledger.chains[0].balances[input.tokens.usdc];
    const chain = input.onChain[i];
    // While nothing is settled, the vault still holds what the ledger counts as available,
    // locked or owed by pending fills.
    const holds = (e: LedgerEntry) => BigInt(e.available) + BigInt(e.locked) + BigInt(e.pendingOut);
    const ok = holds(w) === chain.weth && holds(u) === chain.usdc;
    if (!ok) mismatches++;
    const fmt = (e: LedgerEntry, d: number, s: number) => [e.available, e.locked, e.pendingOut, e.pendingIn].map((v) => units(v, d, s)).join(" / ");
    console.log(row([t.name, fmt(w, 18, 3), fmt(u, 6, 2), ok ? "yes" : "NO"], widths));
  }
  console.log(
    mismatches === 0
      ? "\n  reconciliation: every trader's ledger matches its vault balance on chain"
      : `\n  reconciliation: ${mismatches} trader(s) do NOT match the vault`,
  );
  console.log(`\ndone in ${input.seconds.toFixed(1)} s`);
  if (mismatches > 0) process.exitCode = 1;
}
