/**
 * Property tests (fast-check) over random sequences of batches: random traders, sides, prices
 * on a tick grid, lot amounts, fees, flags, some invalid fills (bad signatures, expired,
 * unfunded, overfilled, not crossing, wrong market, malformed...), orders carried over to
 * later batches (partially filled ones with an empty signature), and cancellations between
 * batches. Each property is checked on its own scenarios:
 *  - no order is ever filled past its amount (Filled events, filledAmount, isNonceSpent);
 *  - nobody trades at a worse price than signed, nor pays a fee above its signed cap;
 *  - value is conserved: traders + fee recipient == totalBalance == tokens held;
 *  - batch ids only increase, one by one; an old id is refused;
 *  - the contract settles exactly what a small reference model of the rules settles.
 *
 * PROPERTY_RUNS (default 20) sets the runs per property; FC_SEED and FC_PATH replay a failure
 * (fast-check prints both); PROPERTY_SHRINK=0 reports the first failure unshrunk. PROPERTY_DEBUG
 * prints each batch's settled count and skip reasons.
 */
import { expect } from "chai";
import fc from "fast-check";
import hre from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import {
  SkipReason,
  deploySettlementFixture,
  makeFill,
  makeTraders,
  nextNonce,
  settle,
  simulateSettleBatch,
  traderSigner,
  type BatchOutcome,
  type FillArgs,
  type SettlementFixture,
  type Trader,
} from "../helpers/settlementFixture";
import { OrderFlags, signDigest, type Address, type Hex, type Order } from "../../operator/orders";
import type { MockERC20 } from "../../typechain-types";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";

const RUNS = Number(process.env.PROPERTY_RUNS ?? 20);
const SEED = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
const BPS = 10_000n;
const TRADER_COUNT = 5;
const FAR_EXPIRY = 4_000_000_000n;

// ------------------------------------------------------------------ environment

interface Market {
  base: Address;
  quote: Address;
  /** 10^baseDecimals */
  scale: bigint;
  /** quote atoms */
  tick: bigint;
  /** base atoms; lot x tick == scale, so every lot-aligned fill is exact */
  lot: bigint;
  midTicks: bigint;
}

interface Env {
  fx: SettlementFixture;
  traders: Trader[];
  signers: HardhatEthersSigner[];
  base2: MockERC20;
  markets: Market[];
  tokens: Address[];
}

async function propertyFixture(): Promise<Env> {
  const fx = await deploySettlementFixture();
  const traders = makeTraders("settlement-properties", TRADER_COUNT);
  const signers: HardhatEthersSigner[] = [];
  for (const t of traders) signers.push(await traderSigner(t.address));
  const base2 = await (await hre.ethers.getContractFactory("MockERC20")).deploy("Base8", "B8", 8);
  const base2Address = (await base2.getAddress()).toLowerCase() as Address;
  await fx.settlement.connect(fx.admin).listToken(base2Address);
  const markets: Market[] = [
    // 18-decimal base at ~2,000 quote: tick 0.01 quote, lot 0.0001 base
    { base: fx.baseAddress, quote: fx.quoteAddress, scale: 10n ** 18n, tick: 10_000n, lot: 10n ** 14n, midTicks: 200_000n },
    // 8-decimal base at ~50 quote: tick 0.01 quote, lot 0.0001 unit
    { base: base2Address, quote: fx.quoteAddress, scale: 10n ** 8n, tick: 10_000n, lot: 10_000n, midTicks: 5_000n },
  ];
  return { fx, traders, signers, base2, markets, tokens: [fx.baseAddress, fx.quoteAddress, base2Address] };
}

// ------------------------------------------------------------------ scenario generators

interface OrderSpec {
  trader: number;
  market: number;
  isBuy: boolean;
  priceOffset: number;
  lots: number;
  maxMakerFeeBps: number;
  maxTakerFeeBps: number;
  flags: number;
  expired: boolean;
  badSignature: boolean;
  /** Price 0: OrderOutOfRange. */
  zeroPrice: boolean;
}

type FillKind = "match" | "any" | "inexact" | "zero" | "outOfRange";

interface FillSpec {
  kind: FillKind;
  maker: number;
  taker: number;
  lots: number;
  makerFeeBps: number;
  takerFeeBps: number;
}

interface BatchSpec {
  orders: OrderSpec[];
  /** Earlier orders sent again; emptySignature: sent with "0x" (valid only once partially filled). */
  carry: { pick: number; emptySignature: boolean }[];
  fills: FillSpec[];
  /** Before the batch: cancel an earlier order's nonce. */
  cancel: number | null;
  /** Before the batch: raise a trader's minimum nonce to an earlier order's nonce. */
  raiseMin: number | null;
}

interface Scenario {
  /** Per trader: funding level of each token (0 = none). */
  funding: { base: number; quote: number; base2: number }[];
  batches: BatchSpec[];
}

/** A uniform draw in 0..99 without fast-check's bias toward the bounds, for weighted choices. */
function percentile(): fc.Arbitrary<number> {
  return fc.noBias(fc.integer({ min: 0, max: 99 }));
}

/** An unbiased index seed, reduced modulo whatever it picks from. */
function pick(): fc.Arbitrary<number> {
  return fc.noBias(fc.nat({ max: 10_000 }));
}

/** `value` with probability `percent / 100`, else `otherwise`. */
function rarely<T>(percent: number, value: T, otherwise: T) {
  return percentile().map((x) => (x < percent ? value : otherwise));
}

/** A value of `arb` with probability `percent / 100`, else null. */
function sometimes<T>(percent: number, arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> {
  return fc.tuple(percentile(), arb).map(([x, v]) => (x < percent ? v : null));
}

const orderSpecArb: fc.Arbitrary<OrderSpec> = fc.record({
  trader: fc.nat({ max: TRADER_COUNT - 1 }),
  market: percentile().map((x) => (x < 80 ? 0 : 1)),
  isBuy: fc.boolean(),
  priceOffset: fc.integer({ min: -3, max: 3 }),
  lots: fc.integer({ min: 1, max: 40 }),
  maxMakerFeeBps: fc.integer({ min: 0, max: 20 }),
  maxTakerFeeBps: fc.integer({ min: 0, max: 40 }),
  flags: percentile().map((x) => (x < 93 ? 0 : x < 96 ? OrderFlags.PostOnly : x < 99 ? OrderFlags.IOC : 4)),
  expired: rarely(3, true, false),
  badSignature: rarely(3, true, false),
  zeroPrice: rarely(1, true, false),
});

const fillSpecArb: fc.Arbitrary<FillSpec> = fc.record({
  kind: percentile().map(
    (x): FillKind => (x < 85 ? "match" : x < 94 ? "any" : x < 97 ? "inexact" : x < 99 ? "zero" : "outOfRange"),
  ),
  maker: pick(),
  taker: pick(),
  lots: fc.integer({ min: 1, max: 30 }),
  makerFeeBps: fc.integer({ min: 0, max: 24 }),
  takerFeeBps: fc.integer({ min: 0, max: 44 }),
});

const batchSpecArb: fc.Arbitrary<BatchSpec> = fc.record({
  orders: fc.array(orderSpecArb, { minLength: 6, maxLength: 12 }),
  carry: fc.array(fc.record({ pick: pick(), emptySignature: rarely(40, true, false) }), { maxLength: 4 }),
  fills: fc.array(fillSpecArb, { minLength: 1, maxLength: 14 }),
  cancel: sometimes(35, pick()),
  raiseMin: sometimes(12, pick()),
});

/** Index into FUNDING: mostly funded, sometimes thin or empty. */
function fundingLevel(): fc.Arbitrary<number> {
  return percentile().map((x) => (x < 8 ? 0 : x < 20 ? 1 : x < 60 ? 2 : 3));
}

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  funding: fc.array(
    fc.record({ base: fundingLevel(), quote: fundingLevel(), base2: fundingLevel() }),
    { minLength: TRADER_COUNT, maxLength: TRADER_COUNT },
  ),
  batches: fc.array(batchSpecArb, { minLength: 2, maxLength: 4 }),
});

/** Funding levels per token: none, a few lots, comfortable, plenty. */
const FUNDING: Record<"base" | "quote" | "base2", bigint[]> = {
  base: [0n, 10n * 10n ** 14n, 10n ** 18n, 5n * 10n ** 18n],
  quote: [0n, 10n ** 6n, 2_000n * 10n ** 6n, 20_000n * 10n ** 6n],
  base2: [0n, 10n * 10n ** 4n, 10n ** 8n, 5n * 10n ** 8n],
};

// ------------------------------------------------------------------ reference model

/** The rules of ISettlement, written from the spec: state, validation, fills, fees. */
class Model {
  readonly balances = new Map<string, bigint>();
  /** Filled base atoms of partially filled orders, by order hash. */
  readonly filled = new Map<string, bigint>();
  readonly spentNonces = new Set<string>();
  readonly minNonces = new Map<string, bigint>();

  constructor(
    readonly scales: Map<string, bigint>,
    readonly feeRecipient: string,
  ) {}

  balance(account: string, token: string): bigint {
    return this.balances.get(`${account.toLowerCase()}:${token.toLowerCase()}`) ?? 0n;
  }

  add(account: string, token: string, delta: bigint): void {
    const key = `${account.toLowerCase()}:${token.toLowerCase()}`;
    const next = (this.balances.get(key) ?? 0n) + delta;
    if (next < 0n) throw new Error("model: negative balance");
    this.balances.set(key, next);
  }

  isSpent(trader: string, nonce: bigint): boolean {
    return this.spentNonces.has(`${trader.toLowerCase()}:${nonce}`);
  }

  /** Order-level reasons a fill of `order` would be skipped for (empty: the order is valid). */
  orderReasons(order: Order, hash: string, signatureValid: boolean, now: bigint): Set<number> {
    const reasons = new Set<number>();
    const max128 = (1n << 128n) - 1n;
    if (order.price === 0n || order.amount === 0n || order.price > max128 || order.amount > max128) {
      reasons.add(SkipReason.OrderOutOfRange);
    }
    if ((order.flags & ~(OrderFlags.PostOnly | OrderFlags.IOC)) !== 0) reasons.add(SkipReason.FlagViolation);
    if (now > order.expiry) reasons.add(SkipReason.OrderExpired);
    if (order.nonce < (this.minNonces.get(order.trader.toLowerCase()) ?? 0n)) reasons.add(SkipReason.NonceBelowMinimum);
    if (this.isSpent(order.trader, order.nonce)) reasons.add(SkipReason.OrderCancelled);
    if (!signatureValid && (this.filled.get(hash) ?? 0n) === 0n) reasons.add(SkipReason.BadSignature);
    return reasons;
  }

  /**
   * Runs one batch: returns, per fill, the set of acceptable skip reasons (empty when it
   * must settle) and the Filled event it must emit; updates the model state.
   */
  settleBatch(
    orders: Order[],
    hashes: string[],
    signatureValid: boolean[],
    fills: FillArgs[],
    now: bigint,
  ): { reasons: Set<number>[]; filled: Map<bigint, { base: bigint; quote: bigint; makerFee: bigint; takerFee: bigint }> } {
    const filledBefore = hashes.map((h) => this.filled.get(h) ?? 0n);
    const filledNow = [...filledBefore];
    const valid = orders.map((o, i) => this.orderReasons(o, hashes[i], signatureValid[i], now));
    const result = { reasons: [] as Set<number>[], filled: new Map<bigint, { base: bigint; quote: bigint; makerFee: bigint; takerFee: bigint }>() };
    let touched = false;
    for (const fill of fills) {
      const reasons = new Set<number>();
      result.reasons.push(reasons);
      const mi = fill.makerIndex;
      const ti = fill.takerIndex;
      const base = fill.baseAmount;
      if (mi >= orders.length || ti >= orders.length || mi === ti || base === 0n) {
        reasons.add(SkipReason.FillMalformed);
        continue;
      }
      const maker = orders[mi];
      const taker = orders[ti];
      for (const r of valid[mi]) reasons.add(r);
      for (const r of valid[ti]) reasons.add(r);
      if ((maker.flags & OrderFlags.IOC) !== 0 || (taker.flags & OrderFlags.PostOnly) !== 0) reasons.add(SkipReason.FlagViolation);
      if (
        maker.baseToken !== taker.baseToken ||
        maker.quoteToken !== taker.quoteToken ||
        maker.isBuy === taker.isBuy ||
        maker.baseToken === maker.quoteToken
      ) {
        reasons.add(SkipReason.MarketMismatch);
      }
      const scale = this.scales.get(maker.baseToken) ?? 0n;
      if (scale === 0n) {
        reasons.add(SkipReason.TokenNotListed);
        continue;
      }
      const price = maker.price;
      if (maker.isBuy ? taker.price > price : taker.price < price) reasons.add(SkipReason.PricesDoNotCross);
      if (fill.makerFeeBps > maker.maxMakerFeeBps) reasons.add(SkipReason.MakerFeeAboveCap);
      if (fill.takerFeeBps > taker.maxTakerFeeBps) reasons.add(SkipReason.TakerFeeAboveCap);
      if ((base * price) % scale !== 0n) reasons.add(SkipReason.InexactAmount);
      const quote = (base * price) / scale;
      if (filledNow[mi] + base > maker.amount || filledNow[ti] + base > taker.amount) reasons.add(SkipReason.Overfilled);
      const [buyer, seller] = maker.isBuy ? [maker.trader, taker.trader] : [taker.trader, maker.trader];
      if (this.balance(seller, maker.baseToken) < base) {
        reasons.add(maker.isBuy ? SkipReason.TakerUnfunded : SkipReason.MakerUnfunded);
      }
      if (this.balance(buyer, maker.quoteToken) < quote) {
        reasons.add(maker.isBuy ? SkipReason.MakerUnfunded : SkipReason.TakerUnfunded);
      }
      if (reasons.size > 0) continue;

      filledNow[mi] += base;
      filledNow[ti] += base;
      const [buyerBps, sellerBps] = maker.isBuy ? [fill.makerFeeBps, fill.takerFeeBps] : [fill.takerFeeBps, fill.makerFeeBps];
      const buyerFee = (base * BigInt(buyerBps)) / BPS;
      const sellerFee = (quote * BigInt(sellerBps)) / BPS;
      this.add(seller, maker.baseToken, -base);
      this.add(buyer, maker.quoteToken, -quote);
      this.add(buyer, maker.baseToken, base - buyerFee);
      this.add(seller, maker.quoteToken, quote - sellerFee);
      this.add(this.feeRecipient, maker.baseToken, buyerFee);
      this.add(this.feeRecipient, maker.quoteToken, sellerFee);
      const [makerFee, takerFee] = maker.isBuy ? [buyerFee, sellerFee] : [sellerFee, buyerFee];
      result.filled.set(fill.fillId, { base, quote, makerFee, takerFee });
      touched = true;
    }
    if (touched) {
      orders.forEach((order, i) => {
        if (filledNow[i] === filledBefore[i]) return;
        if (filledNow[i] === order.amount) {
          this.spentNonces.add(`${order.trader.toLowerCase()}:${order.nonce}`);
          this.filled.delete(hashes[i]);
        } else {
          this.filled.set(hashes[i], filledNow[i]);
        }
      });
    }
    return result;
  }
}

// ------------------------------------------------------------------ running a scenario

interface SentOrder {
  order: Order;
  hash: string;
  signature: Hex;
  signatureValid: boolean;
}

interface BatchRecord {
  batchId: bigint;
  orders: SentOrder[];
  fills: FillArgs[];
  outcome: BatchOutcome;
  expected: ReturnType<Model["settleBatch"]>;
  /** Cancellations (order hashes) made before this batch. */
  cancelledBefore: string[];
  nextBatchIdAfter: bigint;
  /** Per token: [sum of model-tracked vault balances read from chain, totalBalance, tokens held]. */
  conservation: { token: string; sum: bigint; total: bigint; held: bigint }[];
  /** Vault balances read after the batch, by "account:token". */
  chainBalances: Map<string, bigint>;
  /** Per order hash ever sent: filledAmount and isNonceSpent after the batch. */
  orderState: Map<string, { filledAmount: bigint; nonceSpent: boolean }>;
}

interface History {
  env: Env;
  model: Model;
  batches: BatchRecord[];
  allOrders: Map<string, SentOrder>;
  /** Order hashes cancelled by cancelNonces or raiseMinNonce, with the batch index they were cancelled before. */
  cancelledAt: Map<string, number>;
  /** An old batch id resubmitted at the end: what it reverted with. */
  replay: { got: bigint; expected: bigint; error: string | null };
}

function priceOf(market: Market, offset: number): bigint {
  return (market.midTicks + BigInt(offset)) * market.tick;
}

async function runScenario(scenario: Scenario): Promise<History> {
  const env = await loadFixture(propertyFixture);
  const { fx, traders, markets } = env;
  const scales = new Map(markets.map((m) => [m.base, m.scale] as [string, bigint]));
  scales.set(fx.quoteAddress, 10n ** 6n);
  const model = new Model(scales, fx.feeRecipient.address);

  // Fund: one mint + approve per token, then depositFor per trader.
  const tokenContracts = { base: fx.base, quote: fx.quote, base2: env.base2 } as const;
  const tokenAddresses = { base: fx.baseAddress, quote: fx.quoteAddress, base2: markets[1].base } as const;
  for (const key of ["base", "quote", "base2"] as const) {
    const amounts = scenario.funding.map((f) => FUNDING[key][f[key]]);
    const sum = amounts.reduce((s, a) => s + a, 0n);
    if (sum === 0n) continue;
    await tokenContracts[key].mint(fx.funder.address, sum);
    await tokenContracts[key].connect(fx.funder).approve(fx.settlementAddress, sum);
    for (let i = 0; i < traders.length; i++) {
      if (amounts[i] === 0n) continue;
      await fx.settlement.connect(fx.funder).depositFor(traders[i].address, tokenAddresses[key], amounts[i]);
      model.add(traders[i].address, tokenAddresses[key], amounts[i]);
    }
  }

  const history: History = {
    env,
    model,
    batches: [],
    allOrders: new Map(),
    cancelledAt: new Map(),
    replay: { got: 0n, expected: 0n, error: null },
  };
  const sentList: SentOrder[] = [];
  const accounts = [...traders.map((t) => t.address as string), fx.feeRecipient.address.toLowerCase()];

  for (const [batchIndex, spec] of scenario.batches.entries()) {
    // Trader actions between batches.
    const cancelledBefore: string[] = [];
    if (spec.cancel !== null && sentList.length > 0) {
      const target = sentList[spec.cancel % sentList.length];
      const t = traders.findIndex((x) => x.address === target.order.trader);
      if (t >= 0) {
        await fx.settlement.connect(env.signers[t]).cancelNonces([target.order.nonce]);
        model.spentNonces.add(`${target.order.trader}:${target.order.nonce}`);
        cancelledBefore.push(target.hash);
      }
    }
    if (spec.raiseMin !== null && sentList.length > 0) {
      const target = sentList[spec.raiseMin % sentList.length];
      const t = traders.findIndex((x) => x.address === target.order.trader);
      const current = model.minNonces.get(target.order.trader) ?? 0n;
      if (t >= 0 && target.order.nonce > current) {
        await fx.settlement.connect(env.signers[t]).raiseMinNonce(target.order.nonce);
        model.minNonces.set(target.order.trader, target.order.nonce);
        for (const s of sentList) {
          if (s.order.trader === target.order.trader && s.order.nonce < target.order.nonce) cancelledBefore.push(s.hash);
        }
      }
    }
    for (const h of cancelledBefore) if (!history.cancelledAt.has(h)) history.cancelledAt.set(h, batchIndex);

    // Orders: new ones, then some earlier ones again.
    const latest = BigInt((await hre.ethers.provider.getBlock("latest"))!.timestamp);
    const batchOrders: SentOrder[] = [];
    for (const o of spec.orders) {
      const market = markets[o.market];
      const trader = traders[o.trader];
      const order: Order = {
        trader: trader.address,
        baseToken: market.base,
        quoteToken: market.quote,
        isBuy: o.isBuy,
        price: o.zeroPrice ? 0n : priceOf(market, o.priceOffset),
        amount: BigInt(o.lots) * market.lot,
        nonce: nextNonce(),
        expiry: o.expired ? latest - 1n : FAR_EXPIRY,
        maxMakerFeeBps: o.maxMakerFeeBps,
        maxTakerFeeBps: o.maxTakerFeeBps,
        flags: o.flags,
      };
      const digest = fx.hasher.digest(order);
      const signer = o.badSignature ? traders[(o.trader + 1) % traders.length] : trader;
      const sent = { order, hash: fx.hasher.hash(order), signature: signDigest(signer.privateKey, digest), signatureValid: !o.badSignature };
      batchOrders.push(sent);
    }
    const carriedHashes = new Set<string>();
    for (const c of spec.carry) {
      if (sentList.length === 0) break;
      const earlier = sentList[c.pick % sentList.length];
      if (carriedHashes.has(earlier.hash)) continue;
      carriedHashes.add(earlier.hash);
      batchOrders.push(
        c.emptySignature ? { ...earlier, signature: "0x", signatureValid: false } : { ...earlier },
      );
    }

    // Fills.
    const fills: FillArgs[] = [];
    const firstFillId = BigInt(batchIndex) * 1_000n + 1n;
    for (const [k, f] of spec.fills.entries()) {
      const fillId = firstFillId + BigInt(k);
      const n = batchOrders.length;
      let makerIndex = f.maker % n;
      let takerIndex = f.taker % n;
      const maker = batchOrders[makerIndex].order;
      const market = markets.find((m) => m.base === maker.baseToken) ?? markets[0];
      let baseAmount = BigInt(f.lots) * market.lot;
      let makerFeeBps = f.makerFeeBps;
      let takerFeeBps = f.takerFeeBps;
      if (f.kind === "match") {
        // What a matching engine would send: the opposite side of the same market, crossing
        // if possible, within both sizes and fee caps. It may still fail on state (funds,
        // earlier fills, cancellations, flags, signatures, expiry).
        const opposite = batchOrders
          .map((s, i) => ({ o: s.order, i }))
          .filter(({ o, i }) => i !== makerIndex && o.baseToken === maker.baseToken && o.isBuy !== maker.isBuy);
        const crossing = opposite.filter(({ o }) => (maker.isBuy ? o.price <= maker.price : o.price >= maker.price));
        const pool = crossing.length > 0 ? crossing : opposite;
        if (pool.length > 0) {
          takerIndex = pool[f.taker % pool.length].i;
          const taker = batchOrders[takerIndex].order;
          const maxLots = (maker.amount < taker.amount ? maker.amount : taker.amount) / market.lot;
          baseAmount = (1n + (BigInt(f.lots) % maxLots)) * market.lot;
          makerFeeBps = f.makerFeeBps % (maker.maxMakerFeeBps + 1);
          takerFeeBps = f.takerFeeBps % (taker.maxTakerFeeBps + 1);
        }
      }
      if (f.kind === "inexact") baseAmount += 1n;
      if (f.kind === "zero") baseAmount = 0n;
      if (f.kind === "outOfRange") makerIndex = n + (f.maker % 3);
      fills.push(makeFill(fillId, makerIndex, takerIndex, baseAmount, makerFeeBps, takerFeeBps));
    }

    // The model predicts at the block's timestamp: expiries are either far or already past.
    const expected = model.settleBatch(
      batchOrders.map((s) => s.order),
      batchOrders.map((s) => s.hash),
      batchOrders.map((s) => s.signatureValid),
      fills,
      latest + 1n,
    );
    const outcome = await settle(fx, batchOrders.map((s) => s.order), batchOrders.map((s) => s.signature), fills);

    for (const s of batchOrders) {
      if (!history.allOrders.has(s.hash)) {
        history.allOrders.set(s.hash, s);
        sentList.push(s);
      }
    }

    // Read back the state.
    const pairsAccounts = accounts.flatMap((a) => env.tokens.map(() => a));
    const pairsTokens = accounts.flatMap(() => env.tokens);
    const values = await fx.settlement.balancesOf(pairsAccounts, pairsTokens);
    const chainBalances = new Map<string, bigint>();
    values.forEach((v, i) => chainBalances.set(`${pairsAccounts[i].toLowerCase()}:${pairsTokens[i]}`, v));
    const conservation = [];
    for (const token of env.tokens) {
      const sum = accounts.reduce((s, a) => s + (chainBalances.get(`${a.toLowerCase()}:${token}`) ?? 0n), 0n);
      const erc20 = await hre.ethers.getContractAt("IERC20", token);
      conservation.push({ token, sum, total: await fx.settlement.totalBalance(token), held: await erc20.balanceOf(fx.settlementAddress) });
    }
    const orderState = new Map<string, { filledAmount: bigint; nonceSpent: boolean }>();
    for (const s of history.allOrders.values()) {
      orderState.set(s.hash, {
        filledAmount: await fx.settlement.filledAmount(s.order),
        nonceSpent: await fx.settlement.isNonceSpent(s.order.trader, s.order.nonce),
      });
    }
    history.batches.push({
      batchId: outcome.batchId,
      orders: batchOrders,
      fills,
      outcome,
      expected,
      cancelledBefore,
      nextBatchIdAfter: await fx.settlement.nextBatchId(),
      conservation,
      chainBalances,
      orderState,
    });
  }

  // Resubmit an old batch: it must be refused.
  const old = history.batches[scenario.batches.length % history.batches.length];
  const expectedId = await fx.settlement.nextBatchId();
  history.replay = { got: old.batchId, expected: expectedId, error: null };
  try {
    await simulateSettleBatch(fx, old.batchId, old.orders.map((s) => s.order), old.orders.map((s) => s.signature), old.fills);
  } catch (error) {
    const data = (error as { data?: string }).data;
    history.replay.error = data === undefined ? "unknown" : fx.settlement.interface.parseError(data)?.name ?? "unknown";
    if (history.replay.error === "SettlementBatchOutOfOrder") {
      const parsed = fx.settlement.interface.parseError(data!)!;
      history.replay.expected = parsed.args[0] as bigint;
      history.replay.got = parsed.args[1] as bigint;
      if (parsed.args[0] !== expectedId) history.replay.error = "wrong expected id";
    }
  }
  return history;
}

function checkProperty(predicate: (history: History) => void): Promise<void> {
  return fc.assert(
    fc.asyncProperty(scenarioArb, async (scenario) => {
      predicate(await runScenario(scenario));
    }),
    {
      numRuns: RUNS,
      seed: SEED,
      path: process.env.FC_PATH,
      // Shrinking replays scenarios on the chain: bound it (and PROPERTY_SHRINK=0 skips it).
      endOnFailure: process.env.PROPERTY_SHRINK === "0",
      interruptAfterTimeLimit: 90_000,
      markInterruptAsFailure: true,
    },
  );
}

// ------------------------------------------------------------------ properties

describe("Settlement properties (fast-check)", function () {
  this.timeout(600_000);

  it("never fills an order past its amount, across random batches (Filled events, filledAmount, isNonceSpent)", async function () {
    await checkProperty(({ batches, allOrders, cancelledAt }) => {
      const filledByEvents = new Map<string, bigint>();
      batches.forEach((batch, batchIndex) => {
        for (const f of batch.outcome.filled) {
          for (const hash of [f.makerHash, f.takerHash]) {
            const order = allOrders.get(hash);
            expect(order, `Filled names an order that was never sent: ${hash}`).to.not.equal(undefined);
            const total = (filledByEvents.get(hash) ?? 0n) + f.baseAmount;
            filledByEvents.set(hash, total);
            expect(total <= order!.order.amount, `order ${hash} filled ${total} > ${order!.order.amount}`).to.equal(true);
            const cancelled = cancelledAt.get(hash);
            expect(cancelled === undefined || cancelled > batchIndex, `order ${hash} filled after its cancellation`).to.equal(true);
          }
        }
        for (const [hash, state] of batch.orderState) {
          const total = filledByEvents.get(hash) ?? 0n;
          const order = allOrders.get(hash)!.order;
          if (total === order.amount) {
            expect(state.nonceSpent, `fully filled ${hash} has its nonce spent`).to.equal(true);
            expect(state.filledAmount).to.equal(0n);
          } else {
            expect(state.filledAmount, `filledAmount of ${hash}`).to.equal(total);
            if (!cancelledAt.has(hash)) expect(state.nonceSpent, `nonce of unfinished ${hash}`).to.equal(false);
          }
        }
      });
    });
  });

  it("never trades anyone at a worse price than signed, nor charges a fee above the signed cap", async function () {
    await checkProperty(({ batches, allOrders, env }) => {
      const scales = new Map(env.markets.map((m) => [m.base, m.scale] as [string, bigint]));
      for (const batch of batches) {
        for (const f of batch.outcome.filled) {
          const maker = allOrders.get(f.makerHash)!.order;
          const taker = allOrders.get(f.takerHash)!.order;
          const scale = scales.get(maker.baseToken)!;
          expect(maker.isBuy).to.not.equal(taker.isBuy);
          const [buyer, seller] = maker.isBuy ? [maker, taker] : [taker, maker];
          const paid = f.quoteAmount * scale; // quote atoms x scale, to compare with price x base exactly
          expect(paid <= buyer.price * f.baseAmount, "buyer paid above its limit").to.equal(true);
          expect(paid >= seller.price * f.baseAmount, "seller received below its limit").to.equal(true);
          expect(paid, "executes at the maker's price").to.equal(maker.price * f.baseAmount);
          // The fill word in the event carries the fee rates actually applied.
          expect(f.makerFeeBps <= maker.maxMakerFeeBps, "maker fee rate above its cap").to.equal(true);
          expect(f.takerFeeBps <= taker.maxTakerFeeBps, "taker fee rate above its cap").to.equal(true);
        }
      }
    });
  });

  it("conserves every token: traders' balances plus the fee recipient's equal totalBalance and the tokens held", async function () {
    await checkProperty(({ batches }) => {
      for (const batch of batches) {
        for (const c of batch.conservation) {
          expect(c.sum, `sum of vault balances of ${c.token}`).to.equal(c.total);
          expect(c.held, `tokens held of ${c.token}`).to.equal(c.total);
        }
      }
    });
  });

  it("only ever accepts the next batch id: ids rise one by one and an old id is refused", async function () {
    await checkProperty(({ batches, replay }) => {
      batches.forEach((batch, i) => {
        expect(batch.batchId).to.equal(BigInt(i + 1));
        expect(batch.nextBatchIdAfter).to.equal(batch.batchId + 1n);
        expect(batch.outcome.settled).to.equal(BigInt(batch.outcome.filled.length));
        expect(batch.outcome.fillCount).to.equal(BigInt(batch.fills.length));
        expect(batch.outcome.filled.length + batch.outcome.skipped.length).to.equal(batch.fills.length);
      });
      expect(replay.error).to.equal("SettlementBatchOutOfOrder");
      expect(replay.expected).to.equal(BigInt(batches.length + 1));
    });
  });

  it("settles exactly the fills a reference model of the rules settles, with the same amounts, fees and balances", async function () {
    let settledTotal = 0;
    let fillTotal = 0;
    await checkProperty(({ batches, model }) => {
      for (const batch of batches) {
        const skipped = new Map(batch.outcome.skipped.map((s) => [s.fillId, s.reason]));
        const filled = new Map(batch.outcome.filled.map((f) => [f.fillId, f]));
        batch.fills.forEach((fill, i) => {
          const acceptable = batch.expected.reasons[i];
          if (acceptable.size === 0) {
            expect(skipped.get(fill.fillId), `fill ${fill.fillId} must settle`).to.equal(undefined);
            const event = filled.get(fill.fillId)!;
            const want = batch.expected.filled.get(fill.fillId)!;
            expect(event, `Filled for ${fill.fillId}`).to.not.equal(undefined);
            expect([event.baseAmount, event.quoteAmount, event.makerFee, event.takerFee]).to.deep.equal([
              want.base,
              want.quote,
              want.makerFee,
              want.takerFee,
            ]);
            expect(event.makerHash).to.equal(batch.orders[fill.makerIndex].hash);
            expect(event.takerHash).to.equal(batch.orders[fill.takerIndex].hash);
          } else {
            expect(filled.has(fill.fillId), `fill ${fill.fillId} must be skipped (${[...acceptable]})`).to.equal(false);
            expect([...acceptable], `skip reason of fill ${fill.fillId}`).to.include(skipped.get(fill.fillId));
          }
        });
        if (process.env.PROPERTY_DEBUG) {
          console.log(batch.outcome.filled.length, batch.outcome.skipped.map((x) => x.reason).join(","));
        }
        fillTotal += batch.fills.length;
        settledTotal += batch.outcome.filled.length;
      }
      // The model's final balances are the chain's.
      const last = batches[batches.length - 1];
      for (const [key, value] of last.chainBalances) {
        const [account, token] = key.split(":");
        expect(value, `balance ${key}`).to.equal(model.balance(account, token));
      }
    });
    // The generator must exercise settling, not only skipping.
    expect(settledTotal, "fills settled over all runs").to.be.greaterThan(fillTotal / 10);
  });
});
