/**
 * Settlement benchmark (npm run bench:settlement). Prints a table and writes
 * bench/results/settlement.json:
 *
 *   { settledFillsPerSec, chainCeilingFillsPerSec, lagP50Ms, lagP99Ms, gasPerFill, ... }
 *
 * The chain: anvil like HyperEVM small blocks (3,000,000 gas per block, one block per second),
 * the contracts deployed, traders funded by on-chain deposits. The operator: the daemon in this
 * process (API, engine, chain watcher, signer, settler) with a 2,970,000-gas batch budget (the whole block but 1%: the bench sends nothing else) and
 * 0 confirmations (HyperEVM's HyperBFT blocks are final once produced; BENCH_CONFIRMATIONS
 * changes it; every confirmation adds a block time to the lag).
 *
 * The load: makers keep a ladder of large resting orders on both sides; takers send signed
 * limit orders over HTTP that each fill against one maker order (one fill per taker order,
 * alternately buying and selling): a steady stream of matched fills, open loop (sent on
 * schedule whether or not earlier ones settled). A warm-up (BENCH_WARMUP_SECONDS, default 20)
 * offers more than the chain can carry, so that batches are full, and measures their gas per
 * fill; once its backlog has drained, the measured phase (BENCH_SECONDS, default 60) offers
 * BENCH_LOAD_RATIO (default 0.92) of the chain's ceiling, 3,000,000 gas per second divided by
 * that gas per fill.
 *
 *   settledFillsPerSec       fills whose Filled event was applied during the measured window / its
 *                            length (the window opens 5 s into the stream: steady state)
 *   chainCeilingFillsPerSec  3,000,000 / gasPerFill
 *   gasPerFill               the settled batches' gas (receipts) / their fills, measured phase
 *   lagP50Ms, lagP99Ms       match -> Filled applied (confirmed), fills matched in the measured phase
 * Goal: settledFillsPerSec >= 90% of chainCeilingFillsPerSec, lagP99Ms <= 3,000.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createLogger } from "../../operator/log";
import { createRegistry } from "../../operator/metrics";
import { keccak256, type Address } from "../../operator/orders";
import { settleKeys } from "../../operator/settlement/keys";
import { DemoTrader } from "../demo/trader";
import { fundAndDeposit } from "../lib/localChain";
import { startStack, TICK, USDC, WETH, LOT } from "../lib/stack";

const WARMUP_S = Number(process.env.BENCH_WARMUP_SECONDS ?? 20);
const MEASURE_S = Number(process.env.BENCH_SECONDS ?? 60);
const RAMP_S = 5;
const LOAD_RATIO = Number(process.env.BENCH_LOAD_RATIO ?? 0.92);
const CONFIRMATIONS = process.env.BENCH_CONFIRMATIONS ?? "0";
const BLOCK_GAS = 3_000_000;
const MAKERS = 4;
const TAKERS = 24;
const MID = 2_000n * USDC;
const FILL_LOTS = 100n; // 0.1 WETH per taker order

/** Gas used and fills of the settled batches that finished in [from, to]; the last `last` of them when given. */
async function batchGas(redis: ReturnType<Awaited<ReturnType<typeof startStack>>["redisClient"]>, k: ReturnType<typeof settleKeys>, from: number, to: number, last?: number) {
  const next = BigInt((await redis.hget(k.state, "next")) ?? "1");
  const rows: { gas: bigint; fills: number; estimate: bigint }[] = [];
  for (let id = 1n; id < next; id++) {
    const h = await redis.hmget(k.intent(id), "gasUsed", "fills", "finishedAt", "status", "estimate");
    if (h[0] === null || h[3] !== "settled") continue;
    const finished = Number(h[2]);
    if (finished < from || finished > to) continue;
    rows.push({ gas: BigInt(h[0]), fills: h[1] ? h[1].split(",").length : 0, estimate: BigInt(h[4] ?? "0") });
  }
  const picked = last === undefined ? rows : rows.slice(-last);
  const ratios = picked.filter((r) => r.estimate > 0n).map((r) => Number(r.gas) / Number(r.estimate));
  return {
    gas: picked.reduce((a, r) => a + r.gas, 0n),
    fills: picked.reduce((a, r) => a + r.fills, 0),
    batches: picked.length,
    usedOverEstimate: ratios.length > 0 ? ratios.reduce((a, b) => a + b, 0) / ratios.length : NaN,
  };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(): Promise<void> {
  const logFile = path.join(os.tmpdir(), `hyperindex-bench-settlement-${process.pid}.log`);
  console.log("bench:settlement: anvil (3,000,000 gas, 1 block/s) + Redis + operator + HTTP traders");
  const stack = await startStack({
    env: {
      HYPERINDEX_CONFIRMATIONS: CONFIRMATIONS,
      HYPERINDEX_SETTLEMENT_GAS_BUDGET: "2970000",
      HYPERINDEX_BATCH_MAX_WAIT_MS: "1000",
      HYPERINDEX_CHAIN_POLL_INTERVAL_MS: "200",
      HYPERINDEX_RATE_LIMIT_PLACE_BURST: "1000",
      HYPERINDEX_RATE_LIMIT_PLACE_PER_SECOND: "1000",
      HYPERINDEX_MAX_OPEN_ORDERS_PER_TRADER: "1000",
    },
  });
  const logger = createLogger({ level: "info", destination: fs.createWriteStream(logFile) });
  let operator: Awaited<ReturnType<typeof stack.startOperator>> | undefined;
  const redis = stack.redisClient();
  try {
    const key = (label: string) => keccak256(Buffer.from(`bench-settlement:${label}`));
    const makerKeys = Array.from({ length: MAKERS }, (_, i) => key(`maker-${i}`));
    const takerKeys = Array.from({ length: TAKERS }, (_, i) => key(`taker-${i}`));
    process.stdout.write(`  funding ${MAKERS + TAKERS} traders with on-chain deposits...`);
    for (const k of [...makerKeys, ...takerKeys]) await fundAndDeposit(stack.chain, `0x${k.toString("hex")}`, { weth: 100_000n * WETH, usdc: 500_000_000n * USDC });
    console.log(" done");
    operator = await stack.startOperator({ logger, metrics: createRegistry() });
    const domain = { chainId: BigInt(stack.chain.chainId), verifyingContract: stack.chain.settlementAddress };
    const makers = makerKeys.map((k, i) => new DemoTrader(`maker-${i}`, k, operator!.url, domain));
    const takers = takerKeys.map((k, i) => new DemoTrader(`taker-${i}`, k, operator!.url, domain));
    const base = { baseToken: stack.chain.wethAddress as Address, quoteToken: stack.chain.usdcAddress as Address };
    // Wait for the watcher to credit the deposits.
    const settled = async () => Number((await redis.hget(settleKeys(stack.chain.chainId).state, "fills:settled")) ?? 0);
    for (let i = 0; ; i++) {
      const r = await fetch(`${operator.url}/v1/accounts/${takers[TAKERS - 1].address}/balances`);
      const body = (await r.json()) as { chains?: { balances: Record<string, { available: string }> }[] };
      if (BigInt(body.chains?.[0]?.balances?.[stack.chain.wethAddress]?.available ?? 0) > 0n) break;
      if (i > 300) throw new Error("deposits were not credited within 60 s");
      await new Promise((r) => setTimeout(r, 200));
    }

    // Makers: a ladder of large orders on each side, replaced as they fill.
    const LADDER_AMOUNT = 2_000n * WETH;
    for (const [i, m] of makers.entries()) {
      const reply = await m.place([
        m.order({ ...base, isBuy: false, price: MID + BigInt(1 + i) * TICK, amount: LADDER_AMOUNT, maxMakerFeeBps: 10 }),
        m.order({ ...base, isBuy: true, price: MID - BigInt(1 + i) * TICK, amount: LADDER_AMOUNT, maxMakerFeeBps: 10 }),
      ]);
      if (reply.status !== 201 && reply.status !== 200) throw new Error(`maker order refused: ${JSON.stringify(reply.body)}`);
    }

    let sent = 0;
    let filled = 0;
    let refused = 0;
    let takerTurn = 0;
    const sendOne = async (): Promise<void> => {
      const t = takers[takerTurn++ % TAKERS];
      const buy = sent % 2 === 0;
      sent++;
      const reply = await t.place([t.order({ ...base, isBuy: buy, price: buy ? MID + 10n * TICK : MID - 10n * TICK, amount: FILL_LOTS * LOT, flags: 2 })]);
      if (reply.status === 201 || reply.status === 200) filled += reply.body.fills?.length ?? 0;
      else refused++;
    };

    /** Sends `rate` orders per second for `seconds`, open loop; prints progress. */
    const offer = async (rate: number, seconds: number, label: string): Promise<void> => {
      const start = performance.now();
      const total = Math.floor(rate * seconds);
      const inflight = new Set<Promise<void>>();
      let lastPrint = 0;
      for (let i = 0; i < total; i++) {
        const due = start + (i * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const p = sendOne().finally(() => inflight.delete(p));
        inflight.add(p);
        // A live line on a terminal; a line every 10 s in a log.
        if (performance.now() - lastPrint > (process.stdout.isTTY ? 1000 : 10_000)) {
          lastPrint = performance.now();
          const s = operator!.chainServices.get(stack.chain.chainId)!.settler.status();
          process.stdout.write(
            `${process.stdout.isTTY ? "\r" : ""}  ${label}: ${((performance.now() - start) / 1000).toFixed(0).padStart(3)} s  orders ${sent}  fills ${filled}  settled ${await settled()}  queue ${s.queuedFills}  open batches ${s.openBatches}  gas/fill ${s.gasPerFill}   ${process.stdout.isTTY ? "" : "\n"}`,
          );
        }
      }
      await Promise.all(inflight);
      process.stdout.write("\n");
    };

    // Warm-up above what the chain carries: full batches, whose gas per fill (receipts) is the
    // chain's ceiling; the measured phase offers LOAD_RATIO of it, once the backlog drained.
    const warmRate = 200;
    await offer(warmRate, WARMUP_S, `warm-up at ${warmRate} fills/s (above the ceiling)`);
    const k = settleKeys(stack.chain.chainId);
    const recent = await batchGas(redis, k, 0, Date.now(), 5);
    const warmGas = recent.fills > 0 ? Number(recent.gas) / recent.fills : 20_000;
    const rate = Math.max(10, Math.floor((BLOCK_GAS / warmGas) * LOAD_RATIO));
    // Let the warm-up's backlog drain.
    const drainDeadline = Date.now() + 60_000;
    for (;;) {
      const s = operator.chainServices.get(stack.chain.chainId)!.settler.status();
      if ((s.queuedFills === 0 && s.openBatches === 0) || Date.now() > drainDeadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }

    const resultsKey = settleKeys(stack.chain.chainId).results;
    const tail = (await redis.xrevrange(resultsKey, "+", "-", "COUNT", 1)) as [string, string[]][];
    const fromId = tail.length > 0 ? tail[0][0] : "0-0";
    // The stream runs RAMP_S before the measured window opens, so that the window sees the
    // pipeline in its steady state (not the first seconds, when nothing has had time to settle).
    let settledBefore = 0;
    let measureStart = 0;
    const opened = new Promise<void>((resolve) =>
      setTimeout(async () => {
        settledBefore = await settled();
        measureStart = Date.now();
        resolve();
      }, RAMP_S * 1000),
    );
    await offer(rate, RAMP_S + MEASURE_S, `steady stream at ${rate} fills/s`);
    await opened;
    const measureEnd = Date.now();
    const settledDuring = (await settled()) - settledBefore;
    // Let the last batches settle for the lag figures of the last fills.
    const finalDeadline = Date.now() + 15_000;
    while (Date.now() < finalDeadline && operator.chainServices.get(stack.chain.chainId)!.settler.status().openBatches > 0) await new Promise((r) => setTimeout(r, 200));

    // Lags of fills matched during the measured phase; gas of the batches settled then.
    const lags: number[] = [];
    let cursor = fromId;
    for (;;) {
      const reply = (await redis.xrange(resultsKey, `(${cursor}`, "+", "COUNT", 5000)) as [string, string[]][];
      if (reply.length === 0) break;
      for (const [id, list] of reply) {
        cursor = id;
        const f: Record<string, string> = {};
        for (let i = 0; i < list.length; i += 2) f[list[i]] = list[i + 1];
        const ma = Number(f.ma);
        if (f.r === "0" && ma >= measureStart && ma <= measureEnd) lags.push(Number(f.ts) - ma);
      }
    }
    lags.sort((a, b) => a - b);
    const measured = await batchGas(redis, k, measureStart, measureEnd + 5_000);
    const gas = measured.gas;
    const batchFills = measured.fills;
    const batches = measured.batches;
    const gasPerFill = batchFills > 0 ? Number(gas / BigInt(batchFills)) : NaN;
    const ceiling = BLOCK_GAS / gasPerFill;
    const seconds = (measureEnd - measureStart) / 1000;
    const result = {
      settledFillsPerSec: Number((settledDuring / seconds).toFixed(2)),
      chainCeilingFillsPerSec: Number(ceiling.toFixed(2)),
      lagP50Ms: percentile(lags, 50),
      lagP99Ms: percentile(lags, 99),
      gasPerFill,
      offeredFillsPerSec: rate,
      ratioToCeiling: Number((settledDuring / seconds / ceiling).toFixed(3)),
      batches,
      gasUsedOverEstimate: Number(measured.usedOverEstimate.toFixed(4)),
      fillsPerBatch: Number((batchFills / Math.max(1, batches)).toFixed(1)),
      confirmations: Number(CONFIRMATIONS),
      seconds,
      ordersSent: sent,
      ordersRefused: refused,
    };
    const rows: [string, string][] = [
      ["offered fills/s", String(rate)],
      ["settled fills/s", String(result.settledFillsPerSec)],
      ["chain ceiling fills/s (3M gas / gas per fill)", String(result.chainCeilingFillsPerSec)],
      ["settled / ceiling", `${(result.ratioToCeiling * 100).toFixed(1)}% (goal >= 90%)`],
      ["gas per fill (receipts)", String(gasPerFill)],
      ["fills per batch", String(result.fillsPerBatch)],
      ["gas used / simulated (mean)", String(result.gasUsedOverEstimate)],
      ["settlement lag p50 (match -> confirmed)", `${result.lagP50Ms} ms`],
      ["settlement lag p99", `${result.lagP99Ms} ms (goal <= 3000)`],
      ["confirmations", CONFIRMATIONS],
      ["orders refused", String(refused)],
    ];
    const width = Math.max(...rows.map((r) => r[0].length));
    console.log("\nSettlement, steady stream of matched fills (anvil, 3,000,000 gas per 1 s block)\n");
    for (const [name, value] of rows) console.log(`  ${name.padEnd(width)}  ${value}`);
    const file = path.join(__dirname, "..", "..", "bench", "results", "settlement.json");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(result, null, 2) + "\n");
    console.log(`\nwrote ${path.relative(process.cwd(), file)} (operator log: ${logFile})`);
  } finally {
    redis.disconnect();
    await operator?.stop();
    await stack.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
