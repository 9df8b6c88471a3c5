/**
 * The engine's state: configuration, markets, scripts, journal cursors, the ledger effects it
 * owes, the inbox entries it must discard, and whether it must resynchronise. The work itself
 * is scheduled by ./queue.ts.
 *
 * One engine process owns its markets (DESIGN.md: one operator process per market group): it
 * is the only writer of their books, which keeps arrival order, the ledger cursors and crash
 * recovery simple.
 *
 * Failure: if a batch fails half-way (Redis unreachable, a script error), its callers get an
 * EngineError and the engine resynchronises from Redis before the next job: it applies any
 * journal entries past its cursor, finishes a taker cut by the fill cap, and settles every
 * order left in a market inbox (see ./recovery.ts). After a reconnection it does the same
 * (a restarted Redis is the truth, not the engine's memory).
 */
import { randomBytes } from "node:crypto";
import type { Logger } from "../log";
import type { Registry } from "../metrics";
import { createMarketRegistry, type MarketRegistry } from "../markets/registry";
import type { Market, MarketConfig } from "../markets/types";
import { registerMarket } from "../markets/store";
import type { Address, Hex } from "../orders";
import type { LedgerOp, RateLimit } from "../ledger/types";
import type { RedisClient } from "../redis/client";
import { ScriptRunner } from "../redis/scripts";
import { EngineError } from "./errors";
import { bookKeys } from "./keys";
import { createEngineMetrics, type EngineMetrics } from "./metrics";
import { WorkQueue } from "./queue";
import { ENGINE_SCRIPTS } from "./scripts";
import type { PlaceOrderRequest, PlaceOrderResult } from "./types";

export interface EngineDeps {
  redis: RedisClient;
  logger: Logger;
  /** Unix milliseconds; defaults to Date.now. Tests pass a controlled clock. */
  clock?: () => number;
  /** Where the engine's metrics go; a private registry when absent. */
  metrics?: Registry;
}

export interface EngineConfig {
  markets: MarketRegistry | readonly (Market | MarketConfig)[];
  /** Account credited with every fee (pendingIn until settled). */
  feeAccount: Address;
  /** Token buckets per trader; null or absent: unlimited. */
  rateLimits?: { place?: RateLimit | null; cancel?: RateLimit | null };
  /**
   * The most open orders one trader may have (across markets: its open-order index); a new
   * order that may rest is refused TOO_MANY_OPEN_ORDERS at that count. IOC orders never rest
   * and are not refused. null or absent: unlimited.
   */
  maxOpenOrdersPerTrader?: number | null;
  /** Fills one match call may produce before it returns a continuation (default 1000). */
  maxFillsPerCall?: number;
  /** New orders per script call, per market (match) or per trader (lock) (default 500). */
  maxOrdersPerCall?: number;
  /** Orders merged into one placement batch (default 5000). */
  maxBatchOrders?: number;
  /** Orders expiring within this many seconds are refused, and such makers skipped (default 0). */
  expiryMarginSeconds?: number;
  /** Run crash recovery when the engine starts (default true). */
  recoverOnStart?: boolean;
  /** Check in TypeScript that every script call's keys share a slot (tests). */
  assertSingleSlot?: boolean;
}

export interface ResolvedEngineConfig {
  feeAccount: Address;
  placeLimit: RateLimit | null;
  cancelLimit: RateLimit | null;
  maxOpenOrdersPerTrader: number | null;
  maxFillsPerCall: number;
  maxOrdersPerCall: number;
  maxBatchOrders: number;
  expiryMarginSeconds: number;
}

/** Position in a market's journal (fill and close counters). */
export interface Cursor {
  fill: number;
  close: number;
}

/** Ledger effects collected but not yet applied (see ./ledgerRound.ts). */
export interface Owed {
  entries: { trader: Address; op: LedgerOp }[];
  /** The applied cursors once these entries are applied. */
  cursors: Map<number, Cursor>;
  /** Orders refused by their market: inbox discards once their release is applied. */
  refused: Map<number, Hex[]>;
  /** Run once the entries are applied (or abandoned to a resynchronisation). */
  settle: (() => void)[];
}

function emptyOwed(): Owed {
  return { entries: [], cursors: new Map(), refused: new Map(), settle: [] };
}

/** Resynchronisation owed before the next job. */
export interface ResyncNeed {
  reason: string;
}

/**
 * A running matching engine. Create it with createEngine; call the functions of ./index.ts
 * with it. Its fields are for the engine's own modules.
 */
export class MatchingEngine {
  readonly deps: Required<Pick<EngineDeps, "redis" | "logger" | "clock">>;
  readonly config: ResolvedEngineConfig;
  readonly markets: MarketRegistry;
  /** Every token of the engine's markets. */
  readonly tokens: readonly Address[];
  readonly scripts: ScriptRunner;
  readonly metrics: EngineMetrics;
  /** Applied cursors: every journal entry up to them is applied (persisted lazily). */
  readonly cursors = new Map<number, Cursor>();
  /** Seen cursors: every journal entry up to them is applied or owed. */
  readonly seen = new Map<number, Cursor>();
  owed: Owed = emptyOwed();
  /**
   * Inbox entries to drop with the market's next match call: orders whose lock was refused,
   * or whose lock was released after the market refused them (see intake.lua).
   */
  readonly discards = new Map<number, Set<Hex>>();
  /** Prefix of lock call ids: unique per engine run. */
  readonly runId = randomBytes(6).toString("hex");
  private lockSeq = 0;
  resync: ResyncNeed | undefined;
  private readonly work: WorkQueue;
  private stopped = false;
  private persisting: Promise<unknown> = Promise.resolve();
  private wasReady = false;
  private readonly onReady = (): void => {
    // A reconnection: Redis may have restarted (and, after a crash, lost its last second):
    // reload the cursors from it before the next job.
    if (this.wasReady) this.needResync("reconnected");
    this.wasReady = true;
  };

  constructor(deps: EngineDeps, config: EngineConfig) {
    this.deps = { redis: deps.redis, logger: deps.logger.child({ at: "matching" }), clock: deps.clock ?? Date.now };
    this.markets = "byId" in config.markets ? config.markets : createMarketRegistry(config.markets);
    this.tokens = [...new Set(this.markets.all.flatMap((m) => [m.baseToken, m.quoteToken]))];
    this.config = {
      feeAccount: config.feeAccount.toLowerCase() as Address,
      placeLimit: config.rateLimits?.place ?? null,
      cancelLimit: config.rateLimits?.cancel ?? null,
      maxOpenOrdersPerTrader: config.maxOpenOrdersPerTrader ?? null,
      maxFillsPerCall: config.maxFillsPerCall ?? 1000,
      maxOrdersPerCall: config.maxOrdersPerCall ?? 500,
      maxBatchOrders: config.maxBatchOrders ?? 5000,
      expiryMarginSeconds: config.expiryMarginSeconds ?? 0,
    };
    if (!/^0x[0-9a-f]{40}$/.test(this.config.feeAccount)) throw new EngineError("ENGINE_BAD_REQUEST", "feeAccount is not an address");
    const maxOpen = this.config.maxOpenOrdersPerTrader;
    if (maxOpen !== null && (!Number.isSafeInteger(maxOpen) || maxOpen < 0 || maxOpen > 999_999_999)) {
      throw new EngineError("ENGINE_BAD_REQUEST", "maxOpenOrdersPerTrader must be an integer from 0 to 999999999", { details: { maxOpenOrdersPerTrader: maxOpen } });
    }
    this.scripts = new ScriptRunner({ redis: deps.redis, logger: this.deps.logger }, ENGINE_SCRIPTS, { assertSingleSlot: config.assertSingleSlot });
    this.metrics = createEngineMetrics(deps.metrics);
    this.work = new WorkQueue(this);
    this.wasReady = deps.redis.status === "ready";
    deps.redis.on("ready", this.onReady);
  }

  /** Loads the scripts, registers the markets and reads the persisted cursors. */
  async init(): Promise<void> {
    await this.scripts.load();
    for (const market of this.markets.all) {
      await registerMarket(this.deps, market);
      const [fill, close] = await this.deps.redis.hmget(bookKeys(market.id).state, "appliedFill", "appliedClose");
      this.cursors.set(market.id, { fill: Number(fill ?? 0), close: Number(close ?? 0) });
      this.seen.set(market.id, { fill: Number(fill ?? 0), close: Number(close ?? 0) });
    }
  }

  cursor(marketId: number): Cursor {
    let c = this.cursors.get(marketId);
    if (!c) {
      c = { fill: 0, close: 0 };
      this.cursors.set(marketId, c);
    }
    return c;
  }

  seenCursor(marketId: number): Cursor {
    let c = this.seen.get(marketId);
    if (!c) {
      c = { ...this.cursor(marketId) };
      this.seen.set(marketId, c);
    }
    return c;
  }

  takeOwed(): Owed {
    const owed = this.owed;
    this.owed = emptyOwed();
    return owed;
  }

  hasOwed(): boolean {
    const o = this.owed;
    return o.entries.length > 0 || o.cursors.size > 0 || o.refused.size > 0 || o.settle.length > 0;
  }

  /**
   * Forgets what memory holds about the journal and the inboxes; a resynchronisation rebuilds
   * it from Redis (owed journal entries are re-read after the applied cursor; refused orders
   * are still in their inbox). Returns the owed callbacks, to run once the resynchronisation
   * is over (their matching outcome stands either way).
   */
  forgetVolatileState(): (() => void)[] {
    const owed = this.takeOwed();
    this.seen.clear();
    this.discards.clear();
    return owed.settle;
  }

  /** Writes cursors to Redis without waiting (a lagging cursor is always safe). */
  persistCursors(marketIds: Iterable<number>): void {
    const writes: Promise<unknown>[] = [];
    for (const id of marketIds) {
      const c = this.cursor(id);
      writes.push(this.deps.redis.hset(bookKeys(id).state, "appliedFill", c.fill, "appliedClose", c.close));
    }
    this.persisting = Promise.all([this.persisting, ...writes]).catch((error: unknown) =>
      this.deps.logger.warn({ err: String(error) }, "cursor write failed (entries will be re-applied, idempotently)"),
    );
  }

  needResync(reason: string): void {
    this.resync = { reason: this.resync ? `${this.resync.reason}+${reason}` : reason };
  }

  /** A fresh lock call id: `<run>:<n>`. */
  nextLockId(): string {
    return `${this.runId}:${++this.lockSeq}`;
  }

  addDiscards(marketId: number, hashes: Iterable<Hex>): void {
    let set = this.discards.get(marketId);
    if (!set) {
      set = new Set();
      this.discards.set(marketId, set);
    }
    for (const h of hashes) set.add(h);
  }

  enqueuePlace(requests: readonly PlaceOrderRequest[]): Promise<PlaceOrderResult[]> {
    if (this.stopped) return Promise.reject(new EngineError("ENGINE_STOPPED", "the engine is stopped"));
    return this.work.place(requests);
  }

  enqueueTask<T>(name: string, run: () => Promise<T>): Promise<T> {
    if (this.stopped) return Promise.reject(new EngineError("ENGINE_STOPPED", "the engine is stopped"));
    return this.work.task(name, run);
  }

  /** Stops taking work, finishes what is queued and writes the cursors. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.work.idle();
    this.persistCursors(this.markets.all.map((m) => m.id));
    await this.persisting;
    this.deps.redis.off("ready", this.onReady);
  }
}
