/**
 * The per-chain signer against a real anvil and a real Redis: nonces, slots, fees read from the
 * node, replacements, restarts, an RPC outage and a reorg. Blocks are mined by the tests
 * (evm_setAutomine false + evm_mine) wherever timing matters, so nothing depends on a clock.
 */
import { expect } from "chai";
import fc from "fast-check";
import { createPublicClient, encodeFunctionData, http, keccak256, toHex, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createSigner, signerParams } from "../../../operator/chain/signer";
import { replacementFees, quoteFees, bumped, type FeePolicy } from "../../../operator/chain/fees";
import type { SignerParams, ConfirmedTx } from "../../../operator/chain/signerTypes";
import { signerKeys } from "../../../operator/chain/signerKeys";
import { Secret } from "../../../operator/config";
import { createLogger } from "../../../operator/log";
import { createRegistry, type Registry } from "../../../operator/metrics";
import type { Address } from "../../../operator/orders/types";
import { startAnvil, TEST_KEYS, type AnvilNode } from "../../../scripts/lib/anvil";
import { deployLocal, COMMITMENT_ARTIFACT } from "../../../scripts/lib/localChain";
import { startTcpProxy, type TcpProxy } from "../../../scripts/lib/tcpProxy";
import { useRedisServer } from "../../helpers/redis";

const KEY = TEST_KEYS[5] as Hex;
const ME = privateKeyToAccount(KEY).address;
const TARGET = privateKeyToAccount(TEST_KEYS[4] as Hex).address as Address;
const GWEI = 1_000_000_000n;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually<T>(fn: () => Promise<T | undefined | false | null> | T | undefined | false | null, what: string, timeoutMs = 20_000): Promise<T> {
  const started = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined && value !== false && value !== null) return value as T;
    } catch (error) {
      last = error;
    }
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await sleep(25);
  }
}

/** A self-describing call: the purpose itself as calldata, to an EOA. */
const call = (purpose: string) => ({ purpose, to: TARGET, data: toHex(purpose), gas: 100_000n });

/** Every transaction the key sent that is in the chain, from genesis to the head. */
async function minedFrom(client: PublicClient, from: string): Promise<{ nonce: number; hash: Hex; input: Hex; blockNumber: bigint }[]> {
  // The latest block's number, not eth_blockNumber: anvil leaves the latter behind after anvil_reorg.
  const head = (await client.getBlock({ blockTag: "latest" })).number;
  const out: { nonce: number; hash: Hex; input: Hex; blockNumber: bigint }[] = [];
  for (let b = 0n; b <= head; b++) {
    const block = await client.getBlock({ blockNumber: b, includeTransactions: true });
    for (const tx of block.transactions) if (tx.from.toLowerCase() === from.toLowerCase()) out.push({ nonce: tx.nonce, hash: tx.hash, input: tx.input, blockNumber: b });
  }
  return out.sort((a, b) => a.nonce - b.nonce);
}

async function poolOf(node: AnvilNode, from: string): Promise<Record<string, { hash: Hex; maxFeePerGas: Hex }>> {
  const pool = await node.rpc<{ pending: Record<string, Record<string, { hash: Hex; maxFeePerGas: Hex }>> }>("txpool_content");
  const key = Object.keys(pool.pending).find((k) => k.toLowerCase() === from.toLowerCase());
  return key === undefined ? {} : pool.pending[key];
}

describe("operator/chain signer", function () {
  const r = useRedisServer();
  let node: AnvilNode;
  let client: PublicClient;
  let registry: Registry;
  let logs: string[];
  let logger: ReturnType<typeof createLogger>;
  const cleanups: (() => Promise<unknown>)[] = [];

  async function chain(options: { automine: boolean; baseFee?: bigint }): Promise<void> {
    node = await startAnvil({ blockTime: 0, baseFee: options.baseFee });
    cleanups.push(() => node.stop());
    if (!options.automine) await node.rpc("evm_setAutomine", [false]);
    client = createPublicClient({ transport: http(node.url, { retryCount: 0 }) }) as PublicClient;
  }

  function makeSigner(overrides: Partial<SignerParams> = {}, via: PublicClient = client) {
    const signer = createSigner(
      { redis: r.redis, client: via, logger, metrics: registry },
      { chainId: node.chainId, name: "local", privateKey: new Secret(KEY), confirmations: 1, maxInFlight: 8, stuckAfterMs: 60_000, feeBumpBps: 1250, pollIntervalMs: 40, ...overrides },
    );
    cleanups.push(() => signer.stop());
    return signer;
  }

  const mine = (n = 1) => (async () => {
    for (let i = 0; i < n; i++) await node.rpc("evm_mine", []);
  })();

  beforeEach(function () {
    registry = createRegistry();
    logs = [];
    logger = createLogger({ level: "debug", destination: { write: (line: string) => void logs.push(line) } });
  });

  afterEach(async function () {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  it("submits transactions with consecutive nonces and confirms them only after `confirmations` blocks on top", async function () {
    await chain({ automine: false });
    const signer = makeSigner({ confirmations: 2 });
    const confirmed: ConfirmedTx[] = [];
    signer.onConfirmed((tx) => confirmed.push(tx));
    await signer.start();
    expect(signer.address).to.equal(ME);

    const sent = [];
    for (const purpose of ["settle:1", "epoch:1", "settle:2"]) sent.push(await signer.submit(call(purpose)));
    expect(sent.map((t) => t.nonce)).to.deep.equal([0, 1, 2]);
    expect(Object.keys(await poolOf(node, ME))).to.have.length(3);
    // The same purpose again is the same transaction; another call under it is refused.
    expect(await signer.submit(call("epoch:1"))).to.deep.include({ nonce: 1, hash: sent[1].hash });
    await signer.submit({ ...call("epoch:1"), data: "0x01" }).then(
      () => expect.fail("a second call under one purpose"),
      (error) => expect(error.code).to.equal("SIGNER_PURPOSE_CONFLICT"),
    );

    await mine();
    await eventually(() => signer.pending().every((t) => t.status === "mined"), "all mined");
    await sleep(300);
    await mine();
    await sleep(300);
    expect(confirmed, "one block on top is not two").to.deep.equal([]);
    expect(signer.pending().map((t) => t.status)).to.deep.equal(["mined", "mined", "mined"]);
    await mine();
    const outcomes = await Promise.all(sent.map((t) => signer.wait(t.nonce)));
    expect(outcomes.map((o) => [o.nonce, o.purpose, o.result, o.hash])).to.deep.equal(sent.map((t) => [t.nonce, t.purpose, "success", t.hash]));
    expect(outcomes.every((o) => o.gasUsed > 21_000n && o.replacements === 0)).to.equal(true);
    expect(confirmed.map((c) => c.nonce)).to.deep.equal([0, 1, 2]);
    expect(signer.pending()).to.deep.equal([]);
    expect(signer.status()).to.include({ nextNonce: 3, inFlight: 0, stuck: 0, replacements: 0, lastError: null });

    const onChain = await minedFrom(client, ME);
    expect(onChain.map((t) => [t.nonce, t.input])).to.deep.equal(sent.map((t) => [t.nonce, toHex(t.purpose)]));

    // The record in Redis, where the layout says.
    const keys = signerKeys(node.chainId, ME);
    expect(await r.redis.hget(keys.state, "next")).to.equal("3");
    expect(await r.redis.zcard(keys.inflight)).to.equal(0);
    expect(await r.redis.get(keys.purpose("epoch:1"))).to.equal("1");
    expect(await r.redis.hget(keys.tx(1), "status")).to.equal("confirmed");
    expect(await r.redis.ttl(keys.tx(1))).to.be.greaterThan(0);

    // Metrics, and logs that carry the transaction and never the key.
    const metrics = await registry.getSingleMetricAsString("hyperindex_signer_transactions_total");
    expect(metrics).to.include('hyperindex_signer_transactions_total{chain="31337",purpose_kind="settle",result="success"} 2');
    expect(metrics).to.include('hyperindex_signer_transactions_total{chain="31337",purpose_kind="epoch",result="success"} 1');
    expect(await registry.getSingleMetricAsString("hyperindex_signer_in_flight")).to.include('hyperindex_signer_in_flight{chain="31337"} 0');
    expect(await registry.getSingleMetricAsString("hyperindex_signer_confirm_seconds")).to.include('hyperindex_signer_confirm_seconds_count{chain="31337"} 3');
    const all = logs.join("");
    expect(all.toLowerCase()).to.not.include(KEY.slice(2).toLowerCase());
    const confirmedLines = logs.map((l) => JSON.parse(l)).filter((l) => l.msg === "transaction confirmed");
    expect(confirmedLines).to.have.length(3);
    for (const line of confirmedLines) expect(line).to.include.keys("at", "chainId", "nonce", "hash", "purpose");
    expect(confirmedLines[0].at).to.equal("signer");
  });

  it("never has more than maxInFlight transactions in flight: the 5th of 12 waits for a slot", async function () {
    await chain({ automine: false });
    const signer = makeSigner({ maxInFlight: 4 });
    await signer.start();
    const resolved: number[] = [];
    const submits = Array.from({ length: 12 }, (_, i) => signer.submit(call(`settle:${i}`)).then((tx) => (resolved.push(i), tx)));
    await eventually(() => resolved.length === 4, "four submitted");
    await sleep(400);
    expect(resolved).to.have.length(4);
    expect(signer.status()).to.include({ inFlight: 4, waitingForSlot: 8 });
    expect(Object.keys(await poolOf(node, ME))).to.have.length(4);

    let worst = 0;
    const sampler = setInterval(() => (worst = Math.max(worst, signer.status().inFlight)), 5);
    try {
      const all = Promise.all(submits);
      while (resolved.length < 12 || signer.pending().length > 0) {
        worst = Math.max(worst, Object.keys(await poolOf(node, ME)).length);
        await mine();
        await sleep(120);
      }
      const txs = await all;
      expect(txs.map((t) => t.nonce)).to.deep.equal([...Array(12).keys()]);
    } finally {
      clearInterval(sampler);
    }
    expect(worst).to.be.at.most(4);
    const onChain = await minedFrom(client, ME);
    expect(onChain.map((t) => t.input)).to.deep.equal([...Array(12).keys()].map((i) => toHex(`settle:${i}`)));
  });

  it("replaces a stuck transaction (dropped by the node) with both fees bumped by at least 12.5%, and never duplicates it", async function () {
    await chain({ automine: false });
    const signer = makeSigner({ stuckAfterMs: 400, feeBumpBps: 1250 });
    await signer.start();
    const tx = await signer.submit(call("settle:7"));
    await node.rpc("anvil_dropTransaction", [tx.hash]);
    expect(await poolOf(node, ME)).to.deep.equal({});

    const record = await eventually(async () => {
      const rec = await signer.record(tx.nonce);
      return rec !== undefined && rec.attempts.length >= 2 ? rec : undefined;
    }, "a replacement");
    const [first, second] = record.attempts;
    expect(second.maxFeePerGas * 10_000n).to.be.at.least(first.maxFeePerGas * 11_250n);
    expect(second.maxPriorityFeePerGas * 10_000n).to.be.at.least(first.maxPriorityFeePerGas * 11_250n);
    expect(first.maxPriorityFeePerGas).to.be.greaterThan(0n);
    expect([record.to, record.data, record.gas, record.nonce]).to.deep.equal([TARGET, toHex("settle:7"), 100_000n, 0]);
    // Recorded first, then broadcast: the replacement reaches the pool right after.
    await eventually(async () => {
      const latest = (await signer.record(tx.nonce))!.attempts.at(-1)!.hash;
      const pool = Object.values(await poolOf(node, ME)).map((t) => t.hash);
      return pool.length === 1 && pool[0] === latest;
    }, "the replacement in the pool");

    await mine(2);
    const done = await signer.wait(tx.nonce);
    expect(done.result).to.equal("success");
    expect(done.replacements).to.be.at.least(1);
    expect(record.attempts.map((a) => a.hash)).to.include(done.hash);
    const onChain = await minedFrom(client, ME);
    expect(onChain, "exactly one transaction carries the call").to.have.length(1);
    expect(onChain[0]).to.include({ nonce: 0, hash: done.hash, input: toHex("settle:7") });
    expect(signer.status().replacements).to.be.at.least(1);
    expect(await registry.getSingleMetricAsString("hyperindex_signer_replacements_total")).to.match(/hyperindex_signer_replacements_total\{chain="31337"\} [1-9]/);
  });

  it("replaces a transaction priced out by a base-fee spike with at least the node's current fees", async function () {
    await chain({ automine: false });
    const signer = makeSigner({ stuckAfterMs: 300 });
    await signer.start();
    const tx = await signer.submit(call("epoch:3"));
    const before = (await signer.record(tx.nonce))!.attempts[0];
    // The next block's base fee is far above the transaction's max fee: anvil leaves it out and drops it.
    await node.rpc("anvil_setNextBlockBaseFeePerGas", [toHex(20n * GWEI)]);
    await mine();
    expect((await client.getBlock()).transactions).to.have.length(0);

    const rec = await eventually(async () => {
      const r = await signer.record(tx.nonce);
      return r !== undefined && r.attempts.length >= 2 ? r : undefined;
    }, "a replacement");
    const after = rec.attempts[1];
    const base = (await client.getBlock({ blockNumber: 1n })).baseFeePerGas!;
    expect(after.maxFeePerGas).to.be.at.least(2n * base);
    expect(after.maxFeePerGas * 10_000n).to.be.at.least(before.maxFeePerGas * 11_250n);
    expect(after.maxPriorityFeePerGas * 10_000n).to.be.at.least(before.maxPriorityFeePerGas * 11_250n);
    await mine(2);
    const done = await signer.wait(tx.nonce);
    expect(done.result).to.equal("success");
    expect(await minedFrom(client, ME)).to.have.length(1);
  });

  it("reads the fees from the node for every transaction: the max fee follows a raised base fee", async function () {
    await chain({ automine: true });
    const signer = makeSigner();
    await signer.start();
    const tip = BigInt(await node.rpc<Hex>("eth_maxPriorityFeePerGas"));
    const base1 = (await client.getBlock()).baseFeePerGas!;
    const one = await signer.submit(call("settle:1"));
    const fees1 = (await signer.record(one.nonce))!.attempts[0];
    expect(fees1.maxFeePerGas).to.equal(2n * base1 + tip);
    expect(fees1.maxPriorityFeePerGas).to.equal(tip);
    await eventually(async () => (await client.getTransactionCount({ address: ME })) === 1, "the first one mined");

    await node.rpc("anvil_setNextBlockBaseFeePerGas", [toHex(50n * GWEI)]);
    await mine();
    const base2 = (await client.getBlock()).baseFeePerGas!;
    expect(base2).to.equal(50n * GWEI);
    const two = await signer.submit(call("settle:2"));
    const fees2 = (await signer.record(two.nonce))!.attempts[0];
    expect(fees2.maxFeePerGas).to.equal(2n * base2 + tip);
    await mine();
    expect((await signer.wait(two.nonce)).result).to.equal("success");
  });

  it("waits at the fee ceiling instead of paying more, and sends once the base fee falls back under it", async function () {
    await chain({ automine: true });
    const ceiling = 5n * GWEI;
    const signer = makeSigner({ maxFeePerGasWei: ceiling, stuckAfterMs: 200 });
    await signer.start();
    await node.rpc("anvil_setNextBlockBaseFeePerGas", [toHex(10n * GWEI)]);
    await mine();
    const tx = await signer.submit(call("settle:9"));
    await eventually(() => signer.status().atFeeCeiling === 1, "waiting at the ceiling");
    await sleep(500);
    let rec = (await signer.record(tx.nonce))!;
    expect(rec.attempts, "no replacement above the ceiling").to.have.length(1);
    expect(rec.attempts[0].maxFeePerGas).to.equal(ceiling);
    expect(rec.status).to.equal("sent");
    expect(signer.status().stuck).to.equal(1);

    // Empty blocks lower the base fee by 12.5% each: 10 gwei -> below 5 gwei after 6.
    await mine(6);
    await eventually(() => signer.pending()[0]?.status === "mined", "mined once the base fee fits");
    await mine();
    const done = await signer.wait(tx.nonce);
    rec = (await signer.record(tx.nonce))!;
    expect(done.result).to.equal("success");
    expect(rec.attempts.every((a) => a.maxFeePerGas <= ceiling)).to.equal(true);
    expect(await minedFrom(client, ME)).to.have.length(1);
  });

  it("survives a restart: a new signer tracks what was in flight, broadcasts a record never broadcast, and never re-signs at a new nonce", async function () {
    await chain({ automine: false });
    let crash = false;
    // After `crash`, nothing this instance broadcasts reaches the node: as if it died right after recording.
    const crashing = {
      ...client,
      sendRawTransaction: (args: { serializedTransaction: Hex }) => (crash ? Promise.reject(new Error("process died before broadcasting")) : client.sendRawTransaction(args)),
    } as PublicClient;
    const a = makeSigner({ confirmations: 1 }, crashing);
    await a.start();
    const t0 = await a.submit(call("settle:1"));
    const t1 = await a.submit(call("epoch:1"));
    crash = true; // the process dies between recording settle:2 and broadcasting it
    const t2 = await a.submit(call("settle:2"));
    await a.stop();
    expect(Object.keys(await poolOf(node, ME)).map(Number)).to.deep.equal([0, 1]);
    await mine(); // 0 and 1 are mined while no signer runs

    const b = makeSigner({ confirmations: 1 });
    const confirmed: number[] = [];
    b.onConfirmed((tx) => confirmed.push(tx.nonce));
    await b.start();
    expect(b.status().nextNonce).to.equal(3);
    const pool = await poolOf(node, ME);
    expect(Object.keys(pool).map(Number), "the recorded-but-never-broadcast one is in the pool now").to.deep.equal([2]);
    expect(pool["2"].hash).to.equal(t2.hash);
    expect(b.pending().map((t) => [t.nonce, t.status])).to.deep.equal([
      [0, "mined"],
      [1, "mined"],
      [2, "sent"],
    ]);
    // Submitting a recorded purpose again (a settler resuming) is the same transaction.
    expect(await b.submit(call("epoch:1"))).to.deep.include({ nonce: 1, hash: t1.hash });
    const t3 = await b.submit(call("settle:3"));
    expect(t3.nonce).to.equal(3);

    await mine(2);
    const outcomes = await Promise.all([0, 1, 2, 3].map((n) => b.wait(n)));
    expect(outcomes.map((o) => o.hash)).to.deep.equal([t0.hash, t1.hash, t2.hash, t3.hash]);
    expect(confirmed.sort()).to.deep.equal([0, 1, 2, 3]);
    const onChain = await minedFrom(client, ME);
    expect(onChain.map((t) => [t.nonce, t.input])).to.deep.equal(["settle:1", "epoch:1", "settle:2", "settle:3"].map((p, i) => [i, toHex(p)]));
  });

  it("fences a stale instance: once another signer started on the same keyspace, the old one can no longer sign", async function () {
    await chain({ automine: true });
    const a = makeSigner();
    await a.start();
    await a.submit(call("settle:1"));
    const b = makeSigner();
    await b.start();
    await a.submit(call("settle:2")).then(
      () => expect.fail("the stale instance signed"),
      (error) => expect(error.code).to.equal("SIGNER_FENCED"),
    );
    const tx = await b.submit(call("settle:2"));
    expect(tx.nonce).to.equal(1);
    await mine();
    expect((await b.wait(1)).result).to.equal("success");
    expect((await minedFrom(client, ME)).map((t) => t.input)).to.deep.equal([toHex("settle:1"), toHex("settle:2")]);
  });

  it("survives an RPC outage during submits: no duplicate, no gap, everything confirmed after the RPC is back", async function () {
    await chain({ automine: true });
    const proxy: TcpProxy = await startTcpProxy(node.port);
    cleanups.push(() => proxy.close());
    let sends = 0;
    const viaProxy = createPublicClient({
      transport: http(proxy.url, {
        retryCount: 0,
        timeout: 2_000,
        onFetchRequest: async (request) => {
          const body = await request.clone().text();
          // The RPC goes away exactly while the third transaction is being broadcast (after it was recorded).
          if (body.includes("eth_sendRawTransaction") && ++sends === 3) proxy.cut();
        },
      }),
    }) as PublicClient;
    const signer = makeSigner({ confirmations: 1 }, viaProxy);
    await signer.start();

    const purposes = ["settle:1", "settle:2", "settle:3", "epoch:1", "settle:4", "settle:5"];
    const results = [];
    for (const purpose of purposes) results.push(await signer.submit(call(purpose)).then((tx) => tx, (error: Error & { code?: string }) => error));
    expect(results.slice(0, 3).map((t) => (t as { nonce: number }).nonce)).to.deep.equal([0, 1, 2]);
    for (const failed of results.slice(3)) expect((failed as { code?: string }).code).to.equal("SIGNER_FEES_UNAVAILABLE");
    expect(signer.status().nextNonce, "a submit that failed before recording used no nonce").to.equal(3);
    await sleep(600); // the tracking loop fails and backs off meanwhile

    proxy.restore();
    // The settler retries what was refused, with the same purposes.
    const retried = [];
    for (const purpose of purposes.slice(3)) retried.push(await signer.submit(call(purpose)));
    expect(retried.map((t) => t.nonce)).to.deep.equal([3, 4, 5]);
    await eventually(async () => (await client.getTransactionCount({ address: ME })) === 6, "all six mined");
    await mine();
    const outcomes = await Promise.all([0, 1, 2, 3, 4, 5].map((n) => signer.wait(n)));
    expect(outcomes.every((o) => o.result === "success")).to.equal(true);
    const onChain = await minedFrom(client, ME);
    expect(onChain.map((t) => [t.nonce, t.input])).to.deep.equal(purposes.map((p, i) => [i, toHex(p)]));
  });

  it("follows a reorg: a mined transaction whose block is reorged out goes back to sent, is mined again and confirmed once", async function () {
    await chain({ automine: true });
    const signer = makeSigner({ confirmations: 3 });
    const confirmed: ConfirmedTx[] = [];
    signer.onConfirmed((tx) => confirmed.push(tx));
    await signer.start();
    const tx = await signer.submit(call("settle:11"));
    await eventually(() => signer.pending()[0]?.status === "mined", "mined");
    const first = (await signer.record(tx.nonce))!.mined!;
    expect(await client.getBlockNumber()).to.equal(first.blockNumber);

    await node.rpc("anvil_reorg", [1, []]);
    const again = await eventually(async () => {
      const rec = await signer.record(tx.nonce);
      return rec?.status === "mined" && rec.reorgs > 0 ? rec : undefined;
    }, "mined again after the reorg");
    expect(again.mined!.blockHash).to.not.equal(first.blockHash);
    expect(again.attempts, "the same signed transaction, sent again").to.have.length(1);
    expect(logs.some((l) => l.includes("back to sent"))).to.equal(true);

    await mine(3);
    const done = await signer.wait(tx.nonce);
    expect(done).to.include({ result: "success", hash: tx.hash, reorgs: 1 });
    await sleep(300);
    expect(confirmed.map((c) => c.nonce)).to.deep.equal([0]);
    expect(await minedFrom(client, ME)).to.have.length(1);
  });

  it("flags a nonce taken by a transaction it does not know, and lets the purpose be submitted again at a new nonce", async function () {
    await chain({ automine: false });
    const signer = makeSigner({ confirmations: 1 });
    const failed: number[] = [];
    signer.onFailed((tx) => failed.push(tx.nonce));
    await signer.start();
    const tx = await signer.submit(call("settle:5"));
    const outcome = signer.wait(tx.nonce).then(
      () => expect.fail("a transaction that was never mined confirmed"),
      (error) => error,
    );
    // Someone else signs nonce 0 with the operator key, paying more: it replaces ours in the pool.
    const foreign = await privateKeyToAccount(KEY).signTransaction({
      type: "eip1559",
      chainId: node.chainId,
      nonce: 0,
      to: ME,
      value: 0n,
      gas: 21_000n,
      maxFeePerGas: 50n * GWEI,
      maxPriorityFeePerGas: 5n * GWEI,
    });
    await client.sendRawTransaction({ serializedTransaction: foreign });
    await mine();
    // Seen used without a receipt of ours: flagged once that still holds a block later.
    await eventually(() => logs.some((l) => l.includes("no receipt of any of its attempts yet")), "the nonce seen used");
    await mine();
    const error = await outcome;
    expect(error.code).to.equal("SIGNER_NONCE_CONSUMED");
    expect(failed).to.deep.equal([0]);
    expect(signer.status().lastError).to.match(/nonce 0 .* does not know/);
    expect(logs.map((l) => JSON.parse(l)).some((l) => l.level === "error" && l.nonce === 0 && l.purpose === "settle:5")).to.equal(true);

    const retry = await signer.submit(call("settle:5"));
    expect(retry.nonce).to.equal(1);
    await mine(2);
    expect((await signer.wait(1)).result).to.equal("success");
    const onChain = await minedFrom(client, ME);
    expect(onChain.map((t) => [t.nonce, t.hash])).to.deep.equal([
      [0, keccak256(foreign)],
      [1, retry.hash],
    ]);
  });

  it("commits an epoch through the deployed OrderbookCommitment, and reports a call that reverts as reverted", async function () {
    this.timeout(180_000);
    await chain({ automine: true });
    const local = await deployLocal(node.url);
    const abi = COMMITMENT_ARTIFACT().abi;
    const commit = (epoch: bigint) =>
      encodeFunctionData({ abi, functionName: "commitEpoch", args: [epoch, keccak256(toHex("root")), 10n, keccak256(toHex("data"))] });
    const signer = createSigner(
      { redis: r.redis, client, logger, metrics: registry },
      { chainId: node.chainId, name: "local", privateKey: new Secret(local.keys.operator), confirmations: 1, stuckAfterMs: 60_000, feeBumpBps: 1250, pollIntervalMs: 40 },
    );
    cleanups.push(() => signer.stop());
    await signer.start();
    const ok = await signer.submit({ purpose: "epoch:1", to: local.commitmentAddress, data: commit(1n), gas: 300_000n });
    const late = await signer.submit({ purpose: "epoch:1-replayed", to: local.commitmentAddress, data: commit(1n), gas: 300_000n });
    await mine();
    const [a, b] = await Promise.all([signer.wait(ok.nonce), signer.wait(late.nonce)]);
    expect(a.result).to.equal("success");
    expect(b.result).to.equal("reverted");
    expect(b.gasUsed).to.be.greaterThan(21_000n);
    expect(await client.readContract({ address: local.commitmentAddress, abi, functionName: "latestEpoch" })).to.equal(1n);
    const metrics = await registry.getSingleMetricAsString("hyperindex_signer_transactions_total");
    expect(metrics).to.include('purpose_kind="epoch",result="reverted"} 1');
  });

  it("takes its parameters from a chain's configuration and refuses a fee bump under 12.5%", async function () {
    const params = signerParams({
      chainId: 999,
      name: "hyperevm",
      operatorPrivateKey: new Secret(KEY),
      confirmations: 2,
      maxInFlightTxs: 8,
      txStuckAfterMs: 30_000,
      feeBumpBps: 1250,
      pollIntervalMs: 1_000,
    } as Parameters<typeof signerParams>[0]);
    expect(params).to.include({ chainId: 999, name: "hyperevm", confirmations: 2, maxInFlight: 8, stuckAfterMs: 30_000, feeBumpBps: 1250, pollIntervalMs: 1_000 });
    expect(String(params.privateKey)).to.equal("[redacted]");
    const deps = { redis: r.redis, client: createPublicClient({ transport: http("http://127.0.0.1:1") }) as PublicClient, logger };
    expect(() => createSigner(deps, { ...params, feeBumpBps: 1000 })).to.throw(/feeBumpBps/);
    expect(() => createSigner(deps, { ...params, maxInFlight: 0 })).to.throw(/maxInFlight/);
  });
});

describe("operator/chain fees", function () {
  const policies = fc.record({
    feeBumpBps: fc.integer({ min: 1250, max: 50_000 }),
    minPriorityFeeWei: fc.bigInt({ min: 0n, max: 10n * GWEI }),
    ceiling: fc.option(fc.bigInt({ min: 1n, max: 10_000n * GWEI }), { nil: undefined }),
  });
  const fees = fc
    .tuple(fc.bigInt({ min: 1n, max: 1_000n * GWEI }), fc.bigInt({ min: 0n, max: 1_000n * GWEI }))
    .map(([a, b]) => (a >= b ? { maxFeePerGas: a, maxPriorityFeePerGas: b } : { maxFeePerGas: b, maxPriorityFeePerGas: a }));

  it("quotes 2 x base + tip, with the tip at least the floor, and never above the ceiling", function () {
    fc.assert(
      fc.property(policies, fc.bigInt({ min: 0n, max: 1_000n * GWEI }), fc.bigInt({ min: 0n, max: 100n * GWEI }), (p, base, nodeTip) => {
        const policy: FeePolicy = { feeBumpBps: p.feeBumpBps, minPriorityFeeWei: p.minPriorityFeeWei, maxFeePerGasWei: p.ceiling };
        const q = quoteFees(base, nodeTip, policy);
        const tip = nodeTip > p.minPriorityFeeWei ? nodeTip : p.minPriorityFeeWei;
        if (p.ceiling === undefined || 2n * base + tip <= p.ceiling) {
          expect(q).to.deep.include({ maxFeePerGas: 2n * base + tip, maxPriorityFeePerGas: tip, capped: false });
        } else {
          expect(q.maxFeePerGas).to.equal(p.ceiling);
          expect(q.capped).to.equal(true);
        }
        expect(q.maxPriorityFeePerGas <= q.maxFeePerGas).to.equal(true);
      }),
    );
  });

  it("raises both fees of a replacement by at least the bump and to at least the quote, or refuses when the ceiling forbids the bump", function () {
    fc.assert(
      fc.property(policies, fees, fees, (p, previous, quote) => {
        const policy: FeePolicy = { feeBumpBps: p.feeBumpBps, minPriorityFeeWei: p.minPriorityFeeWei, maxFeePerGasWei: p.ceiling };
        const r = replacementFees(previous, quote, policy);
        const minMax = bumped(previous.maxFeePerGas, p.feeBumpBps);
        if (r.capped) {
          expect(p.ceiling !== undefined && minMax > p.ceiling).to.equal(true);
          return;
        }
        const f = r.fees;
        expect(f.maxFeePerGas * 10_000n >= previous.maxFeePerGas * BigInt(10_000 + p.feeBumpBps)).to.equal(true);
        expect(f.maxFeePerGas > previous.maxFeePerGas).to.equal(true);
        expect(f.maxPriorityFeePerGas * 10_000n >= previous.maxPriorityFeePerGas * BigInt(10_000 + p.feeBumpBps)).to.equal(true);
        expect(f.maxPriorityFeePerGas <= f.maxFeePerGas).to.equal(true);
        if (p.ceiling !== undefined) expect(f.maxFeePerGas <= p.ceiling).to.equal(true);
        if (p.ceiling === undefined || quote.maxFeePerGas <= p.ceiling) expect(f.maxFeePerGas >= quote.maxFeePerGas).to.equal(true);
        if (p.ceiling === undefined) expect(f.maxPriorityFeePerGas >= quote.maxPriorityFeePerGas).to.equal(true);
      }),
    );
  });
});
