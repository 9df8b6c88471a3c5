/** GET /v1/ws: the WebSocket endpoint (protocol in ./protocol.ts and ../README.md). */
import type { FastifyInstance } from "fastify";
import type WebSocket from "ws";
import type { ApiContext } from "../context";
import { ApiError, toErrorResponse } from "../errors";
import { toJson } from "../json";
import { sendError } from "../reply";
import type { SubscriptionHub, WsConnection } from "./hub";
import { WS_CLOSE, WsProtocolError, parseClientMessage, type ClientMessage } from "./protocol";
import type { Ticker } from "./ticker";

export interface WsRouteDeps {
  ctx: ApiContext;
  hub: SubscriptionHub;
  ticker: Ticker;
}

export function registerWsRoute(app: FastifyInstance, deps: WsRouteDeps): void {
  app.route({
    method: "GET",
    url: "/v1/ws",
    // A plain GET (no Upgrade header) is told what to do instead of getting an empty 404.
    handler: async (_request, reply) =>
      sendError(reply.header("upgrade", "websocket"), toErrorResponse(new ApiError("UPGRADE_REQUIRED", "connect with a WebSocket client (Upgrade: websocket)"))),
    wsHandler: (socket: WebSocket) => onConnection(deps, socket),
  });
}

function onConnection(deps: WsRouteDeps, socket: WebSocket): void {
  const { hub } = deps;
  if (hub.isClosing) {
    socket.close(WS_CLOSE.GOING_AWAY, "server shutting down");
    return;
  }
  const conn = hub.add(socket);
  socket.on("message", (data, isBinary) => {
    onMessage(deps, conn, data, isBinary).catch((error: unknown) => {
      deps.ctx.logger.error({ err: error, conn: conn.id }, "WebSocket message handling failed");
    });
  });
  socket.on("close", () => hub.remove(conn));
  // ws emits errors of a broken connection here; the close event follows.
  socket.on("error", () => undefined);
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
