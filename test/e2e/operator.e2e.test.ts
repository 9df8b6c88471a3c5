/**
 * The whole operator as it runs: the Hardhat chain over JSON-RPC with the deployed
 * contracts, a real Redis, the daemon (startOperator) and traders that only use its public
 * HTTP API — the same pieces as the demo, with assertions.
 */
import { expect } from "chai";
import WebSocket from "ws";
import { loadConfig } from "../../operator/config";
import { startOperator, type RunningOperator } from "../../operator/daemon/start";
import { createLogger } from "../../operator/log";
import { createLedger, creditDeposit } from "../../operator/ledger";
import { createRegistry } from "../../operator/metrics";
import { keccak256, signSubscribe, type Address } from "../../operator/orders";
import { freePort, startRedis, type RedisServer } from "../../scripts/lib/redisServer";
import { fundAndDeposit, startChain, type DemoChain } from "../../scripts/demo/chain";
import { DemoTrader, get } from "../../scripts/demo/trader";

const WETH = 10n ** 18n;
const USDC = 10n ** 6n;
const MID = 2_000n * USDC;
const TICK = 10_000n;

describe("operator end to end (chain + Redis + daemon + HTTP)", function () {
  this.timeout(120_000);
  let chain: DemoChain;
  let redis: RedisServer;
  let operator: RunningOperator;
  let config: ReturnType<typeof loadConfig>;
  let maker: DemoTrader;
  let taker: DemoTrader;
  const logger = createLogger({ level: "silent" });

  before(async function () {
    chain = await startChain();
    redis = await startRedis();
    config = loadConfig({
      HYPERINDEX_REDIS_URL: redis.url,
      HYPERINDEX_RPC_URL: chain.rpcUrl,
      HYPERINDEX_CHAIN_ID: String(chain.chainId),
      HYPERINDEX_SETTLEMENT_ADDRESS: chain.settlementAddress,
      HYPERINDEX_COMMITMENT_ADDRESS: chain.commitmentAddress,
      HYPERINDEX_OPERATOR_PRIVATE_KEY: chain.operatorKey,
      HYPERINDEX_HTTP_PORT: String(await freePort()),
      HYPERINDEX_SWEEP_INTERVAL_MS: "200",
      // This test credits deposits itself and expects nothing settled (being moved onto the anvil stack).
      HYPERINDEX_CHAIN_SERVICES: "false",
      HYPERINDEX_MARKETS: JSON.stringify([
        { id: 1, symbol: "WETH-USDC", baseToken: chain.wethAddress, quoteToken: chain.usdcAddress, baseDecimals: 18, tickSize: TICK.toString(), lotSize: (10n ** 15n).toString(), minLots: 1, makerFeeBps: 2, takerFeeBps: 5 },
      ]),
    });
    operator = await startOperator({ logger, metrics: createRegistry() }, config);
    const domain = { chainId: BigInt(chain.chainId), verifyingContract: chain.settlementAddress };
    maker = new DemoTrader("maker", keccak256(Buffer.from("e2e:maker")), operator.url, domain);
    taker = new DemoTrader("taker", keccak256(Buffer.from("e2e:taker")), operator.url, domain);
    const ledger = await createLedger({ redis: operator.redis, logger });
    for (const t of [maker, taker]) {
      for (const d of await fundAndDeposit(chain, t.keyHex, 10n * WETH, 50_000n * USDC)) await creditDeposit(ledger, d);
    }
  });

  after(async function () {
    await operator?.stop();
    await redis?.destroy();
    await chain?.close();
  });

  async function ledgerMatchesVault(trader: DemoTrader): Promise<void> {
    const { body } = await get(`${operator.url}/v1/accounts/${trader.address}/balances`);
    const onChain = await chain.settlement.balancesOf([trader.address, trader.address], [chain.wethAddress, chain.usdcAddress]);
    for (const [i, token] of [chain.wethAddress, chain.usdcAddress].entries()) {
      const b = body.chains[0].balances[token];
      // Nothing is settled yet: the vault still holds everything the ledger counts as
      // available, locked or owed by a pending fill.
      expect(BigInt(b.available) + BigInt(b.locked) + BigInt(b.pendingOut), `${trader.name} ${token}`).to.equal(onChain[i]);
    }
  }

  it("reads the fee account from the Settlement contract", async function () {
    expect(operator.feeAccounts.get(chain.chainId)).to.equal((await chain.settlement.feeRecipient()).toLowerCase());
  });

  it("matches a signed order sent over HTTP against a resting one, at the maker's price, and keeps the ledger equal to the vault", async function () {
    const base = { baseToken: chain.wethAddress as Address, quoteToken: chain.usdcAddress as Address };
    const ask = await maker.place([maker.order({ ...base, isBuy: false, price: MID + 5n * TICK, amount: 2n * WETH })]);
    expect(ask.status).to.equal(201);
    expect(ask.body.state).to.equal("open");
    const bid = await taker.place([taker.order({ ...base, isBuy: true, price: MID + 50n * TICK, amount: WETH })]);
    expect(bid.status).to.equal(201);
    expect(bid.body.state).to.equal("filled");
    expect(bid.body.fills).to.have.length(1);
    expect(BigInt(bid.body.fills[0].price)).to.equal(MID + 5n * TICK);
    const book = await get(`${operator.url}/v1/book/WETH-USDC?depth=1`);
    expect(book.body.asks[0]).to.deep.include({ price: (MID + 5n * TICK).toString(), amount: WETH.toString() });
    await ledgerMatchesVault(maker);
    await ledgerMatchesVault(taker);
  });

  it("refuses an order signed for another chain with a specific code and changes nothing", async function () {
    const other = new DemoTrader("taker", keccak256(Buffer.from("e2e:taker")), operator.url, { chainId: 999n, verifyingContract: chain.settlementAddress });
    const before = (await get(`${operator.url}/v1/accounts/${taker.address}/balances`)).body;
    const reply = await other.place([other.order({ baseToken: chain.wethAddress, quoteToken: chain.usdcAddress, isBuy: true, price: MID, amount: WETH })]);
    expect(reply.status).to.equal(401);
    expect(reply.body.error.code).to.equal("SIGNER_MISMATCH");
    expect((await get(`${operator.url}/v1/accounts/${taker.address}/balances`)).body).to.deep.equal(before);
  });

  it("sweeps a resting order once it expires: it leaves the book, its funds unlock, and the WebSocket feed says EXPIRED", async function () {
    const base = { baseToken: chain.wethAddress as Address, quoteToken: chain.usdcAddress as Address };
    const ws = new WebSocket(`${operator.url.replace("http", "ws")}/v1/ws`);
    const updates: { event: string; reason?: string; orderHash: string }[] = [];
    ws.on("message", (data) => {
      const msg = JSON.parse(String(data));
      if (msg.type === "orders") updates.push(...msg.updates);
    });
    await new Promise((resolve) => ws.once("open", resolve));
    const domain = { chainId: BigInt(chain.chainId), verifyingContract: chain.settlementAddress };
    const auth = signSubscribe(keccak256(Buffer.from("e2e:maker")), { domain, trader: maker.address, expiry: BigInt(Math.floor(Date.now() / 1000) + 300) });
    ws.send(JSON.stringify({ op: "subscribe", channel: `orders:${maker.address}`, auth }));
    const ack = JSON.parse(String(await new Promise((resolve) => ws.once("message", resolve))));
    expect(ack.type, JSON.stringify(ack)).to.equal("subscribed");
    const lockedBefore = BigInt((await get(`${operator.url}/v1/accounts/${maker.address}/balances`)).body.chains[0].balances[chain.usdcAddress].locked);
    const expiry = BigInt(Math.floor(Date.now() / 1000) + 2);
    const bid = await maker.place([maker.order({ ...base, isBuy: true, price: MID - 100n * TICK, amount: WETH, expiry })]);
    expect(bid.status, JSON.stringify(bid.body)).to.equal(201);
    expect(bid.body.state).to.equal("open");
    const lockedWhileOpen = BigInt((await get(`${operator.url}/v1/accounts/${maker.address}/balances`)).body.chains[0].balances[chain.usdcAddress].locked);
    expect(lockedWhileOpen > lockedBefore).to.equal(true);
    // The daemon sweeps every 200 ms (HYPERINDEX_SWEEP_INTERVAL_MS): the order is gone soon after its expiry.
    const deadline = Date.now() + 10_000;
    while (!updates.some((u) => u.orderHash === bid.body.orderHash && u.event === "cancelled") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    ws.close();
    expect(updates.find((u) => u.orderHash === bid.body.orderHash && u.event === "cancelled")?.reason).to.equal("EXPIRED");
    expect((await get(`${operator.url}/v1/orders/${bid.body.orderHash}`)).body).to.deep.include({ state: "cancelled", closeReason: "EXPIRED" });
    expect((await get(`${operator.url}/v1/book/WETH-USDC?depth=50`)).body.bids).to.deep.equal([]);
    const lockedAfter = BigInt((await get(`${operator.url}/v1/accounts/${maker.address}/balances`)).body.chains[0].balances[chain.usdcAddress].locked);
    expect(lockedAfter).to.equal(lockedBefore);
    const health = (await get(`${operator.url}/health`)).body;
    expect(health.checks.tasks.map((t: { name: string }) => t.name)).to.include.members(["expiry-sweep", "journal-trim"]);
    await ledgerMatchesVault(maker);
  });

  it("restarts on the same Redis and continues: the resting order, the book and the balances survive", async function () {
    const bookBefore = (await get(`${operator.url}/v1/book/WETH-USDC?depth=5`)).body;
    const balancesBefore = (await get(`${operator.url}/v1/accounts/${maker.address}/balances`)).body;
    await operator.stop();
    operator = await startOperator({ logger, metrics: createRegistry() }, config);
    expect((await get(`${operator.url}/v1/book/WETH-USDC?depth=5`)).body).to.deep.equal(bookBefore);
    expect((await get(`${operator.url}/v1/accounts/${maker.address}/balances`)).body).to.deep.equal(balancesBefore);
    // ...and keeps matching: the rest of the maker's ask fills.
    const domain = { chainId: BigInt(chain.chainId), verifyingContract: chain.settlementAddress };
    taker = new DemoTrader("taker", keccak256(Buffer.from("e2e:taker")), operator.url, domain, 100n);
    const reply = await taker.place([taker.order({ baseToken: chain.wethAddress, quoteToken: chain.usdcAddress, isBuy: true, price: MID + 5n * TICK, amount: WETH })]);
    expect(reply.body.state).to.equal("filled");
    await ledgerMatchesVault(maker);
    await ledgerMatchesVault(taker);
  });
});
