/**
 * What the reconciler does about a drift alert: tell someone (log at error, a counter, an
 * optional webhook POST with a timeout: a dead webhook never blocks a round) and halt intake
 * on the markets that trade the affected (chain, token), and only those: the other markets
 * of the chain, and every other chain, keep trading. A halted market refuses new orders with
 * MARKET_HALTED and the reason below, until an operator runs `npm run admin -- resume-market`.
 *
 * An alert is raised once per (chain, token) and figure: the same drift seen again next round
 * does not alert or halt again (an operator who resumed a market on purpose is not overruled
 * every minute); a changed figure does.
 */
import { redactSecretUrl as redactUrl } from "../config";
import type { Logger } from "../log";
import { getMarketStatus, haltMarket, type Market } from "../markets";
import type { Address } from "../orders/types";
import type { RedisClient } from "../redis";
import type { DriftAlert } from "./compare";
import { ReconcilerError } from "./errors";
import type { ReconcilerMetrics } from "./metrics";

export interface AlertDeps {
  redis: RedisClient;
  logger: Logger;
  metrics?: ReconcilerMetrics;
  fetch?: typeof fetch;
}

export interface AlertParams {
  markets: readonly Market[];
  haltOnDrift: boolean;
  webhookUrl?: string;
  webhookTimeoutMs: number;
}

export interface Halt {
  marketId: number;
  symbol: string;
  reason: string;
}

/** The markets of `chainId` that trade `token` (as base or quote). */
export function marketsTrading(markets: readonly Market[], chainId: number, token: Address): Market[] {
  const t = token.toLowerCase();
  return markets.filter((m) => m.chainId === chainId && (m.baseToken.toLowerCase() === t || m.quoteToken.toLowerCase() === t));
}

export function haltReason(alert: DriftAlert, marketId: number): string {
  const what =
    alert.deficit > 0n
      ? `vault insolvent in ${alert.symbol} by ${alert.deficit} atoms`
      : `ledger and vault disagree on ${alert.symbol} by ${alert.absDrift} atoms`;
  const who = alert.traders.length > 0 ? ` (trader ${alert.traders[0].trader} ${signed(alert.traders[0].drift)}${alert.traders.length > 1 ? `, +${alert.traders.length - 1} more` : ""})` : "";
  return `reconciler: ${what} on chain ${alert.chainId} at block ${alert.block}${who}; token ${alert.token}; resume with: npm run admin -- resume-market ${marketId}`;
}

function signed(v: bigint): string {
  return v > 0n ? `+${v}` : String(v);
}

export function alertKey(alert: DriftAlert): string {
  return `${alert.chainId}|${alert.token}`;
}

export function alertFigure(alert: DriftAlert): string {
  return `${alert.absDrift}|${alert.deficit}`;
}

/** Logs, counts, posts and halts for one new alert; returns the markets it halted. */
export async function raiseAlert(deps: AlertDeps, params: AlertParams, alert: DriftAlert): Promise<Halt[]> {
  const halts: Halt[] = [];
  const affected = marketsTrading(params.markets, alert.chainId, alert.token);
  if (params.haltOnDrift) {
    for (const m of affected) {
      const status = await getMarketStatus(deps, { marketId: m.id });
      if (status?.status === "halted") continue; // keep the first reason
      const reason = haltReason(alert, m.id);
      await haltMarket(deps, { marketId: m.id, reason });
      deps.metrics?.halts.inc({ market: String(m.id) });
      halts.push({ marketId: m.id, symbol: m.symbol, reason });
    }
  }
  deps.metrics?.alerts.inc({ chain: String(alert.chainId), token: alert.token });
  deps.logger.error(
    {
      alert: "reconciler-drift",
      chainId: alert.chainId,
      token: alert.token,
      symbol: alert.symbol,
      block: alert.block.toString(),
      absDrift: alert.absDrift.toString(),
      deficit: alert.deficit.toString(),
      untracked: alert.untracked.toString(),
      traders: alert.traders.map((t) => ({ trader: t.trader, drift: t.drift.toString() })),
      halted: halts.map((h) => h.marketId),
      markets: affected.map((m) => m.id),
    },
    `ALERT: ${alert.deficit > 0n ? "vault insolvent" : "ledger drift"} in ${alert.symbol} on chain ${alert.chainId}` +
      (halts.length > 0 ? `; halted ${halts.map((h) => h.symbol).join(", ")}` : params.haltOnDrift ? "" : " (halting disabled)"),
  );
  if (params.webhookUrl !== undefined) {
    try {
      await postWebhook(deps, params, alert, halts);
    } catch (error) {
      deps.logger.warn({ err: error instanceof Error ? error.message : String(error), webhook: redactUrl(params.webhookUrl) }, "the reconciler's alert webhook failed");
    }
  }
  return halts;
}

async function postWebhook(deps: AlertDeps, params: AlertParams, alert: DriftAlert, halts: readonly Halt[]): Promise<void> {
  const post = deps.fetch ?? fetch;
  const body = {
    kind: "hyperindex.reconciler.alert",
    chainId: alert.chainId,
    token: alert.token,
    symbol: alert.symbol,
    block: alert.block.toString(),
    absDrift: alert.absDrift.toString(),
    deficit: alert.deficit.toString(),
    untracked: alert.untracked.toString(),
    traders: alert.traders.map((t) => ({ trader: t.trader, drift: t.drift.toString() })),
    haltedMarkets: halts.map((h) => ({ marketId: h.marketId, symbol: h.symbol, reason: h.reason })),
  };
  let response: Response;
  try {
    response = await post(params.webhookUrl!, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(params.webhookTimeoutMs),
    });
  } catch (error) {
    throw new ReconcilerError("RECONCILER_WEBHOOK", `alert webhook ${redactUrl(params.webhookUrl!)}: no answer within ${params.webhookTimeoutMs} ms or unreachable`, { cause: error });
  }
  if (!response.ok) {
    throw new ReconcilerError("RECONCILER_WEBHOOK", `alert webhook ${redactUrl(params.webhookUrl!)} answered HTTP ${response.status}`, { details: { status: response.status } });
  }
}
