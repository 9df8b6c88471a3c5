/**
 * The HyperIndex demo (npm run demo): a local chain, Redis, the operator daemon and traders,
 * ending in a summary.
 *
 *  1. chain: the Hardhat network served over JSON-RPC; Settlement and OrderbookCommitment
 *     deployed by deploy/; WETH (18 decimals) and USDC (6) listed;
 *  2. traders deposit into the Settlement vault on chain (their own transactions);
 *  3. Redis (AOF on) and the operator daemon (config from HYPERINDEX_* variables, as in
 *     production); the admin credits each on-chain deposit to the off-chain ledger (the chain
 *     watcher that will do this by itself arrives with settlement);
 *  4. a market maker quotes a ladder, takers cross it, a few orders are refused for cause,
 *     orders are cancelled one by one and all at once; a WebSocket client watches the market;
 *  5. summary: orders, fills, book, balances, latency, and the ledger checked against the vault.
 *
 * Settling the fills on chain (batches) is not built yet: the summary shows them pending.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { loadConfig } from "../operator/config";
import { startOperator, type RunningOperator } from "../operator/daemon/start";
import { createLogger } from "../operator/log";
import { createLedger, creditDeposit } from "../operator/ledger";
import { createRegistry } from "../operator/metrics";
import { keccak256, type Address } from "../operator/orders";
import { freePort, startRedis, type RedisServer } from "./lib/redisServer";
import { fundAndDeposit, startChain, type DemoChain } from "./demo/chain";
import { printSummary, type DemoStats } from "./demo/summary";
import { DemoTrader, get, type ApiReply } from "./demo/trader";

const WETH = 10n ** 18n;
const USDC = 10n ** 6n;
/** 2,000.00 USDC per WETH, in quote atoms per 10^18 base atoms. */
const MID = 2_000n * USDC;
const TICK = 10_000n; // 0.01 USDC
const LOT = 10n ** 15n; // 0.001 WETH

function step(text: string): void {
  console.log(`\n▸ ${text}`);
}

async function main(): Promise<void> {
  const started = Date.now();
  const logFile = path.join(os.tmpdir(), `hyperindex-demo-${process.pid}.log`);
  console.log("HyperIndex demo: local chain + Redis + operator + traders");
  let chain: DemoChain | undefined;
  let redis: RedisServer | undefined;
  let operator: RunningOperator | undefined;
  try {
    step("chain: Hardhat network over JSON-RPC, contracts deployed, WETH and USDC listed");
    chain = await startChain();
    console.log(`  rpc ${chain.rpcUrl}  chain ${chain.chainId}  Settlement ${chain.settlementAddress}`);

    const domain = { chainId: BigInt(chain.chainId), verifyingContract: chain.settlementAddress };
    const key = (label: string) => keccak256(Buffer.from(`hyperindex-demo:${label}`, "utf8"));
    step("redis and the operator daemon");
    redis = await startRedis({ appendonly: true, appendfsync: "everysec" });
    const port = await freePort();
    const market = {
      id: 1,
      symbol: "WETH-USDC",
      baseToken: chain.wethAddress,
      quoteToken: chain.usdcAddress,
      baseDecimals: 18,
      tickSize: TICK.toString(),
      lotSize: LOT.toString(),
      minLots: 1,
      makerFeeBps: 2,
      takerFeeBps: 5,
    };
    const config = loadConfig({
      HYPERINDEX_REDIS_URL: redis.url,
      HYPERINDEX_RPC_URL: chain.rpcUrl,
      HYPERINDEX_CHAIN_ID: String(chain.chainId),
      HYPERINDEX_SETTLEMENT_ADDRESS: chain.settlementAddress,
      HYPERINDEX_COMMITMENT_ADDRESS: chain.commitmentAddress,
      HYPERINDEX_OPERATOR_PRIVATE_KEY: chain.operatorKey,
      HYPERINDEX_HTTP_PORT: String(port),
      HYPERINDEX_MARKETS: JSON.stringify([market]),
      HYPERINDEX_LOG_LEVEL: "info",
    });
    const logger = createLogger({ level: "info", destination: fs.createWriteStream(logFile) });
    operator = await startOperator({ logger, metrics: createRegistry({ defaultMetrics: true }) }, config);
    console.log(`  operator ${operator.url} (logs: ${logFile})`);
    const api = operator.url;

    step("traders deposit on chain; the admin credits each deposit to the ledger");
    const maker = new DemoTrader("maker", key("maker"), api, domain);
    const takers = Array.from({ length: 6 }, (_, i) => new DemoTrader(`taker-${i + 1}`, key(`taker-${i}`), api, domain));
    const everyone = [maker, ...takers];
    const ledger = await createLedger({ redis: operator.redis, logger });
    for (const t of everyone) {
      const deposits = await fundAndDeposit(chain, t.keyHex, 50n * WETH, 100_000n * USDC);
      for (const d of deposits) await creditDeposit(ledger, d);
    }
    console.log(`  ${everyone.length} traders, each 50 WETH + 100,000 USDC in the vault`);

    step("a WebSocket client subscribes to the market's book and trades");
    const ws = new WebSocket(`${api.replace("http", "ws")}/v1/ws`);
    const wsSeen = { book: 0, trades: 0, tradeCount: 0 };
    ws.on("message", (data) => {
      const msg = JSON.parse(String(data));
      if (msg.type === "book") wsSeen.book++;
      if (msg.type === "trades") {
        wsSeen.trades++;
        wsSeen.tradeCount += Array.isArray(msg.trades) ? msg.trades.length : 0;
      }
    });
    await new Promise((resolve) => ws.once("open", resolve));
    ws.send(JSON.stringify({ op: "subscribe", channel: "book:WETH-USDC" }));
    ws.send(JSON.stringify({ op: "subscribe", channel: "trades:WETH-USDC" }));

    const stats: DemoStats = { sent: 0, accepted: 0, rejected: new Map(), fills: 0, latencies: [], cancelled: 0 };
    const record = (reply: ApiReply, count: number) => {
      stats.sent += count;
      const results = reply.body.results ?? [reply.body];
      for (const r of results) {
        if (r.error) stats.rejected.set(r.error.code, (stats.rejected.get(r.error.code) ?? 0) + 1);
        else {
          stats.accepted++;
          stats.fills += r.fills?.length ?? 0;
        }
      }
      stats.latencies.push(reply.ms / count);
    };
    const base = { baseToken: chain.wethAddress, quoteToken: chain.usdcAddress };

    step("the maker quotes 10 bids and 10 asks, 1 WETH each, 0.50 USDC (50 ticks) apart");
    const ladder = [];
    for (let i = 1n; i <= 10n; i++) {
      ladder.push(maker.order({ ...base, isBuy: true, price: MID - i * 50n * TICK, amount: WETH }));
      ladder.push(maker.order({ ...base, isBuy: false, price: MID + i * 50n * TICK, amount: WETH }));
    }
    const quoted = await maker.place(ladder);
    record(quoted, ladder.length);

    step("takers cross the spread: market-like IOC orders and resting limit orders");
    for (let round = 0; round < 5; round++) {
      for (const [i, t] of takers.entries()) {
        const isBuy = (round + i) % 2 === 0;
        const lots = BigInt(100 + ((round * 7 + i * 13) % 400)); // 0.1 to 0.5 WETH
        const price = isBuy ? MID + 260n * TICK : MID - 260n * TICK;
        const ioc = i % 3 === 0;
        record(await t.place([t.order({ ...base, isBuy, price, amount: lots * LOT, flags: ioc ? 2 : 0 })]), 1);
      }
    }

    step("orders the operator refuses for cause");
    const t0 = takers[0];
    record(await t0.place([t0.order({ ...base, isBuy: true, price: MID + 1_000n * TICK, amount: WETH, flags: 1 })]), 1); // post-only crossing
    record(await t0.place([t0.order({ ...base, isBuy: true, price: MID + 3n, amount: WETH })]), 1); // off tick
    record(await t0.place([t0.order({ ...base, isBuy: true, price: MID, amount: 10_000n * WETH })]), 1); // unfunded
    const forged = t0.sign(t0.order({ ...base, isBuy: false, price: MID, amount: WETH }));
    forged.order.amount *= 2n; // tampered after signing
    const forgedReply = await fetch(`${api}/v1/orders`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ order: { ...forged.order, price: forged.order.price.toString(), amount: forged.order.amount.toString(), nonce: forged.order.nonce.toString(), expiry: forged.order.expiry.toString() }, signature: forged.signature }),
    });
    record({ status: forgedReply.status, body: await forgedReply.json(), ms: 0 }, 1);
    const badJson = await fetch(`${api}/v1/orders`, { method: "POST", headers: { "content-type": "application/json" }, body: "{not json" });
    record({ status: badJson.status, body: await badJson.json(), ms: 0 }, 1);

    const bookBeforeCancels = (await get(`${api}/v1/book/WETH-USDC?depth=5`)).body;
    step("cancels: the maker pulls its two best remaining bids, then everything in the market");
    const makerBids = (quoted.body.results ?? []).filter((r: { orderHash?: string; state?: string }, i: number) => i % 2 === 0 && r.state === "open");
    const one = await maker.cancel({ orderHashes: makerBids.slice(0, 2).map((r: { orderHash: `0x${string}` }) => r.orderHash) });
    stats.cancelled += (one.body.results ?? []).filter((r: { status: string }) => r.status === "cancelled").length;
    const all = await maker.cancel(base);
    stats.cancelled += (all.body.results ?? []).filter((r: { status: string }) => r.status === "cancelled").length;

    await new Promise((resolve) => setTimeout(resolve, 400)); // let the WebSocket ticker flush
    ws.close();

    step("summary");
    const book = bookBeforeCancels;
    const balances = new Map<string, unknown>();
    for (const t of everyone) balances.set(t.name, (await get(`${api}/v1/accounts/${t.address}/balances`)).body);
    const onChain = await chain.settlement.balancesOf(
      everyone.flatMap((t) => [t.address, t.address]),
      everyone.flatMap(() => [chain!.wethAddress, chain!.usdcAddress]),
    );
    printSummary({
      stats,
      wsSeen,
      book,
      traders: everyone.map((t) => ({ name: t.name, address: t.address as Address })),
      balances,
      onChain: everyone.map((t, i) => ({ name: t.name, weth: onChain[2 * i], usdc: onChain[2 * i + 1] })),
      tokens: { weth: chain.wethAddress, usdc: chain.usdcAddress },
      seconds: (Date.now() - started) / 1000,
    });
  } finally {
    await operator?.stop();
    await redis?.destroy();
    await chain?.close();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error("\ndemo failed:", error);
    process.exit(1);
  },
);
