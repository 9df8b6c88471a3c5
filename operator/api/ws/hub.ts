/**
 * WebSocket connections and their subscriptions, and the one way to send to them.
 *
 * Memory is bounded per connection: the only buffer is the socket's own (ws queues what the
 * kernel does not take yet). Before each send, a connection whose unsent bytes plus the new
 * message would pass `maxBufferedBytes` is a slow consumer: it is unsubscribed at once, closed
 * with 4001, and destroyed if it has not taken its close frame within `closeGraceMs`.
 */
import WebSocket from "ws";
import type { Logger } from "../../log";
import type { ApiMetrics } from "../metrics";
import { WS_CLOSE, WsProtocolError, type Channel } from "./protocol";

export interface WsConnection {
  readonly id: number;
  readonly socket: WebSocket;
  /** Subscribed channels by canonical name. */
  readonly channels: Map<string, Channel>;
  /** Book channels still waiting for their first snapshot. */
  readonly unprimed: Set<string>;
  dropped: boolean;
}

export interface HubParams {
  maxBufferedBytes: number;
  maxSubscriptions: number;
  closeGraceMs: number;
}

export interface ChannelSubscribers {
  channel: Channel;
  conns: Set<WsConnection>;
}

export class SubscriptionHub {
  private readonly conns = new Set<WsConnection>();
  private readonly byChannel = new Map<string, ChannelSubscribers>();
  private nextId = 1;
  private closing = false;

  constructor(
    private readonly deps: { logger: Logger; metrics: ApiMetrics },
    private readonly params: HubParams,
  ) {}

  get size(): number {
    return this.conns.size;
  }

  get isClosing(): boolean {
    return this.closing;
  }

  add(socket: WebSocket): WsConnection {
    const conn: WsConnection = { id: this.nextId++, socket, channels: new Map(), unprimed: new Set(), dropped: false };
    this.conns.add(conn);
    this.deps.metrics.wsConnections.set(this.conns.size);
    return conn;
  }

  remove(conn: WsConnection): void {
    this.unsubscribeAll(conn);
    if (this.conns.delete(conn)) this.deps.metrics.wsConnections.set(this.conns.size);
  }

  /** False if the connection was already subscribed (the ack is the same). */
  subscribe(conn: WsConnection, channel: Channel): boolean {
    if (conn.channels.has(channel.name)) return false;
    if (conn.channels.size >= this.params.maxSubscriptions) {
      throw new WsProtocolError("WS_TOO_MANY_SUBSCRIPTIONS", `at most ${this.params.maxSubscriptions} subscriptions per connection`, {
        details: { max: this.params.maxSubscriptions },
      });
    }
    conn.channels.set(channel.name, channel);
    if (channel.kind === "book") conn.unprimed.add(channel.name);
    let subs = this.byChannel.get(channel.name);
    if (subs === undefined) this.byChannel.set(channel.name, (subs = { channel, conns: new Set() }));
    subs.conns.add(conn);
    return true;
  }

  unsubscribe(conn: WsConnection, channel: Channel): void {
    if (!conn.channels.delete(channel.name)) {
      throw new WsProtocolError("WS_NOT_SUBSCRIBED", `not subscribed to ${channel.name}`, { details: { channel: channel.name } });
    }
    conn.unprimed.delete(channel.name);
    const subs = this.byChannel.get(channel.name);
    subs?.conns.delete(conn);
    if (subs?.conns.size === 0) this.byChannel.delete(channel.name);
  }

  /** Every channel with at least one subscriber. */
  channels(): IterableIterator<ChannelSubscribers> {
    return this.byChannel.values();
  }

  subscribers(name: string): ChannelSubscribers | undefined {
    return this.byChannel.get(name);
  }

  /** Sends one text message; false if the connection is gone or was just dropped as slow. */
  send(conn: WsConnection, type: string, text: string): boolean {
    if (conn.dropped || conn.socket.readyState !== WebSocket.OPEN) return false;
    const buffered = conn.socket.bufferedAmount;
    if (buffered + Buffer.byteLength(text) > this.params.maxBufferedBytes) {
      this.drop(conn, buffered);
      return false;
    }
    conn.socket.send(text);
    this.deps.metrics.wsMessages.inc({ type });
    return true;
  }

  /** Closes every connection with `code`; destroys those still open after the grace period. */
  async closeAll(code: number, reason: string): Promise<void> {
    this.closing = true;
    const open = [...this.conns].map((conn) => {
      this.unsubscribeAll(conn);
      return new Promise<void>((resolve) => {
        if (conn.socket.readyState === WebSocket.CLOSED) return resolve();
        conn.socket.once("close", () => resolve());
        conn.socket.close(code, reason);
      });
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(open), new Promise((resolve) => (timer = setTimeout(resolve, this.params.closeGraceMs)))]);
    clearTimeout(timer);
    for (const conn of this.conns) if (conn.socket.readyState !== WebSocket.CLOSED) conn.socket.terminate();
  }

  private drop(conn: WsConnection, buffered: number): void {
    conn.dropped = true;
    this.unsubscribeAll(conn);
    this.deps.metrics.wsSlowConsumers.inc();
    this.deps.logger.warn({ conn: conn.id, bufferedBytes: buffered, maxBufferedBytes: this.params.maxBufferedBytes }, "slow WebSocket consumer disconnected");
    conn.socket.close(WS_CLOSE.SLOW_CONSUMER, "slow consumer");
    setTimeout(() => {
      if (conn.socket.readyState !== WebSocket.CLOSED) conn.socket.terminate();
    }, this.params.closeGraceMs).unref();
  }

  private unsubscribeAll(conn: WsConnection): void {
    for (const channel of [...conn.channels.values()]) this.unsubscribe(conn, channel);
  }
}
