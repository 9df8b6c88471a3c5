/**
 * Limits per client address and per WebSocket connection, against abuse (the per-trader limits
 * are the engine's):
 *
 *  - HTTP: at most `httpRequestsPerIp` requests per `httpWindowMs` per client address, every
 *    route (WebSocket upgrades included), with @fastify/rate-limit (fixed windows, in this
 *    process's memory; IPv6 addresses count per /64). Beyond: 429 RATE_LIMITED_IP with
 *    Retry-After (seconds) and details.retryAfterMs.
 *  - WebSocket: at most `wsConnectionsPerIp` open connections per client address (one more is
 *    told WS_TOO_MANY_CONNECTIONS and closed with 4029), and `wsMessagesPerSecond` messages per
 *    connection and second, whatever its address (beyond: ignored, and answered once per
 *    second with WS_RATE_LIMITED; the connection stays open).
 *
 * Loopback clients are exempt from the per-address limits unless `exemptLoopback` is false.
 * The address is the socket's peer: behind a reverse proxy, every client has the proxy's.
 */
import { isIP } from "node:net";
import { performance } from "node:perf_hooks";
import rateLimit, { normalizeIP } from "@fastify/rate-limit";
import type { FastifyInstance } from "fastify";
import { DEFAULT_CLIENT_LIMITS } from "../config/schema";
import type { ClientLimits } from "../config/load";
import { ApiError } from "./errors";
import type { ApiMetrics } from "./metrics";

/** The configured limits over their defaults. */
export function resolveClientLimits(configured: Partial<ClientLimits> | undefined): ClientLimits {
  return { ...DEFAULT_CLIENT_LIMITS, ...configured };
}

/** 127.0.0.0/8, ::1, and IPv4-mapped loopback. */
export function isLoopback(ip: string): boolean {
  const v4 = ip.startsWith("::ffff:") ? ip.slice(7) : ip;
  if (isIP(v4) === 4) return v4.startsWith("127.");
  return ip === "::1";
}

/** Registers the per-address HTTP limit; call before the routes are added. */
export function registerHttpRateLimit(app: FastifyInstance, deps: { metrics: ApiMetrics }, limits: ClientLimits): void {
  const windowMs = limits.httpWindowMs;
  app.register(rateLimit, {
    global: true,
    max: limits.httpRequestsPerIp,
    timeWindow: windowMs,
    cache: 10_000,
    allowList: (request) => limits.exemptLoopback && isLoopback(request.ip),
    onExceeded: () => deps.metrics.clientLimited.inc({ limit: "http_ip" }),
    errorResponseBuilder: (_request, context) =>
      new ApiError("RATE_LIMITED_IP", `more than ${context.max} requests in ${windowMs} ms from this address; retry in ${context.after}`, {
        details: { limit: context.max, windowMs, retryAfterMs: context.ttl },
      }),
  });
}

/** Open WebSocket connections per client address. */
export class WsConnectionsPerIp {
  private readonly open = new Map<string, number>();

  constructor(private readonly limits: Pick<ClientLimits, "wsConnectionsPerIp" | "exemptLoopback">) {}

  /** Counts a new connection from `ip`; false (nothing counted) if the address has the most allowed. */
  tryOpen(ip: string): boolean {
    if (this.limits.exemptLoopback && isLoopback(ip)) return true;
    const key = normalizeIP(ip);
    const n = this.open.get(key) ?? 0;
    if (n >= this.limits.wsConnectionsPerIp) return false;
    this.open.set(key, n + 1);
    return true;
  }

  /** A connection tryOpen counted has closed. */
  closed(ip: string): void {
    if (this.limits.exemptLoopback && isLoopback(ip)) return;
    const key = normalizeIP(ip);
    const n = (this.open.get(key) ?? 1) - 1;
    if (n <= 0) this.open.delete(key);
    else this.open.set(key, n);
  }
}

/** Messages of one WebSocket connection per second (fixed one-second windows, monotonic clock). */
export class MessageWindow {
  private start = -Infinity;
  private count = 0;
  private told = false;

  constructor(private readonly perSecond: number, private readonly now: () => number = () => performance.now()) {}

  /**
   * Counts a message: `ok` if within the limit; otherwise `tell` is true for the first refused
   * message of the window (answer it once) and `retryAfterMs` says when the window ends.
   */
  take(): { ok: true } | { ok: false; tell: boolean; retryAfterMs: number } {
    const now = this.now();
    if (now - this.start >= 1_000) {
      this.start = now;
      this.count = 0;
      this.told = false;
    }
    if (++this.count <= this.perSecond) return { ok: true };
    const tell = !this.told;
    this.told = true;
    return { ok: false, tell, retryAfterMs: Math.max(1, Math.ceil(this.start + 1_000 - now)) };
  }
}
