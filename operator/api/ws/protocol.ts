/**
 * The WebSocket protocol of /v1/ws (JSON text messages; see ../README.md for the full list).
 *
 * Client -> server:
 *   { "op": "subscribe" | "unsubscribe", "channel": "book:<market>" | "trades:<market>" | "orders:<trader>", "id"?: string | int }
 *   { "op": "subscribe", "channel": "orders:<trader>", "auth": { "expiry", "signature", "domain"? }, "id"?: ... }
 *   { "op": "ping", "id"?: ... }
 *   <market> is a symbol (any case) or a market id; <trader> an address. Subscribing to
 *   orders:<trader> needs `auth`, the trader's signed Subscribe (../../orders/subscribe.ts,
 *   checked by ./subscribeAuth.ts); nothing else takes it.
 * Server -> client: subscribed / unsubscribed / pong acks (echoing id and the channel's canonical
 * name: "book:WETH-USDC", "orders:0xabc…" lower-case), error { code, message, details }, and
 * the data messages book / trades / orders (./ticker.ts).
 */
import { BaseError, type BaseErrorOptions } from "../../errors";
import type { Market } from "../../markets";
import { OrderValidationError, UINT64_MAX, decodeAddress, decodeDomain, decodeSignature, decodeUintString, type Address, type Hex, type OrderDomain } from "../../orders";
import type { MarketRegistry } from "../../markets";

/** Close codes the server uses. */
export const WS_CLOSE = {
  /** The server is shutting down. */
  GOING_AWAY: 1001,
  /** A message larger than the limit (set by ws itself). */
  MESSAGE_TOO_BIG: 1009,
  /** The client did not read fast enough: its unsent data passed the per-connection bound. */
  SLOW_CONSUMER: 4001,
  /** The client's address already has the most WebSocket connections allowed. */
  TOO_MANY_CONNECTIONS: 4029,
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
  /** The subscription could not be set up now (Redis or the chain's RPC unavailable): retry. */
  WS_UNAVAILABLE: "WS_UNAVAILABLE",
  /** subscribe to orders:<trader> without `auth`. */
  WS_AUTH_REQUIRED: "WS_AUTH_REQUIRED",
  /** The signed subscription's expiry has passed: sign a new one. */
  WS_AUTH_EXPIRED: "WS_AUTH_EXPIRED",
  /** The signed subscription expires beyond the horizon (10 minutes by default). */
  WS_AUTH_EXPIRY_TOO_FAR: "WS_AUTH_EXPIRY_TOO_FAR",
  /** The signature does not prove the trader signed this subscription (details.reason says why), or its domain is not served. */
  WS_AUTH_INVALID: "WS_AUTH_INVALID",
  /** More messages than the per-connection limit in the current second; the message was ignored. */
  WS_RATE_LIMITED: "WS_RATE_LIMITED",
  /** The client's address has the most connections allowed; this one is closed (4029). */
  WS_TOO_MANY_CONNECTIONS: "WS_TOO_MANY_CONNECTIONS",
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

/** The decoded `auth` of a subscribe to orders:<trader>. */
export interface SubscribeAuth {
  expiry: bigint;
  signature: Hex;
  domain?: OrderDomain;
}

export type ClientMessage =
  | { op: "subscribe"; channel: Channel; id?: RequestId; auth?: SubscribeAuth }
  | { op: "unsubscribe"; channel: Channel; id?: RequestId }
  | { op: "ping"; id?: RequestId };

const KEYS = ["op", "channel", "id", "auth"];
const AUTH_KEYS = ["expiry", "signature", "domain"];

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
    throw new WsProtocolError("WS_BAD_MESSAGE", `unknown field ${JSON.stringify(unknown.slice(0, 40))}; expected op, channel, id, auth`, { details: ctx });
  }
  if (typeof obj.op !== "string") throw new WsProtocolError("WS_BAD_MESSAGE", "op must be a string", { details: ctx });
  if (obj.op === "ping") return { op: "ping", id: id as RequestId | undefined };
  if (obj.op !== "subscribe" && obj.op !== "unsubscribe") {
    throw new WsProtocolError("WS_UNKNOWN_OP", `unknown op ${JSON.stringify(obj.op.slice(0, 40))}; expected subscribe, unsubscribe or ping`, { details: ctx });
  }
  if (typeof obj.channel !== "string") throw new WsProtocolError("WS_BAD_MESSAGE", "channel must be a string", { details: ctx });
  const channel = parseChannel(obj.channel, markets, ctx);
  if (obj.op === "unsubscribe" || channel.kind !== "orders") {
    if (obj.auth !== undefined) {
      throw new WsProtocolError("WS_BAD_MESSAGE", "auth is for subscribing to orders:<trader> only", { details: { ...ctx, channel: channel.name } });
    }
    return { op: obj.op, channel, id: id as RequestId | undefined };
  }
  const auth = obj.auth === undefined ? undefined : parseAuth(obj.auth, { ...ctx, channel: channel.name });
  return { op: "subscribe", channel, id: id as RequestId | undefined, ...(auth === undefined ? {} : { auth }) };
}

/** `auth`: { expiry (unix seconds: decimal string or integer), signature, domain? }; WS_BAD_MESSAGE if malformed. */
function parseAuth(value: unknown, ctx: Record<string, unknown>): SubscribeAuth {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new WsProtocolError("WS_BAD_MESSAGE", 'auth must be an object { "expiry", "signature", "domain"? }', { details: ctx });
  }
  const obj = value as Record<string, unknown>;
  const unknown = Object.keys(obj).find((k) => !AUTH_KEYS.includes(k));
  if (unknown !== undefined) {
    throw new WsProtocolError("WS_BAD_MESSAGE", `unknown field auth.${unknown.slice(0, 40)}; expected expiry, signature, domain`, { details: ctx });
  }
  try {
    const expiry = typeof obj.expiry === "number" && Number.isSafeInteger(obj.expiry) && obj.expiry >= 0 ? BigInt(obj.expiry) : decodeUintString(obj.expiry, "auth.expiry", UINT64_MAX, "uint64");
    const auth: SubscribeAuth = { expiry, signature: decodeSignature(obj.signature, "auth.signature") };
    if (obj.domain !== undefined) auth.domain = decodeDomain(obj.domain, "auth.domain");
    return auth;
  } catch (error) {
    if (!(error instanceof OrderValidationError)) throw error;
    throw new WsProtocolError("WS_BAD_MESSAGE", error.message, { details: { ...ctx, ...error.details } });
  }
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
