import { spawnSync } from "node:child_process";
import path from "node:path";
import { expect } from "chai";
import { encodeAbiParameters, keccak256, numberToHex, type Hex } from "viem";
import { createChainClients, createChainRpc } from "../../operator/chain";
import { ledgerKeys, balanceField } from "../../operator/ledger";
import { createLogger } from "../../operator/log";
import { getMarketStatus, resumeMarket } from "../../operator/markets";
import { createRegistry } from "../../operator/metrics";
import type { Address } from "../../operator/orders";
import type { RedisClient } from "../../operator/redis";
import { createReconciler, type Reconciler, type ReconcilerChain } from "../../operator/reconciler";
import type { RunningOperator } from "../../operator/daemon/start";
import type { DemoTrader } from "../../scripts/demo/trader";
import { ERC20_ARTIFACT } from "../../scripts/lib/localChain";
import { startStack, type Stack } from "../../scripts/lib/stack";
import { startTcpProxy } from "../../scripts/lib/tcpProxy";
import { fundTraders, market, matchPair, MID, TICK, until, USDC, waitCredited, WETH } from "./faults/harness";

/**
 * The reconciler against a real stack (anvil like HyperEVM small blocks, the contracts, Redis,
 * the operator in this process): zero drift while trading and settling, then one injected
 * fault at a time, each attributed to its chain, token and trader, and undone.
 */
const BALANCES_SLOT = 7n; // Settlement._balances (artifacts/build-info storage layout)
const TOTALS_SLOT = 8n; // Settlement._totals

function balanceSlot(trader: Address, token: Address): Hex {
  const inner = keccak256(encodeAbiParameters([{ type: "address" }, { type: "uint256" }], [trader, BALANCES_SLOT]));
  return keccak256(encodeAbiParameters([{ type: "address" }, { type: "bytes32" }], [token, inner]));
}
function totalSlot(token: Address): Hex {
  return keccak256(encodeAbiParameters([{ type: "address" }, { type: "uint256" }], [token, TOTALS_SLOT]));
}

describe("reconciler (e2e: anvil + Redis + operator)", function () {
  this.timeout(180_000);
  const logger = createLogger({ level: "silent" });
  let stack: Stack;
  let operator: RunningOperator;
  let redis: RedisClient;
  let traders: DemoTrader[];
  let reconciler: Reconciler;
  const amounts = { weth: 5n * WETH, usdc: 20_000n * USDC };

  function make(haltOnDrift: boolean, chains?: readonly ReconcilerChain[]): Reconciler {
    const config = stack.config();
    return createReconciler(
      { redis, logger, metrics: createRegistry(), chains: chains ?? createChainClients(config.chains, new Map(), { logger }), markets: config.markets, feeAccounts: operator.feeAccounts },
      { driftThreshold: 0n, intervalMs: 60_000, haltOnDrift, pairsPerCall: 5_000, confirmDelayMs: 300 },
    );
  }

  async function storageAdd(slot: Hex, delta: bigint): Promise<void> {
    const current = BigInt(await stack.chain.publicClient.getStorageAt({ address: stack.chain.settlementAddress, slot }) ?? "0x0");
    await stack.chain.publicClient.request({ method: "anvil_setStorageAt" as never, params: [stack.chain.settlementAddress, slot, numberToHex(current + delta, { size: 32 })] as never });
  }

  before(async () => {
    // The daemon's own reconciler stays out of the way (an hour between rounds): the tests run
    // their rounds themselves, at the steps they check.
    stack = await startStack({ env: { HYPERINDEX_RECONCILE_INTERVAL_MS: "3600000" } });
    operator = await stack.startOperator({ logger });
    redis = stack.redisClient();
    traders = await fundTraders(stack, "reconciler", ["a", "b", "c", "d"], amounts);
    await waitCredited(stack, traders, amounts);
    reconciler = make(false);
  });

  after(async () => {
    redis?.disconnect();
    await operator?.stop();
    await stack?.stop();
  });

  it("reports zero drift every round while pairs match and batches settle", async () => {
    for (let i = 0; i < 6; i++) {
      await matchPair(stack, traders[i % 2], traders[1 - (i % 2)]);
      const r = await reconciler.runOnce();
      expect(r.report.status, JSON.stringify(r.report.chains[0].drifts.map((d) => [d.trader, String(d.drift)]))).to.equal("ok");
      expect(r.report.alerts).to.deep.equal([]);
    }
    await until("every fill settled", 60_000, async () => (await stack.checkVaults(traders.map((t) => t.address))).ok);
    const r = await reconciler.runOnce();
    expect(r.report.status).to.equal("ok");
    const chain = r.report.chains[0];
    for (const t of chain.tokens) {
      expect(t.onChain).to.equal(t.ledger);
      expect(t.pendingOut).to.equal(0n);
      expect(t.surplus).to.equal(0n);
    }
    expect(chain.tokens.every((t) => t.accountsChecked >= traders.length)).to.equal(true);
    expect(r.rpcRequests[stack.chain.chainId]).to.equal(2); // one balancesOf, one multicall
  });

  it("prints the same verdict from `npm run reconcile -- --once --json`, exit 0 when it reconciles and 1 on drift", async () => {
    const run = (): { status: number | null; report: { status: string; chains: { drifts: { trader: string }[] }[] } } => {
      const root = path.join(__dirname, "..", "..");
      const out = spawnSync(process.execPath, [require.resolve("ts-node/dist/bin.js"), "--transpile-only", path.join(root, "scripts", "reconcile.ts"), "--once", "--json"], {
        cwd: root,
        env: { ...process.env, ...stack.env },
        encoding: "utf8",
        timeout: 60_000,
      });
      return { status: out.status, report: JSON.parse(out.stdout.trim().split("\n").pop()!) };
    };
    const ok = run();
    expect([ok.status, ok.report.status]).to.deep.equal([0, "ok"]);
    const b = traders[1].address.toLowerCase() as Address;
    const key = ledgerKeys(stack.chain.chainId, b).acct;
    const field = balanceField(stack.chain.wethAddress, "a");
    await redis.hincrby(key, field, -9);
    try {
      const bad = run();
      expect([bad.status, bad.report.status]).to.deep.equal([1, "drift"]);
      expect(bad.report.chains[0].drifts.map((d) => d.trader)).to.deep.equal([b]);
    } finally {
      await redis.hincrby(key, field, 9);
    }
  });

  it("attributes a ledger balance edited behind the engine's back to its chain, token and trader", async () => {
    const c = traders[2].address.toLowerCase() as Address;
    const usdc = stack.chain.usdcAddress.toLowerCase() as Address;
    await redis.hincrby(ledgerKeys(stack.chain.chainId, c).acct, balanceField(usdc, "a"), 123);
    try {
      const r = await reconciler.runOnce();
      expect(r.report.status).to.equal("drift");
      const drifts = r.report.chains[0].drifts;
      expect(drifts.map((d) => [d.chainId, d.token, d.trader, d.drift])).to.deep.equal([[stack.chain.chainId, usdc, c, -123n]]);
      expect(r.report.alerts.map((a) => [a.chainId, a.token, a.absDrift])).to.deep.equal([[stack.chain.chainId, usdc, 123n]]);
    } finally {
      await redis.hincrby(ledgerKeys(stack.chain.chainId, c).acct, balanceField(usdc, "a"), -123);
    }
    expect((await reconciler.runOnce()).report.status).to.equal("ok");
  });

  it("reports tokens sent straight to the vault as a surplus, not as drift", async () => {
    const d = stack.chain;
    const admin = d.wallet(d.keys.admin);
    const erc20 = ERC20_ARTIFACT().abi;
    const mint = await admin.writeContract({ address: d.usdcAddress, abi: erc20, functionName: "mint", args: [d.settlementAddress, 777n], account: admin.account!, chain: d.chain });
    await d.publicClient.waitForTransactionReceipt({ hash: mint, pollingInterval: 100 });
    // The reconciler reads at the watcher's block: wait until it has passed the mint.
    const minted = (await d.publicClient.getTransactionReceipt({ hash: mint })).blockNumber;
    await until("the watcher past the mint", 20_000, async () => BigInt((await redis.hget(`hx:v3:watch:{c:${d.chainId}}:cursor`, "block")) ?? -1) >= minted);
    const r = await reconciler.runOnce();
    expect(r.report.status).to.equal("ok");
    const row = r.report.chains[0].tokens.find((t) => t.token === d.usdcAddress.toLowerCase())!;
    expect(row.surplus).to.equal(777n);
    expect(row.drift).to.equal(0n);
    expect(r.report.alerts).to.deep.equal([]);
  });

  it("attributes a vault balance changed on chain by a path the ledger never saw, and halts the market trading that token until it is resumed", async () => {
    const trader = traders[3].address.toLowerCase() as Address;
    const weth = stack.chain.wethAddress.toLowerCase() as Address;
    const halting = make(true);
    await storageAdd(balanceSlot(trader, weth), 5n);
    await storageAdd(totalSlot(weth), 5n);
    try {
      await new Promise((r) => setTimeout(r, 2_500)); // the watcher's cursor passes the edited state
      const r = await halting.runOnce();
      expect(r.report.chains[0].drifts.map((d) => [d.token, d.trader, d.drift])).to.deep.equal([[weth, trader, 5n]]);
      const row = r.report.chains[0].tokens.find((t) => t.token === weth)!;
      expect(row.deficit).to.equal(5n); // credited without tokens: the vault cannot pay it
      expect(r.halts.map((h) => h.marketId)).to.deep.equal([1]);
      const status = await getMarketStatus({ redis, logger }, { marketId: 1 });
      expect(status?.status).to.equal("halted");
      expect(status?.reason).to.contain(trader).and.contain("resume-market 1");
      const refused = await traders[0].place([traders[0].order({ ...market(stack), isBuy: true, price: MID - 100n * TICK, amount: WETH / 10n })]);
      expect(JSON.stringify(refused.body)).to.contain("MARKET_HALTED");
      // The same figure next round: no second alert, no second halt.
      expect((await halting.runOnce()).halts).to.deep.equal([]);
    } finally {
      await storageAdd(balanceSlot(trader, weth), -5n);
      await storageAdd(totalSlot(weth), -5n);
    }
    await new Promise((r) => setTimeout(r, 2_500));
    expect((await halting.runOnce()).report.status).to.equal("ok");
    await resumeMarket({ redis, logger }, { marketId: 1 });
    const accepted = await traders[0].place([traders[0].order({ ...market(stack), isBuy: true, price: MID - 100n * TICK, amount: WETH / 10n })]);
    expect(accepted.status, JSON.stringify(accepted.body)).to.equal(201);
  });

  it("reports a chain whose RPC is down as unknown, with no drift and no halt", async () => {
    const proxy = await startTcpProxy(stack.node.port);
    const rpc = createChainRpc(
      { logger },
      { chainId: stack.chain.chainId, name: "proxied", rpcUrl: proxy.url, requestsPerMinute: 60_000, retry: { attempts: 2, initialMs: 50, maxMs: 100 }, breaker: { failureThreshold: 3, resetMs: 60_000 }, timeoutMs: 1_000 },
    );
    try {
      const viaProxy = make(true, [{ chainId: stack.chain.chainId, name: "proxied", client: rpc.client, settlement: stack.chain.settlementAddress }]);
      expect((await viaProxy.runOnce()).report.status).to.equal("ok");
      proxy.cut();
      const r = await viaProxy.runOnce();
      expect(r.report.status).to.equal("unknown");
      expect(r.report.chains[0].status).to.equal("unknown");
      expect(r.report.chains[0].drifts).to.deep.equal([]);
      expect(r.report.alerts).to.deep.equal([]);
      expect(r.halts).to.deep.equal([]);
      expect((await getMarketStatus({ redis, logger }, { marketId: 1 }))?.status).to.equal("active");
    } finally {
      proxy.restore();
      await rpc.close();
      await proxy.close();
    }
  });
});
