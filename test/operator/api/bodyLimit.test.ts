/**
 * Oversize bodies over a real socket: the client that keeps writing a body several times the
 * limit reads a 413 PAYLOAD_TOO_LARGE in the API's error format, never a connection reset.
 */
import { expect } from "chai";
import net from "node:net";
import { TEST_LIMITS, reset, teardown, useApiSuite, type StartOptions } from "./fixture";
import { sleep } from "./wsClient";

interface Exchange {
  reply: string;
  /** Socket errors the client saw (ECONNRESET, EPIPE...). */
  errors: string[];
  /** Bytes of the body written before the reply's first byte arrived. */
  sentBeforeReply: number;
}

/**
 * Sends `head`, then `chunks` one by one (`gapMs` apart), as an HTTP client streaming its body
 * does: it keeps writing whatever comes back meanwhile (an early answer, the server's FIN),
 * until a write fails. Resolves once it is done writing and the server closed the connection.
 */
function exchange(port: number, head: string, chunks: Buffer[], gapMs = 2): Promise<Exchange> {
  return new Promise((resolve) => {
    // allowHalfOpen: the server's FIN does not end our side; we finish sending, like a client would.
    const socket = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    const result: Exchange = { reply: "", errors: [], sentBeforeReply: -1 };
    let sent = 0;
    let writing = true;
    let serverDone = false;
    const settle = () => {
      if (!writing && serverDone) resolve(result);
    };
    socket.on("data", (d) => {
      if (result.sentBeforeReply < 0) result.sentBeforeReply = sent;
      result.reply += d.toString("utf8");
    });
    socket.on("error", (e: NodeJS.ErrnoException) => result.errors.push(e.code ?? e.message));
    socket.on("end", () => {
      serverDone = true;
      settle();
    });
    socket.on("close", () => {
      serverDone = true;
      writing = false;
      settle();
    });
    socket.on("connect", async () => {
      socket.write(head);
      for (const chunk of chunks) {
        if (result.errors.length > 0 || socket.destroyed) break;
        const failed = await new Promise<Error | null | undefined>((done) => socket.write(chunk, done));
        if (failed) {
          result.errors.push((failed as NodeJS.ErrnoException).code ?? failed.message);
          break;
        }
        sent += chunk.length;
        await sleep(gapMs);
      }
      writing = false;
      if (!socket.destroyed) socket.end();
      settle();
    });
  });
}

function bodyOf(reply: string): Record<string, any> {
  const text = reply.slice(reply.indexOf("\r\n\r\n") + 4);
  return JSON.parse(text);
}

function post(headers: string[]): string {
  return ["POST /v1/orders HTTP/1.1", "Host: x", "Content-Type: application/json", ...headers, "", ""].join("\r\n");
}

/** A chunk of chunked transfer coding. */
function chunked(data: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from("\r\n")]);
}

describe("operator/api oversize bodies", function () {
  this.timeout(30_000);
  const h = useApiSuite();
  const limit = TEST_LIMITS.maxBodyBytes;
  afterEach(() => teardown(h));

  async function listen(options: StartOptions = {}): Promise<number> {
    await reset(h, options);
    await h.app.listen({ host: "127.0.0.1", port: 0 });
    return (h.app.server.address() as net.AddressInfo).port;
  }

  const piece = Buffer.alloc(4_096, "x");
  const pieces = (n: number) => Array.from({ length: n }, () => piece);

  it("answers a body several times the limit (Content-Length, sent in chunks) 413 PAYLOAD_TOO_LARGE once it is sent: no reset", async () => {
    const port = await listen();
    const chunks = pieces((5 * limit) / piece.length);
    const { reply, errors, sentBeforeReply } = await exchange(port, post([`Content-Length: ${5 * limit}`]), chunks);
    expect(errors).to.deep.equal([]);
    expect(reply).to.match(/^HTTP\/1\.1 413 /);
    expect(bodyOf(reply)).to.deep.equal({ error: { code: "PAYLOAD_TOO_LARGE", message: "the body is larger than the configured maximum", details: { maxBytes: limit } } });
    expect(sentBeforeReply).to.equal(5 * limit);
  });

  it("does the same for a chunked body without Content-Length", async () => {
    const port = await listen();
    const chunks = [...pieces((5 * limit) / piece.length).map(chunked), Buffer.from("0\r\n\r\n")];
    const { reply, errors, sentBeforeReply } = await exchange(port, post(["Transfer-Encoding: chunked"]), chunks);
    expect(errors).to.deep.equal([]);
    expect(reply).to.match(/^HTTP\/1\.1 413 /);
    expect(bodyOf(reply).error.code).to.equal("PAYLOAD_TOO_LARGE");
    expect(sentBeforeReply).to.equal(chunks.reduce((n, c) => n + c.length, 0));
  });

  it("answers at once, without reading it, a body announced beyond the drain bound", async () => {
    const port = await listen({ clientLimits: { maxBodyDrainBytes: 2 * limit } });
    const { reply, sentBeforeReply } = await exchange(port, post([`Content-Length: ${100 * limit}`]), pieces(4), 50);
    expect(reply).to.match(/^HTTP\/1\.1 413 /);
    expect(sentBeforeReply).to.be.lessThan(4 * piece.length);
    expect(bodyOf(reply).error.code).to.equal("PAYLOAD_TOO_LARGE");
  });

  it("still reads a body within the limit", async () => {
    const port = await listen();
    const { reply, errors } = await exchange(port, post(["Content-Length: 9"]), [Buffer.from("not json!")]);
    expect(errors).to.deep.equal([]);
    expect(reply).to.match(/^HTTP\/1\.1 400 /);
    expect(bodyOf(reply).error.code).to.equal("BODY_NOT_JSON");
  });
});
