/**
 * Limits per client address and per WebSocket connection: HTTP requests per address (inject
 * with a remote address; the WebSocket ones over real sockets from 127.0.0.1, loopback made
 * subject to them), and the loopback exemption that keeps local benchmarks unlimited.
 */
import { expect } from "chai";
import type { AddressInfo } from "node:net";
import type { LightMyRequestResponse } from "fastify";
import { WS_CLOSE } from "../../../operator/api";
import { ConfigError, loadConfig } from "../../../operator/config";
import { get, reset, signedBody, teardown, useApiSuite, ALICE, type StartOptions } from "./fixture";
import { TestClient, sleep } from "./wsClient";

/** The smallest valid environment, plus `extra`. */
function env(extra: Record<string, string>): Record<string, string> {
  return {
    HYPERINDEX_RPC_URL: "https://rpc.hyperliquid.xyz/evm",
    HYPERINDEX_CHAIN_ID: "999",
    HYPERINDEX_SETTLEMENT_ADDRESS: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
    HYPERINDEX_COMMITMENT_ADDRESS: "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
    HYPERINDEX_OPERATOR_PRIVATE_KEY: "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    HYPERINDEX_MARKETS: JSON.stringify([
      { id: 1, symbol: "HYPE-USDC", baseToken: `0x${"11".repeat(20)}`, quoteToken: `0x${"22".repeat(20)}`, baseDecimals: 18, tickSize: "1000", lotSize: "1000000000000000", minLots: 10, makerFeeBps: 2, takerFeeBps: 5 },
    ]),
    ...extra,
  };
}

describe("operator/config client limits (HYPERINDEX_*), as the API reads them", () => {
  it("defaults to generous limits, loopback exempt", () => {
    expect(loadConfig(env({}), { cpuCount: 1 }).clientLimits).to.deep.equal({
      httpRequestsPerIp: 1_000,
      httpWindowMs: 1_000,
      wsConnectionsPerIp: 50,
      wsMessagesPerSecond: 100,
      exemptLoopback: true,
      maxBodyDrainBytes: 1_048_576,
    });
  });

  it("reads each variable, and names a bad one", () => {
    const config = loadConfig(
      env({
        HYPERINDEX_HTTP_RATE_LIMIT_PER_IP: "20",
        HYPERINDEX_HTTP_RATE_LIMIT_WINDOW_MS: "500",
        HYPERINDEX_WS_MAX_CONNECTIONS_PER_IP: "3",
        HYPERINDEX_WS_MAX_MESSAGES_PER_SECOND: "7",
        HYPERINDEX_CLIENT_LIMITS_EXEMPT_LOOPBACK: "false",
        HYPERINDEX_MAX_BODY_DRAIN_BYTES: "65536",
      }),
      { cpuCount: 1 },
    );
    expect(config.clientLimits).to.deep.equal({ httpRequestsPerIp: 20, httpWindowMs: 500, wsConnectionsPerIp: 3, wsMessagesPerSecond: 7, exemptLoopback: false, maxBodyDrainBytes: 65_536 });
    let error: unknown;
    try {
      loadConfig(env({ HYPERINDEX_CLIENT_LIMITS_EXEMPT_LOOPBACK: "yes", HYPERINDEX_WS_MAX_CONNECTIONS_PER_IP: "0" }), { cpuCount: 1 });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(ConfigError);
    expect((error as ConfigError).message).to.include('HYPERINDEX_CLIENT_LIMITS_EXEMPT_LOOPBACK: expected true or false, got "yes"');
    expect((error as ConfigError).message).to.include("HYPERINDEX_WS_MAX_CONNECTIONS_PER_IP: expected a positive integer");
  });
});

describe("operator/api limits per client address and WebSocket connection", function () {
  this.timeout(20_000);
  const h = useApiSuite();
  const clients: TestClient[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await teardown(h);
  });

  function from(ip: string, method: "GET" | "POST", url: string, body?: unknown): Promise<LightMyRequestResponse> {
    return h.app.inject({ method, url, remoteAddress: ip, ...(body === undefined ? {} : { payload: JSON.stringify(body), headers: { "content-type": "application/json" } }) });
  }

  async function listen(options: StartOptions): Promise<string> {
    await reset(h, options);
    await h.app.listen({ host: "127.0.0.1", port: 0 });
    return `ws://127.0.0.1:${(h.app.server.address() as AddressInfo).port}/v1/ws`;
  }

  async function connect(url: string): Promise<TestClient> {
    const c = await TestClient.connect(url);
    clients.push(c);
    return c;
  }

  it("answers an address past its HTTP requests per window 429 RATE_LIMITED_IP with Retry-After, on every route, and no other address", async () => {
    await reset(h, { clientLimits: { httpRequestsPerIp: 3, httpWindowMs: 60_000 } });
    for (let i = 0; i < 3; i++) expect((await from("10.0.0.1", "GET", "/v1/markets")).statusCode).to.equal(200);
    const refused = await from("10.0.0.1", "GET", "/v1/markets");
    expect(refused.statusCode).to.equal(429);
    expect(refused.headers["retry-after"]).to.equal("60");
    const { error } = refused.json();
    expect(error.code).to.equal("RATE_LIMITED_IP");
    expect(error.message).to.match(/more than 3 requests in 60000 ms/);
    expect(error.details).to.include({ limit: 3, windowMs: 60_000 });
    expect(error.details.retryAfterMs).to.be.within(59_000, 60_000);
    // Every route: an order too (refused before it is read), the WebSocket upgrade too.
    const order = await from("10.0.0.1", "POST", "/v1/orders", signedBody(h, ALICE, { isBuy: true, ticks: 100_000, lots: 1 }));
    expect([order.statusCode, order.json().error.code]).to.deep.equal([429, "RATE_LIMITED_IP"]);
    expect((await from("10.0.0.1", "GET", "/v1/ws")).statusCode).to.equal(429);
    // Other addresses, and loopback (exempt by default), are not affected.
    expect((await from("10.0.0.2", "GET", "/v1/markets")).statusCode).to.equal(200);
    for (let i = 0; i < 10; i++) expect((await from("127.0.0.1", "GET", "/v1/markets")).statusCode).to.equal(200);
    expect((await get(h, "/metrics")).body).to.match(/hyperindex_api_client_limited_total\{limit="http_ip"\} [1-9]/);
  });

  it("serves the address again once its window has passed", async () => {
    await reset(h, { clientLimits: { httpRequestsPerIp: 2, httpWindowMs: 300, exemptLoopback: false } });
    for (let i = 0; i < 2; i++) expect((await from("127.0.0.1", "GET", "/health")).statusCode).to.equal(200);
    const refused = await from("127.0.0.1", "GET", "/health");
    expect([refused.statusCode, refused.headers["retry-after"]]).to.deep.equal([429, "1"]);
    expect(refused.json().error.details.retryAfterMs).to.be.within(1, 300);
    await sleep(350);
    expect((await from("127.0.0.1", "GET", "/health")).statusCode).to.equal(200);
  });

  it("closes a WebSocket past the address's connection limit with 4029 after telling it WS_TOO_MANY_CONNECTIONS, and admits one again when another closes", async () => {
    const url = await listen({ clientLimits: { wsConnectionsPerIp: 2, exemptLoopback: false } });
    const [a, b] = [await connect(url), await connect(url)];
    const third = await connect(url);
    expect(await third.closed).to.deep.equal({ code: WS_CLOSE.TOO_MANY_CONNECTIONS, reason: "too many connections from this address" });
    expect(third.messages).to.deep.equal([
      { type: "error", error: { code: "WS_TOO_MANY_CONNECTIONS", message: "at most 2 WebSocket connections per address; close one first", details: { max: 2 } } },
    ]);
    for (const c of [a, b]) expect((await c.request({ op: "ping" }, 1)).type).to.equal("pong");

    a.ws.close();
    await a.closed;
    await sleep(50);
    const again = await connect(url);
    expect((await again.request({ op: "ping" }, 2)).type).to.equal("pong");
    expect((await get(h, "/metrics")).body).to.include('hyperindex_api_client_limited_total{limit="ws_connections_ip"} 1');
  });

  it("does not limit loopback connections by default", async () => {
    const url = await listen({ clientLimits: { wsConnectionsPerIp: 2 } });
    const all = [];
    for (let i = 0; i < 5; i++) all.push(await connect(url));
    for (const [i, c] of all.entries()) expect((await c.request({ op: "ping" }, i)).type).to.equal("pong");
  });

  it("ignores a connection's messages past its per-second limit, says so once with WS_RATE_LIMITED, keeps it open, and serves it the next second", async () => {
    const url = await listen({ clientLimits: { wsMessagesPerSecond: 5 } });
    const c = await connect(url);
    for (let id = 1; id <= 12; id++) c.send({ op: "ping", id });
    const limited = await c.waitFor((m) => m.type === "error");
    expect(limited.error).to.deep.include({ code: "WS_RATE_LIMITED", message: "at most 5 messages per second; this one and the rest of this second are ignored" });
    expect(limited.error.details.max).to.equal(5);
    expect(limited.error.details.retryAfterMs).to.be.within(1, 1_000);
    await sleep(100);
    expect(c.of("pong").map((m) => m.id)).to.deep.equal([1, 2, 3, 4, 5]);
    expect(c.of("error")).to.have.length(1);

    await sleep(limited.error.details.retryAfterMs);
    expect((await c.request({ op: "ping" }, 13)).type).to.equal("pong");
    expect(c.ws.readyState).to.equal(c.ws.OPEN);
    expect((await get(h, "/metrics")).body).to.include('hyperindex_api_client_limited_total{limit="ws_messages"} 1');
  });
});
