/**
 * The one ticker of all WebSocket connections (no per-connection timers), a background loop
 * (operator/tasks: never two ticks at once, backing off while Redis fails). Every `tickMs`:
 *
 *  - book:<market>, per market with subscribers: one getBook of the top `bookDepth` levels;
 *    a SNAPSHOT (not a diff) goes to every subscriber when the levels changed since the last
 *    tick, and to new subscribers anyway. So: at most one book message per market per tick,
 *    none while the book stands still. It also feeds the book depth gauges.
 *  - trades:<market> and orders:<trader>: one read of each market's journal (operator/journal
 *    readJournal: fills, accepted, closes) from this feed's cursor, and of each chain's
 *    settlement results (./settlementUpdates.ts); one trades message per market and one orders
 *    message per trader per tick, when there is something to say.
 *
 * The feed is a best-effort journal consumer (`wsConsumerName`, default "ws"): it reads every
 * market on every tick, subscribers or not, and saves its cursor every `cursorSaveMs`, so the
 * journal's retention trims what it has passed; if it falls further behind than the retention
 * bound, the journal trims anyway and the feed logs the gap. It registers at the tail when it
 * starts (a real-time feed never replays), before any subscription is acknowledged, so a client
 * gets every event that happens after its ack.
 */
import { performance } from "node:perf_hooks";
import { readJournal, registerConsumer, saveCursor, type ConsumerSpec, type JournalCursor } from "../../journal";
import type { Logger } from "../../log";
import type { Market, MarketRegistry } from "../../markets";
import { getBook, type MatchingEngine } from "../../matching";
import type { Registry } from "../../metrics";
import type { Address, Clock } from "../../orders";
import type { RedisClient } from "../../redis";
import { createLoop, type Loop } from "../../tasks";
import { toJson } from "../json";
import { observeBook, type ApiMetrics } from "../metrics";
import type { ChannelSubscribers, SubscriptionHub } from "./hub";
import { collectOrderUpdates, type OrderUpdate } from "./orderUpdates";
import { createSettlementFeed } from "./settlementUpdates";
import { tradeOf } from "./streams";

export interface TickerDeps {
  engine: MatchingEngine;
  redis: RedisClient;
  hub: SubscriptionHub;
  markets: MarketRegistry;
  metrics: ApiMetrics;
  /** The registry the loop's task metrics go to. */
  registry?: Registry;
  logger: Logger;
  clock: Clock;
}

export interface TickerParams {
  tickMs: number;
  bookDepth: number;
  streamBatch: number;
  /** The feed's journal consumer name. */
  consumerName: string;
  /** How often the feed's cursor is saved. */
  cursorSaveMs: number;
}

export interface Ticker {
  start(): void;
  /** Stops the loop; resolves when the running tick (if any) is done. */
  stop(): Promise<void>;
  /** Resolves once the feed's cursors exist (it registers when it starts). */
  ensureCursors(): Promise<void>;
  /** Ticks run so far. */
  readonly ticks: number;
  readonly loop: Loop;
}

export function createTicker(deps: TickerDeps, params: TickerParams): Ticker {
  const { hub, markets } = deps;
  const consumer: ConsumerSpec = { name: params.consumerName, mode: "best-effort", streams: ["fills", "closed", "accepted"] };
  let tickNo = 0;
  let lastSave = 0;
  /** Market id -> the levels last sent. */
  const lastBook = new Map<number, string>();
  const cursors = new Map<number, JournalCursor>();
  let registering: Promise<void> | undefined;
  const settlement = createSettlementFeed(deps.redis, [...new Set(markets.all.map((m) => m.chainId))]);

  /** Registers the feed at the tail of every market's journal (single flight; retried if it failed). */
  function register(): Promise<void> {
    registering ??= (async () => {
      for (const m of markets.all) cursors.set(m.id, await registerConsumer(deps.redis, m.id, consumer, "tail!"));
      await settlement.start();
    })().catch((error: unknown) => {
      registering = undefined;
      throw error;
    });
    return registering;
  }

  async function publishBook(market: Market, subs: ChannelSubscribers): Promise<void> {
    const book = await getBook(deps.engine, { market: market.id, depth: params.bookDepth });
    observeBook(deps.metrics, market, book);
    const levels = toJson([book.bids, book.asks]);
    const changed = lastBook.get(market.id) !== levels;
    lastBook.set(market.id, levels);
    const name = subs.channel.name;
    let text: string | undefined;
    for (const conn of subs.conns) {
      if (!changed && !conn.unprimed.has(name)) continue;
      conn.unprimed.delete(name);
      text ??= toJson({ type: "book", channel: name, tick: tickNo, market: market.id, symbol: market.symbol, depth: params.bookDepth, bids: book.bids, asks: book.asks, ts: deps.clock.now() });
      hub.send(conn, "book", text);
    }
  }

  async function publishStreams(trades: Map<number, ChannelSubscribers>, traders: Map<Address, ChannelSubscribers>): Promise<void> {
    const updates = new Map<Address, OrderUpdate[]>();
    const traderSet = new Set<string>(traders.keys());
    await Promise.all(
      markets.all.map(async (market) => {
        const cursor = cursors.get(market.id)!;
        const read = await readJournal(deps.redis, market.id, cursor, params.streamBatch);
        cursors.set(market.id, read.next);
        const missed = read.missed.fill + read.missed.close + read.missed.accepted;
        if (missed > 0) {
          deps.logger.warn({ market: market.id, missed: read.missed, consumer: consumer.name }, "the WebSocket feed lagged beyond the journal's retention: entries were trimmed before it read them");
        }
        const subs = trades.get(market.id);
        if (subs !== undefined && read.fills.length > 0) {
          const text = toJson({
            type: "trades",
            channel: subs.channel.name,
            tick: tickNo,
            market: market.id,
            symbol: market.symbol,
            trades: read.fills.map((f) => tradeOf(market, f)),
          });
          for (const conn of subs.conns) hub.send(conn, "trades", text);
        }
        if (traderSet.size > 0) await collectOrderUpdates(deps, { market, read, traders: traderSet, out: updates });
      }),
    );
    // What the chain did with the fills (after the journal's events of this tick).
    await settlement.read(traderSet, updates, params.streamBatch);
    for (const [trader, list] of updates) {
      const subs = traders.get(trader)!;
      const text = toJson({ type: "orders", channel: subs.channel.name, tick: tickNo, trader, updates: list });
      for (const conn of subs.conns) hub.send(conn, "orders", text);
    }
  }

  async function saveCursors(): Promise<void> {
    const now = deps.clock.now();
    if (now - lastSave < params.cursorSaveMs) return;
    lastSave = now;
    await Promise.all([...cursors].map(([id, c]) => saveCursor(deps.redis, id, consumer, c)));
  }

  async function tick(): Promise<void> {
    await register();
    tickNo++;
    const books: [Market, ChannelSubscribers][] = [];
    const trades = new Map<number, ChannelSubscribers>();
    const traders = new Map<Address, ChannelSubscribers>();
    for (const subs of hub.channels()) {
      const c = subs.channel;
      if (c.kind === "book") books.push([c.market, subs]);
      else if (c.kind === "trades") trades.set(c.market.id, subs);
      else traders.set(c.trader, subs);
    }
    for (const id of lastBook.keys()) if (!books.some(([m]) => m.id === id)) lastBook.delete(id);
    const started = performance.now();
    await Promise.all([...books.map(([m, subs]) => publishBook(m, subs)), publishStreams(trades, traders)]);
    await saveCursors();
    if (performance.now() - started > params.tickMs * 10) deps.logger.debug({ ms: performance.now() - started }, "slow WebSocket tick");
  }

  const loop = createLoop(
    { logger: deps.logger, metrics: deps.registry },
    // Redis down, say: back off (cursors stay where they were, nothing is lost), up to 5 s.
    { name: "ws-ticker", intervalMs: params.tickMs, run: tick, backoff: { initialMs: Math.max(params.tickMs, 100), maxMs: 5_000 } },
  );

  return {
    start: () => loop.start(),
    stop: () => loop.stop(),
    ensureCursors: register,
    get ticks() {
      return tickNo;
    },
    loop,
  };
}
