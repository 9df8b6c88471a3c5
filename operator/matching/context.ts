/**
 * What every stage of the engine receives: its dependencies, its resolved configuration, the
 * markets, the scripts, the metrics and the engine's state (./state.ts). Built once by
 * ./engine.ts; the stages never import the engine itself, so the module graph has no loop.
 *
 * The engine is a durable journal consumer ("engine", fills and closes): its applied cursor
 * is persisted in the journal's consumers hash (operator/journal), lazily (a lagging cursor is
 * always safe: entries after it are applied again, idempotently).
 */
import type { Logger } from "../log";
import type { Registry } from "../metrics";
import { saveCursor, type ConsumerSpec } from "../journal";
import type { RateLimit } from "../ledger/types";
import type { MarketRegistry } from "../markets/registry";
import type { Market, MarketConfig } from "../markets/types";
import type { Address } from "../orders";
import type { RedisClient } from "../redis/client";
import type { ScriptRunner } from "../redis/scripts";
import { EngineError } from "./errors";
import type { EngineMetrics } from "./metrics";
import type { EngineState } from "./state";

/** The engine's journal consumer: it applies fills and closes to the ledgers. */
export const ENGINE_CONSUMER: ConsumerSpec = { name: "engine", mode: "durable", streams: ["fills", "closed"] };

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
  /**
   * The account credited with every fee, per chain id (each chain's Settlement fee recipient;
   * pendingIn until settled). `feeAccount` is the shorthand for one account on every chain.
   */
  feeAccounts?: Readonly<Record<number, Address>>;
  feeAccount?: Address;
  /** Token buckets per account (trader on a chain); null or absent: unlimited. */
  rateLimits?: { place?: RateLimit | null; cancel?: RateLimit | null };
  /**
   * The most open orders one trader may have on a chain (across that chain's markets: its
   * open-order index); a new order that may rest is refused TOO_MANY_OPEN_ORDERS at that
   * count. IOC orders never rest and are not refused. null or absent: unlimited.
   */
  maxOpenOrdersPerTrader?: number | null;
  /** Fills one match call may produce before it returns a continuation (default 1000). */
  maxFillsPerCall?: number;
  /** New orders per script call, per market (match) or per account (lock) (default 500). */
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
  /** Per chain id of the markets. */
  feeAccounts: ReadonlyMap<number, Address>;
  placeLimit: RateLimit | null;
  cancelLimit: RateLimit | null;
  maxOpenOrdersPerTrader: number | null;
  maxFillsPerCall: number;
  maxOrdersPerCall: number;
  maxBatchOrders: number;
  expiryMarginSeconds: number;
}

export interface EngineContext {
  readonly deps: { readonly redis: RedisClient; readonly logger: Logger; readonly clock: () => number };
  readonly config: ResolvedEngineConfig;
  readonly markets: MarketRegistry;
  readonly scripts: ScriptRunner;
  readonly metrics: EngineMetrics;
  readonly state: EngineState;
  readonly cursors: CursorWriter;
}

/** The fee account of a market's chain. */
export function feeAccountOf(ctx: EngineContext, market: Market): Address {
  const account = ctx.config.feeAccounts.get(market.chainId);
  if (account === undefined) throw new EngineError("ENGINE_INVARIANT", `no fee account for chain ${market.chainId}`, { details: { market: market.id } });
  return account;
}

/** Writes the engine's applied cursors to the journal's consumers hash, without waiting. */
export class CursorWriter {
  private persisting: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: { redis: RedisClient; logger: Logger }) {}

  persist(entries: Iterable<[marketId: number, cursor: { fill: number; close: number }]>): void {
    const writes: Promise<unknown>[] = [];
    for (const [id, c] of entries) writes.push(saveCursor(this.deps.redis, id, ENGINE_CONSUMER, { fill: c.fill, close: c.close, accepted: 0 }));
    this.persisting = Promise.all([this.persisting, ...writes]).catch((error: unknown) =>
      this.deps.logger.warn({ err: String(error) }, "cursor write failed (entries will be re-applied, idempotently)"),
    );
  }

  /** Resolves once every write so far has been answered. */
  flushed(): Promise<unknown> {
    return this.persisting;
  }
}
