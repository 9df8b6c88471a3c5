/**
 * The chain watcher (operator/chain/watcher.ts) against a real anvil (a block per transaction),
 * the contracts deployed from the artifacts, and a real Redis: events come from real
 * transactions, an outage from a TCP proxy cut, a reorg from anvil_reorg.
 */
import { expect } from "chai";
import { parseUnits, type Hex, type WalletClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { ChainEvent, DepositedEvent } from "../../../operator/chain/events";
import { createChainRpc, type ChainRpc, type ChainRpcParams } from "../../../operator/chain/rpc";
import { createChainWatcher, type ChainWatcher, type ChainWatcherParams, type HandleContext } from "../../../operator/chain/watcher";
import { watcherKeys } from "../../../operator/chain/watcherKeys";
import { createLogger } from "../../../operator/log";
import { createRegistry, type Registry } from "../../../operator/metrics";
import { OrderHasher, signDigest, toCompactSignature, type Address, type Order } from "../../../operator/orders";
import { encodeBatch } from "../../../operator/settlement";
import { startAnvil, TEST_KEYS, type AnvilNode } from "../../../scripts/lib/anvil";
import { deployLocal, ERC20_ARTIFACT, SETTLEMENT_ARTIFACT, COMMITMENT_ARTIFACT, type LocalDeployment } from "../../../scripts/lib/localChain";
import { startTcpProxy, type TcpProxy } from "../../../scripts/lib/tcpProxy";
import { useRedisServer } from "../../helpers/redis";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 20_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await fn();
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

interface Call {
  events: ChainEvent[];
  ctx: HandleContext;
}

describe("operator/chain watcher: contract events from the chain, confirmed, in order, across restarts, outages and reorgs", function () {
  this.timeout(120_000);
  const redisServer = useRedisServer();
  let node: AnvilNode;
  let d: LocalDeployment;
  let proxy: TcpProxy;
  let registry: Registry;
  let logs: { msg: string; level: string; at?: string }[];
  let rpcs: ChainRpc[];
  let watchers: ChainWatcher[];

  const logger = () => createLogger({ level: "debug", destination: { write: (line: string) => void logs.push(JSON.parse(line)) } });
  const rpcOf = (overrides: Partial<ChainRpcParams> = {}): ChainRpc => {
    const rpc = createChainRpc({ logger: logger(), metrics: registry }, { chainId: d.chainId, name: "local", rpcUrl: node.url, requestsPerMinute: 100_000, timeoutMs: 2_000, ...overrides });
    rpcs.push(rpc);
    return rpc;
  };
  const watcherOf = (rpc: ChainRpc, calls: Call[], overrides: Partial<ChainWatcherParams> = {}): ChainWatcher => {
    const watcher = createChainWatcher(
      { redis: redisServer.redis, rpc, logger: logger(), metrics: registry },
      {
        chainId: d.chainId,
        settlementAddress: d.settlementAddress,
        commitmentAddress: d.commitmentAddress,
        confirmations: 0,
        logRangeBlocks: 2,
        pollIntervalMs: 50,
        handle: async (events, ctx) => void calls.push({ events, ctx }),
        ...overrides,
      },
    );
    watchers.push(watcher);
    return watcher;
  };
  const head = () => d.publicClient.getBlockNumber({ cacheTime: 0 });
  const mine = (blocks = 1) => node.rpc("anvil_mine", [`0x${blocks.toString(16)}`]);
  const wait = (hash: Hex) => d.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 });
  /** Polls until the watcher has read up to the safe head. */
  const catchUp = async (watcher: ChainWatcher) => {
    for (let i = 0; i < 100; i++) if (!(await watcher.pollOnce()).more) return;
    throw new Error("the watcher did not catch up in 100 polls");
  };
  const deposited = (calls: Call[]) => calls.flatMap((c) => c.events).filter((e): e is DepositedEvent => e.kind === "Deposited");

  /** A trader that can deposit `amount` WETH in one transaction (one block) each time. */
  interface Depositor {
    address: Address;
    wallet: WalletClient;
    deposit(amount: bigint, token?: Address): Promise<Hex>;
  }
  async function depositor(key: Hex): Promise<Depositor> {
    const admin = d.wallet(d.keys.admin);
    const wallet = d.wallet(key);
    const address = wallet.account!.address.toLowerCase() as Address;
    const erc20 = ERC20_ARTIFACT().abi;
    const big = parseUnits("1000000", 18);
    for (const token of [d.wethAddress, d.usdcAddress]) {
      await wait(await admin.writeContract({ address: token, abi: erc20, functionName: "mint", args: [address, big], account: admin.account!, chain: d.chain }));
      await wait(await wallet.writeContract({ address: token, abi: erc20, functionName: "approve", args: [d.settlementAddress, big], account: wallet.account!, chain: d.chain }));
    }
    const settlement = SETTLEMENT_ARTIFACT().abi;
    return {
      address,
      wallet,
      async deposit(amount: bigint, token: Address = d.wethAddress) {
        const hash = await wallet.writeContract({ address: d.settlementAddress, abi: settlement, functionName: "deposit", args: [token, amount], account: wallet.account!, chain: d.chain });
        await wait(hash);
        return hash;
      },
    };
  }

  before(async function () {
    node = await startAnvil({ blockTime: 0 });
    d = await deployLocal(node.url);
    proxy = await startTcpProxy(node.port);
  });
  after(async function () {
    await proxy?.close();
    await node?.stop();
  });
  beforeEach(function () {
    registry = createRegistry();
    logs = [];
    rpcs = [];
    watchers = [];
  });
  afterEach(async function () {
    proxy.restore();
    await Promise.all(watchers.map((w) => w.loop.stop()));
    await Promise.all(rpcs.map((r) => r.close()));
  });

  it("hands every Deposited event of several deposits exactly once and in order, across ranges smaller than the gap", async function () {
    const trader = await depositor(TEST_KEYS[4] as Hex);
    const start = (await head()) + 1n;
    const hashes: Hex[] = [];
    for (let i = 1n; i <= 5n; i++) {
      hashes.push(await trader.deposit(i * 1000n));
      await mine(2); // empty blocks between the deposits: more blocks than one range
    }
    const rpc = rpcOf();
    const calls: Call[] = [];
    const watcher = watcherOf(rpc, calls, { startBlock: start, maxRangesPerPoll: 3 });
    await catchUp(watcher);

    const events = deposited(calls);
    expect(events.map((e) => e.amount)).to.deep.equal([1000n, 2000n, 3000n, 4000n, 5000n]);
    expect(events.map((e) => e.txHash)).to.deep.equal(hashes);
    expect(events.map((e) => e.id)).to.deep.equal(hashes.map((h) => `${h}:0`));
    for (const e of events) expect(e).to.include({ chainId: d.chainId, trader: trader.address, token: d.wethAddress, from: trader.address, address: d.settlementAddress });
    for (const c of calls) {
      expect(c.ctx.reorg).to.equal(false);
      expect(Number(c.ctx.toBlock - c.ctx.fromBlock)).to.be.lessThan(2);
      for (const e of c.events) expect(e.blockNumber >= c.ctx.fromBlock && e.blockNumber <= c.ctx.toBlock).to.equal(true);
    }
    const status = watcher.status();
    expect(status).to.include({ chainId: d.chainId, head: Number(await head()), processedBlock: Number(await head()), lagBlocks: 0, reorgs: 0 });

    // Nothing new: one request (eth_blockNumber), nothing handed again.
    const before = (await rpc.status()).requests;
    const idle = await watcher.pollOnce();
    expect(idle).to.include({ events: 0, reorg: false, more: false });
    expect((await rpc.status()).requests - before).to.equal(1);
    expect(deposited(calls)).to.have.length(5);
    // One new block: eth_blockNumber, its header (the reorg check and its hash at once), one eth_getLogs.
    await mine(1);
    const before2 = (await rpc.status()).requests;
    await watcher.pollOnce();
    expect((await rpc.status()).requests - before2).to.equal(3);
    const metrics = await registry.getMetricsAsJSON();
    const handedMetric = metrics.find((m) => m.name === "hyperindex_watcher_events_total")?.values.find((v) => v.labels.kind === "Deposited");
    expect(handedMetric?.value).to.equal(5);
  });

  it("follows confirmations: an event is handed only once `confirmations` blocks are on top of it", async function () {
    const trader = await depositor(TEST_KEYS[4] as Hex);
    const calls: Call[] = [];
    const watcher = watcherOf(rpcOf(), calls, { confirmations: 2 });
    await catchUp(watcher); // first start: from the safe head
    const hash = await trader.deposit(7n);
    await catchUp(watcher);
    expect(deposited(calls)).to.have.length(0);
    await mine(1);
    await catchUp(watcher);
    expect(deposited(calls), "one block on top").to.have.length(0);
    await mine(1);
    await catchUp(watcher);
    expect(deposited(calls).map((e) => e.txHash), "two blocks on top").to.deep.equal([hash]);
    expect(watcher.status().lagBlocks).to.equal(2);
  });

  it("resumes after a restart from the persisted cursor, without handing anything again", async function () {
    const trader = await depositor(TEST_KEYS[4] as Hex);
    const start = (await head()) + 1n;
    await trader.deposit(1n);
    await trader.deposit(2n);
    const first: Call[] = [];
    await catchUp(watcherOf(rpcOf(), first, { startBlock: start }));
    expect(deposited(first).map((e) => e.amount)).to.deep.equal([1n, 2n]);

    await trader.deposit(3n);
    await mine(3);
    await trader.deposit(4n);
    // A new watcher on the same Redis (a restarted daemon); its startBlock only counts on a first start.
    const second: Call[] = [];
    await catchUp(watcherOf(rpcOf(), second, { startBlock: 1 }));
    expect(deposited(second).map((e) => e.amount)).to.deep.equal([3n, 4n]);
    const cursor = await redisServer.redis.hgetall(watcherKeys(d.chainId).cursor);
    expect(cursor.block).to.equal(String(await head()));
    expect(cursor.settlement).to.equal(d.settlementAddress);
  });

  it("refuses a persisted cursor that follows other contracts", async function () {
    await catchUp(watcherOf(rpcOf(), []));
    const other = watcherOf(rpcOf(), [], { settlementAddress: d.wethAddress });
    const error = await other.pollOnce().then(
      () => undefined,
      (e: unknown) => e as { code?: string },
    );
    expect(error?.code).to.equal("CHAIN_WATCHER_CURSOR_MISMATCH");
  });

  it("survives an RPC outage: the loop backs off, the breaker opens, and nothing is lost once the RPC is back", async function () {
    const trader = await depositor(TEST_KEYS[4] as Hex);
    const rpc = rpcOf({ rpcUrl: proxy.url, retry: { attempts: 2, initialMs: 10, maxMs: 20 }, breaker: { failureThreshold: 3, resetMs: 300 } });
    const calls: Call[] = [];
    const watcher = watcherOf(rpc, calls, { backoff: { initialMs: 50, maxMs: 200 } });
    watcher.loop.start();
    await eventually(() => watcher.status().processedBlock !== null, "the first poll");
    const before = await trader.deposit(10n);
    await eventually(() => deposited(calls).length === 1, "the first deposit");

    proxy.cut();
    const during = [await trader.deposit(11n), await trader.deposit(12n)];
    await eventually(async () => (await rpc.status()).breaker === "open", "the breaker to open");
    await eventually(() => watcher.loop.status().consecutiveFailures >= 2, "the loop to back off");
    expect(watcher.loop.status().lastError).to.match(/the RPC failed 3 times in a row|HTTP request failed/);
    expect(deposited(calls)).to.have.length(1);

    proxy.restore();
    await eventually(() => deposited(calls).length === 3, "the deposits made during the outage");
    expect(deposited(calls).map((e) => e.txHash)).to.deep.equal([before, ...during]);
    expect(logs.some((l) => /recovered/.test(l.msg))).to.equal(true);
    await watcher.loop.stop();
  });

  it("hands the same events again when the handler throws: the failed range comes again, the ranges before it do not", async function () {
    const trader = await depositor(TEST_KEYS[4] as Hex);
    const start = (await head()) + 1n;
    await trader.deposit(21n);
    await trader.deposit(22n);
    await trader.deposit(23n);
    const calls: Call[] = [];
    let failures = 1;
    const watcher = watcherOf(rpcOf(), calls, {
      startBlock: start,
      logRangeBlocks: 1,
      handle: async (events, ctx) => {
        calls.push({ events, ctx });
        if (events.some((e) => e.kind === "Deposited" && e.amount === 22n) && failures-- > 0) throw new Error("ledger unavailable");
      },
    });
    const error = await watcher.pollOnce().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).to.equal("ledger unavailable");
    expect(watcher.status().processedBlock).to.equal(Number(start));
    await catchUp(watcher);
    expect(deposited(calls).map((e) => e.amount)).to.deep.equal([21n, 22n, 22n, 23n]);
    const ids = deposited(calls).map((e) => e.id);
    expect(ids[1]).to.equal(ids[2]);
  });

  it("finishes an unfinished read after a restart from the range that was not done, through the loop's backoff", async function () {
    const trader = await depositor(TEST_KEYS[4] as Hex);
    const start = (await head()) + 1n;
    await trader.deposit(41n);
    await mine(2);
    await trader.deposit(42n);
    const first: Call[] = [];
    let failing = true;
    const dying = watcherOf(rpcOf(), first, {
      startBlock: start,
      logRangeBlocks: 2,
      backoff: { initialMs: 20, maxMs: 40 },
      handle: async (events, ctx) => {
        first.push({ events, ctx });
        if (events.some((e) => e.kind === "Deposited" && e.amount === 42n) && failing) throw new Error("ledger unavailable");
      },
    });
    dying.loop.start();
    await eventually(() => dying.loop.status().consecutiveFailures >= 2, "the loop to fail and back off");
    await dying.loop.stop();
    expect(deposited(first).map((e) => e.amount).filter((a) => a === 41n)).to.have.length(1);
    expect(logs.some((l) => l.level === "warn" && /watcher:\d+ failed/.test(l.msg))).to.equal(true);

    const second: Call[] = [];
    await catchUp(watcherOf(rpcOf(), second, { logRangeBlocks: 2 }));
    expect(deposited(second).map((e) => e.amount)).to.deep.equal([42n]);
  });

  it("detects a reorg (anvil_reorg, depth 3): the orphaned blocks' events come again with ctx.reorg true and the same ids, a dropped one does not, and the reorg is counted", async function () {
    const trader = await depositor(TEST_KEYS[4] as Hex);
    const start = (await head()) + 1n;
    const d1 = await trader.deposit(31n);
    const d2 = await trader.deposit(32n);
    const d3 = await trader.deposit(33n);
    const tip = await head();
    const calls: Call[] = [];
    const watcher = watcherOf(rpcOf(), calls, { startBlock: start });
    await catchUp(watcher);
    const original = deposited(calls);
    expect(original.map((e) => e.txHash)).to.deep.equal([d1, d2, d3]);
    expect(original.map((e) => e.blockNumber)).to.deep.equal([tip - 2n, tip - 1n, tip]);

    // The last three blocks are replaced: d1 and d2 together in the first new block, d3 dropped.
    const raw = async (hash: Hex) => node.rpc<Hex>("eth_getRawTransactionByHash", [hash]);
    await node.rpc("anvil_reorg", [3, [[await raw(d1), 0], [await raw(d2), 0]]]);
    await mine(1); // the chain moves on; the watcher looks at new blocks only
    calls.length = 0;
    const result = await watcher.pollOnce();
    expect(result.reorg).to.equal(true);
    await catchUp(watcher);

    const again = deposited(calls);
    expect(again.map((e) => e.id)).to.deep.equal([original[0].id, original[1].id]);
    expect(again.map((e) => e.blockNumber)).to.deep.equal([tip - 2n, tip - 2n]);
    expect(again[1].logIndex).to.not.equal(original[1].logIndex);
    const reorgCalls = calls.filter((c) => c.ctx.reorg);
    expect(reorgCalls.flatMap((c) => c.events).map((e) => e.id)).to.include.members([original[0].id, original[1].id]);
    // Every orphaned block was covered by a reorg call, so a handler sees that d3 is gone.
    const covered = (n: bigint) => reorgCalls.some((c) => c.ctx.fromBlock <= n && n <= c.ctx.toBlock);
    expect([tip - 2n, tip - 1n, tip].every(covered)).to.equal(true);
    expect(again.map((e) => e.txHash)).to.not.include(d3);

    expect(watcher.status().reorgs).to.equal(1);
    const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === "hyperindex_watcher_reorgs_total");
    expect(metric?.values[0]?.value).to.equal(1);
    expect(logs.some((l) => l.level === "warn" && /reorg detected/.test(l.msg))).to.equal(true);
    expect(watcher.status().processedBlock).to.equal(Number(await head()));
  });

  it("decodes every event kind it follows from real transactions", async function () {
    const keyA = TEST_KEYS[4] as Hex;
    const keyB = TEST_KEYS[5] as Hex;
    const a = await depositor(keyA);
    const b = await depositor(keyB);
    const settlement = SETTLEMENT_ARTIFACT().abi;
    const start = (await head()) + 1n;
    const send = async (wallet: WalletClient, functionName: string, args: unknown[], address: Address = d.settlementAddress, abi = settlement) =>
      wait(await wallet.writeContract({ address, abi, functionName, args, account: wallet.account!, chain: d.chain } as never));

    await a.deposit(parseUnits("1", 18));
    await b.deposit(parseUnits("10000", 6), d.usdcAddress);
    await send(a.wallet, "requestWithdrawal", [d.wethAddress, parseUnits("0.1", 18)]);
    await node.rpc("evm_increaseTime", [301]);
    await mine(1);
    await send(b.wallet, "finalizeWithdrawal", [a.address, d.wethAddress]);
    await send(a.wallet, "cancelNonces", [[99n]]);
    await send(b.wallet, "raiseMinNonce", [5n]);

    // A batch from the operator: one fill settles, one names A's cancelled order and is skipped.
    const hasher = new OrderHasher({ chainId: BigInt(d.chainId), verifyingContract: d.settlementAddress });
    const expiry = BigInt(Math.floor(Date.now() / 1000) + 86_400 * 2);
    const order = (trader: Address, isBuy: boolean, nonce: bigint): Order => ({
      trader,
      baseToken: d.wethAddress,
      quoteToken: d.usdcAddress,
      isBuy,
      price: parseUnits("2000", 6),
      amount: parseUnits("0.1", 18),
      nonce,
      expiry,
      maxMakerFeeBps: 10,
      maxTakerFeeBps: 30,
      flags: 0,
    });
    const orders = [order(a.address, false, 1n), order(b.address, true, 10n), order(a.address, false, 99n)];
    const keys = [keyA, keyB, keyA];
    const signatures = orders.map((o, i) => toCompactSignature(signDigest(Buffer.from(keys[i].slice(2), "hex"), hasher.digest(o))));
    const fills = [
      { fillId: 1001n, makerIndex: 0, takerIndex: 1, baseAmount: parseUnits("0.05", 18), makerFeeBps: 0, takerFeeBps: 0 },
      { fillId: 1002n, makerIndex: 2, takerIndex: 1, baseAmount: parseUnits("0.01", 18), makerFeeBps: 0, takerFeeBps: 0 },
    ];
    const batch = encodeBatch(orders, signatures, fills);
    const operator = d.wallet(d.keys.operator);
    const batchId = (await d.publicClient.readContract({ address: d.settlementAddress, abi: settlement, functionName: "nextBatchId" })) as bigint;
    await send(operator, "settleBatch", [batchId, batch.orders, batch.signatures, batch.fills]);

    const commitment = COMMITMENT_ARTIFACT().abi;
    const epoch = ((await d.publicClient.readContract({ address: d.commitmentAddress, abi: commitment, functionName: "latestEpoch" })) as bigint) + 1n;
    const root = `0x${"11".repeat(32)}` as Hex;
    const dataHash = `0x${"22".repeat(32)}` as Hex;
    await send(operator, "commitEpoch", [epoch, root, 3n, dataHash], d.commitmentAddress, commitment);

    const calls: Call[] = [];
    await catchUp(watcherOf(rpcOf(), calls, { startBlock: start, logRangeBlocks: 50 }));
    const events = calls.flatMap((c) => c.events);
    expect(events.map((e) => e.kind)).to.deep.equal([
      "Deposited",
      "Deposited",
      "WithdrawalRequested",
      "Withdrawn",
      "NonceCancelled",
      "MinNonceRaised",
      "Filled",
      "FillSkipped",
      "BatchSettled",
      "EpochCommitted",
    ]);
    const [depA, depB, requested, withdrawn, cancelled, raised, filled, skipped, settled, committed] = events;
    expect(depA).to.include({ trader: a.address, token: d.wethAddress, from: a.address, amount: parseUnits("1", 18) });
    expect(depB).to.include({ trader: b.address, token: d.usdcAddress, amount: parseUnits("10000", 6) });
    expect(requested).to.include({ trader: a.address, token: d.wethAddress, amount: parseUnits("0.1", 18) });
    expect((requested as { readyAt: bigint }).readyAt).to.be.a("bigint");
    expect(withdrawn).to.include({ trader: a.address, token: d.wethAddress, amount: parseUnits("0.1", 18), early: false });
    expect(cancelled).to.include({ trader: a.address, nonce: 99n, filled: 0n });
    expect(raised).to.include({ trader: b.address, minNonce: 5n });
    expect(filled).to.include({
      makerHash: hasher.hash(orders[0]),
      takerHash: hasher.hash(orders[1]),
      fill: batch.fills[0],
      fillId: 1001n,
      baseAmount: parseUnits("0.05", 18),
      quoteAmount: parseUnits("100", 6),
    });
    expect(skipped).to.include({ batchId, fillId: 1002n, reason: 3 }); // SkipReason.OrderCancelled
    expect(settled).to.include({ batchId, fills: 2n, settled: 1n });
    expect(committed).to.include({ epoch, root, leafCount: 3n, dataHash, address: d.commitmentAddress });
    // One transaction, three events of ours: ranks 0, 1, 2.
    expect([filled, skipped, settled].map((e) => e.id.split(":")[1])).to.deep.equal(["0", "1", "2"]);
    expect(new Set([filled, skipped, settled].map((e) => e.txHash)).size).to.equal(1);
    for (const e of events) expect(e.chainId).to.equal(d.chainId);
    expect(privateKeyToAccount(keyA).address.toLowerCase()).to.equal(a.address);
  });
});
