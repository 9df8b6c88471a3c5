/**
 * The one ticker of all WebSocket connections (no per-connection timers). Every `tickMs`
 * (a loop that never overlaps itself: the next tick is scheduled when this one is done):
 *
 *  - book:<market>, per market with subscribers: one getBook of the top `bookDepth` levels;
 *    a SNAPSHOT (not a diff) goes to every subscriber when the levels changed since the last
 *    tick, and to new subscribers anyway. So: at most one book message per market per tick,
 *    none while the book stands still. It also feeds the book depth gauges.
 *  - trades:<market> and orders:<trader>: one XREAD per market of its fills / accepted /
 *    closed streams from this process's cursor (./streams.ts); one trades message per market
 *    and one orders message per trader per tick, when there is something to say.
 *
 * Cursors exist only for markets someone follows; `ensureCursors` creates them (at the
 * streams' current end) before a trades / orders subscription is acknowledged, so a client
 * gets every event that happens after its ack.
 */
import { performance } from "node:perf_hooks";
import type { MarketSettings } from "../../config";
import type { Logger } from "../../log";
import { getBook, type MatchingEngine } from "../../matching";
import type { Address, Clock } from "../../orders";
import type { RedisClient } from "../../redis";
import { toJson } from "../json";
import type { ApiMarkets } from "../markets";
import { observeBook, type ApiMetrics } from "../metrics";
import type { ChannelSubscribers, SubscriptionHub } from "./hub";
import { collectOrderUpdates, type OrderUpdate } from "./orderUpdates";
import { readMarket, tailCursor, type StreamCursor } from "./streams";

export interface TickerDeps {
  engine: MatchingEngine;
  redis: RedisClient;
  hub: SubscriptionHub;
  markets: ApiMarkets;
  metrics: ApiMetrics;
  logger: Logger;
  clock: Clock;
}

export interface TickerParams {
  tickMs: number;
  bookDepth: number;
  streamBatch: number;
}

export interface Ticker {
  start(): void;
  /** Stops the loop; resolves when the running tick (if any) is done. */
  stop(): Promise<void>;
  /** Creates the stream cursors of these markets (all markets if omitted) if missing. */
  ensureCursors(marketIds?: readonly number[]): Promise<void>;
  /** Ticks run so far. */
  readonly ticks: number;
}

const ERROR_LOG_INTERVAL_MS = 5_000;

export function createTicker(deps: TickerDeps, params: TickerParams): Ticker {
  const { hub, markets } = deps;
  let tickNo = 0;
  let running: Promise<void> | undefined;
  let stopped = true;
  let wake: (() => void) | undefined;
  let lastErrorLog = 0;
  /** Market id -> the levels last sent. */
  const lastBook = new Map<number, string>();
  const cursors = new Map<number, StreamCursor>();
  const initializing = new Map<number, Promise<void>>();

  function ensureCursor(id: number): Promise<void> {
    if (cursors.has(id)) return Promise.resolve();
    let init = initializing.get(id);
    if (init === undefined) {
      // Single flight: two tail reads at different moments must not both set the cursor.
      init = tailCursor(deps.redis, id)
        .then((cursor) => void cursors.set(id, cursor))
        .finally(() => initializing.delete(id));
      initializing.set(id, init);
    }
    return init;
  }

  async function publishBook(market: MarketSettings, subs: ChannelSubscribers): Promise<void> {
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
    const needed = traders.size > 0 ? markets.all.map((m) => m.id) : [...trades.keys()];
    for (const id of cursors.keys()) if (!needed.includes(id)) cursors.delete(id);
    const updates = new Map<Address, OrderUpdate[]>();
    const traderSet = new Set<string>(traders.keys());
    await Promise.all(
      needed.map(async (id) => {
        const cursor = cursors.get(id);
        if (cursor === undefined) return ensureCursor(id);
        const market = markets.byId(id)!;
        const read = await readMarket(deps.redis, market, cursor, params.streamBatch);
        cursors.set(id, read.next);
        const subs = trades.get(id);
        if (subs !== undefined && read.trades.length > 0) {
          const text = toJson({
            type: "trades",
            channel: subs.channel.name,
            tick: tickNo,
            market: id,
            symbol: market.symbol,
            trades: read.trades.map(({ fillCtr: _, ...t }) => t),
          });
          for (const conn of subs.conns) hub.send(conn, "trades", text);
        }
        if (traderSet.size > 0) await collectOrderUpdates(deps, { market, read, traders: traderSet, out: updates });
      }),
    );
    for (const [trader, list] of updates) {
      const subs = traders.get(trader)!;
      const text = toJson({ type: "orders", channel: subs.channel.name, tick: tickNo, trader, updates: list });
      for (const conn of subs.conns) hub.send(conn, "orders", text);
    }
  }

  async function tick(): Promise<void> {
    tickNo++;
    const books: [MarketSettings, ChannelSubscribers][] = [];
    const trades = new Map<number, ChannelSubscribers>();
    const traders = new Map<Address, ChannelSubscribers>();
    for (const subs of hub.channels()) {
      const c = subs.channel;
      if (c.kind === "book") books.push([c.market, subs]);
      else if (c.kind === "trades") trades.set(c.market.id, subs);
      else traders.set(c.trader, subs);
    }
    for (const id of lastBook.keys()) if (!books.some(([m]) => m.id === id)) lastBook.delete(id);
    await Promise.all([...books.map(([m, subs]) => publishBook(m, subs)), publishStreams(trades, traders)]);
  }

  async function loop(): Promise<void> {
    while (!stopped) {
      const started = performance.now();
      try {
        await tick();
      } catch (error) {
        // Redis down, say: keep ticking (cursors stay where they were, nothing is lost).
        const now = Date.now();
        if (now - lastErrorLog > ERROR_LOG_INTERVAL_MS) {
          lastErrorLog = now;
          deps.logger.warn({ err: (error as Error).message }, "WebSocket tick failed");
        }
      }
      if (stopped) break;
      const wait = Math.max(0, params.tickMs - (performance.now() - started));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      running = loop();
    },
    async stop() {
      stopped = true;
      wake?.();
      await running;
      running = undefined;
    },
    async ensureCursors(marketIds) {
      await Promise.all((marketIds ?? markets.all.map((m) => m.id)).map(ensureCursor));
    },
    get ticks() {
      return tickNo;
    },
  };
}
