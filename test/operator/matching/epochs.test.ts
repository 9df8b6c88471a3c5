/**
 * Commitment epochs in the markets (operator/matching/epochs.ts, lua/seal.lua), against a real
 * Redis and the engine: accepted orders carry the open epoch (in the reply and on the journal
 * entry), sealing moves the market to the next epoch atomically and records its ranges,
 * sealing again answers the same ranges, an epoch ahead is refused, alignment brings a market
 * forward, and an order's or a fill's epoch is found from its arrival number or counter.
 */
import { expect } from "chai";
import {
  alignMarketEpoch,
  epochOfArrival,
  epochOfFill,
  openMarketEpoch,
  orderSequence,
  placeOrders,
  sealMarketEpoch,
  splitOrderSequence,
  stopEngine,
  type MatchingEngine,
} from "../../../operator/matching";
import { journalKeys } from "../../../operator/journal";
import { SEAL_SCRIPT } from "../../../operator/matching/scripts";
import { ScriptRunner } from "../../../operator/redis/scripts";
import { useRedisServer } from "../../helpers/redis";
import { BTC_USDC, ETH_USDC, accepted, fund, request, silentLogger, startEngine, trader } from "./fixtures";

const A = trader(1);
const B = trader(2);

describe("commitment epochs in the markets", () => {
  const db = useRedisServer();
  let engine: MatchingEngine;
  let scripts: ScriptRunner;
  beforeEach(async () => {
    ({ engine } = await startEngine(db.redis));
    for (const t of [A, B]) await fund(engine, t);
    scripts = new ScriptRunner({ redis: db.redis, logger: silentLogger }, [SEAL_SCRIPT]);
  });
  afterEach(async () => {
    await stopEngine(engine);
  });

  it("tags accepted orders with the open epoch, moves on when sealed, and finds each order's and fill's epoch", async () => {
    const a1 = accepted((await placeOrders(engine, [request({ trader: A, isBuy: false, ticks: 100, lots: 3 })]))[0]);
    const b1 = accepted((await placeOrders(engine, [request({ trader: B, isBuy: true, ticks: 100, lots: 1 })]))[0]);
    expect([a1.epoch, b1.epoch]).to.deep.equal([1, 1]);
    const sealed = await sealMarketEpoch(scripts, ETH_USDC.id, 1n);
    expect(sealed).to.deep.equal({ market: ETH_USDC.id, firstSeq: 1, lastSeq: 2, firstFill: 1, lastFill: 1 });
    // Sealing again answers what was recorded, and writes nothing.
    expect(await sealMarketEpoch(scripts, ETH_USDC.id, 1n)).to.deep.equal(sealed);

    const b2 = accepted((await placeOrders(engine, [request({ trader: B, isBuy: true, ticks: 100, lots: 1 })]))[0]);
    expect(b2.epoch).to.equal(2);
    const entries = await db.redis.xrange(journalKeys(ETH_USDC.id).accepted, "-", "+");
    expect(entries.map(([, f]) => f[f.indexOf("ep") + 1])).to.deep.equal(["1", "1", "2"]);
    expect(await epochOfArrival(db.redis, ETH_USDC.id, 2)).to.equal(1n);
    expect(await epochOfArrival(db.redis, ETH_USDC.id, 3)).to.equal(2n);
    expect(await epochOfFill(db.redis, ETH_USDC.id, 1)).to.equal(1n);
    expect(await epochOfFill(db.redis, ETH_USDC.id, 2)).to.equal(2n);

    // Epoch 2 holds one order and one fill; epoch 3 (sealed empty) holds nothing.
    expect(await sealMarketEpoch(scripts, ETH_USDC.id, 2n)).to.deep.equal({ market: ETH_USDC.id, firstSeq: 3, lastSeq: 3, firstFill: 2, lastFill: 2 });
    const empty = await sealMarketEpoch(scripts, ETH_USDC.id, 3n);
    expect(empty.firstSeq).to.be.greaterThan(empty.lastSeq);
    expect(empty.firstFill).to.be.greaterThan(empty.lastFill);
    expect((await openMarketEpoch(db.redis, ETH_USDC.id)).epoch).to.equal(4n);
    // A replayed (already known) order keeps the epoch it was accepted in.
    expect(await epochOfArrival(db.redis, ETH_USDC.id, 3)).to.equal(2n);
  });

  it("refuses to seal an epoch ahead of the open one, and aligns a market that is behind", async () => {
    let refused: unknown;
    await sealMarketEpoch(scripts, ETH_USDC.id, 3n).catch((e: unknown) => (refused = e));
    expect(String(refused)).to.match(/EPOCH_NOT_OPEN/);
    const aligned = await alignMarketEpoch(scripts, BTC_USDC.id, 5n);
    expect(aligned.before).to.equal(1n);
    expect((await openMarketEpoch(db.redis, BTC_USDC.id)).epoch).to.equal(5n);
    // Aligning again (or backwards) changes nothing.
    expect((await alignMarketEpoch(scripts, BTC_USDC.id, 3n)).before).to.equal(5n);
    const o = accepted((await placeOrders(engine, [request({ trader: A, isBuy: false, market: BTC_USDC, ticks: 100, lots: 5 })]))[0]);
    expect(o.epoch).to.equal(5);
  });

  it("composes chain-wide sequence numbers like fill ids", () => {
    expect(orderSequence(2, 7)).to.equal((2n << 48n) | 7n);
    expect(splitOrderSequence(orderSequence(65535, 2 ** 48 - 1))).to.deep.equal({ market: 65535, seq: 2 ** 48 - 1 });
  });
});
