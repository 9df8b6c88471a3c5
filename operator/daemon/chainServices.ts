/**
 * The on-chain half of the daemon, one set per configured chain (DESIGN.md: one watcher, one
 * settler and one signer per chain):
 *
 *   rpc      the chain's budgeted, retried, circuit-broken JSON-RPC client (operator/chain rpc)
 *   signer   the operator key's transactions: nonces, fees, replacements, receipts
 *   settler  journal fills -> batches -> signer (operator/settlement)
 *   watcher  the contracts' confirmed events -> ledger, engine and settler (./chainEvents.ts)
 *   epochs   the epoch log: orders and fills -> epochs -> roots committed through the signer
 *            (operator/commitment epochLog.ts)
 *
 * Every one of them talks to the chain through the chain's one budgeted RPC client.
 *
 * Start order: the signer first (it reconciles its nonces with the chain and re-broadcasts
 * what it had in flight), then the settler (it reconciles its intents with the signer and the
 * contract's next batch id), then the watcher. Stop order is the reverse: the watcher stops
 * handing events, the settler finishes the round in flight (a batch is either persisted and
 * handed to the signer, or not built), the signer's loop stops (its transactions stay
 * recorded in Redis and are tracked again at the next start).
 */
import type { PublicClient } from "viem";
import type { ChainConfig } from "../config";
import type { ChainRpc, ChainRpcStatus } from "../chain/rpc";
import { createSigner, signerParams } from "../chain/signer";
import type { Signer, SignerStatus } from "../chain/signerTypes";
import { createChainWatcher, type ChainWatcher, type ChainWatcherStatus } from "../chain/watcher";
import { componentLogger, type Logger } from "../log";
import type { Market } from "../markets";
import type { MatchingEngine } from "../matching";
import type { Registry } from "../metrics";
import type { Address } from "../orders";
import type { RedisClient } from "../redis";
import type { ScriptRunner } from "../redis/scripts";
import { createSettler, type Settler, type SettlerChainClient, type SettlerStatus } from "../settlement";
import type { Failpoints } from "../failpoints";
import { chainEventHandler } from "./chainEvents";
import { createEpochLog, type EpochLog, type EpochLogStatus } from "../commitment/epochLog";

/** RPC requests one settlement batch costs, about (see minBatchIntervalMs). */
const BATCH_REQUESTS = 6;

export interface ChainServicesDeps {
  redis: RedisClient;
  logger: Logger;
  metrics: Registry;
  engine: MatchingEngine;
  /** The ledger's scripts (operator/ledger createLedger). */
  scripts: ScriptRunner;
  /** The chain's client (operator/chain createChainClients): its budgeted RPC client's, or a test's. */
  client: PublicClient;
  /** The budgeted RPC client behind `client`, for /health (absent with a test's client). */
  rpc?: ChainRpc;
  /** Crash injection (fault tests only). */
  failpoints?: Failpoints;
}

export interface ChainServicesParams {
  chain: ChainConfig;
  markets: readonly Market[];
  feeAccount: Address;
  /** Settler loop period when idle (ms). Default 100. */
  settlerIntervalMs?: number;
  /** Epoch commitments: length, size cap, and the directory of this chain's data files. */
  epochs: { seconds: number; maxLeaves: number; dir: string };
}

export interface ChainServicesStatus {
  chainId: number;
  name: string;
  /** False when a component is failing; `problems` says what. */
  ok: boolean;
  problems: string[];
  rpc: ChainRpcStatus | null;
  signer: SignerStatus;
  settler: SettlerStatus;
  watcher: ChainWatcherStatus;
  epochs: EpochLogStatus;
}

export interface ChainServices {
  chainId: number;
  rpc: ChainRpc | undefined;
  signer: Signer;
  settler: Settler;
  watcher: ChainWatcher;
  epochs: EpochLog;
  status(): Promise<ChainServicesStatus>;
  stop(): Promise<void>;
}

export async function startChainServices(deps: ChainServicesDeps, params: ChainServicesParams): Promise<ChainServices> {
  const { chain } = params;
  const logger = componentLogger(deps.logger, "chain").child({ chainId: chain.chainId, chain: chain.name });
  const rpc = deps.rpc;
  const client = deps.client;
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch (error) {
        logger.error({ err: error }, "error while stopping a chain service");
      }
    }
    stops.length = 0;
  };
  try {
    const signer = createSigner({ redis: deps.redis, client, logger: deps.logger, metrics: deps.metrics }, signerParams(chain));
    await signer.start();
    stops.push(() => signer.stop());

    const settler = createSettler(
      { redis: deps.redis, scripts: deps.scripts, logger: componentLogger(deps.logger, "settler"), metrics: deps.metrics, client: client as unknown as SettlerChainClient, signer, failpoints: deps.failpoints },
      {
        chainId: chain.chainId,
        settlementAddress: chain.settlementAddress,
        feeAccount: params.feeAccount,
        markets: params.markets,
        gasBudget: chain.settlementGasBudget,
        maxWaitMs: chain.batchMaxWaitMs,
        maxInFlight: chain.maxInFlightTxs,
        // A batch costs about six requests (simulation, fees, broadcast, receipts): batches that
        // are not full keep to half the RPC budget (the watcher's polls take the other half).
        // The public HyperEVM RPC's 100 a minute: a batch every 7.2 s at most, unless full.
        minBatchIntervalMs: Math.ceil((60_000 * BATCH_REQUESTS * 2) / chain.rpcRequestsPerMinute),
        intervalMs: params.settlerIntervalMs,
      },
    );
    const offConfirmed = signer.onConfirmed((tx) => {
      settler.onTransaction({ purpose: tx.purpose, status: tx.result, gasUsed: tx.gasUsed, hash: tx.hash }).catch((error: unknown) => {
        logger.error({ err: error, purpose: tx.purpose, tx: tx.hash }, "the settler could not take a transaction's outcome; it will reconcile at its next start");
      });
    });
    const offFailed = signer.onFailed((tx, failure) => {
      logger.error({ err: failure, purpose: tx.purpose, nonce: tx.nonce }, "a transaction failed for good");
      settler.onTransaction({ purpose: tx.purpose, status: "reverted", hash: tx.hash }).catch((error: unknown) => {
        logger.error({ err: error, purpose: tx.purpose }, "the settler could not take a failed transaction; it will reconcile at its next start");
      });
    });
    stops.push(async () => {
      offConfirmed();
      offFailed();
    });
    settler.start();
    stops.push(() => settler.stop());

    const epochs = createEpochLog(
      { redis: deps.redis, logger: deps.logger, metrics: deps.metrics, client, signer, failpoints: deps.failpoints },
      {
        chainId: chain.chainId,
        commitmentAddress: chain.commitmentAddress,
        markets: params.markets,
        epochMs: params.epochs.seconds * 1000,
        maxLeaves: params.epochs.maxLeaves,
        dir: params.epochs.dir,
      },
    );
    await epochs.start();
    stops.push(() => epochs.stop());

    const watcher = createChainWatcher(
      { redis: deps.redis, rpc: rpc ?? pseudoRpc(chain, client), logger: deps.logger, metrics: deps.metrics },
      {
        chainId: chain.chainId,
        settlementAddress: chain.settlementAddress,
        commitmentAddress: chain.commitmentAddress,
        confirmations: chain.confirmations,
        logRangeBlocks: chain.logRangeBlocks,
        pollIntervalMs: chain.pollIntervalMs,
        startBlock: chain.startBlock,
        // Short: the RPC client's circuit breaker spaces requests to a dead node already.
        backoff: { initialMs: 500, maxMs: 5_000 },
        handle: chainEventHandler({ engine: deps.engine, scripts: deps.scripts, settler, logger: componentLogger(deps.logger, "chain-events") }, chain.chainId),
      },
    );
    watcher.loop.start();
    stops.push(() => watcher.loop.stop());
    logger.info({ signer: signer.address, confirmations: chain.confirmations, gasBudget: chain.settlementGasBudget }, "chain services started");

    return {
      chainId: chain.chainId,
      rpc,
      signer,
      settler,
      watcher,
      epochs,
      async status() {
        const r = rpc === undefined ? null : await rpc.status();
        const s = signer.status();
        const st = settler.status();
        const w = watcher.status();
        const wl = watcher.loop.status();
        const es = await epochs.status();
        const problems: string[] = [];
        if (r !== null && r.breaker !== "closed") problems.push(`RPC circuit breaker ${r.breaker}: the node keeps failing (${r.lastError ?? "no answer"}); requests fail fast and are retried with backoff`);
        if (wl.consecutiveFailures > 0) problems.push(`chain watcher failing ${wl.consecutiveFailures} time(s) in a row: ${wl.lastError ?? ""}`);
        if (st.loop.consecutiveFailures > 0) problems.push(`settler failing ${st.loop.consecutiveFailures} time(s) in a row: ${st.loop.lastError ?? ""}`);
        if (s.stuck > 0) problems.push(`${s.stuck} transaction(s) stuck (replacement due or at the fee ceiling)`);
        if (es.fault !== null) problems.push(`epoch log stopped: ${es.fault}`);
        if (es.loop.consecutiveFailures > 0) problems.push(`epoch log failing ${es.loop.consecutiveFailures} time(s) in a row: ${es.loop.lastError ?? ""}`);
        if (st.pausedUntil !== null) problems.push(`settlement paused on chain until ${new Date(st.pausedUntil).toISOString()}`);
        return { chainId: chain.chainId, name: chain.name, ok: problems.length === 0, problems, rpc: r, signer: s, settler: st, watcher: { ...w, loop: wl }, epochs: es };
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** A ChainRpc face for a client given by a test (no budget, no breaker). */
function pseudoRpc(chain: ChainConfig, client: PublicClient): ChainRpc {
  return {
    chainId: chain.chainId,
    name: chain.name,
    client,
    status: async () => ({ chainId: chain.chainId, breaker: "closed", requests: 0, failures: 0, retries: 0, consecutiveFailures: 0, budget: 0, queued: 0 }),
    close: async () => undefined,
  };
}
