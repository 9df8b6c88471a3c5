/** The API's Prometheus metrics, registered in the daemon's registry. */
import type { Market } from "../markets";
import { Counter, Gauge, Histogram, type Registry } from "../metrics";
import type { BookSnapshot } from "../matching";

export function createApiMetrics(registry: Registry) {
  return {
    orders: new Counter({
      name: "hyperindex_api_orders_total",
      help: "Orders received by the API, by result (accepted, rejected) and rejection code",
      labelNames: ["result", "code"],
      registers: [registry],
    }),
    cancels: new Counter({
      name: "hyperindex_api_cancels_total",
      help: "Signed cancels received by the API, by result (done, rejected) and rejection code",
      labelNames: ["result", "code"],
      registers: [registry],
    }),
    requestSeconds: new Histogram({
      name: "hyperindex_api_request_duration_seconds",
      help: "HTTP request latency, by method, route and status",
      labelNames: ["method", "route", "status"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    matchSeconds: new Histogram({
      name: "hyperindex_api_match_latency_seconds",
      help: "From receipt of an order to the engine's result (decode, verify, lock, match)",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    bookLevels: new Gauge({
      name: "hyperindex_api_book_levels",
      help: "Price levels in the observed top of book (up to the snapshot depth), by market and side",
      labelNames: ["market", "side"],
      registers: [registry],
    }),
    bookDepth: new Gauge({
      name: "hyperindex_api_book_depth_base",
      help: "Base amount (in base units, not atoms) resting in the observed top of book, by market and side",
      labelNames: ["market", "side"],
      registers: [registry],
    }),
    wsConnections: new Gauge({ name: "hyperindex_api_ws_connections", help: "Open WebSocket connections", registers: [registry] }),
    wsMessages: new Counter({
      name: "hyperindex_api_ws_messages_total",
      help: "WebSocket messages sent, by type",
      labelNames: ["type"],
      registers: [registry],
    }),
    clientLimited: new Counter({
      name: "hyperindex_api_client_limited_total",
      help: "Requests, WebSocket connections and messages refused by the per-address and per-connection limits, by limit (http_ip, ws_connections_ip, ws_messages)",
      labelNames: ["limit"],
      registers: [registry],
    }),
    wsSlowConsumers: new Counter({
      name: "hyperindex_api_ws_slow_consumer_disconnects_total",
      help: "WebSocket connections closed because they did not read fast enough",
      registers: [registry],
    }),
  };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;

/** Records a book snapshot in the depth gauges. */
export function observeBook(metrics: ApiMetrics, market: Market, book: BookSnapshot): void {
  const unit = 10 ** market.baseDecimals;
  for (const [side, levels] of [["bid", book.bids], ["ask", book.asks]] as const) {
    metrics.bookLevels.set({ market: market.symbol, side }, levels.length);
    const total = levels.reduce((sum, l) => sum + l.amount, 0n);
    metrics.bookDepth.set({ market: market.symbol, side }, Number(total) / unit);
  }
}
