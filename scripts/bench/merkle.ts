/**
 * Merkle benchmark (npm run bench:merkle). Prints a table and writes bench/results/merkle.json:
 *
 *   build1e5Ms, build1e6Ms   CommitmentTree.fromLeafDigests on the main thread (best of a few
 *                            runs), random leaf digests; merkletreejs's figures beside them
 *   peakRssMb1e6             maxRSS of a child process that builds a 1e6-leaf tree, then writes
 *                            the 1e6-leaf epoch data file and builds its tree in a worker thread
 *                            (writeEpochDataFileInWorker), then reads it back a chunk at a time
 *                            (readEpochCommitment); the parent's heap is not in it
 *   verifyGas1e6             OrderbookCommitment on anvil (Cancun), a 1e6-leaf root committed,
 *                            eth_estimateGas of verifyOrder with a real 20-sibling proof sent as
 *                            a transaction, minus the 21,000 base: execution + calldata
 *   intakeRatioWhileClosing  orders/s through the real intake (validation, signature worker pool,
 *                            funds lock and matching in Lua on a real Redis) while 1e6-leaf trees
 *                            are built back to back in worker threads, over the same without;
 *                            alternating rounds of the same orders on a flushed Redis, one process
 *
 * Goals: build1e5Ms <= 1,000, build1e6Ms <= 10,000, peakRssMb1e6 <= 1,024, verifyGas1e6 <=
 * 40,000, intakeRatioWhileClosing >= 0.9. A shared machine is noisy: the load average is printed.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { MerkleTree } from "merkletreejs";
import { createPublicClient, createWalletClient, encodeFunctionData, http, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  CommitmentTree,
  buildTreeInWorker,
  leafDigest,
  readEpochCommitment,
  writeEpochDataFileInWorker,
  type CommitmentLeaf,
  type OrderAcceptedLeaf,
} from "../../operator/commitment";
import { creditDeposit } from "../../operator/ledger";
import { createLogger } from "../../operator/log";
import { createEngine, placeOrders, stopEngine, type MatchingEngine } from "../../operator/matching";
import { createRegistry } from "../../operator/metrics";
import { keccak256 } from "../../operator/orders";
import { createVerifierPool, type VerifierPool } from "../../operator/orders/verifier";
import { createRedisClient, type RedisClient } from "../../operator/redis";
import { TEST_KEYS, startAnvil } from "../lib/anvil";
import { COMMITMENT_ARTIFACT } from "../lib/localChain";
import { startRedis, type RedisServer } from "../lib/redisServer";
import { BASE, BENCH_DOMAIN, BENCH_ENGINE_LIMITS, BENCH_MARKET, FEE_ACCOUNT, QUOTE, admitBenchOrder, benchTraders, signedOrders, type BenchTrader, type SignedBenchOrder } from "./engineWorkload";

const MILLION = 1_000_000;
const ROUND_ORDERS = Number(process.env.BENCH_ROUND_ORDERS ?? 12_000);
const ROUND_PAIRS = Number(process.env.BENCH_ROUND_PAIRS ?? 4);
/** Nice value of the tree threads while closing (the daemon's default is 19; 0 shows what it buys). */
const TREE_NICENESS = Number(process.env.BENCH_TREE_NICENESS ?? 19);
const TRADERS = 1_000;
const CHUNK = 250; // as scripts/bench/engine.ts: orders per verify/place call, chunks in flight
const IN_FLIGHT = 8;
const logger = createLogger({ level: "silent" });
const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
const since = (t: number) => performance.now() - t;

/** n random leaf digests in one owned buffer, and the real order leaves placed at `at`. */
function digestsWith(n: number, at: Map<number, CommitmentLeaf>): Buffer {
  const flat = Buffer.from(new ArrayBuffer(n * 32));
  randomBytes(n * 32).copy(flat);
  for (const [i, leaf] of at) leafDigest(leaf).copy(flat, i * 32);
  return flat;
}

function benchLeaf(i: number, epoch = 1n): CommitmentLeaf {
  const hex = (x: number, chars: number) => `0x${x.toString(16).padStart(chars, "0")}` as Hex;
  return i % 3 === 2
    ? { type: "fill", epoch, fillId: BigInt(i), makerHash: hex(i * 7 + 1, 64), takerHash: hex(i * 13 + 5, 64), price: 2_000_000_000n + BigInt(i), amount: 10n ** 17n * BigInt(1 + (i % 100)), batchId: BigInt(i >> 6) }
    : { type: "orderAccepted", epoch, sequence: BigInt(i), orderHash: `0x${keccak256(Buffer.from(`order ${i}`)).toString("hex")}`, trader: hex(i % 5_000, 40), receivedAt: 1_735_689_600_000n + BigInt(i) };
}

function best(runs: number, fn: () => void): number {
  let min = Infinity;
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    fn();
    min = Math.min(min, since(t));
  }
  return min;
}

// ------------------------------------------------------------------ child processes

/** Runs `job` of this script in a fresh process and returns the JSON it prints last. */
function inChild(job: string): Promise<Record<string, number>> {
  const args = ["-r", require.resolve("ts-node/register/transpile-only"), __filename, "--child", job];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d) => (out += String(d)));
    child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out.trim().split("\n").pop()!)) : reject(new Error(`child ${job} exited with ${code}`))));
  });
}

const maxRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

async function childFile(): Promise<Record<string, number>> {
  const tree = CommitmentTree.fromLeafDigests(digestsWith(MILLION, new Map()));
  const peakRssMbTreeOnly = maxRssMb();
  const dir = await mkdtemp(path.join(os.tmpdir(), "hyperindex-bench-merkle-"));
  try {
    const leaves = function* () {
      for (let i = 0; i < MILLION; i++) yield benchLeaf(i, 7n);
    };
    // What the leaves cost to make, apart from writing them: the daemon reads them from its journal.
    let t = performance.now();
    for (const leaf of leaves()) if (leaf.epoch !== 7n) throw new Error("unreachable");
    const leafGenerationMs = since(t);
    t = performance.now();
    const elu = performance.eventLoopUtilization();
    const written = await writeEpochDataFileInWorker(dir, { epoch: 7n, leaves: leaves(), expectedLeaves: MILLION });
    const fileWriteMs = since(t);
    const mainThreadMs = performance.eventLoopUtilization(elu).active;
    t = performance.now();
    const read = await readEpochCommitment(written.path);
    if (read.root !== written.root || read.dataHash !== written.dataHash) throw new Error("the file read back does not rebuild its commitment");
    return { peakRssMb1e6: maxRssMb(), peakRssMbTreeOnly1e6: peakRssMbTreeOnly, treeDepth1e6: tree.depth, fileBytes1e6: written.byteLength, fileWriteMs1e6: Math.round(fileWriteMs), fileWriteMainThreadMs1e6: Math.round(mainThreadMs - leafGenerationMs), leafGenerationMs1e6: Math.round(leafGenerationMs), fileReadMs1e6: Math.round(since(t)) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function childMerkletreejs(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of [100_000, MILLION]) {
    const leaves = Array.from({ length: n }, () => randomBytes(32));
    const t = performance.now();
    new MerkleTree(leaves, keccak256, { hashLeaves: false, sortLeaves: false, sortPairs: true, duplicateOdd: false, complete: false, isBitcoinTree: false });
    out[n === MILLION ? "build1e6MsMerkletreejs" : "build1e5MsMerkletreejs"] = Math.round(since(t));
  }
  return { ...out, peakRssMb1e6Merkletreejs: maxRssMb() };
}

// ------------------------------------------------------------------ gas on anvil

async function verifyGas(): Promise<Record<string, number>> {
  const index = 0; // leaf 0 of 2^20 > 1e6 leaves: a full 20-sibling proof
  const leaf = benchLeaf(index) as OrderAcceptedLeaf;
  const tree = CommitmentTree.fromLeafDigests(digestsWith(MILLION, new Map([[index, leaf]])));
  const proof = tree.proof(index);
  const node = await startAnvil({ blockTime: 0, gasLimit: 30_000_000 });
  try {
    const chain = { id: node.chainId, name: "anvil", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [node.url] } } };
    const client = createPublicClient({ chain, transport: http(node.url) });
    const [admin, operator] = [privateKeyToAccount(TEST_KEYS[0] as Hex), privateKeyToAccount(TEST_KEYS[1] as Hex)];
    const wallet = (account: typeof admin) => createWalletClient({ chain, account, transport: http(node.url) });
    const { abi, bytecode } = COMMITMENT_ARTIFACT();
    const deployed = await client.waitForTransactionReceipt({ hash: await wallet(admin).deployContract({ abi, bytecode, args: [admin.address, 3600, operator.address, 3600n] }) });
    const address = deployed.contractAddress!;
    const dataHash = `0x${keccak256(Buffer.from("bench data")).toString("hex")}` as Hex;
    await client.waitForTransactionReceipt({ hash: await wallet(operator).writeContract({ address, abi, functionName: "commitEpoch", args: [1n, tree.root, BigInt(MILLION), dataHash] }) });
    const data = encodeFunctionData({ abi, functionName: "verifyOrder", args: [leaf.epoch, leaf.sequence, leaf.orderHash, leaf.trader, leaf.receivedAt, proof] });
    const ok = await client.call({ to: address, data });
    if (BigInt(ok.data ?? "0x0") !== 1n) throw new Error("verifyOrder did not return true for the real proof");
    const estimate = await client.estimateGas({ account: admin.address, to: address, data });
    const bytes = Buffer.from(data.slice(2), "hex");
    const calldataGas = bytes.reduce((sum, b) => sum + (b === 0 ? 4 : 16), 0); // EIP-2028
    return { verifyGas1e6: Number(estimate) - 21_000, verifyGasEstimate1e6: Number(estimate), verifyCalldataGas1e6: calldataGas, verifyCalldataBytes1e6: bytes.length, proofSiblings1e6: proof.length, proofBytes1e6: proof.length * 32 };
  } finally {
    await node.stop();
  }
}

// ------------------------------------------------------------------ intake while closing

interface Pipeline {
  engine: MatchingEngine;
  pool: VerifierPool;
  redis: RedisClient;
}

/** A flushed Redis, the engine, funded traders and a verifier pool: as scripts/bench/engine.ts. */
async function freshPipeline(server: RedisServer, traders: readonly BenchTrader[]): Promise<Pipeline> {
  const redis = createRedisClient({ logger }, { url: server.url });
  await redis.flushall();
  const engine = await createEngine({ redis, logger, metrics: createRegistry() }, { markets: [BENCH_MARKET], feeAccount: FEE_ACCOUNT, ...BENCH_ENGINE_LIMITS });
  await Promise.all(traders.flatMap((t) => [BASE, QUOTE].map((token) => creditDeposit({ scripts: engine.ctx.scripts, logger }, { chainId: BENCH_MARKET.chainId, trader: t.address, token, amount: 10n ** 30n, depositId: `bench:${t.address}:${token}` }))));
  const pool = createVerifierPool({ logger }, { domain: BENCH_DOMAIN });
  await pool.ready();
  return { engine, pool, redis };
}

/** validate -> verify -> lock + match, CHUNK orders per call, IN_FLIGHT calls at once: orders/s. */
async function intakeRound(p: Pipeline, orders: readonly SignedBenchOrder[]): Promise<number> {
  let next = 0;
  const started = performance.now();
  const lane = async () => {
    while (next < orders.length) {
      const chunk = orders.slice(next, (next += CHUNK));
      const receivedAt = Date.now();
      chunk.forEach((o) => admitBenchOrder(o, receivedAt));
      const verdicts = await p.pool.verify(chunk.map((o) => ({ order: o.order, signature: o.signature, chainId: BENCH_DOMAIN.chainId })));
      const requests = chunk.flatMap((o, i) => {
        const v = verdicts[i]!;
        return v.ok ? [{ order: o.order, orderHash: v.orderHash, signature: o.signature, market: BENCH_MARKET.id, receivedAt }] : [];
      });
      const results = await placeOrders(p.engine, requests);
      if (results.length !== chunk.length || results.some((r) => r.status !== "accepted")) throw new Error("an order of the bench was refused");
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  return orders.length / (since(started) / 1000);
}

/** 1e6-leaf trees built back to back in worker threads until stopped: builds done, their mean time. */
function closeEpochsRepeatedly(digests: Buffer): { stop(): Promise<{ builds: number; meanMs: number }> } {
  let running = true;
  const times: number[] = [];
  const loop = (async () => {
    while (running) {
      const t = performance.now();
      await buildTreeInWorker(digests, { transfer: false, niceness: TREE_NICENESS });
      times.push(since(t));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { builds: times.length, meanMs: times.reduce((a, b) => a + b, 0) / Math.max(1, times.length) };
    },
  };
}

async function intakeWhileClosing(): Promise<Record<string, number | number[]>> {
  const traders = benchTraders(TRADERS, "merkle");
  const orders = signedOrders(traders, ROUND_ORDERS, 5);
  const digests = digestsWith(MILLION, new Map());
  const server = await startRedis({ appendonly: true, appendfsync: "everysec" });
  const rounds: { closing: boolean; rate: number }[] = [];
  let builds = 0;
  let buildMs = 0;
  try {
    // One warm-up round, then alternating pairs; which goes first alternates too.
    for (let round = -1; round < 2 * ROUND_PAIRS; round++) {
      const closing = round >= 0 && round % 4 !== 0 && round % 4 !== 3;
      const p = await freshPipeline(server, traders);
      const closer = closing ? closeEpochsRepeatedly(digests) : undefined;
      if (closer) await new Promise((resolve) => setTimeout(resolve, 300)); // the first thread is up and building
      const rate = await intakeRound(p, orders);
      if (closer) {
        const done = await closer.stop();
        builds += done.builds;
        buildMs += done.meanMs * done.builds;
      }
      await stopEngine(p.engine);
      await p.pool.close();
      p.redis.disconnect();
      if (round >= 0) rounds.push({ closing, rate });
      process.stdout.write(`  intake round ${round + 1}/${2 * ROUND_PAIRS}${round < 0 ? " (warm-up)" : ""}: ${Math.round(rate)} orders/s${closing ? ", closing epochs" : ""}\n`);
    }
  } finally {
    await server.destroy();
  }
  // Rounds run quiet/closing, closing/quiet, ...: each adjacent pair compares the two under the
  // same background load (the machine is shared), and the pairs' ratios are averaged
  // geometrically. The ratio of the plain means is reported beside it.
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const pairRatios = Array.from({ length: ROUND_PAIRS }, (_, k) => {
    const [a, b] = [rounds[2 * k]!, rounds[2 * k + 1]!];
    return a.closing ? a.rate / b.rate : b.rate / a.rate;
  });
  const quiet = rounds.filter((r) => !r.closing).map((r) => r.rate);
  const closing = rounds.filter((r) => r.closing).map((r) => r.rate);
  return {
    intakeRatioWhileClosing: Number(Math.exp(mean(pairRatios.map(Math.log))).toFixed(3)),
    intakeRatioOfMeans: Number((mean(closing) / mean(quiet)).toFixed(3)),
    intakePairRatios: pairRatios.map((r) => Number(r.toFixed(3))),
    intakeOrdersPerSecQuiet: Math.round(mean(quiet)),
    intakeOrdersPerSecClosing: Math.round(mean(closing)),
    treeBuildsWhileClosing: builds,
    treeBuildMsUnderLoad1e6: Math.round(buildMs / Math.max(1, builds)),
    treeThreadNiceness: TREE_NICENESS,
  };
}

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  const started = performance.now();
  console.log(`bench:merkle (${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")})`);
  const flat5 = digestsWith(100_000, new Map());
  const flat6 = digestsWith(MILLION, new Map());
  const build1e5Ms = best(5, () => CommitmentTree.fromLeafDigests(flat5));
  const build1e6Ms = best(2, () => CommitmentTree.fromLeafDigests(flat6));
  let t = performance.now();
  const inWorker = await buildTreeInWorker(flat6, { transfer: false, niceness: 0 });
  const buildInWorker1e6Ms = since(t);
  t = performance.now();
  for (let i = 0; i < 10_000; i++) inWorker.proof((i * 7_919) % MILLION);
  const proofUs1e6 = (since(t) * 1000) / 10_000;
  console.log("  built in place and in a worker; merkletreejs in a child process...");
  const reference = await inChild("merkletreejs");
  console.log("  a 1e6-leaf tree and epoch data file in a child process (peak RSS)...");
  const file = await inChild("file");
  console.log("  verifyOrder gas on anvil...");
  const gas = await verifyGas();
  console.log(`  intake with and without epoch closing (${ROUND_PAIRS} pairs of ${ROUND_ORDERS} orders)...`);
  const intake = await intakeWhileClosing();

  const result = {
    build1e5Ms: Math.round(build1e5Ms),
    build1e6Ms: Math.round(build1e6Ms),
    peakRssMb1e6: file.peakRssMb1e6!,
    verifyGas1e6: gas.verifyGas1e6!,
    intakeRatioWhileClosing: intake.intakeRatioWhileClosing as number,
    buildInWorker1e6Ms: Math.round(buildInWorker1e6Ms),
    proofLookupUs1e6: Number(proofUs1e6.toFixed(1)),
    ...reference,
    ...file,
    ...gas,
    ...intake,
    benchSeconds: 0,
  };
  result.benchSeconds = Math.round(since(started) / 1000);
  const rows: [string, string, string][] = [
    ["measure", "value", "goal / note"],
    ["build 1e5 leaves", `${result.build1e5Ms} ms`, `<= 1,000 (merkletreejs ${reference.build1e5MsMerkletreejs} ms)`],
    ["build 1e6 leaves", `${result.build1e6Ms} ms`, `<= 10,000 (merkletreejs ${reference.build1e6MsMerkletreejs} ms); in a worker ${result.buildInWorker1e6Ms} ms with its start`],
    ["peak RSS, 1e6 tree + file", `${result.peakRssMb1e6} MB`, `<= 1,024 (tree alone ${file.peakRssMbTreeOnly1e6} MB; merkletreejs tree alone ${reference.peakRssMb1e6Merkletreejs} MB)`],
    ["epoch file, 1e6 leaves", `${mb(file.fileBytes1e6!)} MB`, `written in a worker in ${file.fileWriteMs1e6} ms (main thread: ${file.fileWriteMainThreadMs1e6} ms handing over leaves), read back in ${file.fileReadMs1e6} ms`],
    ["verifyOrder gas, 1e6", `${result.verifyGas1e6}`, `<= 40,000: eth_estimateGas ${gas.verifyGasEstimate1e6} - 21,000; of it calldata ${gas.verifyCalldataGas1e6}`],
    ["proof, 1e6 leaves", `${gas.proofSiblings1e6} siblings`, `${gas.proofBytes1e6} bytes; lookup ${result.proofLookupUs1e6} us`],
    ["intake ratio while closing", `${result.intakeRatioWhileClosing}`, `>= 0.9: pairs ${(intake.intakePairRatios as number[]).join(", ")}; means ${intake.intakeOrdersPerSecClosing} / ${intake.intakeOrdersPerSecQuiet} orders/s; ${intake.treeBuildsWhileClosing} builds of ${intake.treeBuildMsUnderLoad1e6} ms`],
  ];
  const widths = [0, 1].map((i) => Math.max(...rows.map((r) => r[i].length)));
  console.log(`\nmerkle benchmark (one run, ${result.benchSeconds} s)\n`);
  for (const r of rows) console.log(`  ${r[0].padEnd(widths[0]!)}  ${r[1].padStart(widths[1]!)}  ${r[2]}`);
  const out = path.join(__dirname, "..", "..", "bench", "results", "merkle.json");
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
}

const child = process.argv.indexOf("--child");
const job = child >= 0 ? process.argv[child + 1] : undefined;
const run = job === "file" ? childFile() : job === "merkletreejs" ? Promise.resolve(childMerkletreejs()) : main().then(() => undefined);
run.then(
  (output) => {
    if (output !== undefined) console.log(JSON.stringify(output));
    process.exit(0);
  },
  (error) => {
    console.error(error);
    process.exit(1);
  }
);
