import { expect } from "chai";
import { readCloses, readFills } from "../../../operator/journal";
import { finalizeWithdrawal, requestWithdrawal, vaultBalanceOf } from "../../../operator/ledger";
import { cancelForWithdrawal, cancelNonce, cancelOrders, getBook, getOrder, placeOrders, stopEngine, type MatchingEngine } from "../../../operator/matching";
import type { Address } from "../../../operator/orders";
import { useRedisServer } from "../../helpers/redis";
import {
  BTC_USDC,
  CHAIN,
  ETH_USDC,
  FEE_ACCOUNT,
  RATE_KEYS,
  T0,
  USDC,
  WBTC,
  WETH,
  accepted,
  balancesOf,
  checkLedger,
  dumpKeys,
  fund,
  ledgerOf,
  rejectedCode,
  request,
  startEngine,
  trader,
  unwindFillsOf,
  type OrderSpec,
} from "./fixtures";

const A = trader(41);
const B = trader(42);
const LOT = ETH_USDC.lotSize;
/** Quote atoms of `lots` at `ticks` in WETH-USDC (10 per lot-tick). */
const quote = (lots: number, ticks: number) => BigInt(lots * ticks) * ETH_USDC.quotePerLotTick;

describe("withdrawals and on-chain nonce cancels in the engine", () => {
  const db = useRedisServer();
  let engine: MatchingEngine;
  afterEach(async () => {
    await stopEngine(engine);
  });

  async function place(spec: OrderSpec) {
    return accepted((await placeOrders(engine, [request(spec)]))[0]);
  }

  describe("cancelForWithdrawal", () => {
    it("cancels exactly the newest orders locking the token that the hold needs, with reason WITHDRAWAL, and new orders can no longer lock the held funds", async () => {
      ({ engine } = await startEngine(db.redis, { rateLimits: { cancel: { capacity: 1, refillPerSecond: 0 } } }));
      await fund(engine, A, { [USDC]: 10_000n, [WETH]: 5n * LOT, [WBTC]: 0n });
      const o1 = await place({ trader: A, isBuy: true, ticks: 100, lots: 2, receivedAt: T0 + 1 }); // 2000 USDC
      const o2 = await place({ trader: A, market: BTC_USDC, isBuy: true, ticks: 10, lots: 2, receivedAt: T0 + 2 }); // 2000 USDC
      const o3 = await place({ trader: A, isBuy: false, ticks: 200, lots: 3, receivedAt: T0 + 3 }); // WETH
      const o4 = await place({ trader: A, isBuy: true, ticks: 150, lots: 1, receivedAt: T0 + 4 }); // 1500 USDC
      const o5 = await place({ trader: A, isBuy: true, ticks: 90, lots: 1, receivedAt: T0 + 5 }); // 900 USDC
      // The trader's one cancel of its bucket: withdrawals and chain cancels never need it.
      const spent = await cancelOrders(engine, { trader: A, orderHashes: [], chainId: CHAIN });
      expect(spent.status).to.equal("done");

      const held = await requestWithdrawal(ledgerOf(engine), { chainId: CHAIN, trader: A, token: USDC, amount: 5_000n, eventId: "0xaa:1" });
      expect([held.hold, held.shortfall]).to.deep.equal([3_600n, 1_400n]);
      expect(held.orders.map((o) => o.orderHash).sort()).to.deep.equal([o1, o2, o4, o5].map((o) => o.orderHash).sort());

      const r = await cancelForWithdrawal(engine, { chainId: CHAIN, trader: A, token: USDC, amount: held.shortfall });
      expect(r.cancelled.map((c) => [c.orderHash, c.locked])).to.deep.equal([
        [o5.orderHash, 900n],
        [o4.orderHash, 1_500n],
      ]);
      expect([r.needed, r.uncovered, r.hold, r.shortfall, r.notCancelled]).to.deep.equal([1_400n, 0n, 5_000n, 0n, []]);

      const closes = await readCloses(db.redis, ETH_USDC.id, 0);
      expect(closes.map((c) => [c.orderHash, c.reason])).to.deep.equal([
        [o5.orderHash, "WITHDRAWAL"],
        [o4.orderHash, "WITHDRAWAL"],
      ]);
      expect(await readCloses(db.redis, BTC_USDC.id, 0)).to.deep.equal([]);
      expect(await getOrder(engine, { orderHash: o4.orderHash })).to.deep.include({ state: "cancelled", closeReason: "WITHDRAWAL" });
      for (const o of [o1, o2, o3]) expect((await getOrder(engine, { orderHash: o.orderHash }))!.state).to.equal("open");

      const b = (await balancesOf(engine, { trader: A }))[USDC];
      expect(b).to.deep.equal({ available: 1_000n, locked: 4_000n, pendingOut: 0n, pendingIn: 0n, withdrawalRequested: 5_000n, withdrawalHold: 5_000n });
      const [tooMuch] = await placeOrders(engine, [request({ trader: A, isBuy: true, ticks: 100, lots: 2 })]);
      expect(rejectedCode(tooMuch)).to.equal("INSUFFICIENT_FUNDS");
      accepted((await placeOrders(engine, [request({ trader: A, isBuy: true, ticks: 100, lots: 1 })]))[0]);

      // Handed again (a restart of the watcher), it cancels nothing more.
      const again = await cancelForWithdrawal(engine, { chainId: CHAIN, trader: A, token: USDC, amount: held.shortfall });
      expect([again.needed, again.cancelled]).to.deep.equal([0n, []]);
      await checkLedger(db.redis, [ETH_USDC, BTC_USDC], [A]);
    });

    it("cancels whole orders: the last one may unlock more than needed, and the rest goes to available", async () => {
      ({ engine } = await startEngine(db.redis));
      await fund(engine, A, { [USDC]: 3_000n, [WETH]: 0n, [WBTC]: 0n });
      const older = await place({ trader: A, isBuy: true, ticks: 100, lots: 1, receivedAt: T0 + 1 });
      const newer = await place({ trader: A, isBuy: true, ticks: 100, lots: 2, receivedAt: T0 + 2 });
      const held = await requestWithdrawal(ledgerOf(engine), { chainId: CHAIN, trader: A, token: USDC, amount: 500n, eventId: "0xab:0" });
      const r = await cancelForWithdrawal(engine, { chainId: CHAIN, trader: A, token: USDC, amount: held.shortfall });
      expect(r.cancelled.map((c) => c.orderHash)).to.deep.equal([newer.orderHash]);
      expect((await balancesOf(engine, { trader: A }))[USDC]).to.deep.include({ available: 1_500n, locked: 1_000n, withdrawalHold: 500n });
      expect((await getOrder(engine, { orderHash: older.orderHash }))!.state).to.equal("open");
    });

    it("cancels nothing without a pending request, and never more than what the hold still misses", async () => {
      ({ engine } = await startEngine(db.redis));
      await fund(engine, A, { [USDC]: 3_000n, [WETH]: 0n, [WBTC]: 0n });
      const o = await place({ trader: A, isBuy: true, ticks: 100, lots: 1 });
      const none = await cancelForWithdrawal(engine, { chainId: CHAIN, trader: A, token: USDC, amount: 1_000n });
      expect([none.needed, none.cancelled]).to.deep.equal([0n, []]);
      const held = await requestWithdrawal(ledgerOf(engine), { chainId: CHAIN, trader: A, token: USDC, amount: 3_000n, eventId: "0xac:0" });
      const r = await cancelForWithdrawal(engine, { chainId: CHAIN, trader: A, token: USDC, amount: held.shortfall + 500n });
      expect([r.needed, r.cancelled.map((c) => c.orderHash), r.uncovered, r.hold]).to.deep.equal([1_000n, [o.orderHash], 0n, 3_000n]);
    });
  });

  it("the race: a fill matched before the request, finalized before it settles, then skipped on chain: the unwind pays the debt and the ledger ends equal to the vault", async () => {
    ({ engine } = await startEngine(db.redis));
    await fund(engine, A, { [USDC]: 10_000n, [WETH]: 0n, [WBTC]: 0n });
    await fund(engine, B, { [USDC]: 0n, [WETH]: 5n * LOT, [WBTC]: 0n });
    // The vault as the chain sees it: nothing settled yet.
    const vault = new Map<string, bigint>([
      [`${A}/${USDC}`, 10_000n],
      [`${B}/${WETH}`, 5n * LOT],
    ]);
    await place({ trader: B, isBuy: false, ticks: 100, lots: 2 });
    const taker = await place({ trader: A, isBuy: true, ticks: 100, lots: 2 });
    expect(taker.fills).to.have.length(1);
    expect((await balancesOf(engine, { trader: A }))[USDC]).to.deep.include({ available: 10_000n - quote(2, 100), pendingOut: quote(2, 100) });

    // A asks for its whole vault balance: the ledger holds what is available; the rest is spent
    // by the matched fill, which no cancel can give back.
    const held = await requestWithdrawal(ledgerOf(engine), { chainId: CHAIN, trader: A, token: USDC, amount: 10_000n, eventId: "0xa1:0" });
    expect([held.hold, held.shortfall, held.orders]).to.deep.equal([8_000n, 2_000n, []]);
    const c = await cancelForWithdrawal(engine, { chainId: CHAIN, trader: A, token: USDC, amount: held.shortfall });
    expect([c.cancelled, c.uncovered]).to.deep.equal([[], 2_000n]);

    // The delay passes before the batch settles: the vault pays min(request, balance) = 10,000.
    const paid = await finalizeWithdrawal(ledgerOf(engine), { chainId: CHAIN, trader: A, token: USDC, amount: 10_000n, eventId: "0xa2:3" });
    vault.set(`${A}/${USDC}`, 0n);
    expect([paid.fromHold, paid.fromAvailable, paid.toDebt]).to.deep.equal([8_000n, 0n, 2_000n]);
    expect(vaultBalanceOf((await balancesOf(engine, { trader: A }))[USDC])).to.equal(0n);

    // The batch then skips the fill: A can no longer pay for it.
    const fills = await readFills(db.redis, ETH_USDC.id, 0);
    await unwindFillsOf(engine, fills.map((f) => ({ fillId: f.fillId, maker: f.maker, taker: f.taker })));
    const a = await balancesOf(engine, { trader: A });
    expect(a[USDC]).to.deep.equal({ available: 0n, locked: 0n, pendingOut: 0n, pendingIn: 0n });
    expect(a[WETH]).to.deep.equal({ available: 0n, locked: 0n, pendingOut: 0n, pendingIn: 0n });
    for (const t of [A, B, FEE_ACCOUNT]) {
      for (const [token, b] of Object.entries(await balancesOf(engine, { trader: t }))) {
        expect(vaultBalanceOf(b), `${t} ${token}`).to.equal(vault.get(`${t}/${token}`) ?? 0n);
        expect([b.pendingOut, b.pendingIn, b.withdrawalDebt ?? 0n], `${t} ${token}`).to.deep.equal([0n, 0n, 0n]);
      }
    }
  });

  describe("cancelNonce", () => {
    it("cancels the open order that used the nonce (reason CANCELLED, no cancel rate limit) and refuses the nonce later", async () => {
      ({ engine } = await startEngine(db.redis, { rateLimits: { cancel: { capacity: 1, refillPerSecond: 0 } } }));
      await fund(engine, A, { [USDC]: 10_000n, [WETH]: 0n, [WBTC]: 0n });
      const o = await place({ trader: A, isBuy: true, ticks: 100, lots: 3, nonce: 77n });
      expect((await cancelOrders(engine, { trader: A, orderHashes: [], chainId: CHAIN })).status).to.equal("done"); // the bucket is empty now

      const r = await cancelNonce(engine, { chainId: CHAIN, trader: A, nonce: 77n });
      expect([r.orderHash, r.recorded, r.order]).to.deep.equal([o.orderHash, false, { orderHash: o.orderHash, status: "cancelled", market: ETH_USDC.id, remainingAmount: 3n * LOT }]);
      expect((await readCloses(db.redis, ETH_USDC.id, 0)).map((c) => [c.orderHash, c.reason])).to.deep.equal([[o.orderHash, "CANCELLED"]]);
      expect((await balancesOf(engine, { trader: A }))[USDC]).to.deep.include({ available: 10_000n, locked: 0n });
      expect((await getBook(engine, { market: ETH_USDC.id })).bids).to.deep.equal([]);

      // Handed again: nothing changes.
      const before = await dumpKeys(db.redis, RATE_KEYS);
      const again = await cancelNonce(engine, { chainId: CHAIN, trader: A, nonce: 77n });
      expect(again.order).to.deep.include({ status: "rejected", code: "ORDER_NOT_OPEN" });
      expect(await dumpKeys(db.redis, RATE_KEYS)).to.deep.equal(before);

      const [reuse] = await placeOrders(engine, [request({ trader: A, isBuy: true, ticks: 100, lots: 1, nonce: 77n })]);
      expect(rejectedCode(reuse)).to.equal("DUPLICATE_ORDER");
    });

    it("records a nonce no order used yet, so that an order signed with it later is refused NONCE_CANCELLED", async () => {
      ({ engine } = await startEngine(db.redis));
      await fund(engine, A, { [USDC]: 10_000n, [WETH]: 0n, [WBTC]: 0n });
      const r = await cancelNonce(engine, { chainId: CHAIN, trader: A, nonce: 88n });
      expect([r.orderHash, r.recorded, r.order]).to.deep.equal([null, true, null]);
      expect((await cancelNonce(engine, { chainId: CHAIN, trader: A, nonce: 88n })).recorded).to.equal(false);
      const before = await dumpKeys(db.redis, RATE_KEYS);
      const [late] = await placeOrders(engine, [request({ trader: A, isBuy: true, ticks: 100, lots: 1, nonce: 88n })]);
      expect(late).to.deep.include({ status: "rejected", code: "NONCE_CANCELLED", details: { nonce: 88n } });
      expect(await dumpKeys(db.redis, RATE_KEYS)).to.deep.equal(before);
      // Another trader's nonce 88, and this trader's other nonces, are untouched.
      await fund(engine, B, { [USDC]: 10_000n, [WETH]: 0n, [WBTC]: 0n });
      accepted((await placeOrders(engine, [request({ trader: B, isBuy: true, ticks: 100, lots: 1, nonce: 88n })]))[0]);
      accepted((await placeOrders(engine, [request({ trader: A, isBuy: true, ticks: 100, lots: 1, nonce: 89n })]))[0]);
    });

    it("refuses a chain the engine does not serve, and a malformed trader or nonce, without a resynchronisation", async () => {
      ({ engine } = await startEngine(db.redis));
      const codes: string[] = [];
      for (const p of [
        cancelNonce(engine, { chainId: 1, trader: A, nonce: 1n }),
        cancelNonce(engine, { chainId: CHAIN, trader: "0x12" as Address, nonce: 1n }),
        cancelNonce(engine, { chainId: CHAIN, trader: A, nonce: -1n }),
        cancelForWithdrawal(engine, { chainId: 1, trader: A, token: USDC, amount: 1n }),
        cancelForWithdrawal(engine, { chainId: CHAIN, trader: A, token: USDC, amount: -1n }),
      ]) {
        codes.push(await p.then(() => "none", (e: { code: string }) => e.code));
      }
      expect(codes).to.deep.equal(Array(5).fill("ENGINE_BAD_REQUEST"));
      expect(engine.ctx.state.pendingResync).to.equal(undefined);
    });
  });
});
