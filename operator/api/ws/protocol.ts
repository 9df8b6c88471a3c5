/**
 * The WebSocket protocol of /v1/ws (JSON text messages; see ../README.md for the full list).
 *
 * Client -> server:
 *   { "op": "subscribe" | "unsubscribe", "channel": "book:<market>" | "trades:<market>" | "orders:<trader>", "id"?: string | int }
 *   { "op": "ping", "id"?: ... }
 *   <market> is a symbol (any case) or a market id; <trader> an address.
 * Server -> client: subscribed / unsubscribed / pong acks (echoing id and the channel's canonical
 * name: "book:WETH-USDC", "orders:0xabc…" lower-case), error { code, message, details }, and
 * the data messages book / trades / orders (./ticker.ts).
 */
import { BaseError, type BaseErrorOptions } from "../../errors";
import type { Market } from "../../markets";
import { decodeAddress, type Address } from "../../orders";
import type { MarketRegistry } from "../../markets";

/** Close codes the server uses. */
export const WS_CLOSE = {
  /** The server is shutting down. */
  GOING_AWAY: 1001,
  /** A message larger than the limit (set by ws itself). */
  MESSAGE_TOO_BIG: 1009,
  /** The client did not read fast enough: its unsent data passed the per-connection bound. */
  SLOW_CONSUMER: 4001,
} as const;

export const WS_ERROR_CODES = {
  /** The message is not JSON text. */
  WS_BAD_JSON: "WS_BAD_JSON",
  /** Not an object, an unknown field, a missing or mistyped op / channel / id, a binary frame. */
  WS_BAD_MESSAGE: "WS_BAD_MESSAGE",
  /** op is not subscribe, unsubscribe or ping. */
  WS_UNKNOWN_OP: "WS_UNKNOWN_OP",
  /** The channel is not book:<market>, trades:<market> or orders:<trader>. */
  WS_UNKNOWN_CHANNEL: "WS_UNKNOWN_CHANNEL",
  /** No such market. */
  MARKET_NOT_FOUND: "MARKET_NOT_FOUND",
  /** The trader of orders:<trader> is not an address (or has a wrong EIP-55 checksum). */
  ADDRESS_INVALID: "ADDRESS_INVALID",
  WS_TOO_MANY_SUBSCRIPTIONS: "WS_TOO_MANY_SUBSCRIPTIONS",
  /** unsubscribe from a channel the connection is not subscribed to. */
  WS_NOT_SUBSCRIBED: "WS_NOT_SUBSCRIBED",
  /** The subscription could not be set up now (Redis unavailable): retry. */
  WS_UNAVAILABLE: "WS_UNAVAILABLE",
} as const;

export type WsErrorCode = keyof typeof WS_ERROR_CODES;

export class WsProtocolError extends BaseError {
  override name = "WsProtocolError" as const;
  declare readonly code: WsErrorCode;

  constructor(code: WsErrorCode, shortMessage: string, options: BaseErrorOptions = {}) {
    super(code, shortMessage, options);
  }
}

export type Channel =
  | { kind: "book"; name: string; market: Market }
  | { kind: "trades"; name: string; market: Market }
  | { kind: "orders"; name: string; trader: Address };

export type RequestId = string | number;

export type ClientMessage =
  | { op: "subscribe" | "unsubscribe"; channel: Channel; id?: RequestId }
  | { op: "ping"; id?: RequestId };

const KEYS = ["op", "channel", "id"];

/** Parses one client message; throws WsProtocolError (with the request id in details if readable). */
export function parseClientMessage(text: string, markets: MarketRegistry): ClientMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new WsProtocolError("WS_BAD_JSON", "messages are JSON objects");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new WsProtocolError("WS_BAD_MESSAGE", 'a message is an object { "op": ..., "channel": ... }');
  }
  const obj = value as Record<string, unknown>;
  const id = obj.id;
  if (id !== undefined && !((typeof id === "string" && id.length <= 64) || (typeof id === "number" && Number.isSafeInteger(id)))) {
    throw new WsProtocolError("WS_BAD_MESSAGE", "id must be a string of at most 64 characters or an integer");
  }
  const ctx = id === undefined ? {} : { id };
  const unknown = Object.keys(obj).find((k) => !KEYS.includes(k));
  if (unknown !== undefined) {
    throw new WsProtocolError("WS_BAD_MESSAGE", `unknown field ${JSON.stringify(unknown.slice(0, 40))}; expected op, channel, id`, { details: ctx });
  }
  if (typeof obj.op !== "string") throw new WsProtocolError("WS_BAD_MESSAGE", "op must be a string", { details: ctx });
  if (obj.op === "ping") return { op: "ping", id: id as RequestId | undefined };
  if (obj.op !== "subscribe" && obj.op !== "unsubscribe") {
    throw new WsProtocolError("WS_UNKNOWN_OP", `unknown op ${JSON.stringify(obj.op.slice(0, 40))}; expected subscribe, unsubscribe or ping`, { details: ctx });
  }
  if (typeof obj.channel !== "string") throw new WsProtocolError("WS_BAD_MESSAGE", "channel must be a string", { details: ctx });
  return { op: obj.op, channel: parseChannel(obj.channel, markets, ctx), id: id as RequestId | undefined };
}

export function parseChannel(text: string, markets: MarketRegistry, ctx: Record<string, unknown> = {}): Channel {
  const colon = text.indexOf(":");
  const kind = colon === -1 ? text : text.slice(0, colon);
  const arg = colon === -1 ? "" : text.slice(colon + 1);
  const shown = JSON.stringify(text.slice(0, 80));
  if (kind === "book" || kind === "trades") {
    const market = markets.resolve(arg);
    if (market === undefined) {
      throw new WsProtocolError("MARKET_NOT_FOUND", `no market ${JSON.stringify(arg.slice(0, 40))}`, {
        details: { ...ctx, channel: text.slice(0, 80), known: markets.all.map((m) => m.symbol) },
      });
    }
    return { kind, name: `${kind}:${market.symbol}`, market };
  }
  if (kind === "orders") {
    let trader: Address;
    try {
      trader = decodeAddress(arg, "trader");
    } catch {
      throw new WsProtocolError("ADDRESS_INVALID", `orders:<trader> needs an address (0x + 40 hex digits), got ${shown}`, { details: { ...ctx, channel: text.slice(0, 80) } });
    }
    return { kind, name: `orders:${trader}`, trader };
  }
  throw new WsProtocolError("WS_UNKNOWN_CHANNEL", `unknown channel ${shown}; expected book:<market>, trades:<market> or orders:<trader>`, {
    details: { ...ctx, channel: text.slice(0, 80) },
  });
}
