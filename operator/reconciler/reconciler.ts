/**
 * The reconciler as the daemon runs it: a round reads every configured chain's consistent
 * snapshot (./reader.ts) in parallel, compares (./compare.ts), exports the figures as metrics
 * (./metrics.ts), logs drift, and for each (chain, token) above the threshold or insolvent
 * raises an alert and halts that token's markets on that chain (./alerts.ts).
 *
 * Never a false alarm:
 *  - both sides are read against the watcher's applied block (./reader.ts);
 *  - drift seen in a snapshot is confirmed by a second one, `confirmDelayMs` later (by then a
 *    watcher handler that raced the first read has saved its cursor): only the accounts that
 *    drift in both count. A real drift survives any number of reads; a race does not repeat
 *    itself on the same account.
 * Never a false halt of a healthy chain: a chain that cannot be read (RPC down: its budgeted
 * client retries, then its circuit breaker fails fast) is "unknown": no drift, no alert, no
 * halt, and the other chains are read and judged as usual (each chain's read is separate).
 *
 * Budget: a round costs ceil(accounts x tokens / pairsPerCall) + 1 requests per chain (the
 * confirmation read again only when drift was seen), through the chain's shared client, so
 * its requests queue behind nothing urgent (transactions jump the queue there) and the
 * interval keeps the reconciler a small share of a 100-requests-per-minute RPC.
 * A round never writes to the ledger and takes no lock: intake and settlement never wait on it.
 */
import type { PublicClient } from "viem";
import type { ChainClient } from "../chain";
import type { Logger } from "../log";
import type { Market } from "../markets";
import type { Registry } from "../metrics";
import type { Address } from "../orders/types";
import type { RedisClient } from "../redis";
import { createLoop, type Loop } from "../tasks";
import { alertFigure, alertKey, raiseAlert, type Halt } from "./alerts";
import { accountId, reconcile, type ChainInput, type ChainSnapshot, type ReconcileReport, type TokenInfo } from "./compare";
import { ReconcilerError } from "./errors";
import { reconcilerMetrics, type ReconcilerMetrics } from "./metrics";
import { readChainSnapshot } from "./reader";

/** One chain as the reconciler reads it. */
export interface ReconcilerChain {
  chainId: number;
  name: string;
  client: PublicClient;
  settlement: Address;
  /** The chain's fee account (Settlement's fee recipient), reconciled even before it holds anything. */
  feeAccount?: Address;
}

export interface ReconcilerDeps {
  redis: RedisClient;
  logger: Logger;
  metrics?: Registry;
  /** The daemon's chain clients (operator/chain createChainClients), or the chains as the reconciler needs them. */
  chains: ReadonlyMap<number, ChainClient> | readonly ReconcilerChain[];
  /** Every market served: they name the tokens reconciled per chain and the markets to halt. */
  markets: readonly Market[];
  /** Fee account per chain (the daemon has them from checkChain). */
  feeAccounts?: ReadonlyMap<number, Address>;
  fetch?: typeof fetch;
}

export interface ReconcilerParams {
  /** Alert and halt above this absolute drift per (chain, token), in atoms (0: any drift). */
  driftThreshold: bigint;
  intervalMs: number;
  /** Halt the affected markets on an alert. */
  haltOnDrift: boolean;
  webhookUrl?: string;
  webhookTimeoutMs?: number;
  /** (trader, token) pairs per balancesOf call. */
  pairsPerCall: number;
  /** Gas of each eth_call (default: the node's). */
  callGas?: bigint;
  /** Wait before the confirmation read of a drift. Default 1,000 ms. */
  confirmDelayMs?: number;
}

export interface RoundResult {
  report: ReconcileReport;
  /** JSON-RPC requests per chain id, this round (confirmation read included). */
  rpcRequests: Record<number, number>;
  roundMs: number;
  /** Markets halted by this round. */
  halts: Halt[];
  finishedAt: number;
}

export interface Reconciler {
  /** One round: read, compare, export, alert, halt. Rejects only when Redis fails. */
  runOnce(signal?: AbortSignal): Promise<RoundResult>;
  /** The loop "reconciler" (operator/tasks): every intervalMs, never two rounds at once. */
  readonly loop: Loop;
  start(): void;
  stop(): Promise<void>;
  /** The last round's result. */
  last(): RoundResult | undefined;
}

/** The tokens each chain's markets trade, with the asset symbol from the market symbol ("WETH-USDC") until the token's own is read. */
const ERC20_SYMBOL_ABI = [{ type: "function", name: "symbol", stateMutability: "view", inputs: [], outputs: [{ name: "", type: "string" }] }] as const;

export function chainTokens(markets: readonly Market[], chainId: number): TokenInfo[] {
  const out = new Map<string, TokenInfo>();
  for (const m of markets) {
    if (m.chainId !== chainId) continue;
    const [base, quote] = m.symbol.split("-");
    const b = m.baseToken.toLowerCase() as Address;
    const q = m.quoteToken.toLowerCase() as Address;
    if (!out.has(b)) out.set(b, { address: b, symbol: base || b });
    if (!out.has(q)) out.set(q, { address: q, symbol: quote || q });
  }
  return [...out.values()];
}

function toChains(deps: ReconcilerDeps): ReconcilerChain[] {
  const list = deps.chains instanceof Map ? [...(deps.chains as ReadonlyMap<number, ChainClient>).values()] : (deps.chains as readonly (ChainClient | ReconcilerChain)[]);
  return list
    .map((c): ReconcilerChain => {
      const settlement = "config" in c ? c.settlement.address : (c as ReconcilerChain).settlement;
      const feeAccount = deps.feeAccounts?.get(c.chainId) ?? ("feeAccount" in c ? c.feeAccount : undefined);
      return { chainId: c.chainId, name: c.name, client: c.client, settlement, ...(feeAccount === undefined ? {} : { feeAccount }) };
    })
    .sort((a, b) => a.chainId - b.chainId);
}

export function createReconciler(deps: ReconcilerDeps, params: ReconcilerParams): Reconciler {
  const logger = deps.logger.child({ at: "reconciler" });
  const metrics: ReconcilerMetrics | undefined = deps.metrics === undefined ? undefined : reconcilerMetrics(deps.metrics);
  const chains = toChains(deps);
  const tokens = new Map(chains.map((c) => [c.chainId, chainTokens(deps.markets, c.chainId)]));
  const confirmDelayMs = params.confirmDelayMs ?? 1_000;
  /** (chain, token) -> the figure last alerted: the same figure again is not a new alert. */
  const alerted = new Map<string, string>();
  /** Drift series exported last round, to remove those that went back to zero. */
  let driftSeries: { chain: string; token: string; trader: string }[] = [];
  let last: RoundResult | undefined;

  async function read(chain: ReconcilerChain, signal?: AbortSignal): Promise<{ snapshot?: ChainSnapshot; error?: string; rpcRequests: number }> {
    try {
      const r = await readChainSnapshot(
        { redis: deps.redis, client: chain.client },
        {
          chainId: chain.chainId,
          settlement: chain.settlement,
          tokens: tokens.get(chain.chainId)!.map((t) => t.address),
          ...(chain.feeAccount === undefined ? {} : { feeAccount: chain.feeAccount }),
          pairsPerCall: params.pairsPerCall,
          ...(params.callGas === undefined ? {} : { callGas: params.callGas }),
          ...(signal === undefined ? {} : { signal }),
        },
      );
      return { snapshot: r.snapshot, rpcRequests: r.rpcRequests };
    } catch (error) {
      if (!(error instanceof ReconcilerError)) throw error; // Redis: the round fails, the loop backs off
      logger.warn({ chainId: chain.chainId, code: error.code, err: error.message }, `chain ${chain.chainId}: reconciliation status unknown (${error.code})`);
      return { error: error.message, rpcRequests: (error.details.rpcRequests as number | undefined) ?? 0 };
    }
  }

  /**
   * Asset symbols from the tokens themselves (ERC-20 symbol()), once per token: market names
   * are unique across chains, so one asset may trade as "WETH-USDC" on one chain and
   * "ETH-USDC" on another; the token's own symbol joins them in the cross-chain totals. A token
   * without symbol() keeps the name from its market; a chain that does not answer is asked
   * again next round.
   */
  const symbolsRead = new Set<string>();
  async function resolveSymbols(chain: ReconcilerChain): Promise<void> {
    for (const t of tokens.get(chain.chainId)!) {
      const key = `${chain.chainId}|${t.address}`;
      if (symbolsRead.has(key)) continue;
      try {
        const symbol = await chain.client.readContract({ address: t.address, abi: ERC20_SYMBOL_ABI, functionName: "symbol" });
        if (typeof symbol === "string" && /^[\x21-\x7e]{1,32}$/.test(symbol)) t.symbol = symbol;
        symbolsRead.add(key);
      } catch (error) {
        const message = (error as Error).message ?? "";
        if (/revert|returned no data|execution reverted/i.test(message)) symbolsRead.add(key); // no symbol(): keep the market's name
        else return; // the chain did not answer: next round
      }
    }
  }

  /** Reads one chain, and again to confirm any drift: only accounts drifting in both reads count. */
  async function readConfirmed(chain: ReconcilerChain, signal?: AbortSignal): Promise<{ input: ChainInput; rpcRequests: number }> {
    await resolveSymbols(chain);
    const base = { chainId: chain.chainId, name: chain.name, tokens: tokens.get(chain.chainId)! };
    const first = await read(chain, signal);
    if (first.snapshot === undefined) return { input: { ...base, ...(first.error === undefined ? {} : { error: first.error }) }, rpcRequests: first.rpcRequests };
    const check = reconcile({ chains: [{ ...base, snapshot: first.snapshot }], driftThreshold: 0n }).chains[0];
    if (check.drifts.length === 0) return { input: { ...base, snapshot: first.snapshot }, rpcRequests: first.rpcRequests };
    logger.info({ chainId: chain.chainId, accounts: check.drifts.length, block: first.snapshot.block.toString() }, `chain ${chain.chainId}: drift seen, reading again to confirm`);
    await new Promise((r) => setTimeout(r, confirmDelayMs));
    const second = await read(chain, signal);
    const rpcRequests = first.rpcRequests + second.rpcRequests;
    if (second.snapshot === undefined) return { input: { ...base, error: `drift seen, confirmation read failed: ${second.error}` }, rpcRequests };
    return { input: { ...base, snapshot: second.snapshot, confirmed: new Set(check.drifts.map((d) => accountId(d.token, d.trader))) }, rpcRequests };
  }

  function exportMetrics(result: RoundResult): void {
    if (metrics === undefined) return;
    const next: typeof driftSeries = [];
    for (const chain of result.report.chains) {
      const c = String(chain.chainId);
      for (const s of ["ok", "drift", "unknown"]) metrics.chainStatus.set({ chain: c, status: s }, chain.status === s ? 1 : 0);
      metrics.rpcRequests.set({ chain: c }, result.rpcRequests[chain.chainId] ?? 0);
      if (chain.status === "unknown") continue; // its token gauges keep their last known values
      for (const d of chain.drifts) {
        const labels = { chain: c, token: d.token, trader: d.trader };
        metrics.drift.set(labels, Number(d.drift));
        next.push(labels);
      }
      for (const t of chain.tokens) {
        const labels = { chain: c, token: t.token, symbol: t.symbol };
        metrics.tokenDrift.set(labels, Number(t.drift));
        metrics.tokenAbsDrift.set(labels, Number(t.absDrift));
        metrics.ledgerTotal.set(labels, Number(t.ledger));
        metrics.onChainTotal.set(labels, Number(t.onChain));
        metrics.surplus.set(labels, Number(t.surplus));
        metrics.deficit.set(labels, Number(t.deficit));
        metrics.inFlight.set({ ...labels, kind: "pendingOut" }, Number(t.pendingOut));
        metrics.inFlight.set({ ...labels, kind: "pendingIn" }, Number(t.pendingIn));
        metrics.inFlight.set({ ...labels, kind: "withdrawalHold" }, Number(t.withdrawalHold));
      }
    }
    const keep = new Set(next.map((l) => `${l.chain}|${l.token}|${l.trader}`));
    for (const l of driftSeries) if (!keep.has(`${l.chain}|${l.token}|${l.trader}`)) metrics.drift.remove(l);
    driftSeries = next;
    metrics.lastRound.set(result.finishedAt / 1000);
    metrics.roundSeconds.set(result.roundMs / 1000);
  }

  async function runOnce(signal?: AbortSignal): Promise<RoundResult> {
    const started = Date.now();
    const reads = await Promise.all(chains.map((c) => readConfirmed(c, signal)));
    const report = reconcile({ chains: reads.map((r) => r.input), driftThreshold: params.driftThreshold });
    const rpcRequests: Record<number, number> = {};
    chains.forEach((c, i) => (rpcRequests[c.chainId] = reads[i].rpcRequests));

    for (const chain of report.chains) {
      for (const d of chain.drifts.slice(0, 20)) {
        logger.warn(
          { chainId: d.chainId, token: d.token, symbol: d.symbol, trader: d.trader, ledger: d.ledger.toString(), onChain: d.onChain.toString(), drift: d.drift.toString(), block: chain.block?.toString() },
          `drift: chain ${d.chainId} ${d.symbol} trader ${d.trader}: vault ${d.onChain}, ledger ${d.ledger} (${d.drift > 0n ? "+" : ""}${d.drift})`,
        );
      }
      if (chain.drifts.length > 20) logger.warn({ chainId: chain.chainId, more: chain.drifts.length - 20 }, `drift: ${chain.drifts.length - 20} more accounts on chain ${chain.chainId}`);
    }

    const halts: Halt[] = [];
    const current = new Set<string>();
    for (const alert of report.alerts) {
      const key = alertKey(alert);
      current.add(key);
      if (alerted.get(key) === alertFigure(alert)) continue;
      alerted.set(key, alertFigure(alert));
      halts.push(
        ...(await raiseAlert(
          { redis: deps.redis, logger, ...(metrics === undefined ? {} : { metrics }), ...(deps.fetch === undefined ? {} : { fetch: deps.fetch }) },
          {
            markets: deps.markets,
            haltOnDrift: params.haltOnDrift,
            ...(params.webhookUrl === undefined ? {} : { webhookUrl: params.webhookUrl }),
            webhookTimeoutMs: params.webhookTimeoutMs ?? 5_000,
          },
          alert,
        )),
      );
    }
    // A (chain, token) back to normal (not merely unknown) may alert again later.
    for (const chain of report.chains) {
      if (chain.status === "unknown") continue;
      for (const t of chain.tokens) {
        const key = `${chain.chainId}|${t.token}`;
        if (!current.has(key) && alerted.delete(key)) logger.info({ chainId: chain.chainId, token: t.token, symbol: t.symbol }, `chain ${chain.chainId} ${t.symbol}: back within the drift threshold`);
      }
    }

    const finishedAt = Date.now();
    const result: RoundResult = { report, rpcRequests, roundMs: finishedAt - started, halts, finishedAt };
    exportMetrics(result);
    logger.info(
      {
        status: report.status,
        roundMs: result.roundMs,
        chains: report.chains.map((c) => ({ chainId: c.chainId, status: c.status, block: c.block?.toString(), drifting: c.drifts.length, rpcRequests: rpcRequests[c.chainId] })),
      },
      `reconciliation round: ${report.status}`,
    );
    last = result;
    return result;
  }

  const loop = createLoop(
    { logger, ...(deps.metrics === undefined ? {} : { metrics: deps.metrics }) },
    {
      name: "reconciler",
      intervalMs: params.intervalMs,
      run: async (signal) => {
        await runOnce(signal);
      },
    },
  );

  return { runOnce, loop, start: () => loop.start(), stop: () => loop.stop(), last: () => last };
}
