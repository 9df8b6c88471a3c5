/**
 * The reconciler's alerts (operator/reconciler/alerts.ts) with a real Redis and a real HTTP
 * receiver: an alert halts exactly the markets of its chain trading its token (keeping a halt
 * reason already there), posts the documented JSON to the webhook, and a webhook that fails or
 * hangs past its timeout costs a warning, never the halt.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import { createLogger } from "../../../operator/log";
import { getMarketStatus, haltMarket, registerMarket, resumeMarket } from "../../../operator/markets";
import type { Address } from "../../../operator/orders";
import { raiseAlert } from "../../../operator/reconciler/alerts";
import type { DriftAlert } from "../../../operator/reconciler";
import { useRedisServer } from "../../helpers/redis";
import { BTC_USDC, ETH_USDC } from "../matching/fixtures";

const logger = createLogger({ level: "silent" });

function alertOn(token: Address, chainId: number): DriftAlert {
  return { chainId, token, symbol: "USDC", block: 42n, absDrift: 123n, deficit: 0n, traders: [{ trader: "0x00000000000000000000000000000000000000c1", drift: -123n }], untracked: 0n };
}

describe("operator/reconciler alerts", () => {
  const db = useRedisServer();
  let server: http.Server;
  let url = "";
  const received: { body: Record<string, unknown>; type: string | undefined }[] = [];
  let mode: "ok" | "fail" | "hang" = "ok";

  before(async () => {
    server = http.createServer((req, res) => {
      let text = "";
      req.on("data", (c) => (text += c));
      req.on("end", () => {
        received.push({ body: JSON.parse(text), type: req.headers["content-type"] });
        if (mode === "hang") return; // never answers
        res.statusCode = mode === "ok" ? 204 : 500;
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?token=secret`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  beforeEach(async () => {
    received.length = 0;
    mode = "ok";
    for (const m of [ETH_USDC, BTC_USDC]) {
      await registerMarket({ redis: db.redis, logger }, m);
      await resumeMarket({ redis: db.redis, logger }, { marketId: m.id });
    }
  });

  it("halts the markets of its chain trading its token, and posts the alert to the webhook", async () => {
    const halts = await raiseAlert({ redis: db.redis, logger }, { markets: [ETH_USDC, BTC_USDC], haltOnDrift: true, webhookUrl: url, webhookTimeoutMs: 2_000 }, alertOn(ETH_USDC.quoteToken, ETH_USDC.chainId));
    // Both markets quote in the same token on the same chain: both halt.
    expect(halts.map((h) => h.marketId).sort()).to.deep.equal([ETH_USDC.id, BTC_USDC.id].sort());
    const status = await getMarketStatus({ redis: db.redis, logger }, { marketId: ETH_USDC.id });
    expect(status?.status).to.equal("halted");
    expect(received).to.have.length(1);
    expect(received[0].type).to.equal("application/json");
    expect(received[0].body).to.include({ kind: "hyperindex.reconciler.alert", chainId: ETH_USDC.chainId, absDrift: "123", block: "42" });
    expect((received[0].body.haltedMarkets as unknown[]).length).to.equal(2);
  });

  it("halts nothing on another chain, and keeps the reason of a market halted already", async () => {
    await haltMarket({ redis: db.redis, logger }, { marketId: ETH_USDC.id, reason: "maintenance" });
    const other = await raiseAlert({ redis: db.redis, logger }, { markets: [ETH_USDC, BTC_USDC], haltOnDrift: true, webhookTimeoutMs: 2_000 }, alertOn(ETH_USDC.quoteToken, ETH_USDC.chainId + 1));
    expect(other).to.deep.equal([]);
    const halts = await raiseAlert({ redis: db.redis, logger }, { markets: [ETH_USDC, BTC_USDC], haltOnDrift: true, webhookTimeoutMs: 2_000 }, alertOn(ETH_USDC.baseToken, ETH_USDC.chainId));
    expect(halts).to.deep.equal([]);
    expect((await getMarketStatus({ redis: db.redis, logger }, { marketId: ETH_USDC.id }))?.reason ?? "").to.match(/maintenance/);
  });

  it("halts even when the webhook fails or does not answer in time", async () => {
    for (const m of ["fail", "hang"] as const) {
      mode = m;
      await resumeMarket({ redis: db.redis, logger }, { marketId: BTC_USDC.id });
      const halts = await raiseAlert({ redis: db.redis, logger }, { markets: [BTC_USDC], haltOnDrift: true, webhookUrl: url, webhookTimeoutMs: 300 }, alertOn(BTC_USDC.baseToken, BTC_USDC.chainId));
      expect(halts.map((h) => h.marketId), m).to.deep.equal([BTC_USDC.id]);
    }
  });
});
