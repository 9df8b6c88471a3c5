/**
 * What the chain's settlement events do to the ledger and the settler's records
 * (operator/settlement/outcomes.ts), on a real Redis with the real ledger scripts: fills are
 * matched by the real engine (so their pending amounts are the ledger's own), put into batch
 * intents as the settler persists them, and resolved by the events the chain watcher would
 * deliver for those batches.
 */
import { expect } from "chai";
import type Redis from "ioredis";
import { packFill } from "../../../operator/settlement/batchEncoding";
import { readFills } from "../../../operator/journal";
import { createLedger, type Balances } from "../../../operator/ledger";
import { placeOrders, stopEngine, type MatchingEngine } from "../../../operator/matching";
import { createRegistry } from "../../../operator/metrics";
import type { Hex } from "../../../operator/orders";
import { RETRYABLE_SKIP } from "../../../operator/settlement/abi";
import { loadIntent, newIntent, persistDropsOnly, persistIntent } from "../../../operator/settlement/intents";
import { settleKeys } from "../../../operator/settlement/keys";
import { settlementMetrics } from "../../../operator/settlement/metrics";
import { applySettlementEvents, unwindDropped, type OutcomeDeps, type SettlementEvent } from "../../../operator/settlement/outcomes";
import { decodeFillRecord, settleFillOf, type SettleFill } from "../../../operator/settlement/records";
import { useRedisServer } from "../../helpers/redis";
import { CHAIN, ETH_USDC, FEE_ACCOUNT, TestClock, balancesOf, fund, request, silentLogger, startEngine, trader } from "../matching/fixtures";

const MAKER = trader(1);
const TAKER_A = trader(2);
const TAKER_B = trader(3);
const PARAMS = { chainId: CHAIN, feeAccount: FEE_ACCOUNT, maxTries: 3 };
const keys = settleKeys(CHAIN);
/** One WETH and one USDC in atoms (the fixture market: 18 and 6 decimals). */
const ONE_WETH = 10n ** 18n;
const ONE_USDC = 10n ** 6n;

describe("operator/settlement outcomes", function () {
  this.timeout(30_000);
  const r = useRedisServer();
  let engine: MatchingEngine;
  let deps: OutcomeDeps;
  let clock: TestClock;
  let txCounter = 0;

  beforeEach(async function () {
    ({ engine, clock } = await startEngine(r.redis));
    const ledger = await createLedger({ redis: r.redis, logger: silentLogger });
    deps = { redis: r.redis, scripts: ledger.scripts, logger: silentLogger, metrics: settlementMetrics(createRegistry()), clock: { now: () => clock.now() } };
    for (const t of [MAKER, TAKER_A, TAKER_B]) await fund(engine, t);
  });

  afterEach(async function () {
    await stopEngine(engine);
  });

  /** Two fills matched by the engine: the maker's ask of 2 WETH taken by A and by B, 1 WETH each. */
  async function twoFills(): Promise<[SettleFill, SettleFill]> {
    const ask = await placeOrders(engine, [request({ trader: MAKER, isBuy: false, ticks: 200_000, lots: 2_000 })]);
    expect(ask[0].status).to.equal("accepted");
    await placeOrders(engine, [request({ trader: TAKER_A, isBuy: true, ticks: 200_000, lots: 1_000 })]);
    await placeOrders(engine, [request({ trader: TAKER_B, isBuy: true, ticks: 200_000, lots: 1_000 })]);
    const fills = (await readFills(r.redis, ETH_USDC.id, 0)).map((f) => settleFillOf(ETH_USDC, f));
    expect(fills).to.have.length(2);
    return [fills[0], fills[1]];
  }

  /** Persists batch `batchId` of `fills` as the settler does before sending it. */
  async function persistBatch(batchId: bigint, fills: SettleFill[]): Promise<void> {
    const calldata = `0x${"5e".repeat(100)}${batchId.toString(16).padStart(8, "0")}` as Hex;
    const intent = newIntent({ batchId, fillIds: fills.map((f) => f.fillId), orderHashes: [], calldata, gasLimit: 1_000_000n, estimate: 900_000n, simulated: true, walletOrders: 0, createdAt: clock.now() });
    await persistIntent(r.redis, CHAIN, { intent, fills, cursors: new Map([[ETH_USDC.id, Math.max(...fills.map((f) => f.fillCtr))]]), dropped: [] });
  }

  /** The events of one settleBatch transaction (as the watcher decodes them). */
  function batchTx(batchId: bigint, outcomes: { fill: SettleFill; skip?: number }[]): SettlementEvent[] {
    const txHash = `0x${(++txCounter).toString(16).padStart(64, "0")}` as Hex;
    const blockNumber = BigInt(100 + txCounter);
    const events: SettlementEvent[] = outcomes.map((o, i) =>
      o.skip === undefined
        ? {
            kind: "Filled",
            id: `${txHash}:${i}`,
            txHash,
            blockNumber,
            makerHash: o.fill.makerHash,
            takerHash: o.fill.takerHash,
            fill: packFill({ fillId: o.fill.fillId, makerIndex: 0, takerIndex: 1, baseAmount: o.fill.baseAmount, makerFeeBps: o.fill.makerFeeBps, takerFeeBps: o.fill.takerFeeBps }),
            quoteAmount: (o.fill.baseAmount * 2_000n * ONE_USDC) / ONE_WETH,
          }
        : { kind: "FillSkipped", id: `${txHash}:${i}`, txHash, blockNumber, batchId, fillId: o.fill.fillId, reason: o.skip },
    );
    const settled = outcomes.filter((o) => o.skip === undefined).length;
    events.push({ kind: "BatchSettled", id: `${txHash}:${outcomes.length}`, txHash, blockNumber, batchId, fills: BigInt(outcomes.length), settled: BigInt(settled) });
    return events;
  }

  async function ledgerOf(): Promise<Record<string, Balances>> {
    const out: Record<string, Balances> = {};
    for (const t of [MAKER, TAKER_A, TAKER_B, FEE_ACCOUNT]) out[t] = await balancesOf(engine, { trader: t });
    return out;
  }

  /** Everything the settler keeps in Redis for the chain, field by field. */
  async function settlerKeyspace(): Promise<Record<string, unknown>> {
    const redis = r.redis as Redis;
    const out: Record<string, unknown> = {};
    for (const key of (await redis.keys(`${keys.state.slice(0, -"state".length)}*`)).sort()) {
      const type = await redis.type(key);
      if (type === "hash") out[key] = await redis.hgetall(key);
      else if (type === "zset") out[key] = await redis.zrange(key, 0, -1, "WITHSCORES");
      else if (type === "stream") out[key] = await redis.xrange(key, "-", "+");
      else out[key] = type;
    }
    return out;
  }

  const recordOf = async (f: SettleFill, hash: "fills" | "retry") => {
    const text = await r.redis.hget(keys[hash], f.fillId.toString());
    return text === null ? undefined : decodeFillRecord(f.fillId.toString(), text);
  };

  it("settles one fill and compensates a skipped one, and the same events applied again change nothing", async function () {
    const [a, b] = await twoFills();
    await persistBatch(1n, [a, b]);
    const before = await ledgerOf();
    expect(before[MAKER][ETH_USDC.baseToken].pendingOut).to.equal(2n * ONE_WETH);

    const events = batchTx(1n, [{ fill: a }, { fill: b, skip: 7 }]); // 7: MakerUnfunded
    clock.advance(1_500);
    const first = await applySettlementEvents(deps, PARAMS, events);
    expect(first.settled.map((f) => f.fillId)).to.deep.equal([a.fillId]);
    expect(first.skipped.map((s) => [s.fill.fillId, s.reason])).to.deep.equal([[b.fillId, "MakerUnfunded"]]);
    expect(first.batches).to.deep.equal([1n]);
    expect(first.recordedOrders).to.have.members([a.makerHash, a.takerHash]);

    const after = await ledgerOf();
    const base = ETH_USDC.baseToken;
    const quote = ETH_USDC.quoteToken;
    // A settled: its pending amounts are gone, what A bought is available. B was skipped: the
    // maker's WETH of B is available again, B's USDC likewise, and B receives nothing.
    expect(after[MAKER][base]).to.include({ pendingOut: 0n, pendingIn: 0n, available: before[MAKER][base].available + ONE_WETH });
    expect(after[MAKER][quote]).to.include({ pendingIn: 0n, available: before[MAKER][quote].available + before[MAKER][quote].pendingIn / 2n });
    expect(after[TAKER_A][base]).to.include({ pendingIn: 0n, available: before[TAKER_A][base].available + before[TAKER_A][base].pendingIn });
    expect(after[TAKER_B][quote]).to.include({ pendingOut: 0n, available: before[TAKER_B][quote].available + before[TAKER_B][quote].pendingOut });
    expect(after[TAKER_B][base]).to.include({ pendingIn: 0n, available: before[TAKER_B][base].available });

    const results = await r.redis.xrange(keys.results, "-", "+");
    expect(results.map(([, f]) => [f[1], f[13], f[15]])).to.deep.equal([
      [`0x${a.fillId.toString(16).padStart(16, "0")}`, "0", "1"],
      [`0x${b.fillId.toString(16).padStart(16, "0")}`, "MakerUnfunded", "1"],
    ]);
    expect(await r.redis.hlen(keys.fills)).to.equal(0);
    const intent = await loadIntent(r.redis, CHAIN, 1n);
    expect(intent).to.include({ status: "settled", settled: 1, skipped: 1, calldata: "0x" });
    expect(await r.redis.zcard(keys.open)).to.equal(0);

    // The same events again (the watcher re-delivers after a crash, or after a reorg), later.
    const snapshot = await settlerKeyspace();
    clock.advance(60_000);
    const second = await applySettlementEvents(deps, PARAMS, events);
    expect(second.settled).to.deep.equal([]);
    expect(second.skipped).to.deep.equal([]);
    expect(second.unknown).to.equal(2);
    expect(second.batches, "a batch already final is not final again").to.deep.equal([]);
    expect(await ledgerOf()).to.deep.equal(after);
    expect(await settlerKeyspace()).to.deep.equal(snapshot);
  });

  it("sends a fill skipped with SignatureBudgetExhausted back to the retry queue, and unwinds it after maxTries batches", async function () {
    const [a] = await twoFills();
    const before = await ledgerOf();
    for (const batchId of [1n, 2n, 3n]) {
      const waiting = batchId === 1n ? a : (await recordOf(a, "retry"))!.fill;
      await persistBatch(batchId, [waiting]);
      expect(await r.redis.hexists(keys.retry, a.fillId.toString()), "in a batch, not waiting").to.equal(0);
      const applied = await applySettlementEvents(deps, PARAMS, batchTx(batchId, [{ fill: waiting, skip: RETRYABLE_SKIP }]));
      if (batchId < 3n) {
        expect(applied.retried.map((f) => [f.fillId, f.tries])).to.deep.equal([[a.fillId, Number(batchId)]]);
        const retry = await recordOf(a, "retry");
        expect(retry, `after batch ${batchId}`).to.not.equal(undefined);
        expect([retry!.batchId, retry!.fill.tries]).to.deep.equal([batchId, Number(batchId)]);
        expect(await recordOf(a, "fills")).to.equal(undefined);
        expect(await ledgerOf(), "nothing resolved while it waits").to.deep.equal(before);
        expect(await r.redis.xlen(keys.results)).to.equal(0);
        // Its batch keeps its calldata: the retry may need its orders' payloads from it.
        expect((await loadIntent(r.redis, CHAIN, batchId))!.calldata).to.not.equal("0x");
      } else {
        expect(applied.retried).to.deep.equal([]);
        expect(applied.skipped.map((s) => [s.fill.fillId, s.reason])).to.deep.equal([[a.fillId, "SignatureBudgetExhausted"]]);
      }
    }
    expect(await r.redis.hlen(keys.retry)).to.equal(0);
    expect(await r.redis.hlen(keys.fills)).to.equal(0);
    const results = await r.redis.xrange(keys.results, "-", "+");
    expect(results.map(([, f]) => [f[13], f[15]])).to.deep.equal([["SignatureBudgetExhausted", "3"]]);
    const after = await ledgerOf();
    const base = ETH_USDC.baseToken;
    const quote = ETH_USDC.quoteToken;
    expect(after[TAKER_A][quote]).to.include({ pendingOut: 0n, available: before[TAKER_A][quote].available + before[TAKER_A][quote].pendingOut });
    expect(after[TAKER_A][base]).to.include({ pendingIn: 0n });
    expect(after[MAKER][base].pendingOut, "B's fill is still pending").to.equal(ONE_WETH);
  });

  it("ignores the events of an older batch of a fill that has moved to a later batch", async function () {
    const [a] = await twoFills();
    await persistBatch(1n, [a]);
    // Batch 1 went nowhere (say its transaction reverted); the fill is in batch 2 now.
    await persistBatch(2n, [a]);
    const before = await ledgerOf();
    const stale = batchTx(1n, [{ fill: a }]);
    const applied = await applySettlementEvents(deps, PARAMS, stale);
    expect(applied.settled).to.deep.equal([]);
    expect(applied.unknown).to.equal(1);
    expect(await ledgerOf()).to.deep.equal(before);
    expect((await recordOf(a, "fills"))!.batchId).to.equal(2n);
    expect(await r.redis.xlen(keys.results)).to.equal(0);

    // Batch 2's own events settle it.
    const own = await applySettlementEvents(deps, PARAMS, batchTx(2n, [{ fill: a }]));
    expect(own.settled.map((f) => f.fillId)).to.deep.equal([a.fillId]);
    expect(await recordOf(a, "fills")).to.equal(undefined);
  });

  it("makes a settled batch final and drops its calldata, unless a fill of it waits for a retry", async function () {
    const [a, b] = await twoFills();
    await persistBatch(1n, [a]);
    await persistBatch(2n, [b]);
    expect((await r.redis.zrange(keys.open, 0, -1))).to.deep.equal(["1", "2"]);
    clock.advance(2_000);
    await applySettlementEvents(deps, PARAMS, [...batchTx(1n, [{ fill: a }]), ...batchTx(2n, [{ fill: b, skip: RETRYABLE_SKIP }])]);
    const one = (await loadIntent(r.redis, CHAIN, 1n))!;
    const two = (await loadIntent(r.redis, CHAIN, 2n))!;
    expect(one).to.include({ status: "settled", calldata: "0x", settled: 1, skipped: 0, finishedAt: clock.now() });
    expect(two).to.include({ status: "settled", settled: 0, skipped: 1 });
    expect(two.calldata, "b waits for a retry: batch 2's calldata stays").to.match(/^0x5e/);
    expect(await r.redis.zcard(keys.open)).to.equal(0);
    for (const id of [1n, 2n]) {
      const ttl = await r.redis.ttl(keys.intent(id));
      expect(ttl, "a final intent expires").to.be.within(1, 7 * 24 * 3600);
    }
    expect(await r.redis.hget(keys.state, "batches:settled")).to.equal("2");
  });

  it("unwinds fills left out of every batch once, and publishes them with the operator's reason", async function () {
    const [a] = await twoFills();
    const before = await ledgerOf();
    await persistDropsOnly(r.redis, CHAIN, [{ fill: a, reason: "Operator:OrderPayloadMissing" }], new Map([[ETH_USDC.id, a.fillCtr]]));
    expect(await unwindDropped(deps, PARAMS)).to.equal(1);
    expect(await unwindDropped(deps, PARAMS), "nothing left the second time").to.equal(0);
    expect(await r.redis.hlen(keys.drop)).to.equal(0);
    const results = await r.redis.xrange(keys.results, "-", "+");
    expect(results.map(([, f]) => [f[1], f[13]])).to.deep.equal([[`0x${a.fillId.toString(16).padStart(16, "0")}`, "Operator:OrderPayloadMissing"]]);
    const after = await ledgerOf();
    const quote = ETH_USDC.quoteToken;
    expect(after[TAKER_A][quote]).to.include({ pendingOut: 0n, available: before[TAKER_A][quote].available + before[TAKER_A][quote].pendingOut });
    expect(after[FEE_ACCOUNT][quote].pendingIn, "the fee of the other fill is still pending").to.be.greaterThan(0n);
  });
});
