/**
 * Settlement.settleBatch: which fills settle and which are skipped (with which reason code),
 * and that a skipped fill never takes the rest of its batch down with it.
 */
import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import {
  BatchBuilder,
  DEFAULT_PRICE,
  ONE_BASE,
  SkipReason,
  buildOrder,
  deploySettlementFixture,
  fundTraders,
  makeFill,
  compareForSettlement,
  makeTraders,
  sendSettleBatch,
  settle,
  signedOrder,
  traderSigner,
  vaultBalance,
  type FillArgs,
  type SettlementFixture,
  type Trader,
} from "../helpers/settlementFixture";
import { OrderFlags, UINT128_MAX, type Address, type Hex, type Order } from "../../operator/orders";

const QUOTE_UNIT = 10n ** 6n;
const HALF = ONE_BASE / 2n;
const HALF_QUOTE = (HALF * DEFAULT_PRICE) / ONE_BASE;
const START_BASE = 10n * ONE_BASE;
const START_QUOTE = 100_000n * QUOTE_UNIT;
/** The smallest base amount that is a whole number of quote atoms at DEFAULT_PRICE (1 quote atom). */
const ATOM = 500_000_000n;

interface Ctx {
  fx: SettlementFixture;
  maker: Trader;
  taker: Trader;
  other: Trader;
  /** Holds nothing in the vault. */
  poor: Trader;
  /** A third listed token (18 decimals), funded for maker, taker and other. */
  thirdAddress: Address;
  /** A token that was never listed. */
  unlistedAddress: Address;
}

async function batchFixture(): Promise<Ctx> {
  const fx = await deploySettlementFixture();
  const [maker, taker, other, poor] = makeTraders("settlement-batch", 4);
  const funded = [maker.address, taker.address, other.address];
  await fundTraders(fx, funded, START_BASE, START_QUOTE);
  const factory = await hre.ethers.getContractFactory("MockERC20");
  const third = await factory.deploy("Third", "THIRD", 18);
  const thirdAddress = (await third.getAddress()).toLowerCase() as Address;
  await fx.settlement.connect(fx.admin).listToken(thirdAddress);
  await third.mint(fx.funder.address, START_BASE * 3n);
  await third.connect(fx.funder).approve(fx.settlementAddress, START_BASE * 3n);
  for (const a of funded) await fx.settlement.connect(fx.funder).depositFor(a, thirdAddress, START_BASE);
  const unlisted = await factory.deploy("Unlisted", "UNL", 18);
  const unlistedAddress = (await unlisted.getAddress()).toLowerCase() as Address;
  return { fx, maker, taker, other, poor, thirdAddress, unlistedAddress };
}

/** Vault balances of (account, base) and (account, quote) for each account, flattened. */
async function snapshot(ctx: Ctx, accounts: string[] = [ctx.maker.address, ctx.taker.address, ctx.other.address]) {
  const { fx } = ctx;
  const pairs = accounts.flatMap((a) => [a, a]);
  const tokens = accounts.flatMap(() => [fx.baseAddress, fx.quoteAddress]);
  return fx.settlement.balancesOf([...pairs, ctx.fx.feeRecipient.address, ctx.fx.feeRecipient.address], [
    ...tokens,
    fx.baseAddress,
    fx.quoteAddress,
  ]);
}

/** One maker order (default: sell 1 base at DEFAULT_PRICE) against one taker order (default: the crossing buy). */
async function settlePair(
  ctx: Ctx,
  makerFields: Partial<Order> = {},
  takerFields: Partial<Order> = {},
  amount = HALF,
  fees: [number, number] = [0, 0],
  traders: [Trader, Trader] = [ctx.maker, ctx.taker],
) {
  const batch = new BatchBuilder(ctx.fx);
  const makerSide = makerFields.isBuy ?? false;
  const m = batch.signed(traders[0], { isBuy: makerSide, ...makerFields });
  const t = batch.signed(traders[1], { isBuy: !makerSide, ...takerFields });
  batch.fill(m, t, amount, fees[0], fees[1]);
  return { outcome: await batch.settle(), maker: batch.orders[m], taker: batch.orders[t] };
}

async function expectSkipped(ctx: Ctx, reason: number, ...args: Parameters<typeof settlePair> extends [Ctx, ...infer R] ? R : never) {
  const before = await snapshot(ctx);
  const { outcome } = await settlePair(ctx, ...args);
  expect(outcome.skipped, `expected skip reason ${reason}`).to.deep.equal([{ fillId: 1n, reason }]);
  expect(outcome.filled).to.deep.equal([]);
  expect(await snapshot(ctx)).to.deep.equal(before);
}

async function expectSettled(ctx: Ctx, ...args: Parameters<typeof settlePair> extends [Ctx, ...infer R] ? R : never) {
  const { outcome } = await settlePair(ctx, ...args);
  expect(outcome.skipped).to.deep.equal([]);
  expect(outcome.settled).to.equal(1n);
}

/**
 * settleBatch takes orders sorted by trader, then strictly increasing nonce: the same order
 * twice (or two orders sharing a nonce) must revert the whole batch with
 * SettlementOrdersNotSorted at the second one's sorted position, and move nothing.
 */
async function expectDuplicateRefused(ctx: Ctx, orders: Order[], signatures: Hex[], fills: FillArgs[]) {
  const sorted = [...orders].sort(compareForSettlement);
  const index = sorted.findIndex((o, i) => i > 0 && compareForSettlement(sorted[i - 1], o) === 0);
  expect(index).to.be.greaterThan(0);
  const before = await snapshot(ctx);
  const batchId = await ctx.fx.settlement.nextBatchId();
  await expect(sendSettleBatch(ctx.fx, batchId, orders, signatures, fills))
    .to.be.revertedWithCustomError(ctx.fx.settlement, "SettlementOrdersNotSorted")
    .withArgs(BigInt(index));
  expect(await snapshot(ctx)).to.deep.equal(before);
  expect(await ctx.fx.settlement.nextBatchId()).to.equal(batchId);
}

describe("Settlement.settleBatch", function () {
  describe("orders that can no longer settle", function () {
    it("skips a fill whose maker order was cancelled, and settles the rest", async function () {
      const ctx = await loadFixture(batchFixture);
      const { fx } = ctx;
      const batch = new BatchBuilder(fx);
      const cancelledMaker = batch.signed(ctx.maker, { isBuy: false });
      const taker1 = batch.signed(ctx.taker, { isBuy: true });
      const goodMaker = batch.signed(ctx.other, { isBuy: false });
      const taker2 = batch.signed(ctx.taker, { isBuy: true });
      const nonce = batch.orders[cancelledMaker].nonce;
      await expect(fx.settlement.connect(await traderSigner(ctx.maker.address)).cancelNonces([nonce]))
        .to.emit(fx.settlement, "NonceCancelled")
        .withArgs(hre.ethers.getAddress(ctx.maker.address), nonce, 0n);
      expect(await fx.settlement.isNonceSpent(ctx.maker.address, nonce)).to.equal(true);

      batch.fill(cancelledMaker, taker1, HALF);
      batch.fill(goodMaker, taker2, HALF);
      const outcome = await batch.settle();
      expect(outcome.skipped).to.deep.equal([{ fillId: 1n, reason: SkipReason.OrderCancelled }]);
      expect(outcome.filled.map((f) => f.fillId)).to.deep.equal([2n]);
      expect(outcome.settled).to.equal(1n);
      expect(await snapshot(ctx)).to.deep.equal([
        START_BASE, START_QUOTE, // maker: untouched
        START_BASE + HALF, START_QUOTE - HALF_QUOTE, // taker bought HALF once
        START_BASE - HALF, START_QUOTE + HALF_QUOTE, // other sold HALF
        0n, 0n,
      ]);
    });

    it("skips a fill whose taker order was cancelled (OrderCancelled)", async function () {
      const ctx = await loadFixture(batchFixture);
      const { order } = signedOrder(ctx.fx, ctx.taker, { isBuy: true });
      await ctx.fx.settlement.connect(await traderSigner(ctx.taker.address)).cancelNonces([order.nonce]);
      await expectSkipped(ctx, SkipReason.OrderCancelled, {}, { nonce: order.nonce });
    });

    it("stops the remaining fills of a partially filled order once its nonce is cancelled", async function () {
      const ctx = await loadFixture(batchFixture);
      const { outcome, maker } = await settlePair(ctx, { amount: ONE_BASE }, {}, HALF);
      expect(outcome.settled).to.equal(1n);
      await ctx.fx.settlement.connect(await traderSigner(ctx.maker.address)).cancelNonces([maker.nonce]);
      const taker = signedOrder(ctx.fx, ctx.taker, { isBuy: true });
      const again = await settle(ctx.fx, [maker, taker.order], ["0x", taker.signature], [makeFill(9n, 0, 1, HALF)]);
      expect(again.skipped).to.deep.equal([{ fillId: 9n, reason: SkipReason.OrderCancelled }]);
    });

    it("reports the filled amount of a partially filled order when its nonce is cancelled, and keeps it readable (NonceCancelled, filledAmount, nonceFill)", async function () {
      const ctx = await loadFixture(batchFixture);
      const { fx } = ctx;
      const { maker } = await settlePair(ctx, { amount: ONE_BASE }, {}, (ONE_BASE * 3n) / 10n);
      const trader = fx.settlement.connect(await traderSigner(ctx.maker.address));
      const fresh = signedOrder(fx, ctx.maker, { isBuy: false }).order;
      const makerAddress = hre.ethers.getAddress(ctx.maker.address);
      // One call cancels the partially filled order and a fresh one: each event says how much
      // of its order had been filled, so an indexer tells "cancelled at 0.3" from "cancelled unfilled".
      await expect(trader.cancelNonces([maker.nonce, fresh.nonce]))
        .to.emit(fx.settlement, "NonceCancelled")
        .withArgs(makerAddress, maker.nonce, (ONE_BASE * 3n) / 10n)
        .and.to.emit(fx.settlement, "NonceCancelled")
        .withArgs(makerAddress, fresh.nonce, 0n);
      // The order is closed for good at what it had filled.
      expect(await fx.settlement.isNonceSpent(ctx.maker.address, maker.nonce)).to.equal(true);
      expect(await fx.settlement.filledAmount(maker)).to.equal((ONE_BASE * 3n) / 10n);
      const [prefix, filled] = await fx.settlement.nonceFill(ctx.maker.address, maker.nonce);
      expect(prefix).to.equal(fx.hasher.hash(maker).slice(0, 34));
      expect(filled).to.equal((ONE_BASE * 3n) / 10n);
      // Cancelling it again reports nothing new: the nonce was already spent.
      await expect(trader.cancelNonces([maker.nonce])).to.emit(fx.settlement, "NonceCancelled").withArgs(makerAddress, maker.nonce, 0n);
    });

    it("skips a fill whose order's nonce is below the trader's raised minimum nonce (NonceBelowMinimum)", async function () {
      const ctx = await loadFixture(batchFixture);
      const { order } = signedOrder(ctx.fx, ctx.maker, { isBuy: false });
      await expect(ctx.fx.settlement.connect(await traderSigner(ctx.maker.address)).raiseMinNonce(order.nonce + 1n))
        .to.emit(ctx.fx.settlement, "MinNonceRaised")
        .withArgs(hre.ethers.getAddress(ctx.maker.address), order.nonce + 1n);
      expect(await ctx.fx.settlement.minNonce(ctx.maker.address)).to.equal(order.nonce + 1n);
      await expectSkipped(ctx, SkipReason.NonceBelowMinimum, { nonce: order.nonce });
      await expectSkipped(ctx, SkipReason.NonceBelowMinimum, { nonce: 0n });
    });

    it("still settles an order whose nonce equals the new minimum nonce", async function () {
      const ctx = await loadFixture(batchFixture);
      await ctx.fx.settlement.connect(await traderSigner(ctx.maker.address)).raiseMinNonce(10n ** 12n);
      await expectSettled(ctx, { nonce: 10n ** 12n });
    });

    it("refuses to lower the minimum nonce or to set it again (SettlementMinNonceNotIncreasing)", async function () {
      const ctx = await loadFixture(batchFixture);
      const trader = ctx.fx.settlement.connect(await traderSigner(ctx.maker.address));
      await trader.raiseMinNonce(100n);
      await expect(trader.raiseMinNonce(100n))
        .to.be.revertedWithCustomError(ctx.fx.settlement, "SettlementMinNonceNotIncreasing")
        .withArgs(100n, 100n);
      await expect(trader.raiseMinNonce(99n))
        .to.be.revertedWithCustomError(ctx.fx.settlement, "SettlementMinNonceNotIncreasing")
        .withArgs(100n, 99n);
    });

    it("settles an order in the very second of its expiry, and skips it one second later (OrderExpired)", async function () {
      const ctx = await loadFixture(batchFixture);
      const expiry = BigInt(await time.latest()) + 1000n;
      await time.setNextBlockTimestamp(expiry);
      await expectSettled(ctx, { expiry });
      // The clock is now at `expiry`; the next block is later.
      await expectSkipped(ctx, SkipReason.OrderExpired, { expiry });
      await expectSkipped(ctx, SkipReason.OrderExpired, {}, { expiry });
    });

    it("skips every later fill of an order that a previous batch filled completely (OrderCancelled)", async function () {
      const ctx = await loadFixture(batchFixture);
      const { outcome, maker } = await settlePair(ctx, { amount: ONE_BASE }, { amount: ONE_BASE }, ONE_BASE);
      expect(outcome.settled).to.equal(1n);
      expect(await ctx.fx.settlement.isNonceSpent(ctx.maker.address, maker.nonce)).to.equal(true);
      expect(await ctx.fx.settlement.filledAmount(maker)).to.equal(0n);

      const taker = signedOrder(ctx.fx, ctx.taker, { isBuy: true });
      for (const signature of ["0x", signedOrder(ctx.fx, ctx.maker, maker).signature] as const) {
        const again = await settle(ctx.fx, [maker, taker.order], [signature, taker.signature], [makeFill(5n, 0, 1, ATOM)]);
        expect(again.skipped).to.deep.equal([{ fillId: 5n, reason: SkipReason.OrderCancelled }]);
      }
      expect(await vaultBalance(ctx.fx, ctx.maker.address, ctx.fx.baseAddress)).to.equal(START_BASE - ONE_BASE);
    });
  });

  describe("a nonce backs one order", function () {
    it("skips a second order that reuses a partially filled order's nonce (NonceInUse), and still fills the first in full", async function () {
      const ctx = await loadFixture(batchFixture);
      const { fx } = ctx;
      const first = signedOrder(fx, ctx.maker, { isBuy: false, amount: ONE_BASE });
      // The trader signs a second order under the same nonce (say, a replacement at a better
      // price): only one of the two may ever trade.
      const second = signedOrder(fx, ctx.maker, { isBuy: false, amount: ONE_BASE, nonce: first.order.nonce, price: DEFAULT_PRICE - QUOTE_UNIT });
      const taker = signedOrder(fx, ctx.taker, { isBuy: true, amount: 3n * ONE_BASE });
      const partly = await settle(fx, [first.order, taker.order], [first.signature, taker.signature], [makeFill(1n, 0, 1, HALF)]);
      expect(partly.settled).to.equal(1n);

      const before = await snapshot(ctx);
      const sibling = await settle(fx, [second.order, taker.order], [second.signature, "0x"], [makeFill(2n, 0, 1, HALF)]);
      expect(sibling.skipped).to.deep.equal([{ fillId: 2n, reason: SkipReason.NonceInUse }]);
      expect(await snapshot(ctx)).to.deep.equal(before);
      expect(await fx.settlement.filledAmount(second.order)).to.equal(0n);
      const [prefix, filled] = await fx.settlement.nonceFill(ctx.maker.address, first.order.nonce);
      expect(prefix).to.equal(fx.hasher.hash(first.order).slice(0, 34));
      expect(filled).to.equal(HALF);

      // The first order fills to the end, which spends the nonce for both.
      const rest = await settle(fx, [first.order, taker.order], ["0x", "0x"], [makeFill(3n, 0, 1, HALF)]);
      expect(rest.skipped).to.deep.equal([]);
      expect(await fx.settlement.isNonceSpent(ctx.maker.address, first.order.nonce)).to.equal(true);
      expect(await vaultBalance(fx, ctx.maker.address, fx.baseAddress)).to.equal(START_BASE - ONE_BASE);
      const after = await settle(fx, [second.order, taker.order], [second.signature, "0x"], [makeFill(4n, 0, 1, HALF)]);
      expect(after.skipped).to.deep.equal([{ fillId: 4n, reason: SkipReason.OrderCancelled }]);
    });

    it("skips a second order under the same nonce as a taker too, in the same batch as the first one's next fill", async function () {
      const ctx = await loadFixture(batchFixture);
      const { fx } = ctx;
      const first = signedOrder(fx, ctx.taker, { isBuy: true, amount: ONE_BASE });
      const second = signedOrder(fx, ctx.taker, { isBuy: true, amount: ONE_BASE, nonce: first.order.nonce, price: DEFAULT_PRICE + QUOTE_UNIT });
      const maker1 = signedOrder(fx, ctx.maker, { isBuy: false, amount: 2n * ONE_BASE });
      expect((await settle(fx, [maker1.order, first.order], [maker1.signature, first.signature], [makeFill(1n, 0, 1, HALF)])).settled).to.equal(1n);
      // A later batch: the second order is refused, and the first (listed in another batch) still fills.
      const maker2 = signedOrder(fx, ctx.other, { isBuy: false, amount: 2n * ONE_BASE });
      const refused = await settle(fx, [maker2.order, second.order], [maker2.signature, second.signature], [makeFill(2n, 0, 1, HALF)]);
      expect(refused.skipped).to.deep.equal([{ fillId: 2n, reason: SkipReason.NonceInUse }]);
      const ok = await settle(fx, [maker2.order, first.order], [maker2.signature, "0x"], [makeFill(3n, 0, 1, HALF)]);
      expect(ok.skipped).to.deep.equal([]);
      expect(await fx.settlement.isNonceSpent(ctx.taker.address, first.order.nonce)).to.equal(true);
    });
  });

  describe("fee caps, prices and amounts", function () {
    it("skips a fill whose maker fee is above the maker order's cap (MakerFeeAboveCap), and settles one at the cap", async function () {
      const ctx = await loadFixture(batchFixture);
      await expectSkipped(ctx, SkipReason.MakerFeeAboveCap, { maxMakerFeeBps: 10 }, {}, HALF, [11, 0]);
      await expectSettled(ctx, { maxMakerFeeBps: 10 }, {}, HALF, [10, 0]);
    });

    it("skips a fill whose taker fee is above the taker order's cap (TakerFeeAboveCap), and settles one at the cap", async function () {
      const ctx = await loadFixture(batchFixture);
      await expectSkipped(ctx, SkipReason.TakerFeeAboveCap, {}, { maxTakerFeeBps: 30 }, HALF, [0, 31]);
      await expectSkipped(ctx, SkipReason.TakerFeeAboveCap, {}, { maxTakerFeeBps: 0 }, HALF, [0, 1]);
      await expectSettled(ctx, {}, { maxTakerFeeBps: 30 }, HALF, [0, 30]);
    });

    it("holds each order to the cap of the role it plays: a maker's taker cap never limits its maker fee", async function () {
      const ctx = await loadFixture(batchFixture);
      // The maker accepts 50 bps as maker but nothing as taker; the taker the reverse.
      await expectSettled(
        ctx,
        { maxMakerFeeBps: 50, maxTakerFeeBps: 0 },
        { maxMakerFeeBps: 0, maxTakerFeeBps: 50 },
        HALF,
        [50, 50],
      );
      await expectSkipped(
        ctx,
        SkipReason.MakerFeeAboveCap,
        { maxMakerFeeBps: 0, maxTakerFeeBps: 50 },
        { maxMakerFeeBps: 50, maxTakerFeeBps: 50 },
        HALF,
        [50, 0],
      );
    });

    it("skips, without reverting the batch, a fill whose fee is above 100% of what a side receives, even under the order's cap", async function () {
      // An order may sign any uint16 cap; 65,535 bps reads as "any fee". A fee above 10,000 bps
      // would take more than the side receives; the fill must be skipped, not revert the batch.
      const ctx = await loadFixture(batchFixture);
      for (const fees of [[10_001, 0], [0, 10_001], [65_535, 65_535]] as [number, number][]) {
        const batch = new BatchBuilder(ctx.fx);
        const m = batch.signed(ctx.maker, { isBuy: false, maxMakerFeeBps: 65_535, maxTakerFeeBps: 65_535 });
        const t = batch.signed(ctx.taker, { isBuy: true, maxMakerFeeBps: 65_535, maxTakerFeeBps: 65_535 });
        const gm = batch.signed(ctx.other, { isBuy: false });
        const gt = batch.signed(ctx.taker, { isBuy: true });
        batch.fill(m, t, HALF, fees[0], fees[1]);
        batch.fill(gm, gt, HALF);
        const before = await vaultBalance(ctx.fx, ctx.maker.address, ctx.fx.baseAddress);
        const outcome = await batch.settle();
        expect(outcome.filled.map((f) => f.fillId)).to.deep.equal([2n]);
        expect(outcome.skipped).to.have.length(1);
        expect(outcome.skipped[0].fillId).to.equal(1n);
        expect([SkipReason.MakerFeeAboveCap, SkipReason.TakerFeeAboveCap, SkipReason.OrderOutOfRange]).to.include(
          outcome.skipped[0].reason,
        );
        expect(await vaultBalance(ctx.fx, ctx.maker.address, ctx.fx.baseAddress)).to.equal(before);
      }
    });

    it("skips an order whose signed fee cap is above 10,000 bps (OrderOutOfRange), whatever the fill charges", async function () {
      const ctx = await loadFixture(batchFixture);
      await expectSkipped(ctx, SkipReason.OrderOutOfRange, { maxMakerFeeBps: 10_001 });
      await expectSkipped(ctx, SkipReason.OrderOutOfRange, {}, { maxTakerFeeBps: 65_535 });
      await expectSkipped(ctx, SkipReason.OrderOutOfRange, { maxTakerFeeBps: 10_001 }); // even the cap of the other role
      await expectSettled(ctx, { maxMakerFeeBps: 10_000, maxTakerFeeBps: 10_000 }, { maxMakerFeeBps: 10_000, maxTakerFeeBps: 10_000 });
    });

    it("skips a fill whose quote amount is 2^128 or more (InexactAmount), and settles one just below", async function () {
      const ctx = await loadFixture(batchFixture);
      const { fx } = ctx;
      // A 0-decimal base token: price x base amount is the quote amount itself.
      const lot = await (await hre.ethers.getContractFactory("MockERC20")).deploy("Lot", "LOT", 0);
      const lotAddress = (await lot.getAddress()).toLowerCase() as Address;
      await fx.settlement.connect(fx.admin).listToken(lotAddress);
      await lot.mint(fx.funder.address, 2n ** 64n);
      await lot.connect(fx.funder).approve(fx.settlementAddress, 2n ** 64n);
      await fx.settlement.connect(fx.funder).depositFor(ctx.maker.address, lotAddress, 2n ** 64n);
      await fundTraders(fx, [ctx.taker.address], 0n, 2n ** 128n);
      const market = { baseToken: lotAddress, price: 2n ** 64n, amount: 2n ** 64n };
      await expectSkipped(ctx, SkipReason.InexactAmount, market, market, 2n ** 64n); // quote = 2^128
      const { outcome } = await settlePair(ctx, market, market, 2n ** 64n - 1n); // quote = 2^128 - 2^64
      expect(outcome.skipped).to.deep.equal([]);
      expect(outcome.filled[0].quoteAmount).to.equal(2n ** 128n - 2n ** 64n);
      expect(await vaultBalance(fx, ctx.maker.address, fx.quoteAddress)).to.equal(START_QUOTE + 2n ** 128n - 2n ** 64n);
    });

    it("skips a fill whose prices do not cross, against a resting sell and against a resting buy (PricesDoNotCross)", async function () {
      const ctx = await loadFixture(batchFixture);
      await expectSkipped(ctx, SkipReason.PricesDoNotCross, { isBuy: false, price: DEFAULT_PRICE }, { price: DEFAULT_PRICE - 1n });
      await expectSkipped(ctx, SkipReason.PricesDoNotCross, { isBuy: true, price: DEFAULT_PRICE }, { price: DEFAULT_PRICE + 1n });
      await expectSettled(ctx, { isBuy: false, price: DEFAULT_PRICE }, { price: DEFAULT_PRICE });
      await expectSettled(ctx, { isBuy: true, price: DEFAULT_PRICE }, { price: DEFAULT_PRICE });
    });

    it("skips a fill whose base amount times price is not a whole number of quote atoms (InexactAmount)", async function () {
      const ctx = await loadFixture(batchFixture);
      // 1 base atom at 2,000e6 quote atoms per 1e18 base atoms = 2e-9 quote atoms.
      await expectSkipped(ctx, SkipReason.InexactAmount, {}, {}, 1n);
      await expectSkipped(ctx, SkipReason.InexactAmount, {}, {}, HALF + 1n);
      // 5e8 base atoms x 2e9 = 1e18: exactly one quote atom.
      await expectSettled(ctx, {}, {}, ATOM);
    });

    it("skips an order whose price or amount is zero or above 2^128 - 1 (OrderOutOfRange)", async function () {
      const ctx = await loadFixture(batchFixture);
      await expectSkipped(ctx, SkipReason.OrderOutOfRange, { price: 0n });
      await expectSkipped(ctx, SkipReason.OrderOutOfRange, { amount: 0n });
      await expectSkipped(ctx, SkipReason.OrderOutOfRange, { price: UINT128_MAX + 1n });
      await expectSkipped(ctx, SkipReason.OrderOutOfRange, {}, { amount: UINT128_MAX + 1n });
      await expectSkipped(ctx, SkipReason.OrderOutOfRange, {}, { price: 2n ** 256n - 1n });
      // The largest in-range amount is fine.
      await expectSettled(ctx, {}, { amount: UINT128_MAX });
    });

    it("skips a malformed fill: index out of range, maker equal to taker, or zero amount (FillMalformed)", async function () {
      const ctx = await loadFixture(batchFixture);
      const batch = new BatchBuilder(ctx.fx);
      const m = batch.signed(ctx.maker, { isBuy: false });
      const t = batch.signed(ctx.taker, { isBuy: true });
      batch.fill(m, 2, HALF);
      batch.fill(7, t, HALF);
      batch.fill(m, m, HALF);
      batch.fill(m, t, 0n);
      batch.fill(65_535, t, HALF);
      batch.fill(m, t, HALF);
      const outcome = await batch.settle();
      expect(outcome.skipped).to.deep.equal(
        [1n, 2n, 3n, 4n, 5n].map((fillId) => ({ fillId, reason: SkipReason.FillMalformed })),
      );
      expect(outcome.filled.map((f) => f.fillId)).to.deep.equal([6n]);
    });
  });

  describe("markets, tokens and flags", function () {
    it("skips a fill whose base token was never listed (TokenNotListed)", async function () {
      const ctx = await loadFixture(batchFixture);
      const market = { baseToken: ctx.unlistedAddress };
      await expectSkipped(ctx, SkipReason.TokenNotListed, market, market);
    });

    it("skips a fill whose quote token was never listed (TokenNotListed)", async function () {
      const ctx = await loadFixture(batchFixture);
      const market = { quoteToken: ctx.unlistedAddress };
      const before = await snapshot(ctx);
      const { outcome } = await settlePair(ctx, market, market);
      expect(outcome.filled).to.deep.equal([]);
      expect(outcome.skipped.map((s) => s.reason)).to.deep.equal([SkipReason.TokenNotListed]);
      expect(await snapshot(ctx)).to.deep.equal(before);
    });

    it("skips a post-only order used as taker (FlagViolation), and settles it as maker", async function () {
      const ctx = await loadFixture(batchFixture);
      await expectSkipped(ctx, SkipReason.FlagViolation, {}, { flags: OrderFlags.PostOnly });
      await expectSettled(ctx, { flags: OrderFlags.PostOnly });
    });

    it("skips an IOC order used as maker (FlagViolation), and settles it as taker", async function () {
      const ctx = await loadFixture(batchFixture);
      await expectSkipped(ctx, SkipReason.FlagViolation, { flags: OrderFlags.IOC });
      await expectSettled(ctx, {}, { flags: OrderFlags.IOC });
    });

    it("skips an order with unknown flag bits, as maker or as taker (FlagViolation)", async function () {
      const ctx = await loadFixture(batchFixture);
      for (const flags of [4, 8, 128, 255, OrderFlags.PostOnly | 4]) {
        await expectSkipped(ctx, SkipReason.FlagViolation, { flags });
        await expectSkipped(ctx, SkipReason.FlagViolation, {}, { flags });
      }
    });

    it("skips a fill between orders of different markets or on the same side (MarketMismatch)", async function () {
      const ctx = await loadFixture(batchFixture);
      await expectSkipped(ctx, SkipReason.MarketMismatch, {}, { baseToken: ctx.thirdAddress });
      await expectSkipped(ctx, SkipReason.MarketMismatch, {}, { quoteToken: ctx.thirdAddress });
      await expectSkipped(ctx, SkipReason.MarketMismatch, { isBuy: false }, { isBuy: false });
      await expectSkipped(ctx, SkipReason.MarketMismatch, { isBuy: true }, { isBuy: true });
      const same = { baseToken: ctx.fx.baseAddress, quoteToken: ctx.fx.baseAddress };
      await expectSkipped(ctx, SkipReason.MarketMismatch, same, same);
    });
  });

  describe("amounts and funding", function () {
    it("skips the fill that would take an order past its amount within one batch (Overfilled), and settles the others", async function () {
      const ctx = await loadFixture(batchFixture);
      const batch = new BatchBuilder(ctx.fx);
      const m = batch.signed(ctx.maker, { isBuy: false, amount: ONE_BASE });
      const t1 = batch.signed(ctx.taker, { isBuy: true, amount: ONE_BASE });
      const t2 = batch.signed(ctx.other, { isBuy: true, amount: ONE_BASE });
      batch.fill(m, t1, (ONE_BASE * 6n) / 10n);
      batch.fill(m, t2, (ONE_BASE * 6n) / 10n); // maker: 1.2 > 1
      batch.fill(m, t2, (ONE_BASE * 4n) / 10n); // exactly the rest
      batch.fill(m, t1, ATOM); // maker now full
      const outcome = await batch.settle();
      expect(outcome.skipped).to.deep.equal([
        { fillId: 2n, reason: SkipReason.Overfilled },
        { fillId: 4n, reason: SkipReason.Overfilled },
      ]);
      expect(outcome.filled.map((f) => f.fillId)).to.deep.equal([1n, 3n]);
      expect(await ctx.fx.settlement.isNonceSpent(ctx.maker.address, batch.orders[m].nonce)).to.equal(true);
      expect(await vaultBalance(ctx.fx, ctx.maker.address, ctx.fx.baseAddress)).to.equal(START_BASE - ONE_BASE);
    });

    it("skips a taker fill past the taker's amount within one batch (Overfilled)", async function () {
      const ctx = await loadFixture(batchFixture);
      const batch = new BatchBuilder(ctx.fx);
      const m1 = batch.signed(ctx.maker, { isBuy: false, amount: ONE_BASE });
      const m2 = batch.signed(ctx.other, { isBuy: false, amount: ONE_BASE });
      const t = batch.signed(ctx.taker, { isBuy: true, amount: ONE_BASE });
      batch.fill(m1, t, (ONE_BASE * 7n) / 10n);
      batch.fill(m2, t, (ONE_BASE * 4n) / 10n);
      const outcome = await batch.settle();
      expect(outcome.skipped).to.deep.equal([{ fillId: 2n, reason: SkipReason.Overfilled }]);
    });

    it("skips a fill that would overfill an order across batches, then fills exactly the remainder", async function () {
      const ctx = await loadFixture(batchFixture);
      const { fx } = ctx;
      const { outcome, maker } = await settlePair(ctx, { amount: ONE_BASE }, { amount: 2n * ONE_BASE }, (ONE_BASE * 6n) / 10n);
      expect(outcome.settled).to.equal(1n);
      expect(await fx.settlement.filledAmount(maker)).to.equal((ONE_BASE * 6n) / 10n);
      expect(await fx.settlement.isNonceSpent(ctx.maker.address, maker.nonce)).to.equal(false);

      const t2 = signedOrder(fx, ctx.taker, { isBuy: true, amount: 2n * ONE_BASE });
      const over = await settle(fx, [maker, t2.order], ["0x", t2.signature], [makeFill(1n, 0, 1, (ONE_BASE * 4n) / 10n + ATOM)]);
      expect(over.skipped).to.deep.equal([{ fillId: 1n, reason: SkipReason.Overfilled }]);
      expect(await fx.settlement.filledAmount(maker)).to.equal((ONE_BASE * 6n) / 10n);

      const rest = await settle(fx, [maker, t2.order], ["0x", t2.signature], [makeFill(2n, 0, 1, (ONE_BASE * 4n) / 10n)]);
      expect(rest.skipped).to.deep.equal([]);
      expect(await fx.settlement.filledAmount(maker)).to.equal(0n);
      expect(await fx.settlement.isNonceSpent(ctx.maker.address, maker.nonce)).to.equal(true);
      expect(await vaultBalance(fx, ctx.maker.address, fx.baseAddress)).to.equal(START_BASE - ONE_BASE);
    });

    it("accumulates an order's filled amount over several batches, each taking it with an empty signature", async function () {
      const ctx = await loadFixture(batchFixture);
      const { fx } = ctx;
      const maker = signedOrder(fx, ctx.maker, { isBuy: false, amount: ONE_BASE });
      const tenth = ONE_BASE / 10n;
      let filled = 0n;
      for (const [i, tenths] of [2n, 3n, 4n].entries()) {
        const taker = signedOrder(fx, ctx.taker, { isBuy: true });
        const outcome = await settle(fx, [maker.order, taker.order], [i === 0 ? maker.signature : "0x", taker.signature], [
          makeFill(BigInt(i + 1), 0, 1, tenths * tenth),
        ]);
        expect(outcome.skipped).to.deep.equal([]);
        filled += tenths * tenth;
        expect(await fx.settlement.filledAmount(maker.order)).to.equal(filled);
      }
      // 9 tenths filled: 2 more tenths overfill, 1 more completes it.
      const taker = signedOrder(fx, ctx.taker, { isBuy: true });
      const over = await settle(fx, [maker.order, taker.order], ["0x", taker.signature], [
        makeFill(4n, 0, 1, 2n * tenth),
        makeFill(5n, 0, 1, tenth),
      ]);
      expect(over.skipped).to.deep.equal([{ fillId: 4n, reason: SkipReason.Overfilled }]);
      expect(over.filled.map((f) => f.fillId)).to.deep.equal([5n]);
      expect(await fx.settlement.filledAmount(maker.order)).to.equal(0n);
      expect(await fx.settlement.isNonceSpent(ctx.maker.address, maker.order.nonce)).to.equal(true);
    });

    it("skips a fill whose selling maker lacks the base (MakerUnfunded)", async function () {
      const ctx = await loadFixture(batchFixture);
      await expectSkipped(ctx, SkipReason.MakerUnfunded, { isBuy: false }, {}, HALF, [0, 0], [ctx.poor, ctx.taker]);
      const big = { amount: 11n * ONE_BASE };
      await expectSkipped(ctx, SkipReason.MakerUnfunded, { isBuy: false, ...big }, big, START_BASE + 500_000_000n);
      await expectSettled(ctx, { isBuy: false, ...big }, big, START_BASE);
    });

    it("skips a fill whose buying maker lacks the quote (MakerUnfunded)", async function () {
      const ctx = await loadFixture(batchFixture);
      await expectSkipped(ctx, SkipReason.MakerUnfunded, { isBuy: true }, {}, HALF, [0, 0], [ctx.poor, ctx.taker]);
    });

    it("skips a fill whose buying taker lacks the quote (TakerUnfunded)", async function () {
      const ctx = await loadFixture(batchFixture);
      await expectSkipped(ctx, SkipReason.TakerUnfunded, { isBuy: false }, {}, HALF, [0, 0], [ctx.maker, ctx.poor]);
      // At 10,001 quote per base, the taker's 100,000 quote buys less than the maker's 10 base.
      const dear = { price: 10_001n * QUOTE_UNIT, amount: START_BASE };
      await expectSkipped(ctx, SkipReason.TakerUnfunded, { isBuy: false, ...dear }, dear, START_BASE, [0, 0], [ctx.maker, ctx.other]);
      const exact = { price: 10_000n * QUOTE_UNIT, amount: START_BASE };
      await expectSettled(ctx, { isBuy: false, ...exact }, exact, START_BASE, [0, 0], [ctx.maker, ctx.other]);
    });

    it("skips a fill whose selling taker lacks the base (TakerUnfunded)", async function () {
      const ctx = await loadFixture(batchFixture);
      await expectSkipped(ctx, SkipReason.TakerUnfunded, { isBuy: true }, {}, HALF, [0, 0], [ctx.maker, ctx.poor]);
    });

    it("lets a later fill spend what an earlier fill of the same batch paid in", async function () {
      const ctx = await loadFixture(batchFixture);
      const batch = new BatchBuilder(ctx.fx);
      // poor holds base only: it sells it, then buys again with the quote the first fill paid.
      await fundTraders(ctx.fx, [ctx.poor.address], ONE_BASE, 0n);
      const sell = batch.signed(ctx.poor, { isBuy: false, amount: ONE_BASE });
      const buy = batch.signed(ctx.taker, { isBuy: true, amount: ONE_BASE });
      const poorBuys = batch.signed(ctx.poor, { isBuy: true, amount: ONE_BASE });
      const otherSells = batch.signed(ctx.other, { isBuy: false, amount: ONE_BASE });
      batch.fill(sell, buy, ONE_BASE); // poor: +2,000 quote
      batch.fill(otherSells, poorBuys, ONE_BASE); // poor spends it
      const outcome = await batch.settle();
      expect(outcome.skipped).to.deep.equal([]);
      expect(await vaultBalance(ctx.fx, ctx.poor.address, ctx.fx.baseAddress)).to.equal(ONE_BASE);
      expect(await vaultBalance(ctx.fx, ctx.poor.address, ctx.fx.quoteAddress)).to.equal(0n);
    });

    it("does not let one trader's orders in two markets spend the same quote balance twice in one batch", async function () {
      const ctx = await loadFixture(batchFixture);
      const { fx } = ctx;
      // poor holds exactly 2,000 quote: enough for 1 base, or for 1 THIRD at 2,000, not both.
      await fundTraders(fx, [ctx.poor.address], 0n, 2_000n * QUOTE_UNIT);
      const third = { baseToken: ctx.thirdAddress };
      const batch = new BatchBuilder(fx);
      const buyBase = batch.signed(ctx.poor, { isBuy: true });
      const buyThird = batch.signed(ctx.poor, { ...third, isBuy: true });
      batch.fill(batch.signed(ctx.maker, { isBuy: false }), buyBase, ONE_BASE);
      batch.fill(batch.signed(ctx.other, { ...third, isBuy: false }), buyThird, ONE_BASE);
      batch.fill(batch.signed(ctx.maker, { ...third, isBuy: false }), buyThird, ATOM);
      const outcome = await batch.settle();
      expect(outcome.filled.map((f) => f.fillId)).to.deep.equal([1n]);
      expect(outcome.skipped).to.deep.equal([
        { fillId: 2n, reason: SkipReason.TakerUnfunded },
        { fillId: 3n, reason: SkipReason.TakerUnfunded },
      ]);
      expect(await vaultBalance(fx, ctx.poor.address, fx.quoteAddress)).to.equal(0n);
      expect(await vaultBalance(fx, ctx.poor.address, fx.baseAddress)).to.equal(ONE_BASE);
      expect(await vaultBalance(fx, ctx.poor.address, ctx.thirdAddress)).to.equal(0n);
    });

    it("does not let two fills of one batch spend the same balance twice", async function () {
      const ctx = await loadFixture(batchFixture);
      await fundTraders(ctx.fx, [ctx.poor.address], ONE_BASE, 0n);
      const batch = new BatchBuilder(ctx.fx);
      const s1 = batch.signed(ctx.poor, { isBuy: false, amount: ONE_BASE });
      const s2 = batch.signed(ctx.poor, { isBuy: false, amount: ONE_BASE });
      const b = batch.signed(ctx.taker, { isBuy: true, amount: 2n * ONE_BASE });
      batch.fill(s1, b, ONE_BASE);
      batch.fill(s2, b, ONE_BASE);
      const outcome = await batch.settle();
      expect(outcome.skipped).to.deep.equal([{ fillId: 2n, reason: SkipReason.MakerUnfunded }]);
      expect(await vaultBalance(ctx.fx, ctx.poor.address, ctx.fx.baseAddress)).to.equal(0n);
    });

    it("reverts a batch that lists the same order twice (SettlementOrdersNotSorted at the second copy), moving nothing", async function () {
      const ctx = await loadFixture(batchFixture);
      const maker = signedOrder(ctx.fx, ctx.maker, { isBuy: false, amount: ONE_BASE });
      const taker = signedOrder(ctx.fx, ctx.taker, { isBuy: true, amount: 3n * ONE_BASE });
      // Were the copy accepted, fills 1 and 2 would sell the maker's 1 base twice.
      await expectDuplicateRefused(
        ctx,
        [maker.order, taker.order, maker.order],
        [maker.signature, taker.signature, maker.signature],
        [makeFill(1n, 2, 1, ONE_BASE), makeFill(2n, 0, 1, ONE_BASE)],
      );
      // Listed once, the same fills settle one and find the order full on the other.
      const outcome = await settle(ctx.fx, [maker.order, taker.order], [maker.signature, taker.signature], [
        makeFill(1n, 0, 1, ONE_BASE),
        makeFill(2n, 0, 1, ONE_BASE),
      ]);
      expect(outcome.filled.map((f) => f.fillId)).to.deep.equal([1n]);
      expect(outcome.skipped).to.deep.equal([{ fillId: 2n, reason: SkipReason.Overfilled }]);
      expect(await vaultBalance(ctx.fx, ctx.maker.address, ctx.fx.baseAddress)).to.equal(START_BASE - ONE_BASE);
    });

    it("reverts a later batch that lists a partially filled order twice, and keeps its filled amount", async function () {
      const ctx = await loadFixture(batchFixture);
      const { maker } = await settlePair(ctx, { amount: ONE_BASE }, { amount: ONE_BASE }, HALF);
      const taker = signedOrder(ctx.fx, ctx.taker, { isBuy: true, amount: ONE_BASE });
      await expectDuplicateRefused(ctx, [maker, taker.order, maker], ["0x", taker.signature, "0x"], [
        makeFill(1n, 0, 1, HALF),
        makeFill(2n, 2, 1, HALF),
      ]);
      expect(await ctx.fx.settlement.filledAmount(maker)).to.equal(HALF);
    });

    it("reverts a batch with two different orders of one trader under the same nonce (SettlementOrdersNotSorted)", async function () {
      const ctx = await loadFixture(batchFixture);
      const first = signedOrder(ctx.fx, ctx.maker, { isBuy: false });
      const second = signedOrder(ctx.fx, ctx.maker, { isBuy: false, nonce: first.order.nonce, price: DEFAULT_PRICE - QUOTE_UNIT });
      const taker = signedOrder(ctx.fx, ctx.taker, { isBuy: true, amount: 2n * ONE_BASE });
      await expectDuplicateRefused(
        ctx,
        [first.order, second.order, taker.order],
        [first.signature, second.signature, taker.signature],
        [makeFill(1n, 0, 2, HALF), makeFill(2n, 1, 2, HALF)],
      );
    });
  });

  describe("one bad fill never reverts a batch", function () {
    it("settles the valid fills of a batch that mixes in one fill for every skip reason, with exact balances", async function () {
      const ctx = await loadFixture(batchFixture);
      const { fx } = ctx;
      const [lowNonce, cancels] = makeTraders("settlement-batch-mixed", 2);
      await fundTraders(fx, [lowNonce.address, cancels.address], START_BASE, START_QUOTE);
      await fx.settlement.connect(await traderSigner(lowNonce.address)).raiseMinNonce(10n ** 15n);
      // A wallet that burns all the gas it is given, with two orders.
      const burner = await (await hre.ethers.getContractFactory("MockERC1271Wallet")).deploy(ctx.other.address, 9);
      const burnerAddress = (await burner.getAddress()).toLowerCase() as Address;
      await fundTraders(fx, [burnerAddress], START_BASE, 0n);
      // An order of `other`, partially filled by an earlier batch; a sibling reuses its nonce.
      const { maker: partial } = await settlePair(ctx, { amount: ONE_BASE }, {}, HALF, [0, 0], [ctx.other, ctx.taker]);
      const now = BigInt(await time.latest());

      const b = new BatchBuilder(fx);
      const sell = (trader: Trader, fields: Partial<Order> = {}) => b.signed(trader, { isBuy: false, ...fields });
      const buy = (trader: Trader, fields: Partial<Order> = {}) => b.signed(trader, { isBuy: true, ...fields });
      const expected: { fillId: bigint; reason: number }[] = [];
      const skip = (reason: number, fillId: bigint) => expected.push({ fillId, reason });

      const good1 = b.fill(sell(ctx.maker), buy(ctx.taker), HALF, 10, 30);
      skip(SkipReason.FillMalformed, b.fill(sell(ctx.maker), 999, HALF));
      const badSig = b.add(signedOrder(fx, ctx.maker, { isBuy: false }).order, signedOrder(fx, ctx.other, {}).signature);
      skip(SkipReason.BadSignature, b.fill(badSig, buy(ctx.taker), HALF));
      const cancelled = sell(cancels);
      skip(SkipReason.OrderCancelled, b.fill(cancelled, buy(ctx.taker), HALF));
      skip(SkipReason.NonceBelowMinimum, b.fill(sell(lowNonce), buy(ctx.taker), HALF));
      skip(SkipReason.OrderExpired, b.fill(sell(ctx.maker, { expiry: now }), buy(ctx.taker), HALF));
      skip(SkipReason.Overfilled, b.fill(sell(ctx.maker), buy(ctx.taker, { amount: 2n * ONE_BASE }), 2n * ONE_BASE));
      skip(SkipReason.MakerUnfunded, b.fill(sell(ctx.poor), buy(ctx.taker), HALF));
      skip(SkipReason.TakerUnfunded, b.fill(sell(ctx.maker), buy(ctx.poor), HALF));
      skip(SkipReason.MakerFeeAboveCap, b.fill(sell(ctx.maker), buy(ctx.taker), HALF, 11, 0));
      skip(SkipReason.TakerFeeAboveCap, b.fill(sell(ctx.maker), buy(ctx.taker), HALF, 0, 31));
      skip(SkipReason.PricesDoNotCross, b.fill(sell(ctx.maker), buy(ctx.taker, { price: DEFAULT_PRICE - 1n }), HALF));
      skip(SkipReason.MarketMismatch, b.fill(sell(ctx.maker), sell(ctx.taker), HALF));
      skip(SkipReason.InexactAmount, b.fill(sell(ctx.maker), buy(ctx.taker), 3n));
      const unlisted = { baseToken: ctx.unlistedAddress };
      skip(SkipReason.TokenNotListed, b.fill(sell(ctx.maker, unlisted), buy(ctx.taker, unlisted), HALF));
      skip(SkipReason.FlagViolation, b.fill(sell(ctx.maker, { flags: OrderFlags.IOC }), buy(ctx.taker), HALF));
      skip(SkipReason.OrderOutOfRange, b.fill(sell(ctx.maker, { amount: 0n }), buy(ctx.taker), HALF));
      const burnerFirst = b.add(buildOrder(fx, burnerAddress, { isBuy: false }), "0x01");
      const burnerSecond = b.add(buildOrder(fx, burnerAddress, { isBuy: false }), "0x01");
      skip(SkipReason.BadSignature, b.fill(burnerFirst, buy(ctx.taker), HALF));
      skip(SkipReason.SignatureBudgetExhausted, b.fill(burnerSecond, buy(ctx.taker), HALF));
      skip(SkipReason.NonceInUse, b.fill(sell(ctx.other, { nonce: partial.nonce, price: DEFAULT_PRICE - QUOTE_UNIT }), buy(ctx.taker), HALF));
      const good2 = b.fill(sell(ctx.other), buy(ctx.maker), HALF, 0, 30);
      await fx.settlement.connect(await traderSigner(cancels.address)).cancelNonces([b.orders[cancelled].nonce]);

      const reasonsCovered = new Set(expected.map((e) => e.reason));
      expect(reasonsCovered.size).to.equal(Object.keys(SkipReason).length - 1);

      const before = await snapshot(ctx);
      const outcome = await b.settle();
      expect(outcome.skipped).to.deep.equal(expected);
      expect(outcome.filled.map((f) => f.fillId)).to.deep.equal([good1, good2]);
      expect(outcome.settled).to.equal(2n);
      expect(outcome.fillCount).to.equal(BigInt(b.fills.length));

      // good1: maker sells HALF to taker, maker fee 10 bps of quote, taker fee 30 bps of base.
      // good2: other sells HALF to maker, maker (other) fee 0, taker (maker) fee 30 bps of base.
      const makerFee1 = (HALF_QUOTE * 10n) / 10_000n;
      const takerFee1 = (HALF * 30n) / 10_000n;
      const takerFee2 = (HALF * 30n) / 10_000n;
      expect(await snapshot(ctx)).to.deep.equal([
        before[0] - HALF + (HALF - takerFee2), before[1] + HALF_QUOTE - makerFee1 - HALF_QUOTE,
        before[2] + HALF - takerFee1, before[3] - HALF_QUOTE,
        before[4] - HALF, before[5] + HALF_QUOTE,
        before[6] + takerFee1 + takerFee2, before[7] + makerFee1,
      ]);
      for (const trader of [cancels, lowNonce, ctx.poor]) {
        expect(await vaultBalance(fx, trader.address, fx.baseAddress)).to.equal(trader === ctx.poor ? 0n : START_BASE);
      }
      expect(await fx.settlement.nextBatchId()).to.equal(outcome.batchId + 1n);
    });

    it("consumes the batch id even when every fill is skipped, or when there are no fills", async function () {
      const ctx = await loadFixture(batchFixture);
      await expectSkipped(ctx, SkipReason.PricesDoNotCross, {}, { price: 1n });
      expect(await ctx.fx.settlement.nextBatchId()).to.equal(2n);
      const empty = await settle(ctx.fx, [], [], []);
      expect(empty.settled).to.equal(0n);
      expect(empty.fillCount).to.equal(0n);
      expect(await ctx.fx.settlement.nextBatchId()).to.equal(3n);
    });

    it("reverts a batch whose orders and signatures differ in length (SettlementLengthMismatch)", async function () {
      const ctx = await loadFixture(batchFixture);
      const m = signedOrder(ctx.fx, ctx.maker, { isBuy: false });
      const t = signedOrder(ctx.fx, ctx.taker, { isBuy: true });
      await expect(sendSettleBatch(ctx.fx, 1n, [m.order, t.order], [m.signature], []))
        .to.be.revertedWithCustomError(ctx.fx.settlement, "SettlementLengthMismatch")
        .withArgs(2n, 1n);
      await expect(sendSettleBatch(ctx.fx, 1n, [m.order], [m.signature, t.signature], []))
        .to.be.revertedWithCustomError(ctx.fx.settlement, "SettlementLengthMismatch")
        .withArgs(1n, 2n);
      expect(await ctx.fx.settlement.nextBatchId()).to.equal(1n);
    });

    it("reverts a batch whose orders are not sorted by trader, then strictly by nonce (SettlementOrdersNotSorted)", async function () {
      const ctx = await loadFixture(batchFixture);
      const b = new BatchBuilder(ctx.fx);
      const first = b.signed(ctx.maker, { isBuy: false });
      const second = b.signed(ctx.maker, { isBuy: false }); // same trader, higher nonce
      const buyer = b.signed(ctx.taker, { isBuy: true, amount: 2n * ONE_BASE });
      b.fill(first, buyer, HALF);
      b.fill(second, buyer, HALF);
      const sorted = [...b.orders].sort(compareForSettlement);
      const position = (i: number) => sorted.indexOf(b.orders[i]);
      // Swap the two orders of the same trader: nonces go down.
      const swapped = [...sorted];
      [swapped[position(first)], swapped[position(second)]] = [swapped[position(second)], swapped[position(first)]];
      const signatures = swapped.map((o) => b.signatures[b.orders.indexOf(o)]);
      const fills = [makeFill(1n, swapped.indexOf(b.orders[first]), swapped.indexOf(b.orders[buyer]), HALF)];
      await expect(sendSettleBatch(ctx.fx, 1n, swapped, signatures, fills, { keepOrder: true }))
        .to.be.revertedWithCustomError(ctx.fx.settlement, "SettlementOrdersNotSorted")
        .withArgs(BigInt(Math.max(position(first), position(second))));
      // Traders out of order.
      const reversed = [...sorted].reverse();
      await expect(
        sendSettleBatch(ctx.fx, 1n, reversed, reversed.map((o) => b.signatures[b.orders.indexOf(o)]), [], { keepOrder: true }),
      ).to.be.revertedWithCustomError(ctx.fx.settlement, "SettlementOrdersNotSorted");
      // Sorted, the same batch settles.
      expect((await b.settle({ batchId: 1n })).settled).to.equal(2n);
    });
  });
});
