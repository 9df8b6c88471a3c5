import { expect } from "chai";
import fc from "fast-check";
import { cancelOrders, getBook, getOrder, placeOrders, stopEngine, type PlaceOrderRequest } from "../../../operator/matching";
import { OrderFlags, type Address, type Hex } from "../../../operator/orders";
import { useRedisServer } from "../../helpers/redis";
import { BTC_USDC, ETH_USDC, checkLedger, fund, fundedTotals, request, startEngine, trader } from "./fixtures";

/**
 * A tiny in-memory order book, written independently of the engine: price-time priority at
 * the maker's price, self-trade prevention by expiring the maker, IOC remainders cancelled,
 * post-only refused when it would cross. Random order sequences go through both; fills,
 * outcomes and the final books must be identical.
 */
interface RefOrder {
  hash: Hex;
  trader: Address;
  isBuy: boolean;
  ticks: number;
  lots: number;
  rem: number;
  seq: number;
  state: "open" | "filled" | "cancelled";
}

type RefFill = [maker: Hex, ticks: number, lots: number];
type RefPlace = { status: "rejected"; code: string } | { status: "accepted"; seq: number; fills: RefFill[]; state: RefOrder["state"]; rem: number };

class ReferenceBook {
  private seq = 0;
  readonly orders = new Map<Hex, RefOrder>();
  private resting: RefOrder[] = [];

  private best(isBuy: boolean): RefOrder | undefined {
    // The best opposite order for a taker on side isBuy.
    let best: RefOrder | undefined;
    for (const o of this.resting) {
      if (o.isBuy === isBuy) continue;
      if (!best || (isBuy ? o.ticks < best.ticks : o.ticks > best.ticks) || (o.ticks === best.ticks && o.seq < best.seq)) best = o;
    }
    return best;
  }

  private crosses(isBuy: boolean, limit: number, m: RefOrder): boolean {
    return isBuy ? m.ticks <= limit : m.ticks >= limit;
  }

  place(hash: Hex, trader: Address, isBuy: boolean, ticks: number, lots: number, flags: number): RefPlace {
    const top = this.best(isBuy);
    if (flags === OrderFlags.PostOnly && top && this.crosses(isBuy, ticks, top)) return { status: "rejected", code: "POST_ONLY_WOULD_CROSS" };
    const o: RefOrder = { hash, trader, isBuy, ticks, lots, rem: lots, seq: ++this.seq, state: "open" };
    this.orders.set(hash, o);
    const fills: RefFill[] = [];
    while (flags !== OrderFlags.PostOnly && o.rem > 0) {
      const m = this.best(isBuy);
      if (!m || !this.crosses(isBuy, ticks, m)) break;
      if (m.trader === trader) {
        m.state = "cancelled"; // self-trade prevention: the resting order goes
        this.resting = this.resting.filter((x) => x !== m);
        continue;
      }
      const q = Math.min(o.rem, m.rem);
      fills.push([m.hash, m.ticks, q]);
      o.rem -= q;
      m.rem -= q;
      if (m.rem === 0) {
        m.state = "filled";
        this.resting = this.resting.filter((x) => x !== m);
      }
    }
    if (o.rem === 0) o.state = "filled";
    else if (flags === OrderFlags.IOC) o.state = "cancelled";
    else this.resting.push(o);
    return { status: "accepted", seq: o.seq, fills, state: o.state, rem: o.rem };
  }

  cancel(trader: Address, hash: Hex): string {
    const o = this.orders.get(hash);
    if (!o) return "ORDER_NOT_FOUND";
    if (o.trader !== trader) return "NOT_ORDER_OWNER";
    if (o.state !== "open") return "ORDER_NOT_OPEN";
    o.state = "cancelled";
    this.resting = this.resting.filter((x) => x !== o);
    return "cancelled";
  }

  levels(isBuy: boolean): [number, number][] {
    const by = new Map<number, number>();
    for (const o of this.resting) if (o.isBuy === isBuy) by.set(o.ticks, (by.get(o.ticks) ?? 0) + o.rem);
    return [...by.entries()].sort((a, b) => (isBuy ? b[0] - a[0] : a[0] - b[0]));
  }
}

const TRADERS = [trader(11), trader(12), trader(13), trader(14)];

const placeAction = fc.record({
  kind: fc.constant("place" as const),
  trader: fc.nat(TRADERS.length - 1),
  isBuy: fc.boolean(),
  ticks: fc.integer({ min: 96, max: 104 }),
  lots: fc.integer({ min: 1, max: 6 }),
  flags: fc.constantFrom(0, 0, 0, OrderFlags.IOC, OrderFlags.PostOnly),
});
const action = fc.oneof(
  { weight: 6, arbitrary: fc.array(placeAction, { minLength: 1, maxLength: 4 }).map((places) => ({ kind: "batch" as const, places })) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("cancel" as const), trader: fc.nat(TRADERS.length - 1), pick: fc.nat(1000) }) },
);

describe("matching engine against a reference book", () => {
  const db = useRedisServer();

  it("produces the fills, outcomes and book of the reference for random order sequences", async function () {
    this.timeout(120_000);
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 8, maxLength: 40 }), fc.constantFrom(1, 2, 1000), async (actions, maxFillsPerCall) => {
        await db.redis.flushall();
        const { engine } = await startEngine(db.redis, { maxFillsPerCall });
        try {
          for (const t of TRADERS) await fund(engine, t);
          const ref = new ReferenceBook();
          const placed: Hex[] = [];
          for (const a of actions) {
            if (a.kind === "batch") {
              const reqs: PlaceOrderRequest[] = a.places.map((p) => request({ trader: TRADERS[p.trader], isBuy: p.isBuy, ticks: p.ticks, lots: p.lots, flags: p.flags }));
              const results = await placeOrders(engine, reqs);
              results.forEach((r, i) => {
                const p = a.places[i];
                const want = ref.place(reqs[i].orderHash, TRADERS[p.trader], p.isBuy, p.ticks, p.lots, p.flags);
                const got =
                  r.status === "rejected"
                    ? { status: "rejected", code: r.code }
                    : {
                        status: "accepted",
                        seq: r.seq,
                        fills: r.fills.map((f): RefFill => [f.makerHash, Number(f.price / ETH_USDC.tickSize), Number(f.amount / ETH_USDC.lotSize)]),
                        state: r.state,
                        rem: Number(r.remainingAmount / ETH_USDC.lotSize),
                      };
                expect(got, `place #${placed.length}`).to.deep.equal(want);
                placed.push(reqs[i].orderHash);
              });
            } else if (placed.length > 0) {
              const hash = placed[a.pick % placed.length];
              const result = await cancelOrders(engine, { trader: TRADERS[a.trader], orderHashes: [hash] });
              if (result.status !== "done") throw new Error("cancel rejected");
              const r = result.results[0];
              expect(r.status === "cancelled" ? "cancelled" : r.code).to.equal(ref.cancel(TRADERS[a.trader], hash));
            }
          }
          const book = await getBook(engine, { market: ETH_USDC.id, depth: 100 });
          const levels = (side: { price: bigint; amount: bigint }[]) => side.map((l) => [Number(l.price / ETH_USDC.tickSize), Number(l.amount / ETH_USDC.lotSize)]);
          expect(levels(book.bids)).to.deep.equal(ref.levels(true));
          expect(levels(book.asks)).to.deep.equal(ref.levels(false));
          for (const [hash, o] of ref.orders) {
            const view = await getOrder(engine, { orderHash: hash, market: ETH_USDC.id });
            expect([view?.state, Number((view?.remainingAmount ?? 0n) / ETH_USDC.lotSize)]).to.deep.equal([o.state, o.rem]);
          }
          await checkLedger(db.redis, [ETH_USDC, BTC_USDC], TRADERS, fundedTotals(TRADERS.length));
        } finally {
          await stopEngine(engine);
        }
      }),
      { numRuns: 40 },
    );
  });

  it("agrees with the reference on large batches: deep levels read a window at a time, levels emptied and refilled within one call", async function () {
    this.timeout(120_000);
    // Many traders (few self-trades), few price levels: levels grow far beyond the 16 hashes
    // match.lua reads at once, and one call empties and refills levels. Small calls too
    // (maxOrdersPerCall), so a level's deferred writes meet the next call's reads.
    const many = Array.from({ length: 12 }, (_, i) => trader(40 + i));
    const bigPlace = fc.record({
      trader: fc.nat(many.length - 1),
      isBuy: fc.boolean(),
      ticks: fc.integer({ min: 99, max: 101 }),
      lots: fc.integer({ min: 1, max: 4 }),
      flags: fc.constantFrom(0, 0, 0, 0, OrderFlags.IOC, OrderFlags.PostOnly),
    });
    const bigAction = fc.oneof(
      { weight: 5, arbitrary: fc.array(bigPlace, { minLength: 20, maxLength: 120 }).map((places) => ({ kind: "batch" as const, places })) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("cancel" as const), picks: fc.array(fc.nat(100_000), { minLength: 1, maxLength: 20 }) }) },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(bigAction, { minLength: 3, maxLength: 8 }), fc.constantFrom(7, 500), fc.constantFrom(3, 1000), async (actions, maxOrdersPerCall, maxFillsPerCall) => {
        await db.redis.flushall();
        const { engine } = await startEngine(db.redis, { maxOrdersPerCall, maxFillsPerCall });
        try {
          for (const t of many) await fund(engine, t);
          const ref = new ReferenceBook();
          const placed: { hash: Hex; trader: Address }[] = [];
          for (const a of actions) {
            if (a.kind === "batch") {
              const reqs: PlaceOrderRequest[] = a.places.map((p) => request({ trader: many[p.trader], isBuy: p.isBuy, ticks: p.ticks, lots: p.lots, flags: p.flags }));
              const results = await placeOrders(engine, reqs);
              results.forEach((r, i) => {
                const p = a.places[i];
                const want = ref.place(reqs[i].orderHash, many[p.trader], p.isBuy, p.ticks, p.lots, p.flags);
                const got =
                  r.status === "rejected"
                    ? { status: "rejected", code: r.code }
                    : {
                        status: "accepted",
                        seq: r.seq,
                        fills: r.fills.map((f): RefFill => [f.makerHash, Number(f.price / ETH_USDC.tickSize), Number(f.amount / ETH_USDC.lotSize)]),
                        state: r.state,
                        rem: Number(r.remainingAmount / ETH_USDC.lotSize),
                      };
                expect(got, `place #${placed.length}`).to.deep.equal(want);
                placed.push({ hash: reqs[i].orderHash, trader: many[p.trader] });
              });
            } else if (placed.length > 0) {
              for (const pick of a.picks) {
                const { hash, trader: owner } = placed[pick % placed.length];
                const result = await cancelOrders(engine, { trader: owner, orderHashes: [hash] });
                if (result.status !== "done") throw new Error("cancel rejected");
                const r = result.results[0];
                expect(r.status === "cancelled" ? "cancelled" : r.code).to.equal(ref.cancel(owner, hash));
              }
            }
          }
          const book = await getBook(engine, { market: ETH_USDC.id, depth: 100 });
          const levels = (side: { price: bigint; amount: bigint }[]) => side.map((l) => [Number(l.price / ETH_USDC.tickSize), Number(l.amount / ETH_USDC.lotSize)]);
          expect(levels(book.bids)).to.deep.equal(ref.levels(true));
          expect(levels(book.asks)).to.deep.equal(ref.levels(false));
          for (const [hash, o] of ref.orders) {
            const view = await getOrder(engine, { orderHash: hash, market: ETH_USDC.id });
            expect([view?.state, Number((view?.remainingAmount ?? 0n) / ETH_USDC.lotSize)]).to.deep.equal([o.state, o.rem]);
          }
          await checkLedger(db.redis, [ETH_USDC, BTC_USDC], many, fundedTotals(many.length));
        } finally {
          await stopEngine(engine);
        }
      }),
      { numRuns: 25 },
    );
  });
});
