/**
 * The reconciler's comparison: a pure function from consistent per-chain snapshots (./reader.ts)
 * to a report. Pure so that it can be property-tested (test/operator/reconciler/compare.test.ts)
 * and so that the daemon, the one-shot command and the benchmark judge drift the same way.
 *
 * Per (chain, token, trader), against the chain state the ledger has APPLIED (the watcher's
 * cursor block B, at which the on-chain side was read):
 *
 *   ledger   = available + locked + pendingOut + withdrawalHold - withdrawalDebt
 *              (operator/ledger vaultBalanceOf: what the vault must hold for the trader)
 *   onChain  = Settlement.balanceOf(trader, token) at block B
 *   drift    = onChain - ledger         (positive: the vault holds more than the ledger says)
 *
 * What is legitimately in flight is already inside that identity, and is reported beside it:
 * pendingOut (matched fills not settled yet: still in the vault, still counted), pendingIn
 * (not in the vault yet, not counted), withdrawal holds (requested, still in the vault), and
 * the settler's open batches and unresolved fills. Whatever the chain did after B (a batch
 * mined but not applied yet) is not visible at B: it is in flight, never drift.
 *
 * Per (chain, token):
 *   untracked = Settlement.totalBalance(token) - sum of onChain over the ledger's accounts:
 *               internal balances on chain that no ledger account explains (a vault account
 *               the ledger never heard of, or the contract's total disagreeing with its
 *               balances). Counted as drift of the token, attributed to no trader.
 *   solvency  = token.balanceOf(Settlement) - Settlement.totalBalance(token): a surplus
 *               (tokens sent to the vault directly) is reported, not a loss and not drift; a
 *               deficit means the vault cannot pay every internal balance: insolvent.
 *
 * Per chain, a status: "unknown" when its snapshot could not be read (RPC down: never drift,
 * never an alert), "drift" when any token drifts or is insolvent, else "ok".
 * Across chains, totals per asset symbol (USDC on two chains is one asset).
 *
 * Alerts: a (chain, token) whose absolute drift (sum over traders of |drift| plus |untracked|)
 * exceeds the threshold, or that is insolvent. The caller alerts and halts those markets.
 * Amounts are token atoms, bigint throughout.
 */
import type { Balance } from "../ledger/types";
import type { Address } from "../orders/types";

export type ChainStatus = "ok" | "drift" | "unknown";

export interface TokenInfo {
  address: Address;
  /** The asset's symbol ("USDC"): cross-chain totals group by it. */
  symbol: string;
}

/** One (trader, token) of one chain, both sides read against the same block. */
export interface AccountInput {
  trader: Address;
  token: Address;
  ledger: Balance;
  onChain: bigint;
}

/** The settler's work not final yet (operator/settlement keys): reported, never compared. */
export interface SettlementInFlight {
  /** Batch intents broadcast or persisted, not final yet. */
  openBatches: number;
  /** Fills in a batch whose outcome is not applied yet. */
  unsettledFills: number;
  /** Fills to retry in a later batch, or to unwind. */
  retryFills: number;
  dropFills: number;
}

export interface ChainSnapshot {
  /** The watcher's applied block: the ledger reflects the chain up to it, the chain was read at it. */
  block: bigint;
  accounts: readonly AccountInput[];
  /** token -> token.balanceOf(Settlement) at `block`. */
  holdings: Readonly<Record<Address, bigint>>;
  /** token -> Settlement.totalBalance(token) at `block`: the sum of its internal balances. */
  totals: Readonly<Record<Address, bigint>>;
  settlement: SettlementInFlight;
}

export interface ChainInput {
  chainId: number;
  name: string;
  tokens: readonly TokenInfo[];
  /** Absent: the chain could not be read (then `error` says why). */
  snapshot?: ChainSnapshot;
  error?: string;
  /**
   * Accounts ("token|trader", lower case) whose drift an earlier snapshot also showed. When
   * given, a drifting account outside it is "unconfirmed" (a ledger read that raced a
   * watcher handler) and not counted; see ./index.ts.
   */
  confirmed?: ReadonlySet<string>;
}

export interface ReconcileInput {
  chains: readonly ChainInput[];
  /** Alert above this absolute drift per (chain, token), in atoms. */
  driftThreshold: bigint;
}

export interface AccountDrift {
  chainId: number;
  token: Address;
  symbol: string;
  trader: Address;
  ledger: bigint;
  onChain: bigint;
  drift: bigint;
  pendingOut: bigint;
  pendingIn: bigint;
  withdrawalHold: bigint;
}

export interface TokenReport {
  chainId: number;
  token: Address;
  symbol: string;
  /** Sum over the ledger's accounts of the vault-equivalent balance. */
  ledger: bigint;
  /** In flight, inside `ledger` (pendingOut, withdrawalHold) or not yet (pendingIn). */
  pendingOut: bigint;
  pendingIn: bigint;
  withdrawalHold: bigint;
  /** Sum over the ledger's accounts of their on-chain vault balances. */
  onChain: bigint;
  /** Settlement.totalBalance(token). */
  internalTotal: bigint;
  /** internalTotal - onChain: internal balances no ledger account explains. */
  untracked: bigint;
  /** onChain - ledger + untracked (signed net). */
  drift: bigint;
  /** Sum of |drift| over the accounts, plus |untracked|: what the threshold is checked against. */
  absDrift: bigint;
  /** token.balanceOf(Settlement). */
  holdings: bigint;
  surplus: bigint;
  deficit: bigint;
  accountsChecked: number;
  driftingAccounts: number;
  /** Drifting accounts an earlier snapshot did not confirm (not counted). */
  unconfirmed: number;
}

export interface ChainReport {
  chainId: number;
  name: string;
  status: ChainStatus;
  block?: bigint;
  error?: string;
  tokens: TokenReport[];
  /** Non-zero drift, per (token, trader), largest first. */
  drifts: AccountDrift[];
  settlement?: SettlementInFlight;
}

export interface AssetTotal {
  symbol: string;
  chains: number[];
  /** Chains listing the asset whose status is unknown: the totals leave them out. */
  unknownChains: number[];
  ledger: bigint;
  onChain: bigint;
  internalTotal: bigint;
  holdings: bigint;
  drift: bigint;
  surplus: bigint;
  deficit: bigint;
}

export interface DriftAlert {
  chainId: number;
  token: Address;
  symbol: string;
  block: bigint;
  absDrift: bigint;
  deficit: bigint;
  /** The traders with the largest drift (at most 5). */
  traders: { trader: Address; drift: bigint }[];
  untracked: bigint;
}

export interface ReconcileReport {
  chains: ChainReport[];
  assets: AssetTotal[];
  alerts: DriftAlert[];
  /** "unknown" if any chain is, else "drift" if any chain drifts, else "ok". */
  status: ChainStatus;
}

export function accountId(token: string, trader: string): string {
  return `${token.toLowerCase()}|${trader.toLowerCase()}`;
}

const abs = (v: bigint): bigint => (v < 0n ? -v : v);

export function reconcile(input: ReconcileInput): ReconcileReport {
  const chains = input.chains.map((c) => reconcileChain(c));
  const alerts: DriftAlert[] = [];
  for (const chain of chains) {
    if (chain.status !== "drift") continue;
    for (const t of chain.tokens) {
      if (t.absDrift <= input.driftThreshold && t.deficit === 0n) continue;
      alerts.push({
        chainId: chain.chainId,
        token: t.token,
        symbol: t.symbol,
        block: chain.block!,
        absDrift: t.absDrift,
        deficit: t.deficit,
        untracked: t.untracked,
        traders: chain.drifts
          .filter((d) => d.token === t.token)
          .slice(0, 5)
          .map((d) => ({ trader: d.trader, drift: d.drift })),
      });
    }
  }
  const status: ChainStatus = chains.some((c) => c.status === "unknown") ? "unknown" : chains.some((c) => c.status === "drift") ? "drift" : "ok";
  return { chains, assets: assetTotals(input.chains, chains), alerts, status };
}

function reconcileChain(c: ChainInput): ChainReport {
  const snap = c.snapshot;
  if (snap === undefined) {
    return { chainId: c.chainId, name: c.name, status: "unknown", error: c.error ?? "no snapshot", tokens: [], drifts: [] };
  }
  const symbols = new Map(c.tokens.map((t) => [t.address.toLowerCase(), t.symbol]));
  const rows = new Map<string, TokenReport>();
  for (const t of c.tokens) {
    const token = t.address.toLowerCase() as Address;
    const internalTotal = snap.totals[token] ?? 0n;
    const holdings = snap.holdings[token] ?? 0n;
    rows.set(token, {
      chainId: c.chainId,
      token,
      symbol: t.symbol,
      ledger: 0n,
      pendingOut: 0n,
      pendingIn: 0n,
      withdrawalHold: 0n,
      onChain: 0n,
      internalTotal,
      untracked: 0n,
      drift: 0n,
      absDrift: 0n,
      holdings,
      surplus: holdings > internalTotal ? holdings - internalTotal : 0n,
      deficit: holdings < internalTotal ? internalTotal - holdings : 0n,
      accountsChecked: 0,
      driftingAccounts: 0,
      unconfirmed: 0,
    });
  }
  const drifts: AccountDrift[] = [];
  /** Per token, the sum of the accounts' on-chain balances as read (unconfirmed ones included). */
  const read = new Map<string, bigint>();
  for (const a of snap.accounts) {
    const token = a.token.toLowerCase() as Address;
    const row = rows.get(token);
    if (row === undefined) continue; // a token no market of this chain trades: not reconciled
    const b = a.ledger;
    const ledger = b.available + b.locked + b.pendingOut + (b.withdrawalHold ?? 0n) - (b.withdrawalDebt ?? 0n);
    row.ledger += ledger;
    row.onChain += a.onChain;
    row.pendingOut += b.pendingOut;
    row.pendingIn += b.pendingIn;
    row.withdrawalHold += b.withdrawalHold ?? 0n;
    row.accountsChecked++;
    read.set(token, (read.get(token) ?? 0n) + a.onChain);
    const drift = a.onChain - ledger;
    if (drift === 0n) continue;
    if (c.confirmed !== undefined && !c.confirmed.has(accountId(token, a.trader))) {
      // Counted as if it matched: the sums stay consistent with the accounts that count.
      row.unconfirmed++;
      row.onChain -= drift;
      continue;
    }
    row.driftingAccounts++;
    row.drift += drift;
    row.absDrift += abs(drift);
    drifts.push({
      chainId: c.chainId,
      token,
      symbol: symbols.get(token) ?? token,
      trader: a.trader.toLowerCase() as Address,
      ledger,
      onChain: a.onChain,
      drift,
      pendingOut: b.pendingOut,
      pendingIn: b.pendingIn,
      withdrawalHold: b.withdrawalHold ?? 0n,
    });
  }
  for (const row of rows.values()) {
    row.untracked = row.internalTotal - (read.get(row.token) ?? 0n);
    row.drift += row.untracked;
    row.absDrift += abs(row.untracked);
  }
  drifts.sort((x, y) => (abs(y.drift) > abs(x.drift) ? 1 : abs(y.drift) < abs(x.drift) ? -1 : 0));
  const tokens = [...rows.values()];
  const status: ChainStatus = tokens.some((t) => t.absDrift !== 0n || t.deficit !== 0n) ? "drift" : "ok";
  return { chainId: c.chainId, name: c.name, status, block: snap.block, tokens, drifts, settlement: snap.settlement };
}

function assetTotals(inputs: readonly ChainInput[], reports: readonly ChainReport[]): AssetTotal[] {
  const out = new Map<string, AssetTotal>();
  const of = (symbol: string): AssetTotal => {
    let a = out.get(symbol);
    if (a === undefined) {
      a = { symbol, chains: [], unknownChains: [], ledger: 0n, onChain: 0n, internalTotal: 0n, holdings: 0n, drift: 0n, surplus: 0n, deficit: 0n };
      out.set(symbol, a);
    }
    return a;
  };
  for (const [i, report] of reports.entries()) {
    if (report.status === "unknown") {
      for (const t of inputs[i].tokens) of(t.symbol).unknownChains.push(report.chainId);
      continue;
    }
    for (const t of report.tokens) {
      const a = of(t.symbol);
      if (!a.chains.includes(report.chainId)) a.chains.push(report.chainId);
      a.ledger += t.ledger;
      a.onChain += t.onChain;
      a.internalTotal += t.internalTotal;
      a.holdings += t.holdings;
      a.drift += t.drift;
      a.surplus += t.surplus;
      a.deficit += t.deficit;
    }
  }
  return [...out.values()].sort((x, y) => (x.symbol < y.symbol ? -1 : x.symbol > y.symbol ? 1 : 0));
}
