/**
 * The HyperIndex demo (npm run demo): the whole exchange on one machine, fills settled on chain.
 *
 *  1. anvil like HyperEVM small blocks (3,000,000 gas, a block a second), the contracts
 *     deployed, WETH and USDC listed, Redis (scripts/lib/stack.ts);
 *  2. traders fund their wallets and deposit into the Settlement vault with their own
 *     transactions; the operator's chain watcher credits the Deposited events to the ledger;
 *  3. the operator daemon in this process (API, matching engine, chain watcher, signer,
 *     settler), its logs in a temporary file;
 *  4. for DEMO_SECONDS (default 30): a market maker quotes and re-quotes a ladder, takers send
 *     signed orders over HTTP, some orders are refused for cause, orders are cancelled one by
 *     one and all at once, a WebSocket client watches the market; a live progress line;
 *  5. meanwhile one trader withdraws through the escape hatch (request, the delay passed on
 *     anvil, finalize: its own transactions, no operator involved);
 *  6. sending stops, settlement drains, and a summary ends with the check that every vault on
 *     chain equals the ledger with nothing pending. The exit code is 0 only if it holds.
 *
 * DEMO_SECONDS (trading time, default 30), DEMO_SEED (the traders' dice, default 1).
 * Everything it starts (operator, Redis, anvil) is stopped at the end, on failure and on Ctrl-C.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createLogger } from "../operator/log";
import { keccak256, type Address, type Hex } from "../operator/orders";
import type { RunningOperator } from "../operator/daemon/start";
import { fundAndDepositMany } from "./lib/fundTraders";
import { COMMITMENT_ARTIFACT, SETTLEMENT_ARTIFACT, type LocalDeployment } from "./lib/localChain";
import { startStack, USDC, WETH, type Stack } from "./lib/stack";
import { DemoMarket, MID, random, sendRefusedOrders } from "./demo/market";
import { Progress } from "./demo/progress";
import { readSettlement } from "./demo/settlement";
import { OrderStats, sleep, until } from "./demo/stats";
import { printSummary } from "./demo/summary";
import { DemoTrader, get } from "./demo/trader";
import { MarketWatch } from "./demo/watch";
import { escapeHatch, type WithdrawalReport } from "./demo/withdrawal";

const SECONDS = Number(process.env.DEMO_SECONDS ?? 30);
const SEED = Number(process.env.DEMO_SEED ?? 1);
const TAKERS = 6;
/** Deposits: the maker, each taker, the trader that withdraws. */
const FUNDS = {
  maker: { weth: 1_000n * WETH, usdc: 2_000_000n * USDC },
  taker: { weth: 100n * WETH, usdc: 250_000n * USDC },
  withdrawer: { weth: 20n * WETH, usdc: 10_000n * USDC },
};
/** The withdrawer rests three asks of 4 WETH, far above the market, then asks for 15 WETH back. */
const WITHDRAW_AMOUNT = 15n * WETH;
const LOG_FILE = path.join(os.tmpdir(), `hyperindex-demo-${process.pid}.log`);

/**
 * What to stop at the end, on failure or on Ctrl-C, last started first. Each step gets a bound:
 * after Ctrl-C on a terminal, Redis and anvil got the signal too and are gone, and the
 * operator's graceful stop would wait for Redis (ioredis retries) far longer than anyone wants.
 */
const cleanups: { what: string; run: () => Promise<unknown>; boundMs: number }[] = [];
let cleaning: Promise<void> | undefined;
let interrupted = false;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const c of cleanups.reverse()) {
      let timer: NodeJS.Timeout | undefined;
      const bound = interrupted ? Math.min(c.boundMs, 3_000) : c.boundMs;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          console.error(`  (${c.what} did not stop within ${bound / 1000} s; going on)`);
          resolve();
        }, bound);
      });
      await Promise.race([c.run().catch((error: unknown) => console.error(`  (stopping ${c.what}: ${(error as Error).message})`)), timeout]);
      clearTimeout(timer);
    }
  })();
  return cleaning;
}

function step(text: string): void {
  console.log(`\n▸ ${text}`);
}

async function main(): Promise<boolean> {
  const started = Date.now();
  console.log(`HyperIndex demo: anvil (HyperEVM small blocks) + Redis + operator + traders, ${SECONDS} s of trading`);

  step("chain: anvil, 3,000,000 gas a block, a block a second; contracts deployed, WETH and USDC listed; Redis");
  const starting = startStack();
  cleanups.push({ what: "anvil and Redis", boundMs: 15_000, run: () => starting.then((s) => s.stop(), () => undefined) });
  const stack: Stack = await starting;
  const chain = stack.chain;
  const delay = (await chain.publicClient.readContract({ address: chain.settlementAddress, abi: SETTLEMENT_ARTIFACT().abi, functionName: "withdrawalDelay" })) as bigint;
  console.log(`  rpc ${chain.rpcUrl}  chain ${chain.chainId}  Settlement ${chain.settlementAddress}  withdrawal delay ${delay} s`);
  console.log(`  WETH ${chain.wethAddress}  USDC ${chain.usdcAddress}  Redis ${stack.redis.url}`);

  step("traders fund their wallets and deposit into the Settlement vault with their own transactions");
  const key = (label: string) => keccak256(Buffer.from(`hyperindex-demo:${label}`, "utf8"));
  const hex = (k: Buffer) => `0x${k.toString("hex")}` as const;
  const labels = ["maker", ...Array.from({ length: TAKERS }, (_, i) => `taker-${i + 1}`), "withdrawer"];
  const fundsOf = (label: string) => (label === "maker" ? FUNDS.maker : label === "withdrawer" ? FUNDS.withdrawer : FUNDS.taker);
  const deposits = await fundAndDepositMany(chain, labels.map((l) => ({ key: hex(key(l)), ...fundsOf(l) })));
  console.log(`  ${deposits.length} deposits by ${labels.length} traders: maker 1,000 WETH + 2,000,000 USDC, ${TAKERS} takers 100 WETH + 250,000 USDC each, withdrawer 20 WETH + 10,000 USDC`);

  step("the operator daemon: API, matching engine, chain watcher, signer, settler");
  const logStream = fs.createWriteStream(LOG_FILE);
  cleanups.push({ what: "the log file", boundMs: 2_000, run: () => new Promise<void>((resolve) => logStream.end(() => resolve())) });
  const operatorStarting = stack.startOperator({ logger: createLogger({ level: "info", destination: logStream }) });
  cleanups.push({ what: "the operator", boundMs: 20_000, run: () => operatorStarting.then((o) => o.stop(), () => undefined) });
  const operator: RunningOperator = await operatorStarting;
  const api = operator.url;
  const settler = () => operator.chainServices.get(chain.chainId)!.settler.status();
  console.log(`  operator ${api}  (its logs: ${LOG_FILE})`);
  const domain = { chainId: BigInt(chain.chainId), verifyingContract: chain.settlementAddress };
  const [maker, ...rest] = labels.map((l) => new DemoTrader(l, key(l), api, domain));
  const withdrawer = rest.pop()!;
  const takers = rest;
  const everyone = [maker, ...takers, withdrawer];
  const creditStarted = Date.now();
  for (const t of everyone) {
    const want = fundsOf(t.name);
    await until(`the ledger to credit ${t.name}'s deposits`, 30_000, async () => {
      const b = (await get(`${api}/v1/accounts/${t.address}/balances`)).body.chains?.[0]?.balances ?? {};
      return BigInt(b[chain.wethAddress]?.available ?? 0) === want.weth && BigInt(b[chain.usdcAddress]?.available ?? 0) === want.usdc;
    });
  }
  console.log(`  the chain watcher credited all ${deposits.length} deposits from their Deposited events (${((Date.now() - creditStarted) / 1000).toFixed(1)} s after the operator started)`);

  step("a WebSocket client subscribes to book:WETH-USDC, trades:WETH-USDC and two traders' private channels (signed)");
  const watch = await MarketWatch.open(api, "WETH-USDC", [takers[0], withdrawer]);
  cleanups.push({ what: "the WebSocket client", boundMs: 1_000, run: async () => watch.close() });
  console.log(`  watching as ${takers[0].name} and ${withdrawer.name}`);

  const pair = { baseToken: chain.wethAddress as Address, quoteToken: chain.usdcAddress as Address };
  const stats = new OrderStats();
  const farAsks = [1n, 2n, 3n].map((i) => withdrawer.order({ ...pair, isBuy: false, price: MID + (100n + i) * USDC, amount: 4n * WETH }));
  const farReply = await withdrawer.place(farAsks);
  stats.record(farReply, farAsks.length);
  const audited = (farReply.body?.results?.[0] ?? farReply.body) as { orderHash?: Hex; epoch?: number; sequence?: string; receipt?: unknown };
  console.log(`  ${withdrawer.name} rests 3 asks of 4 WETH at 2,101-2,103 USDC, far above the market`);

  step(`trading for ${SECONDS} s: the maker quotes 10 bids and 10 asks of 1 WETH and re-quotes every second; ${TAKERS} takers send signed orders over HTTP`);
  const redis = stack.redisClient();
  cleanups.push({ what: "the demo's Redis client", boundMs: 1_000, run: async () => redis.disconnect() });
  const market = new DemoMarket({ maker, takers, stats, rng: random(SEED) }, pair);
  await market.quote();
  const progress = new Progress({ redis, chainId: chain.chainId, settler, stats });
  progress.start();
  const tradingStarted = Date.now();
  const tradingEnds = tradingStarted + SECONDS * 1000;
  const trading = market.run(tradingEnds);
  const refusals = (async () => {
    await sleep(Math.max(1, SECONDS / 3) * 1000);
    const otherChain = new DemoTrader(takers[1].name, key(takers[1].name), api, { ...domain, chainId: 999n }, 1_000_000n);
    const out = await sendRefusedOrders(takers[1], otherChain, pair, market.mid, stats);
    for (const r of out) progress.log(`  refused for cause: ${r.what.padEnd(30)} ${r.status} ${r.code ?? "(accepted!)"}${r.code === r.expected ? "" : `  <- expected ${r.expected}`}`);
    return out;
  })();
  const withdrawal = (async (): Promise<WithdrawalReport> => {
    await sleep(Math.min(6, SECONDS / 5) * 1000);
    return escapeHatch({ stack, apiUrl: api, watch, log: (line) => progress.log(line) }, { trader: withdrawer, token: chain.wethAddress, symbol: "WETH", decimals: 18, amount: WITHDRAW_AMOUNT });
  })();
  let withdrawalReport: WithdrawalReport | undefined;
  try {
    const [, refused, w] = await Promise.all([trading, refusals, withdrawal]);
    withdrawalReport = w;
    progress.log(`  trading stopped after ${((Date.now() - tradingStarted) / 1000).toFixed(0)} s; ${refused.length} orders were sent to be refused`);

    const book = (await get(`${api}/v1/book/WETH-USDC?depth=5`)).body;
    await market.cancelAll(everyone);
    progress.log(`  everyone cancelled everything left in the market at once: ${stats.cancelled.atEnd} orders`);

    // Settlement finishes: nothing queued, no batch open, every vault equal to the ledger.
    const drainStarted = Date.now();
    const traders = everyone.map((t) => t.address);
    const check = await until("settlement to finish", 45_000, async () => {
      const s = settler();
      if (s.queuedFills + s.retryFills + s.openBatches > 0) return undefined;
      const c = await stack.checkVaults(traders);
      return c.ok ? c : undefined;
    }).then(
      (c) => {
        progress.log(`  settlement finished ${((Date.now() - drainStarted) / 1000).toFixed(1)} s after the last order: queue empty, no batch open`);
        return c;
      },
      async (error: unknown) => {
        const s = settler();
        progress.log(`  ${(error as Error).message} (queue ${s.queuedFills}, retry ${s.retryFills}, open batches ${s.openBatches})`);
        return stack.checkVaults(traders);
      },
    );
    await progress.stop();

    step("summary");
    const settlement = await readSettlement(redis, chain.chainId);
    const accounts = [...everyone.map((t) => ({ name: t.name, address: t.address.toLowerCase() as Address })), { name: "fee recipient", address: chain.feeRecipient }];
    const onChain = (await chain.publicClient.readContract({
      address: chain.settlementAddress,
      abi: SETTLEMENT_ARTIFACT().abi,
      functionName: "balancesOf",
      args: [accounts.flatMap((a) => [a.address, a.address]), accounts.flatMap(() => [chain.wethAddress, chain.usdcAddress])],
    })) as bigint[];
    const ok = printSummary({
      stats,
      refusals: refused,
      settlement,
      watch,
      watched: [takers[0], withdrawer],
      book,
      withdrawal: withdrawalReport,
      vaults: accounts.map((a, i) => ({ ...a, weth: onChain[2 * i], usdc: onChain[2 * i + 1] })),
      check,
      tokens: { weth: chain.wethAddress, usdc: chain.usdcAddress },
      tradingSeconds: SECONDS,
    });
    const audit = await auditOrder(api, chain, audited);
    console.log(`\ndone in ${((Date.now() - started) / 1000).toFixed(1)} s (operator logs: ${LOG_FILE})`);
    return ok && audit;
  } finally {
    market.stop();
    await progress.stop();
  }
}

/**
 * One auditor check, as an auditor would make it: the order's proof from the API, verified by
 * OrderbookCommitment.verifyOrder on chain, and the operator's receipt matching it.
 */
async function auditOrder(api: string, chain: LocalDeployment, order: { orderHash?: Hex; epoch?: number; sequence?: string; receipt?: unknown }): Promise<boolean> {
  const say = (text: string) => console.log(`  auditor check   ${text}`);
  if (order.orderHash === undefined) {
    say("no order to check: FAILED");
    return false;
  }
  try {
    const proof = await until(`the epoch of order ${order.orderHash} committed`, 30_000, async () => {
      const r = await get(`${api}/v1/proofs/orders/${order.orderHash}`);
      return r.status === 200 && r.body.committed === true ? r.body : undefined;
    });
    const leaf = proof.leaf;
    const block = await chain.publicClient.getBlockNumber();
    const ok = (await chain.publicClient.readContract({
      address: chain.commitmentAddress,
      abi: COMMITMENT_ARTIFACT().abi,
      functionName: "verifyOrder",
      args: [BigInt(leaf.epoch), BigInt(leaf.sequence), leaf.orderHash, leaf.trader, BigInt(leaf.receivedAt), proof.proof],
      blockNumber: block,
    })) as boolean;
    const receiptOk = String(order.epoch) === leaf.epoch && order.sequence === leaf.sequence;
    say(
      `order ${order.orderHash.slice(0, 10)}.. in epoch ${leaf.epoch} (sequence ${leaf.sequence}, leaf ${proof.leafIndex}, ${proof.proof.length} proof nodes): ` +
        `verifyOrder on chain at block ${block}: ${ok ? "true" : "FALSE"}; the operator's receipt names the same epoch and sequence: ${receiptOk ? "yes" : "NO"}`,
    );
    return ok && receiptOk;
  } catch (error) {
    say(`FAILED: ${(error as Error).message}`);
    return false;
  }
}

function onSignal(signal: NodeJS.Signals): void {
  if (interrupted) return;
  interrupted = true;
  console.log(`\n${signal}: stopping the operator, Redis and anvil...`);
  void cleanup().finally(() => process.exit(130));
}
process.once("SIGINT", onSignal);
process.once("SIGTERM", onSignal);

main().then(
  async (ok) => {
    if (interrupted) return; // the signal handler exits
    await cleanup();
    process.exit(ok ? 0 : 1);
  },
  async (error: unknown) => {
    if (interrupted) return;
    console.error("\ndemo failed:", error instanceof Error ? (error.stack ?? error.message) : error);
    if (fs.existsSync(LOG_FILE)) console.error(`(operator logs: ${LOG_FILE})`);
    await cleanup();
    process.exit(1);
  },
);
