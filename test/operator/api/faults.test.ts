/**
 * Honest answers under faults: while Redis dies under load, every reply of POST /v1/orders
 * says only what the operator knows. A refusal (4xx, 503 ENGINE_UNAVAILABLE) means the order
 * was not applied and never goes live; 201 means it was accepted; 202 "unknown" names the
 * order hash to query, and GET /v1/orders/:hash then tells (pending while it waits, then its
 * state, or 404 once known not taken).
 */
import { expect } from "chai";
import Redis from "ioredis";
import type { LightMyRequestResponse } from "fastify";
import { buildApi, closeApi } from "../../../operator/api";
import { recover, stopEngine } from "../../../operator/matching";
import { Registry } from "../../../operator/metrics";
import { OrderHasher, createVerifierPool, decodeSignedOrder } from "../../../operator/orders";
import { startRedis } from "../../helpers/redis";
import { BTC_USDC, CHAIN, DOMAIN, ETH_USDC, TEST_LIMITS, TestClock, fund, get, post, signedBody, traders, type Harness } from "./fixture";
import { checkLedger, silentLogger, startEngine } from "../matching/fixtures";

describe("operator/api under a Redis outage", function () {
  this.timeout(120_000);

  it("answers each order only what it knows while Redis is killed under load: refused orders never go live, accepted ones exist, unknown ones name the hash to query", async () => {
    // Every write fsynced; a client that gives up on a command after 300 ms or one reconnection
    // attempt (the daemon's waits ~30 s: the same situations, sooner).
    const server = await startRedis({ appendonly: true, appendfsync: "always" });
    const client = new Redis(server.url, { maxRetriesPerRequest: 1, retryStrategy: () => 50, commandTimeout: 300 });
    client.on("error", () => undefined);
    const admin = new Redis(server.url, { retryStrategy: () => 50 });
    admin.on("error", () => undefined);
    const pool = createVerifierPool({ logger: silentLogger }, { domain: DOMAIN, size: 1 });
    await pool.ready();
    const clock = new TestClock();
    const { engine } = await startEngine(client, { clock });
    const app = buildApi(
      { engine, verifier: pool, redis: client, logger: silentLogger, metrics: new Registry(), clock },
      { chains: [{ chainId: CHAIN, orderDomain: DOMAIN }], markets: [ETH_USDC, BTC_USDC], limits: TEST_LIMITS },
    );
    await app.ready();
    const h = { app, clock } as unknown as Harness;
    const hasher = new OrderHasher(DOMAIN);
    try {
      for (const t of traders) await fund(engine, t.address);
      const replies: { hash: string; res: LightMyRequestResponse }[] = [];
      let sending = true;
      const senders = traders.map(async (trader, i) => {
        for (let n = 0; sending; n++) {
          // Around a mid price of 100,000 ticks: about half of them cross.
          const body = signedBody(h, trader, { isBuy: (n + i) % 2 === 0, ticks: 100_000 + ((n * 7 + i * 3) % 9) - 4, lots: 1 + ((n + i) % 5) });
          const res = await post(h, "/v1/orders", body);
          replies.push({ hash: hasher.hash(decodeSignedOrder(body).order), res });
        }
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      // 1. Redis holds every write for 1.5 s: the engine gives up on commands Redis executes
      //    later (the case of commands resent after a reconnection).
      await admin.call("CLIENT", "PAUSE", "1500", "WRITE");
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      // 2. Redis is killed, and comes back from its append-only file.
      await server.kill();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await server.restart();
      await new Promise((resolve) => setTimeout(resolve, 500));
      sending = false;
      await Promise.all(senders);
      // The engine resynchronises before its next job: recovery settles every inbox.
      await recover(engine);

      const tally = new Map<string, number>();
      for (const { hash, res } of replies) {
        const body = res.json();
        const key = res.statusCode === 201 ? "201" : res.statusCode === 202 ? "202" : `${res.statusCode} ${body.error?.code}`;
        tally.set(key, (tally.get(key) ?? 0) + 1);
        if (res.statusCode === 201) {
          const view = (await get(h, `/v1/orders/${body.orderHash}`)).json();
          expect(["open", "filled", "cancelled"], `accepted ${body.orderHash}`).to.include(view.state);
        } else if (res.statusCode === 202) {
          expect(body).to.include({ status: "unknown" });
          expect(body.orderHash).to.match(/^0x[0-9a-f]{64}$/);
          const view = await get(h, `/v1/orders/${body.orderHash}`);
          // Decided by now: taken (and then matched) or not taken; never left pending.
          if (view.statusCode === 200) expect(["open", "filled", "cancelled"]).to.include(view.json().state);
          else expect(view.statusCode).to.equal(404);
        } else {
          // A refusal: never applied, whatever happened to Redis meanwhile.
          expect((await get(h, `/v1/orders/${hash}`)).statusCode, `refused ${res.statusCode} ${body.error.code} ${hash}`).to.equal(404);
          expect(res.statusCode === 503 ? body.error.code : "4xx").to.be.oneOf(["ENGINE_UNAVAILABLE", "4xx"]);
        }
      }
      // Both faults were felt: orders whose outcome Redis decided after the engine gave up.
      expect(tally.get("202") ?? 0, JSON.stringify([...tally])).to.be.greaterThan(0);
      expect(tally.get("201") ?? 0).to.be.greaterThan(0);
      await checkLedger(client, [ETH_USDC, BTC_USDC], traders.map((t) => t.address));
    } finally {
      await closeApi(app);
      await stopEngine(engine).catch(() => undefined);
      await pool.close();
      client.disconnect();
      admin.disconnect();
      await server.destroy();
    }
  });

  it("shows an order that waits in its market's inbox as pending", async () => {
    const server = await startRedis();
    const client = new Redis(server.url);
    const pool = createVerifierPool({ logger: silentLogger }, { domain: DOMAIN, size: 1 });
    await pool.ready();
    const clock = new TestClock();
    const { engine } = await startEngine(client, { clock });
    const app = buildApi(
      { engine, verifier: pool, redis: client, logger: silentLogger, metrics: new Registry(), clock },
      { chains: [{ chainId: CHAIN, orderDomain: DOMAIN }], markets: [ETH_USDC, BTC_USDC], limits: TEST_LIMITS },
    );
    await app.ready();
    const h = { app, clock } as unknown as Harness;
    try {
      // What a crash between intake and match leaves: the payload and the inbox entry.
      const { encodeOrderPayload, bookKeys } = await import("../../../operator/matching");
      const body = signedBody(h, traders[0], { isBuy: true, ticks: 100_000, lots: 1 });
      const signed = decodeSignedOrder(body);
      const orderHash = new OrderHasher(DOMAIN).hash(signed.order);
      const k = bookKeys(ETH_USDC.id);
      await client.hset(k.payloads, orderHash, encodeOrderPayload({ market: ETH_USDC.id, receivedAt: clock.now(), order: signed.order, signature: signed.signature, orderHash }));
      await client.sadd(k.inbox, orderHash);
      const view = await get(h, `/v1/orders/${orderHash}`);
      expect(view.statusCode, view.body).to.equal(200);
      expect(view.json()).to.deep.include({ state: "pending", orderHash, filledAmount: "0", seq: 0 });
      // Without a lock it is not taken: recovery discards it, and then it is unknown.
      await recover(engine);
      expect((await get(h, `/v1/orders/${orderHash}`)).statusCode).to.equal(404);
    } finally {
      await closeApi(app);
      await stopEngine(engine);
      await pool.close();
      client.disconnect();
      await server.destroy();
    }
  });
});
