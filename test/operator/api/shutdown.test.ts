/**
 * Graceful shutdown and slow clients, over real sockets: a request during a shutdown gets a
 * 503 reply (never a connection closed without one), and a client that never finishes sending
 * its request is answered 408 and cut off.
 */
import { expect } from "chai";
import http from "node:http";
import net from "node:net";
import { closeApi } from "../../../operator/api";
import { reset, teardown, useApiSuite } from "./fixture";

function request(port: number, agent: http.Agent, path = "/v1/markets"): Promise<{ status: number; body: string; connection?: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path, agent }, (res) => {
      let body = "";
      res.on("data", (d) => (body += String(d)));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Writes `text` on a raw socket and resolves with what the server answered when it closed the connection. */
function rawExchange(port: number, text: string): Promise<{ reply: string; ms: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(port, "127.0.0.1", () => socket.write(text));
    let reply = "";
    socket.on("data", (d) => (reply += String(d)));
    socket.on("error", () => undefined);
    socket.on("close", () => resolve({ reply, ms: Date.now() - started }));
  });
}

describe("operator/api shutdown and slow clients", function () {
  this.timeout(30_000);
  const h = useApiSuite();
  afterEach(() => teardown(h));

  it("answers a new request with 503 SERVICE_UNAVAILABLE during a graceful shutdown, also on a kept-alive connection, then stops listening", async () => {
    await reset(h, { api: { shutdownLingerMs: 600 } });
    await h.app.listen({ host: "127.0.0.1", port: 0 });
    const port = (h.app.server.address() as net.AddressInfo).port;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await request(port, agent)).status).to.equal(200); // the socket is now kept alive
      const closing = closeApi(h.app);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const kept = await request(port, agent); // on the kept-alive socket
      expect(kept.status).to.equal(503);
      expect(JSON.parse(kept.body).error.code).to.equal("SERVICE_UNAVAILABLE");
      expect(kept.connection).to.equal("close");
      const fresh = await request(port, new http.Agent({ keepAlive: false })); // a new connection
      expect(fresh.status).to.equal(503);
      await closing;
      expect(h.app.server.listening).to.equal(false);
    } finally {
      agent.destroy();
    }
  });

  it("lets a request in flight finish during the shutdown", async () => {
    await reset(h, { api: { shutdownLingerMs: 0 } });
    await h.app.listen({ host: "127.0.0.1", port: 0 });
    const port = (h.app.server.address() as net.AddressInfo).port;
    // A request whose body is still arriving when the shutdown starts.
    const body = JSON.stringify({ orders: [] });
    const reply = new Promise<number>((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port, path: "/v1/orders", method: "POST", headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      });
      req.on("error", reject);
      req.write(body.slice(0, 5));
      setTimeout(() => req.end(body.slice(5)), 300);
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closing = closeApi(h.app);
    expect(await reply).to.equal(400); // answered (an empty batch is INVALID_FIELD), not cut off
    await closing;
  });

  it("answers 408 and closes the connection of a client that never finishes its headers", async () => {
    await reset(h, { api: { headersTimeoutMs: 500, requestTimeoutMs: 1_000 } });
    await h.app.listen({ host: "127.0.0.1", port: 0 });
    const port = (h.app.server.address() as net.AddressInfo).port;
    const { reply, ms } = await rawExchange(port, "POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n");
    expect(reply).to.match(/^HTTP\/1\.1 408/);
    expect(ms).to.be.lessThan(5_000);
  });

  it("answers 408 and closes the connection of a client that never finishes its body", async () => {
    await reset(h, { api: { headersTimeoutMs: 500, requestTimeoutMs: 1_000 } });
    await h.app.listen({ host: "127.0.0.1", port: 0 });
    const port = (h.app.server.address() as net.AddressInfo).port;
    const { reply, ms } = await rawExchange(port, "POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"orders\"");
    expect(reply).to.match(/^HTTP\/1\.1 408/);
    expect(ms).to.be.lessThan(6_000);
  });
});
