/**
 * The cross-chain balance reconciler (DESIGN.md "Cross-chain reconciler"): on every configured
 * chain, the ledger against the on-chain vault at the block the ledger has applied, solvency
 * of each vault, totals per asset across chains; drift exported, alerted, and the affected
 * markets halted.
 *
 *   reconcile               the comparison, pure (./compare.ts)
 *   readChainSnapshot       one chain's block-pinned snapshot, batched (./reader.ts)
 *   createReconciler        rounds, metrics, alerts, halts, and the daemon's loop (./reconciler.ts)
 *   reconcilerParamsOf      the reconciler's parameters from the operator's configuration
 */
import type { OperatorConfig } from "../config";
import type { ReconcilerParams } from "./reconciler";

export {
  reconcile,
  accountId,
  type ReconcileInput,
  type ReconcileReport,
  type ChainInput,
  type ChainSnapshot,
  type ChainReport,
  type ChainStatus,
  type TokenReport,
  type TokenInfo,
  type AccountInput,
  type AccountDrift,
  type AssetTotal,
  type DriftAlert,
  type SettlementInFlight,
} from "./compare";
export { readChainSnapshot, readAppliedBlock, listLedgerTraders, type ChainRead, type ReadChainDeps, type ReadChainParams } from "./reader";
export { createReconciler, chainTokens, type Reconciler, type ReconcilerChain, type ReconcilerDeps, type ReconcilerParams, type RoundResult } from "./reconciler";
export { marketsTrading, haltReason, type Halt } from "./alerts";
export { reconcilerMetrics, type ReconcilerMetrics } from "./metrics";
export { ReconcilerError, type ReconcilerErrorCode } from "./errors";
export { formatReport, reportJson } from "./format";

export function reconcilerParamsOf(config: Pick<OperatorConfig, "reconciler">): ReconcilerParams {
  const r = config.reconciler;
  return {
    driftThreshold: r.driftThreshold,
    intervalMs: r.intervalMs,
    haltOnDrift: r.halt,
    pairsPerCall: r.pairsPerCall,
    webhookTimeoutMs: r.webhookTimeoutMs,
    ...(r.webhookUrl === undefined ? {} : { webhookUrl: r.webhookUrl }),
    ...(r.callGas === undefined ? {} : { callGas: r.callGas }),
  };
}
