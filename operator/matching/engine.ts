/**
 * A running matching engine: the handle ./index.ts's functions take. It owns the engine's
 * context (./context.ts: dependencies, configuration, markets, scripts, metrics, state) and
 * its work queue (./queue.ts), which runs the stages in arrival order.
 *
 * One engine process owns its markets (DESIGN.md: one operator process per market group): it
 * is the only writer of their books, which keeps arrival order, the ledger cursors and crash
 * recovery simple. Its markets may settle on several chains: each market's orders lock funds
 * in the ledger of that chain (an account is a trader on one chain), and each chain's fees go
 * to that chain's fee account.
 *
 * Failure: if a batch fails half-way (Redis unreachable, a script error), its callers get an
 * EngineError and the engine resynchronises from Redis before the next job: it applies any
 * journal entries past its cursor, finishes a taker cut by the fill cap, and settles every
 * order left in a market inbox (see ./recovery.ts). After a reconnection it does the same
 * (a restarted Redis is the truth, not the engine's memory).
 */
import { registerConsumer } from "../journal";
import { createMarketRegistry } from "../markets/registry";
import { registerMarket } from "../markets/store";
import type { Address } from "../orders";
import { ScriptRunner } from "../redis/scripts";
import { CursorWriter, ENGINE_CONSUMER, type EngineConfig, type EngineContext, type EngineDeps, type ResolvedEngineConfig } from "./context";
import { EngineError } from "./errors";
import { createEngineMetrics } from "./metrics";
import { WorkQueue } from "./queue";
import { ENGINE_SCRIPTS } from "./scripts";
import { EngineState } from "./state";
import type { PlaceOrderRequest, PlaceOrderResult } from "./types";

const ADDRESS_RE = /^0x[0-9a-f]{40}$/;

export class MatchingEngine {
  /** For the engine's own modules and the daemon's wiring; callers use ./index.ts. */
  readonly ctx: EngineContext;
  private readonly work: WorkQueue;
  private stopped = false;
  private wasReady = false;
  private readonly onReady = (): void => {
    // A reconnection: Redis may have restarted (and, after a crash, lost its last second):
    // reload the cursors from it before the next job.
    if (this.wasReady) this.ctx.state.needResync("reconnected");
    this.wasReady = true;
  };

  constructor(deps: EngineDeps, config: EngineConfig) {
    const logger = deps.logger.child({ at: "matching" });
    const markets = "byId" in config.markets ? config.markets : createMarketRegistry(config.markets);
    this.ctx = {
      deps: { redis: deps.redis, logger, clock: deps.clock ?? Date.now },
      config: resolveConfig(config, markets.chainIds),
      markets,
      scripts: new ScriptRunner({ redis: deps.redis, logger }, ENGINE_SCRIPTS, { assertSingleSlot: config.assertSingleSlot }),
      metrics: createEngineMetrics(deps.metrics),
      state: new EngineState(),
      cursors: new CursorWriter({ redis: deps.redis, logger }),
    };
    this.work = new WorkQueue(this.ctx);
    this.wasReady = deps.redis.status === "ready";
    deps.redis.on("ready", this.onReady);
  }

  /** Loads the scripts, registers the markets and the engine's journal cursor in each. */
  async init(): Promise<void> {
    const { deps, markets, scripts, state } = this.ctx;
    await scripts.load();
    for (const market of markets.all) {
      await registerMarket(deps, market);
      const cursor = await registerConsumer(deps.redis, market.id, ENGINE_CONSUMER, "start");
      state.loadCursor(market.id, { fill: cursor.fill, close: cursor.close });
    }
  }

  enqueuePlace(requests: readonly PlaceOrderRequest[]): Promise<PlaceOrderResult[]> {
    if (this.stopped) return Promise.reject(new EngineError("ENGINE_STOPPED", "the engine is stopped"));
    return this.work.place(requests);
  }

  enqueueTask<T>(name: string, run: () => Promise<T>): Promise<T> {
    if (this.stopped) return Promise.reject(new EngineError("ENGINE_STOPPED", "the engine is stopped"));
    return this.work.task(name, run);
  }

  /**
   * Stops taking work, finishes what is queued and writes the cursors it moved (a cursor it
   * only loaded is left alone: another engine on the same Redis, the daemon beside the admin
   * tool, may have moved it since).
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.work.idle();
    const { state, cursors } = this.ctx;
    cursors.persist(state.movedMarkets().map((id) => [id, state.appliedCursor(id)]));
    await cursors.flushed();
    this.ctx.deps.redis.off("ready", this.onReady);
  }
}

function resolveConfig(config: EngineConfig, chainIds: readonly number[]): ResolvedEngineConfig {
  const feeAccounts = new Map<number, Address>();
  for (const chainId of chainIds) {
    const account = config.feeAccounts?.[chainId] ?? config.feeAccount;
    if (account === undefined) {
      throw new EngineError("ENGINE_BAD_REQUEST", `no fee account for chain ${chainId}: give feeAccounts[${chainId}] or feeAccount`, { details: { chainId } });
    }
    const lower = account.toLowerCase() as Address;
    if (!ADDRESS_RE.test(lower)) throw new EngineError("ENGINE_BAD_REQUEST", `the fee account of chain ${chainId} is not an address`, { details: { chainId, account } });
    feeAccounts.set(chainId, lower);
  }
  const maxOpen = config.maxOpenOrdersPerTrader ?? null;
  if (maxOpen !== null && (!Number.isSafeInteger(maxOpen) || maxOpen < 0 || maxOpen > 999_999_999)) {
    throw new EngineError("ENGINE_BAD_REQUEST", "maxOpenOrdersPerTrader must be an integer from 0 to 999999999", { details: { maxOpenOrdersPerTrader: maxOpen } });
  }
  return {
    feeAccounts,
    placeLimit: config.rateLimits?.place ?? null,
    cancelLimit: config.rateLimits?.cancel ?? null,
    maxOpenOrdersPerTrader: maxOpen,
    maxFillsPerCall: config.maxFillsPerCall ?? 1000,
    maxOrdersPerCall: config.maxOrdersPerCall ?? 500,
    maxBatchOrders: config.maxBatchOrders ?? 5000,
    expiryMarginSeconds: config.expiryMarginSeconds ?? 0,
  };
}
