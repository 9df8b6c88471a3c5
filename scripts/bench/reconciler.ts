/**
 * Reconciler benchmark (npm run bench:reconciler): one full round over 10,000 traders x 4
 * tokens on one chain, and the JSON-RPC requests it used, written to
 * bench/results/reconciler.json as { traders, tokens, roundMs, rpcRequests }.
 * Goals (issue 11): roundMs <= 5,000 and rpcRequests <= 10 per chain.
 *
 * Set-up, cheaply and exactly: a local anvil with the contracts deployed (deployLocal), two
 * more ERC-20s (WETH's code copied with anvil_setCode), then every (trader, token) vault
 * balance written straight into Settlement's storage with anvil_setStorageAt (_balances at
 * slot 7, _totals at slot 8: artifacts/build-info storage layout; the tokens' holdings in
 * their OpenZeppelin _balances at slot 0), sent as JSON-RPC batches, and the same numbers in
 * the ledger's Redis layout (operator/ledger/keys.ts), with the watcher's cursor at the head.
 * The round runs through the budgeted RPC client (operator/chain createChainRpc), whose own
 * counter gives the requests sent.
 */
import fs from "node:fs";
import path from "node:path";
import { encodeAbiParameters, keccak256, numberToHex, type Hex } from "viem";
import { createChainRpc } from "../../operator/chain";
import { watcherKeys } from "../../operator/chain/watcherKeys";
import { balanceField, ledgerKeys } from "../../operator/ledger";
import { createLogger } from "../../operator/log";
import type { Market } from "../../operator/markets";
import { createRegistry } from "../../operator/metrics";
import type { Address } from "../../operator/orders";
import { createRedisClient } from "../../operator/redis";
import { createReconciler, formatReport } from "../../operator/reconciler";
import { startAnvil } from "../lib/anvil";
import { deployLocal } from "../lib/localChain";
import { startRedis } from "../lib/redisServer";

const TRADERS = Number(process.env.BENCH_TRADERS ?? 10_000);
const PAIRS_PER_CALL = Number(process.env.BENCH_PAIRS_PER_CALL ?? 5_000);

const slotOf = (key: Address | Hex, keyType: "address" | "bytes32", slot: Hex | bigint): Hex =>
  keccak256(encodeAbiParameters([{ type: keyType }, typeof slot === "bigint" ? { type: "uint256" } : { type: "bytes32" }], [key, slot] as never));

async function rpcBatch(url: string, calls: { method: string; params: unknown[] }[]): Promise<void> {
  for (let i = 0; i < calls.length; i += 2_000) {
    const body = calls.slice(i, i + 2_000).map((c, j) => ({ jsonrpc: "2.0", id: i + j, ...c }));
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const out = (await res.json()) as { error?: unknown }[];
    const failed = out.find((r) => r.error !== undefined);
    if (failed !== undefined) throw new Error(`seeding failed: ${JSON.stringify(failed.error)}`);
  }
}

async function main(): Promise<void> {
  const node = await startAnvil({ blockTime: 0, gasLimit: 30_000_000 });
  const redisServer = await startRedis();
  const logger = createLogger({ level: "warn" });
  const redis = createRedisClient({ logger }, { url: redisServer.url });
  try {
    const d = await deployLocal(node.url);
    const code = await d.publicClient.getCode({ address: d.wethAddress });
    const extra = ["0x00000000000000000000000000000000000b0c01", "0x00000000000000000000000000000000000b0c02"] as Address[];
    await rpcBatch(node.url, extra.map((a) => ({ method: "anvil_setCode", params: [a, code] })));
    const tokens = [d.wethAddress, d.usdcAddress, ...extra].map((t) => t.toLowerCase() as Address);
    const traders = Array.from({ length: TRADERS }, (_, i) => `0x${(0x1000000n + BigInt(i)).toString(16).padStart(40, "0")}` as Address);

    const seedStart = Date.now();
    const storage: { method: string; params: unknown[] }[] = [];
    const totals = tokens.map(() => 0n);
    const multi = redis.pipeline();
    traders.forEach((trader, i) => {
      const inner = slotOf(trader, "address", 7n);
      const fields: Record<string, string> = {};
      tokens.forEach((token, j) => {
        const amount = BigInt(1 + i * 4 + j) * 10n ** 12n;
        totals[j] += amount;
        storage.push({ method: "anvil_setStorageAt", params: [d.settlementAddress, slotOf(token, "address", inner), numberToHex(amount, { size: 32 })] });
        fields[balanceField(token, "a")] = amount.toString();
      });
      multi.hset(ledgerKeys(d.chainId, trader).acct, fields);
    });
    tokens.forEach((token, j) => {
      storage.push({ method: "anvil_setStorageAt", params: [d.settlementAddress, slotOf(token, "address", 8n), numberToHex(totals[j], { size: 32 })] });
      storage.push({ method: "anvil_setStorageAt", params: [token, slotOf(d.settlementAddress, "address", 0n), numberToHex(totals[j], { size: 32 })] });
    });
    await rpcBatch(node.url, storage);
    await rpcBatch(node.url, [{ method: "evm_mine", params: [] }]);
    // eth_blockNumber itself: viem's getBlockNumber caches for a few seconds.
    const head = BigInt(await d.publicClient.request({ method: "eth_blockNumber" }));
    multi.hset(watcherKeys(d.chainId).cursor, { block: head.toString(), base: head.toString(), target: head.toString() });
    await multi.exec();
    const seedMs = Date.now() - seedStart;

    const rpc = createChainRpc({ logger }, { chainId: d.chainId, name: "bench", rpcUrl: node.url, requestsPerMinute: 60_000 });
    const markets = [
      { id: 1, symbol: "WETH-USDC", chainId: d.chainId, baseToken: tokens[0], quoteToken: tokens[1] },
      { id: 2, symbol: "TKA-TKB", chainId: d.chainId, baseToken: tokens[2], quoteToken: tokens[3] },
    ] as unknown as Market[];
    const reconciler = createReconciler(
      { redis, logger, metrics: createRegistry(), chains: [{ chainId: d.chainId, name: "bench", client: rpc.client, settlement: d.settlementAddress }], markets },
      { driftThreshold: 0n, intervalMs: 60_000, haltOnDrift: false, pairsPerCall: PAIRS_PER_CALL },
    );
    await reconciler.runOnce(); // warm-up (connections, code paths)
    const before = (await rpc.status()).requests;
    const r = await reconciler.runOnce();
    const sent = (await rpc.status()).requests - before;
    await rpc.close();

    const result = { traders: TRADERS, tokens: tokens.length, roundMs: r.roundMs, rpcRequests: sent };
    console.log(formatReport(r.report, { rpcRequests: r.rpcRequests, roundMs: r.roundMs }));
    console.log("");
    console.log(`seeded ${TRADERS} traders x ${tokens.length} tokens in ${seedMs} ms`);
    console.log("| traders | tokens | pairs | pairs/call | round ms | RPC requests | goal |");
    console.log("| ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    console.log(`| ${TRADERS} | ${tokens.length} | ${TRADERS * tokens.length} | ${PAIRS_PER_CALL} | ${r.roundMs} | ${sent} | roundMs <= 5000: ${r.roundMs <= 5000 ? "met" : "MISSED"}; rpcRequests <= 10: ${sent <= 10 ? "met" : "MISSED"} |`);
    if (r.report.status !== "ok") console.log(`WARNING: the round's status is ${r.report.status}, expected ok`);
    const out = path.join(__dirname, "..", "..", "bench", "results", "reconciler.json");
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
    console.log(`written to ${path.relative(process.cwd(), out)}`);
  } finally {
    redis.disconnect();
    await redisServer.destroy();
    await node.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
