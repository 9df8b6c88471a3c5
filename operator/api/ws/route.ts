/**
 * GET /v1/ws: the WebSocket endpoint (protocol in ./protocol.ts and ../README.md). Per client
 * address at most `wsConnectionsPerIp` connections, per connection `wsMessagesPerSecond`
 * messages (../clientLimits.ts); orders:<trader> needs the trader's signed Subscribe
 * (./subscribeAuth.ts).
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import WebSocket from "ws";
import { MessageWindow, WsConnectionsPerIp } from "../clientLimits";
import type { ApiContext } from "../context";
import { ApiError, toErrorResponse } from "../errors";
import { toJson } from "../json";
import { sendError } from "../reply";
import type { SubscriptionHub, WsConnection } from "./hub";
import { WS_CLOSE, WsProtocolError, parseClientMessage, type ClientMessage } from "./protocol";
import { checkSubscribeAuth } from "./subscribeAuth";
import type { Ticker } from "./ticker";

export interface WsRouteDeps {
  ctx: ApiContext;
  hub: SubscriptionHub;
  ticker: Ticker;
}

export function registerWsRoute(app: FastifyInstance, deps: WsRouteDeps): void {
  const perIp = new WsConnectionsPerIp(deps.ctx.clientLimits);
  app.route({
    method: "GET",
    url: "/v1/ws",
    // A plain GET (no Upgrade header) is told what to do instead of getting an empty 404.
    handler: async (_request, reply) =>
      sendError(reply.header("upgrade", "websocket"), toErrorResponse(new ApiError("UPGRADE_REQUIRED", "connect with a WebSocket client (Upgrade: websocket)"))),
    wsHandler: (socket: WebSocket, request: FastifyRequest) => onConnection(deps, perIp, socket, request.ip),
  });
}

function onConnection(deps: WsRouteDeps, perIp: WsConnectionsPerIp, socket: WebSocket, ip: string): void {
  const { hub, ctx } = deps;
  if (hub.isClosing) {
    socket.close(WS_CLOSE.GOING_AWAY, "server shutting down");
    return;
  }
  // ws emits errors of a broken connection here; the close event follows.
  socket.on("error", () => undefined);
  if (!perIp.tryOpen(ip)) {
    const max = ctx.clientLimits.wsConnectionsPerIp;
    ctx.metrics.clientLimited.inc({ limit: "ws_connections_ip" });
    const error = new WsProtocolError("WS_TOO_MANY_CONNECTIONS", `at most ${max} WebSocket connections per address; close one first`, { details: { max } });
    socket.send(toJson({ type: "error", error: error.toJSON() }));
    socket.close(WS_CLOSE.TOO_MANY_CONNECTIONS, "too many connections from this address");
    // Destroyed if it does not take the close frame in time.
    setTimeout(() => socket.readyState !== WebSocket.CLOSED && socket.terminate(), ctx.settings.wsCloseGraceMs).unref();
    return;
  }
  const conn = hub.add(socket);
  const window = new MessageWindow(ctx.clientLimits.wsMessagesPerSecond);
  socket.on("message", (data, isBinary) => {
    const taken = window.take();
    if (!taken.ok) {
      if (taken.tell) {
        ctx.metrics.clientLimited.inc({ limit: "ws_messages" });
        const max = ctx.clientLimits.wsMessagesPerSecond;
        const error = new WsProtocolError("WS_RATE_LIMITED", `at most ${max} messages per second; this one and the rest of this second are ignored`, {
          details: { max, retryAfterMs: taken.retryAfterMs },
        });
        reply(hub, conn, "error", { error: error.toJSON() });
      }
      return;
    }
    onMessage(deps, conn, data, isBinary).catch((error: unknown) => {
      deps.ctx.logger.error({ err: error, conn: conn.id }, "WebSocket message handling failed");
    });
  });
  socket.on("close", () => {
    hub.remove(conn);
    perIp.closed(ip);
  });
}

async function onMessage(deps: WsRouteDeps, conn: WsConnection, data: WebSocket.RawData, isBinary: boolean): Promise<void> {
  const { ctx, hub } = deps;
  let message: ClientMessage;
  try {
    if (isBinary) throw new WsProtocolError("WS_BAD_MESSAGE", "send JSON text frames, not binary");
    message = parseClientMessage(rawText(data), ctx.markets);
  } catch (error) {
    if (!(error instanceof WsProtocolError)) throw error;
    reply(hub, conn, "error", { error: error.toJSON(), ...idOf(error.details.id) });
    return;
  }
  const id = idOf(message.id);
  if (message.op === "ping") {
    reply(hub, conn, "pong", { ...id, ts: ctx.clock.now() });
    return;
  }
  const channel = message.channel;
  try {
    if (message.op === "unsubscribe") {
      hub.unsubscribe(conn, channel);
      reply(hub, conn, "unsubscribed", { channel: channel.name, ...id });
      return;
    }
    if (channel.kind === "orders") {
      await checkSubscribeAuth(
        { chains: ctx.chains, clock: ctx.clock, erc1271TimeoutMs: ctx.config.verifier?.erc1271TimeoutMs },
        { trader: channel.trader, channel: channel.name, auth: message.auth, maxExpirySeconds: ctx.settings.wsAuthMaxExpirySeconds },
      );
    }
    hub.subscribe(conn, channel);
    // Stream channels: the cursor exists before the ack, so nothing after the ack is missed.
    if (channel.kind === "trades" || channel.kind === "orders") await deps.ticker.ensureCursors();
    reply(hub, conn, "subscribed", { channel: channel.name, ...id });
  } catch (error) {
    if (error instanceof WsProtocolError) {
      reply(hub, conn, "error", { error: error.toJSON(), ...id });
      return;
    }
    ctx.logger.warn({ err: (error as Error).message, channel: channel.name }, "WebSocket subscription failed");
    if (conn.channels.has(channel.name)) hub.unsubscribe(conn, channel);
    reply(hub, conn, "error", { error: { code: "WS_UNAVAILABLE", message: "could not subscribe now; retry", details: { channel: channel.name } }, ...id });
  }
}

function reply(hub: SubscriptionHub, conn: WsConnection, type: string, fields: Record<string, unknown>): void {
  hub.send(conn, type, toJson({ type, ...fields }));
}

function idOf(id: unknown): { id?: string | number } {
  return typeof id === "string" || typeof id === "number" ? { id } : {};
}

function rawText(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data).toString("utf8");
}
