/**
 * Settlement fills: the price a fill executes at, the fees each side pays on what it
 * receives, and the exact balance arithmetic, across token decimals and markets.
 */
import { expect } from "chai";
import hre from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import {
  BatchBuilder,
  DEFAULT_PRICE,
  ONE_BASE,
  deploySettlementFixture,
  fundTraders,
  makeTraders,
  vaultBalance,
  type SettlementFixture,
  type Trader,
} from "../helpers/settlementFixture";
import type { Address } from "../../operator/orders";
import type { MockERC20 } from "../../typechain-types";

const QUOTE_UNIT = 10n ** 6n;
const BPS = 10_000n;
const START_BASE = 10n * ONE_BASE;
const START_QUOTE = 100_000n * QUOTE_UNIT;

interface ListedToken {
  token: MockERC20;
  address: Address;
}

interface Ctx {
  fx: SettlementFixture;
  maker: Trader;
  taker: Trader;
  other: Trader;
  /** 0 decimals: price is quote atoms per base atom. */
  lot: ListedToken;
  /** 6 decimals. */
  base6: ListedToken;
  /** 18 decimals, used as a quote token. */
  quote18: ListedToken;
}

async function listToken(fx: SettlementFixture, symbol: string, decimals: number): Promise<ListedToken> {
  const token = await (await hre.ethers.getContractFactory("MockERC20")).deploy(symbol, symbol, decimals);
  const address = (await token.getAddress()).toLowerCase() as Address;
  await fx.settlement.connect(fx.admin).listToken(address);
  return { token, address };
}

/** Mints `amount` to the funder and deposits it for `trader`. */
async function fund(fx: SettlementFixture, { token, address }: ListedToken, trader: Address, amount: bigint) {
  await token.mint(fx.funder.address, amount);
  await token.connect(fx.funder).approve(fx.settlementAddress, amount);
  await fx.settlement.connect(fx.funder).depositFor(trader, address, amount);
}

async function fillsFixture(): Promise<Ctx> {
  const fx = await deploySettlementFixture();
  const [maker, taker, other] = makeTraders("settlement-fills", 3);
  await fundTraders(fx, [maker.address, taker.address, other.address], START_BASE, START_QUOTE);
  const lot = await listToken(fx, "LOT", 0);
  const base6 = await listToken(fx, "B6", 6);
  const quote18 = await listToken(fx, "Q18", 18);
  return { fx, maker, taker, other, lot, base6, quote18 };
}

/** Vault balances of base and quote for maker, taker and the fee recipient. */
async function balances(ctx: Ctx, base: string = ctx.fx.baseAddress, quote: string = ctx.fx.quoteAddress) {
  const fee = ctx.fx.feeRecipient.address;
  const accounts = [ctx.maker.address, ctx.taker.address, fee];
  const values = await ctx.fx.settlement.balancesOf(
    accounts.flatMap((a) => [a, a]),
    accounts.flatMap(() => [base, quote]),
  );
  return {
    makerBase: values[0],
    makerQuote: values[1],
    takerBase: values[2],
    takerQuote: values[3],
    feeBase: values[4],
    feeQuote: values[5],
  };
}

describe("Settlement fills", function () {
  describe("price", function () {
    it("executes at the maker's price: a taker buying with a higher limit pays the maker's price", async function () {
      const ctx = await loadFixture(fillsFixture);
      const b = new BatchBuilder(ctx.fx);
      const m = b.signed(ctx.maker, { isBuy: false, price: DEFAULT_PRICE });
      const t = b.signed(ctx.taker, { isBuy: true, price: 2_100n * QUOTE_UNIT });
      b.fill(m, t, ONE_BASE);
      const outcome = await b.settle();
      expect(outcome.filled[0].quoteAmount).to.equal(2_000n * QUOTE_UNIT);
      expect(await balances(ctx)).to.deep.equal({
        makerBase: START_BASE - ONE_BASE,
        makerQuote: START_QUOTE + 2_000n * QUOTE_UNIT,
        takerBase: START_BASE + ONE_BASE,
        takerQuote: START_QUOTE - 2_000n * QUOTE_UNIT,
        feeBase: 0n,
        feeQuote: 0n,
      });
    });

    it("executes at the maker's price: a taker selling with a lower limit receives the maker's price", async function () {
      const ctx = await loadFixture(fillsFixture);
      const b = new BatchBuilder(ctx.fx);
      const m = b.signed(ctx.maker, { isBuy: true, price: DEFAULT_PRICE });
      const t = b.signed(ctx.taker, { isBuy: false, price: 1_900n * QUOTE_UNIT });
      b.fill(m, t, ONE_BASE);
      const outcome = await b.settle();
      expect(outcome.filled[0].quoteAmount).to.equal(2_000n * QUOTE_UNIT);
      expect(await balances(ctx)).to.deep.equal({
        makerBase: START_BASE + ONE_BASE,
        makerQuote: START_QUOTE - 2_000n * QUOTE_UNIT,
        takerBase: START_BASE - ONE_BASE,
        takerQuote: START_QUOTE + 2_000n * QUOTE_UNIT,
        feeBase: 0n,
        feeQuote: 0n,
      });
    });

    it("fills one resting order at its own price against takers with different limits, with exact balances", async function () {
      const ctx = await loadFixture(fillsFixture);
      const b = new BatchBuilder(ctx.fx);
      const m = b.signed(ctx.maker, { isBuy: false, price: DEFAULT_PRICE, amount: 3n * ONE_BASE });
      for (const limit of [2_000n, 2_050n, 3_000n]) {
        b.fill(m, b.signed(ctx.taker, { isBuy: true, price: limit * QUOTE_UNIT }), ONE_BASE);
      }
      const outcome = await b.settle();
      expect(outcome.filled.map((f) => f.quoteAmount)).to.deep.equal([1n, 1n, 1n].map(() => 2_000n * QUOTE_UNIT));
      const after = await balances(ctx);
      expect(after.takerQuote).to.equal(START_QUOTE - 6_000n * QUOTE_UNIT);
      expect(after.makerQuote).to.equal(START_QUOTE + 6_000n * QUOTE_UNIT);
      expect(await ctx.fx.settlement.isNonceSpent(ctx.maker.address, b.orders[m].nonce)).to.equal(true);
    });

    it("prices by the base token's decimals: 2 units of a 6-decimal base at 3.5 units of an 18-decimal quote", async function () {
      const ctx = await loadFixture(fillsFixture);
      const { fx, base6, quote18 } = ctx;
      await fund(fx, base6, ctx.maker.address, 5n * 10n ** 6n);
      await fund(fx, quote18, ctx.taker.address, 10n * 10n ** 18n);
      const market = { baseToken: base6.address, quoteToken: quote18.address, price: 35n * 10n ** 17n };
      const b = new BatchBuilder(fx);
      const m = b.signed(ctx.maker, { ...market, isBuy: false, amount: 2n * 10n ** 6n });
      const t = b.signed(ctx.taker, { ...market, isBuy: true, amount: 2n * 10n ** 6n });
      b.fill(m, t, 2n * 10n ** 6n);
      const outcome = await b.settle();
      expect(outcome.filled[0].quoteAmount).to.equal(7n * 10n ** 18n);
      expect(await balances(ctx, base6.address, quote18.address)).to.deep.equal({
        makerBase: 3n * 10n ** 6n,
        makerQuote: 7n * 10n ** 18n,
        takerBase: 2n * 10n ** 6n,
        takerQuote: 3n * 10n ** 18n,
        feeBase: 0n,
        feeQuote: 0n,
      });
    });
  });

  describe("fees", function () {
    it("charges each side its fee on what it receives and credits the fee recipient, when the maker sells", async function () {
      const ctx = await loadFixture(fillsFixture);
      const b = new BatchBuilder(ctx.fx);
      const m = b.signed(ctx.maker, { isBuy: false, maxMakerFeeBps: 10 });
      const t = b.signed(ctx.taker, { isBuy: true, maxTakerFeeBps: 30 });
      b.fill(m, t, ONE_BASE, 10, 30);
      const outcome = await b.settle();
      const quote = 2_000n * QUOTE_UNIT;
      const makerFee = (quote * 10n) / BPS; // in quote: the maker sold, so it receives quote
      const takerFee = (ONE_BASE * 30n) / BPS; // in base: the taker bought
      expect(makerFee).to.equal(2n * QUOTE_UNIT);
      expect(takerFee).to.equal(3n * 10n ** 15n);
      expect(outcome.filled[0]).to.deep.include({ baseAmount: ONE_BASE, quoteAmount: quote, makerFee, takerFee });
      expect(await balances(ctx)).to.deep.equal({
        makerBase: START_BASE - ONE_BASE,
        makerQuote: START_QUOTE + quote - makerFee,
        takerBase: START_BASE + ONE_BASE - takerFee,
        takerQuote: START_QUOTE - quote,
        feeBase: takerFee,
        feeQuote: makerFee,
      });
    });

    it("charges each side its fee on what it receives and credits the fee recipient, when the maker buys", async function () {
      const ctx = await loadFixture(fillsFixture);
      const b = new BatchBuilder(ctx.fx);
      const m = b.signed(ctx.maker, { isBuy: true, maxMakerFeeBps: 7 });
      const t = b.signed(ctx.taker, { isBuy: false, maxTakerFeeBps: 25 });
      b.fill(m, t, ONE_BASE, 7, 25);
      const outcome = await b.settle();
      const quote = 2_000n * QUOTE_UNIT;
      const makerFee = (ONE_BASE * 7n) / BPS; // in base: the maker bought
      const takerFee = (quote * 25n) / BPS; // in quote: the taker sold
      expect(outcome.filled[0]).to.deep.include({ baseAmount: ONE_BASE, quoteAmount: quote, makerFee, takerFee });
      expect(await balances(ctx)).to.deep.equal({
        makerBase: START_BASE + ONE_BASE - makerFee,
        makerQuote: START_QUOTE - quote,
        takerBase: START_BASE - ONE_BASE,
        takerQuote: START_QUOTE + quote - takerFee,
        feeBase: makerFee,
        feeQuote: takerFee,
      });
    });

    it("rounds fees down, in the trader's favour", async function () {
      const ctx = await loadFixture(fillsFixture);
      const { fx, lot } = ctx;
      await fund(fx, lot, ctx.maker.address, 1_000n);
      // LOT has 0 decimals: 7 lots at 3 quote atoms each = 21 quote atoms.
      const market = { baseToken: lot.address, price: 3n, maxMakerFeeBps: 9_999, maxTakerFeeBps: 9_999 };
      const b = new BatchBuilder(fx);
      const m = b.signed(ctx.maker, { ...market, isBuy: false, amount: 7n });
      const t = b.signed(ctx.taker, { ...market, isBuy: true, amount: 7n });
      b.fill(m, t, 7n, 9_999, 1_500);
      const outcome = await b.settle();
      // maker: 21 x 0.9999 = 20.9979 -> 20; taker: 7 x 0.15 = 1.05 -> 1
      expect(outcome.filled[0]).to.deep.include({ baseAmount: 7n, quoteAmount: 21n, makerFee: 20n, takerFee: 1n });
      expect(await vaultBalance(fx, ctx.maker.address, fx.quoteAddress)).to.equal(START_QUOTE + 1n);
      expect(await vaultBalance(fx, ctx.taker.address, lot.address)).to.equal(6n);
      expect(await vaultBalance(fx, fx.feeRecipient.address, lot.address)).to.equal(1n);
      expect(await vaultBalance(fx, fx.feeRecipient.address, fx.quoteAddress)).to.equal(20n);
    });

    it("takes everything a side receives at a 100% fee", async function () {
      const ctx = await loadFixture(fillsFixture);
      const b = new BatchBuilder(ctx.fx);
      const m = b.signed(ctx.maker, { isBuy: false, maxMakerFeeBps: 10_000 });
      const t = b.signed(ctx.taker, { isBuy: true, maxTakerFeeBps: 10_000 });
      b.fill(m, t, ONE_BASE, 10_000, 10_000);
      const outcome = await b.settle();
      expect(outcome.skipped).to.deep.equal([]);
      const after = await balances(ctx);
      expect(after.makerQuote).to.equal(START_QUOTE);
      expect(after.takerBase).to.equal(START_BASE);
      expect(after.feeBase).to.equal(ONE_BASE);
      expect(after.feeQuote).to.equal(2_000n * QUOTE_UNIT);
    });

    it("emits Filled with both order hashes, the fill word as sent and the quote amount", async function () {
      const ctx = await loadFixture(fillsFixture);
      const b = new BatchBuilder(ctx.fx, 77n);
      const m = b.signed(ctx.maker, { isBuy: false });
      const t = b.signed(ctx.taker, { isBuy: true });
      b.fill(m, t, ONE_BASE / 4n, 5, 20);
      const quote = 500n * QUOTE_UNIT;
      const makerFee = (quote * 5n) / BPS;
      const takerFee = ((ONE_BASE / 4n) * 20n) / BPS;
      const outcome = await b.settle();
      expect(outcome.filled).to.deep.equal([
        {
          fillId: 77n,
          makerHash: ctx.fx.hasher.hash(b.orders[m]),
          takerHash: ctx.fx.hasher.hash(b.orders[t]),
          baseAmount: ONE_BASE / 4n,
          quoteAmount: quote,
          makerFeeBps: 5,
          takerFeeBps: 20,
          makerFee,
          takerFee,
        },
      ]);
      expect([outcome.batchId, outcome.fillCount, outcome.settled]).to.deep.equal([1n, 1n, 1n]);
      // The fees the event describes are the fees that moved.
      const after = await balances(ctx);
      expect(after.feeQuote).to.equal(makerFee);
      expect(after.feeBase).to.equal(takerFee);
      expect(after.makerQuote).to.equal(START_QUOTE + quote - makerFee);
      expect(after.takerBase).to.equal(START_BASE + ONE_BASE / 4n - takerFee);
    });

    it("credits the fee recipient the exact sum of fees of fills interleaved across markets in one batch", async function () {
      const ctx = await loadFixture(fillsFixture);
      const { fx, base6 } = ctx;
      await fund(fx, base6, ctx.maker.address, 100n * 10n ** 6n);
      const marketB = { baseToken: base6.address, price: 5n * QUOTE_UNIT };
      const b = new BatchBuilder(fx);
      const mA = b.signed(ctx.maker, { isBuy: false, amount: 3n * ONE_BASE });
      const mB = b.signed(ctx.maker, { ...marketB, isBuy: false, amount: 30n * 10n ** 6n });
      const expectedFees = { base: 0n, quote: 0n, base6: 0n };
      const plan: [number, bigint, number, number][] = [
        [mA, ONE_BASE, 10, 30],
        [mB, 10n * 10n ** 6n, 3, 11],
        [mA, ONE_BASE, 1, 2],
        [mB, 10n * 10n ** 6n, 10, 30],
        [mB, 10n * 10n ** 6n, 0, 0],
        [mA, ONE_BASE, 9, 29],
      ];
      for (const [maker, amount, makerBps, takerBps] of plan) {
        const isB = maker === mB;
        const t = b.signed(ctx.taker, { ...(isB ? marketB : {}), isBuy: true, amount });
        b.fill(maker, t, amount, makerBps, takerBps);
        const price = isB ? marketB.price : DEFAULT_PRICE;
        const scale = isB ? 10n ** 6n : ONE_BASE;
        expectedFees.quote += ((amount * price) / scale * BigInt(makerBps)) / BPS;
        if (isB) expectedFees.base6 += (amount * BigInt(takerBps)) / BPS;
        else expectedFees.base += (amount * BigInt(takerBps)) / BPS;
      }
      const outcome = await b.settle();
      expect(outcome.settled).to.equal(6n);
      const fee = fx.feeRecipient.address;
      expect(await vaultBalance(fx, fee, fx.baseAddress)).to.equal(expectedFees.base);
      expect(await vaultBalance(fx, fee, fx.quoteAddress)).to.equal(expectedFees.quote);
      expect(await vaultBalance(fx, fee, base6.address)).to.equal(expectedFees.base6);
      const sumFromEvents = outcome.filled.reduce((s, f) => s + f.makerFee, 0n);
      expect(sumFromEvents).to.equal(expectedFees.quote);
      for (const token of [fx.baseAddress, fx.quoteAddress, base6.address]) {
        const all = [ctx.maker.address, ctx.taker.address, ctx.other.address, fee];
        const sum = (await fx.settlement.balancesOf(all, all.map(() => token))).reduce((s, v) => s + v, 0n);
        expect(sum).to.equal(await fx.settlement.totalBalance(token));
      }
    });

    it("credits fees exactly when the fee recipient itself trades in the same batch", async function () {
      const ctx = await loadFixture(fillsFixture);
      const { fx } = ctx;
      // The maker becomes the fee recipient, then trades twice (fees on both sides of it).
      await fx.settlement.connect(fx.admin).setFeeRecipient(ctx.maker.address);
      const b = new BatchBuilder(fx);
      b.fill(b.signed(ctx.maker, { isBuy: false }), b.signed(ctx.taker, { isBuy: true }), ONE_BASE, 10, 30);
      b.fill(b.signed(ctx.other, { isBuy: false }), b.signed(ctx.maker, { isBuy: true }), ONE_BASE, 10, 30);
      const outcome = await b.settle();
      expect(outcome.settled).to.equal(2n);
      const quote = 2_000n * QUOTE_UNIT;
      const quoteFee = (quote * 10n) / BPS; // the two makers' fees, in quote
      const baseFee = (ONE_BASE * 30n) / BPS; // the two takers' fees, in base
      // maker: sold 1 base (+quote - its maker fee), bought 1 base (-quote, +base - its taker fee),
      // and received every fee of the batch as fee recipient.
      expect(await vaultBalance(fx, ctx.maker.address, fx.baseAddress)).to.equal(START_BASE - baseFee + 2n * baseFee);
      expect(await vaultBalance(fx, ctx.maker.address, fx.quoteAddress)).to.equal(START_QUOTE - quoteFee + 2n * quoteFee);
      expect(await vaultBalance(fx, ctx.taker.address, fx.baseAddress)).to.equal(START_BASE + ONE_BASE - baseFee);
      expect(await vaultBalance(fx, ctx.other.address, fx.quoteAddress)).to.equal(START_QUOTE + quote - quoteFee);
      for (const token of [fx.baseAddress, fx.quoteAddress]) {
        const all = [ctx.maker.address, ctx.taker.address, ctx.other.address, fx.feeRecipient.address];
        const sum = (await fx.settlement.balancesOf(all, all.map(() => token))).reduce((s, v) => s + v, 0n);
        expect(sum).to.equal(await fx.settlement.totalBalance(token));
      }
    });

    it("lets a trader trade with itself: it pays both fees and keeps the rest", async function () {
      const ctx = await loadFixture(fillsFixture);
      const b = new BatchBuilder(ctx.fx);
      const m = b.signed(ctx.maker, { isBuy: false });
      const t = b.signed(ctx.maker, { isBuy: true });
      b.fill(m, t, ONE_BASE, 10, 30);
      await b.settle();
      const after = await balances(ctx);
      expect(after.makerBase).to.equal(START_BASE - (ONE_BASE * 30n) / BPS);
      expect(after.makerQuote).to.equal(START_QUOTE - (2_000n * QUOTE_UNIT * 10n) / BPS);
      expect(after.feeBase).to.equal((ONE_BASE * 30n) / BPS);
      expect(after.feeQuote).to.equal((2_000n * QUOTE_UNIT * 10n) / BPS);
    });

    it("never charges a wrong fee on a quote amount so large that quote x feeBps exceeds 2^256: exact fee, or skipped", async function () {
      // LOT has 0 decimals, so price and base amount multiply straight into quote atoms:
      // 2^125 lots at 2^127 quote atoms each = 2^252 quote atoms (a balance a token can hold).
      const ctx = await loadFixture(fillsFixture);
      const { fx, lot, quote18 } = ctx;
      const baseAmount = 2n ** 125n;
      const price = 2n ** 127n;
      const quote = baseAmount * price;
      await fund(fx, lot, ctx.maker.address, baseAmount);
      await fund(fx, quote18, ctx.taker.address, quote);
      const market = { baseToken: lot.address, quoteToken: quote18.address, price, amount: baseAmount };
      const b = new BatchBuilder(fx);
      const m = b.signed(ctx.maker, { ...market, isBuy: false, maxMakerFeeBps: 30 });
      const t = b.signed(ctx.taker, { ...market, isBuy: true });
      b.fill(m, t, baseAmount, 30, 0);
      const outcome = await b.settle();
      const makerQuote = await vaultBalance(fx, ctx.maker.address, quote18.address);
      const feeQuote = await vaultBalance(fx, fx.feeRecipient.address, quote18.address);
      if (outcome.skipped.length === 1) {
        expect(makerQuote).to.equal(0n);
        expect(await vaultBalance(fx, ctx.taker.address, quote18.address)).to.equal(quote);
      } else {
        const fee = (quote * 30n) / BPS;
        expect(outcome.filled[0].makerFee, "maker fee in the Filled event").to.equal(fee);
        expect(feeQuote, "fee recipient's quote").to.equal(fee);
        expect(makerQuote, "maker's quote").to.equal(quote - fee);
      }
    });
  });
});
