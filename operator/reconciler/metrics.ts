/**
 * Prometheus metrics of the reconciler (./reconciler.ts). Created once per registry. Labels:
 * `chain` = chain id, `token` = token address (lower case), `symbol` its asset symbol,
 * `trader` = address. Amounts are token atoms (as a float: exact below 2^53, enough to see and
 * alert; the report and the logs carry the exact figures).
 *
 *   hyperindex_reconciler_drift{chain,token,trader}      on-chain - ledger, only where non-zero
 *                                                         (series removed when it goes back to 0)
 *   hyperindex_reconciler_token_drift{chain,token,symbol}       net drift of the token (untracked included)
 *   hyperindex_reconciler_token_abs_drift{chain,token,symbol}   sum of |drift| (what the threshold checks)
 *   hyperindex_reconciler_ledger_total{chain,token,symbol}      sum of the ledger's vault-equivalent balances
 *   hyperindex_reconciler_onchain_total{chain,token,symbol}     sum of the on-chain vault balances
 *   hyperindex_reconciler_in_flight{chain,token,symbol,kind}    pendingOut, pendingIn, withdrawalHold
 *   hyperindex_reconciler_solvency_surplus{chain,token,symbol}  vault holdings - internal balances, >= 0
 *   hyperindex_reconciler_solvency_deficit{chain,token,symbol}  internal balances - holdings, > 0: insolvent
 *   hyperindex_reconciler_chain_status{chain,status}    1 for the chain's status (ok, drift, unknown), 0 otherwise
 *   hyperindex_reconciler_rpc_requests{chain}           JSON-RPC requests of the chain's last read
 *   hyperindex_reconciler_last_round_timestamp_seconds  end of the last round
 *   hyperindex_reconciler_round_seconds                 duration of the last round
 *   hyperindex_reconciler_alerts_total{chain,token}     alerts raised
 *   hyperindex_reconciler_halts_total{market}           markets halted by the reconciler
 */
import { Counter, Gauge, type Registry } from "../metrics";

export interface ReconcilerMetrics {
  drift: Gauge<"chain" | "token" | "trader">;
  tokenDrift: Gauge<"chain" | "token" | "symbol">;
  tokenAbsDrift: Gauge<"chain" | "token" | "symbol">;
  ledgerTotal: Gauge<"chain" | "token" | "symbol">;
  onChainTotal: Gauge<"chain" | "token" | "symbol">;
  inFlight: Gauge<"chain" | "token" | "symbol" | "kind">;
  surplus: Gauge<"chain" | "token" | "symbol">;
  deficit: Gauge<"chain" | "token" | "symbol">;
  chainStatus: Gauge<"chain" | "status">;
  rpcRequests: Gauge<"chain">;
  lastRound: Gauge;
  roundSeconds: Gauge;
  alerts: Counter<"chain" | "token">;
  halts: Counter<"market">;
}

const byRegistry = new WeakMap<Registry, ReconcilerMetrics>();

export function reconcilerMetrics(registry: Registry): ReconcilerMetrics {
  let m = byRegistry.get(registry);
  if (m === undefined) {
    const registers = [registry];
    const tokenLabels = ["chain", "token", "symbol"] as const;
    const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) => new Gauge<L>({ name, help, labelNames, registers });
    m = {
      drift: gauge("hyperindex_reconciler_drift", "On-chain vault balance minus the ledger's, per (chain, token, trader); only non-zero drift", ["chain", "token", "trader"]),
      tokenDrift: gauge("hyperindex_reconciler_token_drift", "Net drift of a token on a chain (on-chain minus ledger, untracked balances included)", tokenLabels),
      tokenAbsDrift: gauge("hyperindex_reconciler_token_abs_drift", "Sum of absolute drift of a token on a chain (compared with the alert threshold)", tokenLabels),
      ledgerTotal: gauge("hyperindex_reconciler_ledger_total", "Sum of the ledger's vault-equivalent balances of a token on a chain", tokenLabels),
      onChainTotal: gauge("hyperindex_reconciler_onchain_total", "Sum of the on-chain vault balances of the ledger's accounts", tokenLabels),
      inFlight: gauge("hyperindex_reconciler_in_flight", "In-flight amounts of a token (pendingOut, pendingIn, withdrawalHold)", ["chain", "token", "symbol", "kind"]),
      surplus: gauge("hyperindex_reconciler_solvency_surplus", "Tokens held by the vault beyond its internal balances (sent directly; not a loss)", tokenLabels),
      deficit: gauge("hyperindex_reconciler_solvency_deficit", "Internal balances the vault's token holdings do not cover (insolvent when > 0)", tokenLabels),
      chainStatus: gauge("hyperindex_reconciler_chain_status", "1 for the chain's reconciliation status (ok, drift, unknown)", ["chain", "status"]),
      rpcRequests: gauge("hyperindex_reconciler_rpc_requests", "JSON-RPC requests of the last reconciliation read of a chain", ["chain"]),
      lastRound: new Gauge({ name: "hyperindex_reconciler_last_round_timestamp_seconds", help: "Unix time of the end of the last reconciliation round", registers }),
      roundSeconds: new Gauge({ name: "hyperindex_reconciler_round_seconds", help: "Duration of the last reconciliation round", registers }),
      alerts: new Counter({ name: "hyperindex_reconciler_alerts_total", help: "Drift or insolvency alerts raised", labelNames: ["chain", "token"], registers }),
      halts: new Counter({ name: "hyperindex_reconciler_halts_total", help: "Markets halted by the reconciler", labelNames: ["market"], registers }),
    };
    byRegistry.set(registry, m);
  }
  return m;
}
