/**
 * The settler (operator/settlement/settler.ts) with everything real around it: anvil (a block
 * per transaction), the deployed contracts, Redis, the matching engine, and the chain services
 * of the daemon (operator/daemon/chainServices.ts: the signer, the settler and the chain
 * watcher, wired as in production). Traders deposit on chain (the watcher credits them) and
 * their orders carry real signatures. Each test gets a fresh chain and Redis.
 *
 * Crashes are made by stopping the chain services at a chosen step and writing what the
 * settler would have written up to that step with its own functions (persistIntent).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import fc from "fast-check";
import type Redis from "ioredis";
import { createPublicClient, http, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { OperatorConfig } from "../../../operator/config";
import { createChainClients } from "../../../operator/chain/clients";
import type { ChainEvent } from "../../../operator/chain/events";
import type { ChainRpc } from "../../../operator/chain/rpc";
import { createSigner, signerParams } from "../../../operator/chain/signer";
import { startChainServices, type ChainServices } from "../../../operator/daemon/chainServices";
import { readFills } from "../../../operator/journal";
import { createLedger, getBalances, type Ledger } from "../../../operator/ledger";
import { createLogger, type Logger } from "../../../operator/log";
import { bookKeys, createEngine, placeOrders, stopEngine, type MatchingEngine } from "../../../operator/matching";
import { createRegistry } from "../../../operator/metrics";
import type { Address } from "../../../operator/orders";
import type { RedisClient } from "../../../operator/redis";
import { settleBatchAbi } from "../../../operator/settlement/abi";
import { buildBatch, loadSignedOrders } from "../../../operator/settlement/builder";
import { createGasModel } from "../../../operator/settlement/gasModel";
import { loadIntent, loadSettlerState, newIntent, persistIntent } from "../../../operator/settlement/intents";
import { settleKeys } from "../../../operator/settlement/keys";
import { settleFillOf, type SettleFill } from "../../../operator/settlement/records";
import { batchIdOfPurpose, settlePurpose } from "../../../operator/settlement/settler";
import { simulateBatch } from "../../../operator/settlement/simulate";
import { SETTLEMENT_ARTIFACT, fundAndDeposit } from "../../../scripts/lib/localChain";
import { startStack, type Stack } from "../../../scripts/lib/stack";
import { PRICE, USDC, WETH, eventually, settlementEvents, signOrder, testTrader, type SignedTestOrder, type TestTrader } from "./fixture";

const GWEI = 1_000_000_000n;
const DEPOSIT = { weth: 10n * WETH, usdc: 50_000n * USDC };

const json = (v: unknown) => JSON.stringify(v, (_, x) => (typeof x === "bigint" ? x.toString() : x));

type Filled = Extract<ChainEvent, { kind: "Filled" }>;
type BatchSettled = Extract<ChainEvent, { kind: "BatchSettled" }>;

describe("operator/settlement settle purposes", function () {
  const hash32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => `0x${Buffer.from(b).toString("hex")}` as Hex);
  const batchId = fc.bigInt({ min: 1n, max: 2n ** 64n - 1n });

  it('name a batch\'s transaction "settle:<batchId>:<16 hex of its calldata hash>", with ":r<n>" for the n-th rebuild after a revert, and give the batch id back', function () {
    expect(settlePurpose(7n, `0x${"ab".repeat(32)}`)).to.equal(`settle:7:${"ab".repeat(8)}`);
    expect(settlePurpose(7n, `0x${"ab".repeat(32)}`, 2)).to.equal(`settle:7:${"ab".repeat(8)}:r2`);
    for (const other of ["epoch:7", "settle:7", "settle:x:0123456789abcdef", "settle:7:0123456789abcdef:2"]) expect(batchIdOfPurpose(other), other).to.equal(undefined);
    fc.assert(
      fc.property(batchId, hash32, fc.nat(1_000), (id, hash, attempt) => batchIdOfPurpose(settlePurpose(id, hash, attempt)) === id),
      { numRuns: 500 },
    );
  });

  it("gives two intents of one batch id two purposes whenever their calldata or their attempt differs", function () {
    fc.assert(
      fc.property(batchId, hash32, hash32, fc.nat(20), fc.nat(20), (id, h1, h2, a1, a2) => {
        const same = h1.slice(0, 18) === h2.slice(0, 18) && a1 === a2;
        return (settlePurpose(id, h1, a1) === settlePurpose(id, h2, a2)) === same;
      }),
      { numRuns: 500 },
    );
    const hash = `0x${"5e".repeat(32)}` as Hex;
    expect(settlePurpose(3n, hash, 1), "the same calldata rebuilt").to.not.equal(settlePurpose(3n, hash, 0));
  });
});

describe("operator/settlement settler (anvil + Redis + engine + chain services)", function () {
  this.timeout(60_000);
  let stack: Stack;
  let config: OperatorConfig;
  let redis: RedisClient;
  let ledger: Ledger;
  let engine: MatchingEngine;
  let services: ChainServices | undefined;
  let rpc: ChainRpc | undefined;
  /** Reads for the test's own checks (viem caches nothing: cacheTime 0). */
  let reader: PublicClient;
  let logs: string[];
  let logger: Logger;
  const epochDir = fs.mkdtempSync(path.join(os.tmpdir(), "hyperindex-settler-epochs-"));
  let traders: TestTrader[];

  beforeEach(async function () {
    logs = [];
    logger = createLogger({ level: "info", destination: { write: (line: string) => void logs.push(line) } });
    stack = await startStack({
      anvil: { blockTime: 0 },
      env: { HYPERINDEX_CONFIRMATIONS: "0", HYPERINDEX_CHAIN_POLL_INTERVAL_MS: "50", HYPERINDEX_BATCH_MAX_WAIT_MS: "0" },
    });
    config = stack.config();
    reader = createPublicClient({ transport: http(stack.node.url), cacheTime: 0 }) as PublicClient;
    redis = stack.redisClient();
    ledger = await createLedger({ redis, logger });
    engine = await createEngine({ redis, logger }, { markets: config.markets, feeAccounts: { [stack.chain.chainId]: stack.chain.feeRecipient } });
    traders = ["maker", "taker", "taker2"].map((name) => testTrader(`settler:${name}`));
    for (const t of traders) await fundAndDeposit(stack.chain, t.key, DEPOSIT);
    // The watcher credits the deposits; then the services stop until the test starts them.
    await startServices();
    for (const t of traders) {
      await eventually(`${t.name}'s deposits in the ledger`, async () => {
        const b = await getBalances({ redis }, { chainId: stack.chain.chainId, trader: t.address, tokens: [stack.chain.wethAddress, stack.chain.usdcAddress] });
        return b[stack.chain.wethAddress].available === DEPOSIT.weth && b[stack.chain.usdcAddress].available === DEPOSIT.usdc;
      });
    }
    await stopServices();
  });

  afterEach(async function () {
    // A failed test shows the operator's last warnings and errors.
    if (this.currentTest?.state === "failed") console.log(logs.filter((l) => /"level":(40|50)/.test(l)).slice(-20).join(""));
    await stopServices();
    await stopEngine(engine);
    redis.disconnect();
    await stack.stop();
  });

  const chainId = () => stack.chain.chainId;
  const keys = () => settleKeys(chainId());
  const market = () => config.markets[0];
  const operatorAddress = () => privateKeyToAccount(stack.chain.keys.operator).address.toLowerCase() as Address;

  /** The daemon's chain services, on the chain's budgeted RPC client as in production. */
  async function startServices(): Promise<ChainServices> {
    const metrics = createRegistry();
    const chain = createChainClients(config.chains, new Map(), { logger, metrics }).get(chainId())!;
    rpc = chain.rpc;
    services = await startChainServices(
      { redis, logger, metrics, engine, scripts: ledger.scripts, client: chain.client, rpc: chain.rpc },
      { chain: config.chains[0], markets: config.markets, feeAccount: stack.chain.feeRecipient, settlerIntervalMs: 20, epochs: { ...config.epochs, dir: epochDir } },
    );
    return services;
  }

  async function stopServices(): Promise<void> {
    const s = services;
    services = undefined;
    await s?.stop();
    await rpc?.close();
    rpc = undefined;
  }

  async function place(trader: TestTrader, fields: { isBuy: boolean; price: bigint; amount: bigint }): Promise<SignedTestOrder> {
    const o = signOrder(stack.chain, trader, fields);
    const [result] = await placeOrders(engine, [{ ...o, market: market().id, receivedAt: Date.now() }]);
    expect(result.status, json(result)).to.equal("accepted");
    return o;
  }

  /** The maker's ask taken by `takers` bids of 1 WETH each: one fill per bid. */
  async function trade(takers: TestTrader[]): Promise<{ ask: SignedTestOrder; bids: SignedTestOrder[] }> {
    const [maker] = traders;
    const ask = await place(maker, { isBuy: false, price: PRICE, amount: BigInt(takers.length) * WETH });
    const bids: SignedTestOrder[] = [];
    for (const t of takers) bids.push(await place(t, { isBuy: true, price: PRICE + 10n * USDC, amount: WETH }));
    return { ask, bids };
  }

  async function nextBatchId(): Promise<bigint> {
    return (await reader.readContract({ address: stack.chain.settlementAddress, abi: settleBatchAbi, functionName: "nextBatchId" })) as bigint;
  }

  /**
   * What the settler writes before it hands a batch to the signer, done with its own functions:
   * the fills after its journal position, built into the batch it builds next, persisted with
   * its new position. `gas` overrides the gas limit the simulation gives.
   */
  async function persistNextBatch(options: { gas?: bigint } = {}): Promise<{ batchId: bigint; fills: SettleFill[]; calldata: Hex; calldataHash: Hex; gasLimit: bigint }> {
    const state = await loadSettlerState(redis, chainId());
    const batchId = state.next ?? (await nextBatchId());
    const fills = (await readFills(redis, market().id, state.cursors.get(market().id) ?? 0)).map((f) => settleFillOf(market(), f));
    expect(fills.length).to.be.greaterThan(0);
    const recorded = { has: () => false };
    const built = buildBatch({ recorded }, batchId, fills, await loadSignedOrders({ redis, chainId: chainId(), recorded }, fills, new Map()));
    expect(built.missing).to.deep.equal([]);
    const sim = await simulateBatch(reader as never, { from: operatorAddress(), to: stack.chain.settlementAddress, data: built.calldata });
    if (sim.kind !== "ok") throw new Error(`simulation: ${json(sim)}`);
    const gasLimit = options.gas ?? createGasModel().gasLimit(sim.gas, 0, BigInt(config.chains[0].settlementGasBudget));
    const intent = newIntent({ batchId, fillIds: built.fills.map((f) => f.fillId), orderHashes: built.orderHashes, calldata: built.calldata, gasLimit, estimate: sim.gas, simulated: true, walletOrders: 0, createdAt: Date.now() });
    await persistIntent(redis, chainId(), { intent, fills: built.fills, cursors: new Map([[market().id, fills[fills.length - 1].fillCtr]]), dropped: [] });
    return { batchId, fills: built.fills, calldata: built.calldata, calldataHash: intent.calldataHash, gasLimit };
  }

  /** Every fill resolved, the ledger equal to the vaults, nothing pending. */
  async function allSettled(): Promise<void> {
    await eventually(
      "every fill resolved and every vault equal to the ledger",
      async () => {
        const check = await stack.checkVaults(traders.map((t) => t.address));
        const open = await redis.zcard(keys().open);
        return check.ok && open === 0;
      },
      20_000,
    );
  }

  async function chainOutcomes(): Promise<{ filled: Filled[]; batches: BatchSettled[]; skipped: ChainEvent[] }> {
    const events = await settlementEvents(stack.chain, reader);
    return {
      filled: events.filter((e): e is Filled => e.kind === "Filled"),
      batches: events.filter((e): e is BatchSettled => e.kind === "BatchSettled"),
      skipped: events.filter((e) => e.kind === "FillSkipped"),
    };
  }

  /** The transactions the operator's key sent, in nonce order, with their receipts. */
  async function operatorTransactions(): Promise<{ hash: Hex; status: "success" | "reverted"; input: Hex; gas: bigint }[]> {
    const head = await reader.getBlockNumber();
    const out: { nonce: number; hash: Hex; status: "success" | "reverted"; input: Hex; gas: bigint }[] = [];
    for (let b = stack.chain.deployBlock; b <= head; b++) {
      const block = await reader.getBlock({ blockNumber: b, includeTransactions: true });
      for (const tx of block.transactions) {
        if (tx.from.toLowerCase() !== operatorAddress()) continue;
        const receipt = await reader.getTransactionReceipt({ hash: tx.hash });
        out.push({ nonce: tx.nonce, hash: tx.hash, status: receipt.status, input: tx.input, gas: tx.gas });
      }
    }
    return out.sort((a, b) => a.nonce - b.nonce);
  }

  /** The signer's purposes of the settle transactions it recorded, by nonce. */
  async function signerPurposes(): Promise<string[]> {
    const s = services!;
    const purposes: string[] = [];
    for (let nonce = 0; nonce < s.signer.status().nextNonce; nonce++) purposes.push((await s.signer.record(nonce))?.purpose ?? "?");
    return purposes;
  }

  it("hands a batch persisted just before a crash to the signer when it starts again, and every fill settles exactly once", async function () {
    const [, taker, taker2] = traders;
    await trade([taker, taker2]);
    // The settler persisted batch 1 with both fills, and died before the signer had it.
    const persisted = await persistNextBatch();
    expect(persisted.batchId).to.equal(1n);
    expect(persisted.fills).to.have.length(2);
    expect((await loadIntent(redis, chainId(), 1n))!.status).to.equal("built");
    // Trading goes on meanwhile: a third fill, after the batch's journal position.
    await trade([taker]);

    await startServices();
    await allSettled();

    const { filled, batches, skipped } = await chainOutcomes();
    expect(skipped).to.deep.equal([]);
    const fillIds = filled.map((e) => e.fillId);
    expect(new Set(fillIds).size, "no fill settled twice").to.equal(fillIds.length);
    expect(fillIds).to.have.length(3);
    expect(batches.map((b) => [b.batchId, b.settled])).to.deep.equal([
      [1n, 2n],
      [2n, 1n],
    ]);
    // Batch 1 on chain is the persisted one: its fills, its calldata (the signer's purpose).
    const inBatch1 = filled.filter((e) => e.txHash === batches[0].txHash).map((e) => e.fillId);
    expect(inBatch1).to.deep.equal(persisted.fills.map((f) => f.fillId));
    const purposes = await signerPurposes();
    expect(purposes[0]).to.equal(settlePurpose(1n, persisted.calldataHash));
    expect(purposes.map(batchIdOfPurpose)).to.deep.equal([1n, 2n]);
    expect((await operatorTransactions()).map((t) => t.status)).to.deep.equal(["success", "success"]);
    const intent = (await loadIntent(redis, chainId(), 1n))!;
    expect(intent.status).to.equal("settled");
    expect(intent.sent?.txHash).to.equal(batches[0].txHash);
    expect(await nextBatchId()).to.equal(3n);
  });

  it("does not send a batch twice when the crash came after the signer recorded its transaction", async function () {
    const [, taker] = traders;
    await trade([taker]);
    const persisted = await persistNextBatch();
    // Blocks wait for the test from here: the transaction stays in the mempool across the crash.
    await stack.node.rpc("evm_setAutomine", [false]);
    // The settler handed the batch over (the signer recorded and broadcast it), and died before
    // it marked the intent sent.
    const signer = createSigner({ redis, client: reader, logger, metrics: createRegistry() }, signerParams(config.chains[0]));
    await signer.start();
    const tx = await signer.submit({ purpose: settlePurpose(persisted.batchId, persisted.calldataHash), to: stack.chain.settlementAddress, data: persisted.calldata, gas: persisted.gasLimit });
    await signer.stop();
    expect((await loadIntent(redis, chainId(), persisted.batchId))!.status).to.equal("built");

    await startServices();
    const sent = await eventually("the intent marked sent with the signer's transaction", async () => {
      const intent = (await loadIntent(redis, chainId(), persisted.batchId))!;
      return intent.status === "sent" ? intent.sent : undefined;
    });
    expect(sent).to.include({ nonce: tx.nonce, txHash: tx.hash });
    await stack.node.rpc("evm_mine", []);
    await stack.node.rpc("evm_setAutomine", [true]);
    await allSettled();

    const transactions = await operatorTransactions();
    expect(transactions.map((t) => [t.hash, t.status])).to.deep.equal([[tx.hash, "success"]]);
    const { filled, batches } = await chainOutcomes();
    expect(filled.map((e) => e.fillId)).to.deep.equal(persisted.fills.map((f) => f.fillId));
    expect(batches.map((b) => b.batchId)).to.deep.equal([persisted.batchId]);
    expect((await loadIntent(redis, chainId(), persisted.batchId))!.status).to.equal("settled");
  });

  it("sends the fills of a batch whose transaction reverted back to the queue, and settles them in a new batch under the same batch id", async function () {
    const [, taker, taker2] = traders;
    await trade([taker, taker2]);
    // A batch with a gas limit far below what it needs: its transaction runs out of gas.
    const persisted = await persistNextBatch({ gas: 120_000n });
    await startServices();
    await allSettled();

    const sent = await operatorTransactions();
    expect(sent[0].status, "the first transaction reverted").to.equal("reverted");
    expect(sent[0].gas).to.equal(120_000n);
    expect(sent.slice(1).every((t) => t.status === "success")).to.equal(true);
    const { filled, batches, skipped } = await chainOutcomes();
    expect(skipped).to.deep.equal([]);
    expect(filled.map((e) => e.fillId)).to.have.members(persisted.fills.map((f) => f.fillId));
    expect(filled).to.have.length(2);
    expect(batches[0].batchId, "the first batch to settle reuses the reverted batch's id").to.equal(persisted.batchId);
    expect(batches.map((b) => b.batchId)).to.deep.equal(batches.map((_, i) => persisted.batchId + BigInt(i)));
    const purposes = await signerPurposes();
    expect(purposes[0]).to.equal(settlePurpose(persisted.batchId, persisted.calldataHash));
    expect(new Set(purposes).size, "every transaction under its own purpose").to.equal(purposes.length);
    const intent = (await loadIntent(redis, chainId(), persisted.batchId))!;
    expect(intent.status).to.equal("settled");
  });

  it("rebuilds a reverted one-fill batch under a purpose of its own, which the signer accepts, and the fill settles", async function () {
    const [, taker] = traders;
    await trade([taker]);
    const persisted = await persistNextBatch({ gas: 120_000n });
    await startServices();
    await allSettled();

    const sent = await operatorTransactions();
    expect(sent.map((t) => t.status)).to.deep.equal(["reverted", "success"]);
    const purposes = await signerPurposes();
    expect(purposes.map(batchIdOfPurpose)).to.deep.equal([persisted.batchId, persisted.batchId]);
    expect(purposes[0]).to.equal(settlePurpose(persisted.batchId, persisted.calldataHash));
    expect(purposes[1], "the rebuilt batch's purpose").to.not.equal(purposes[0]);
    const { filled, batches } = await chainOutcomes();
    expect(filled.map((e) => e.fillId)).to.deep.equal(persisted.fills.map((f) => f.fillId));
    expect(batches.map((b) => [b.batchId, b.settled])).to.deep.equal([[persisted.batchId, 1n]]);
  });

  it("settles a batch again under the same id after the guardian's pause, mined just before it, made its transaction revert", async function () {
    const [, taker] = traders;
    await trade([taker]);
    // Blocks wait for the test: the settler's own batch waits in the mempool.
    await stack.node.rpc("evm_setAutomine", [false]);
    await startServices();
    const first = await eventually("the settler's batch sent", async () => {
      const intent = await loadIntent(redis, chainId(), 1n);
      return intent?.status === "sent" ? intent : undefined;
    });
    // The guardian pauses settlement for 2 seconds, with a higher tip: first in the block.
    const guardian = stack.chain.wallet(stack.chain.keys.guardian);
    const pause = await guardian.writeContract({
      address: stack.chain.settlementAddress,
      abi: SETTLEMENT_ARTIFACT().abi,
      functionName: "pause",
      args: [2n],
      account: guardian.account!,
      chain: stack.chain.chain,
      maxPriorityFeePerGas: 50n * GWEI,
      maxFeePerGas: 100n * GWEI,
    });
    await stack.node.rpc("evm_mine", []);
    await stack.node.rpc("evm_setAutomine", [true]);
    const pauseReceipt = await reader.getTransactionReceipt({ hash: pause });
    const batchReceipt = await reader.getTransactionReceipt({ hash: first.sent!.txHash });
    expect([pauseReceipt.status, batchReceipt.status]).to.deep.equal(["success", "reverted"]);
    expect(batchReceipt.blockNumber).to.equal(pauseReceipt.blockNumber);
    expect(batchReceipt.transactionIndex).to.be.greaterThan(pauseReceipt.transactionIndex);

    await allSettled();
    const { filled, batches } = await chainOutcomes();
    expect(filled.map((e) => e.fillId)).to.deep.equal(first.fillIds);
    expect(batches.map((b) => b.batchId)).to.deep.equal([1n]);
    const settled = (await loadIntent(redis, chainId(), 1n))!;
    expect(settled).to.include({ status: "settled", attempt: 1 });
    // The same fill, the same batch id: the same calldata, under a purpose of its own.
    expect(settled.calldataHash).to.equal(first.calldataHash);
    expect(await signerPurposes()).to.deep.equal([settlePurpose(1n, first.calldataHash), settlePurpose(1n, first.calldataHash, 1)]);
    const block = await reader.getBlock({ blockNumber: batches[0].blockNumber });
    expect(block.timestamp, "settled once the pause was over").to.be.at.least((await reader.getBlock({ blockNumber: pauseReceipt.blockNumber })).timestamp + 2n);
  });

  it("ignores a late report that an earlier transaction of a batch id reverted, once the batch is rebuilt and sent again", async function () {
    const [, taker] = traders;
    await trade([taker]);
    const persisted = await persistNextBatch({ gas: 120_000n });
    await stack.node.rpc("evm_setAutomine", [false]);
    const s = await startServices();
    const firstHash = await eventually("the batch sent", async () => (await loadIntent(redis, chainId(), persisted.batchId))?.sent?.txHash);
    await stack.node.rpc("evm_mine", []);
    // The revert is taken: the batch is rebuilt and sent again (it waits in the mempool).
    const again = await eventually("the batch rebuilt and sent", async () => {
      const intent = (await loadIntent(redis, chainId(), persisted.batchId))!;
      return intent.attempt === 1 && intent.status === "sent" ? intent : undefined;
    });
    // The first transaction's revert is reported again (a late or repeated report).
    await s.settler.onTransaction({ purpose: settlePurpose(persisted.batchId, persisted.calldataHash), status: "reverted", hash: firstHash });
    const still = (await loadIntent(redis, chainId(), persisted.batchId))!;
    expect(still).to.include({ status: "sent", attempt: 1 });
    expect(still.sent?.txHash).to.equal(again.sent?.txHash);
    expect(await redis.hlen(keys().retry), "its fill stays in the batch").to.equal(0);
    await stack.node.rpc("evm_mine", []);
    await stack.node.rpc("evm_setAutomine", [true]);
    await allSettled();
    expect((await operatorTransactions()).map((t) => t.status)).to.deep.equal(["reverted", "success"]);
    expect((await chainOutcomes()).filled.map((e) => e.fillId)).to.deep.equal(persisted.fills.map((f) => f.fillId));
  });

  it("leaves out a fill whose order's payload is gone, unwinds it in the ledger and publishes it with Operator:OrderPayloadMissing", async function () {
    const [maker, taker, taker2] = traders;
    const { bids } = await trade([taker, taker2]);
    const fills = (await readFills(redis, market().id, 0)).map((f) => settleFillOf(market(), f));
    const lost = fills.find((f) => f.takerHash === bids[0].orderHash)!;
    const kept = fills.find((f) => f.takerHash === bids[1].orderHash)!;
    await redis.hdel(bookKeys(market().id).payloads, bids[0].orderHash);

    await startServices();
    await allSettled();

    const { filled, skipped } = await chainOutcomes();
    expect(filled.map((e) => e.fillId)).to.deep.equal([kept.fillId]);
    expect(skipped).to.deep.equal([]);
    const results = await (redis as Redis).xrange(keys().results, "-", "+");
    const byFill = new Map(results.map(([, f]) => [f[1], { reason: f[13], batch: f[15] }]));
    const hex = (id: bigint) => `0x${id.toString(16).padStart(16, "0")}`;
    expect(byFill.get(hex(lost.fillId))).to.deep.equal({ reason: "Operator:OrderPayloadMissing", batch: "0" });
    expect(byFill.get(hex(kept.fillId))).to.deep.equal({ reason: "0", batch: "1" });
    // The lost fill is undone: the taker has its deposit back whole, nothing pending; the maker
    // sold only the kept fill's WETH (allSettled checked every vault against the ledger).
    const tokens = [stack.chain.wethAddress, stack.chain.usdcAddress];
    const t1 = await getBalances({ redis }, { chainId: chainId(), trader: taker.address, tokens });
    expect(t1[stack.chain.wethAddress]).to.include({ available: DEPOSIT.weth, pendingIn: 0n, pendingOut: 0n });
    expect(t1[stack.chain.usdcAddress]).to.include({ available: DEPOSIT.usdc, pendingIn: 0n, pendingOut: 0n });
    const m = await getBalances({ redis }, { chainId: chainId(), trader: maker.address, tokens });
    expect(m[stack.chain.wethAddress]).to.include({ available: DEPOSIT.weth - WETH, locked: 0n, pendingOut: 0n });
    expect(await redis.hlen(keys().drop)).to.equal(0);
  });
});
