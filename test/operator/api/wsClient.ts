/** A small WebSocket test client over `ws`: records every message, waits for matching ones. */
import WebSocket from "ws";

export type Message = Record<string, any>;

export class TestClient {
  readonly messages: Message[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => this.messages.push(JSON.parse(data.toString())));
    this.closed = new Promise((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on("error", () => undefined);
  }

  static async connect(url: string): Promise<TestClient> {
    const ws = new WebSocket(url);
    // Listening from the start: a message sent right after the upgrade may come with it.
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return client;
  }

  send(message: unknown): void {
    this.ws.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  /** The first message (from `from` on) that matches, waiting up to `timeoutMs` for it. */
  async waitFor(match: (m: Message) => boolean, timeoutMs = 5_000, from = 0): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.slice(from).find(match);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.messages.slice(-5)).slice(0, 2000)}`);
      await sleep(5);
    }
  }

  /** Sends a request with an id and waits for the answer carrying it. */
  async request(message: Record<string, unknown>, id: string | number): Promise<Message> {
    this.send({ ...message, id });
    return this.waitFor((m) => m.id === id);
  }

  of(type: string, channel?: string): Message[] {
    return this.messages.filter((m) => m.type === type && (channel === undefined || m.channel === channel));
  }

  close(): void {
    this.ws.terminate();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
