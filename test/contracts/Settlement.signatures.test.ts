/**
 * Settlement: who may sign an order, and how. Domain binding (chain id, verifying contract),
 * every signed field, ECDSA encodings (65-byte, EIP-2098 64-byte, high s, malformed),
 * EIP-1271 wallets, and "a signature is verified only the first time an order is seen".
 */
import { expect } from "chai";
import hre from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import {
  DEFAULT_PRICE,
  ONE_BASE,
  SECP256K1_N,
  SkipReason,
  buildOrder,
  compactSignature,
  deploySettlementFixture,
  fundTraders,
  highSSignature,
  makeFill,
  makeTraders,
  settle,
  signOrder,
  signedOrder,
  vaultBalance,
  type SettlementFixture,
  type Trader,
} from "../helpers/settlementFixture";
import {
  ORDER_EIP712_TYPES,
  OrderFlags,
  OrderHasher,
  signDigest,
  type Address,
  type Hex,
  type Order,
} from "../../operator/orders";

const QUOTE_UNIT = 10n ** 6n;
const HALF = ONE_BASE / 2n;
/** What HALF base costs at DEFAULT_PRICE. */
const HALF_QUOTE = (HALF * DEFAULT_PRICE) / ONE_BASE;
const HALF_N = SECP256K1_N / 2n;

/** Wallet modes, mirrored from contracts/test/MockERC1271Wallet.sol. */
const WalletMode = {
  Owner: 0,
  Approve: 1,
  Refuse: 2,
  ReturnNoData: 3,
  Revert: 4,
  ReturnGarbage: 5,
  ReturnDirtyMagic: 6,
  ReturnShortMagic: 7,
  ReturnLongMagic: 8,
  BurnGas: 9,
  SpendGas: 10,
} as const;

/** SignatureLib.ERC1271_GAS_LIMIT and Settlement.ERC1271_BATCH_GAS_BUDGET. */
const ERC1271_GAS_LIMIT = 250_000n;
const ERC1271_BATCH_GAS_BUDGET = 500_000n;

interface Ctx {
  fx: SettlementFixture;
  maker: Trader;
  taker: Trader;
  other: Trader;
  /** A third listed token (18 decimals). */
  thirdAddress: Address;
}

async function signaturesFixture(): Promise<Ctx> {
  const fx = await deploySettlementFixture();
  const [maker, taker, other] = makeTraders("settlement-signatures", 3);
  await fundTraders(fx, [maker.address, taker.address, other.address], 10n * ONE_BASE, 100_000n * QUOTE_UNIT);
  const third = await (await hre.ethers.getContractFactory("MockERC20")).deploy("Third", "THIRD", 18);
  const thirdAddress = (await third.getAddress()).toLowerCase() as Address;
  await fx.settlement.connect(fx.admin).listToken(thirdAddress);
  return { fx, maker, taker, other, thirdAddress };
}

/** A resting sell of one base unit at DEFAULT_PRICE and a crossing buy. */
function trade(ctx: Ctx): { makerOrder: Order; takerOrder: Order; takerSignature: Hex } {
  const makerOrder = buildOrder(ctx.fx, ctx.maker.address, { isBuy: false });
  const takerOrder = buildOrder(ctx.fx, ctx.taker.address, { isBuy: true });
  return { makerOrder, takerOrder, takerSignature: signOrder(ctx.fx, ctx.taker, takerOrder) };
}

async function balancesOf(ctx: Ctx): Promise<bigint[]> {
  const { fx } = ctx;
  return Promise.all(
    [ctx.maker.address, ctx.taker.address].flatMap((a) => [
      vaultBalance(fx, a, fx.baseAddress),
      vaultBalance(fx, a, fx.quoteAddress),
    ]),
  );
}

/** Settles maker (index 0) against taker (index 1) for HALF; returns the outcome. */
async function settleHalf(ctx: Ctx, makerOrder: Order, makerSignature: Hex, takerOrder: Order, takerSignature: Hex) {
  return settle(ctx.fx, [makerOrder, takerOrder], [makerSignature, takerSignature], [makeFill(1n, 0, 1, HALF)]);
}

async function expectSkippedWithBadSignature(ctx: Ctx, makerOrder: Order, makerSignature: Hex): Promise<void> {
  await expectSkippedWith(ctx, makerOrder, makerSignature, SkipReason.BadSignature);
}

async function expectSkippedWith(ctx: Ctx, makerOrder: Order, makerSignature: Hex, reason: number): Promise<void> {
  const { takerOrder, takerSignature } = trade(ctx);
  const before = await balancesOf(ctx);
  const outcome = await settleHalf(ctx, makerOrder, makerSignature, takerOrder, takerSignature);
  expect(outcome.skipped).to.deep.equal([{ fillId: 1n, reason }]);
  expect(outcome.filled).to.have.length(0);
  expect(outcome.settled).to.equal(0n);
  expect(await balancesOf(ctx)).to.deep.equal(before);
}

async function deployWallet(owner: Address, mode: number) {
  const wallet = await (await hre.ethers.getContractFactory("MockERC1271Wallet")).deploy(owner, mode);
  return { wallet, address: (await wallet.getAddress()).toLowerCase() as Address };
}

/** A selling order of a funded EIP-1271 wallet (owned by `other`) and a crossing signed buy. */
async function walletTrade(ctx: Ctx, mode: number) {
  const { wallet, address } = await deployWallet(ctx.other.address, mode);
  await fundTraders(ctx.fx, [address], 10n * ONE_BASE, 0n);
  const makerOrder = buildOrder(ctx.fx, address, { isBuy: false });
  const { takerOrder, takerSignature } = trade(ctx);
  return { wallet, address, makerOrder, takerOrder, takerSignature };
}

describe("Settlement signatures", function () {
  it("settles a fill between two orders signed for this chain and this Settlement", async function () {
    const ctx = await loadFixture(signaturesFixture);
    const { makerOrder, takerOrder, takerSignature } = trade(ctx);
    const outcome = await settleHalf(ctx, makerOrder, signOrder(ctx.fx, ctx.maker, makerOrder), takerOrder, takerSignature);
    expect(outcome.skipped).to.deep.equal([]);
    expect(outcome.settled).to.equal(1n);
    expect(outcome.filled[0].makerHash).to.equal(ctx.fx.hasher.hash(makerOrder));
    expect(outcome.filled[0].takerHash).to.equal(ctx.fx.hasher.hash(takerOrder));
  });

  describe("domain", function () {
    it("skips a fill whose maker order was signed for another chain id (BadSignature)", async function () {
      const ctx = await loadFixture(signaturesFixture);
      const { makerOrder } = trade(ctx);
      const foreign = new OrderHasher({ chainId: 999n, verifyingContract: ctx.fx.settlementAddress });
      expect(foreign.hash(makerOrder)).to.not.equal(ctx.fx.hasher.hash(makerOrder));
      await expectSkippedWithBadSignature(ctx, makerOrder, signDigest(ctx.maker.privateKey, foreign.digest(makerOrder)));
    });

    it("skips a fill whose maker order was signed for another Settlement address (BadSignature)", async function () {
      const ctx = await loadFixture(signaturesFixture);
      const { makerOrder } = trade(ctx);
      const foreign = new OrderHasher({ chainId: ctx.fx.chainId, verifyingContract: ctx.fx.baseAddress });
      await expectSkippedWithBadSignature(ctx, makerOrder, signDigest(ctx.maker.privateKey, foreign.digest(makerOrder)));
    });

    it("hashes orders exactly as the operator's OrderHasher does (hashOrder)", async function () {
      const ctx = await loadFixture(signaturesFixture);
      const { makerOrder, takerOrder } = trade(ctx);
      for (const order of [makerOrder, takerOrder, { ...makerOrder, flags: 3, expiry: 2n ** 64n - 1n }]) {
        expect((await ctx.fx.settlement.hashOrder(order)).toLowerCase()).to.equal(ctx.fx.hasher.hash(order));
      }
    });
  });

  describe("every signed field", function () {
    /** One mutation per EIP-712 field, each leaving an order that would otherwise be acceptable. */
    const mutations: { field: keyof Order; mutate: (o: Order, ctx: Ctx) => Order; resigner?: (ctx: Ctx) => Trader }[] = [
      { field: "trader", mutate: (o, ctx) => ({ ...o, trader: ctx.other.address }), resigner: (ctx) => ctx.other },
      { field: "baseToken", mutate: (o, ctx) => ({ ...o, baseToken: ctx.thirdAddress }) },
      { field: "quoteToken", mutate: (o, ctx) => ({ ...o, quoteToken: ctx.thirdAddress }) },
      { field: "isBuy", mutate: (o) => ({ ...o, isBuy: !o.isBuy }) },
      { field: "price", mutate: (o) => ({ ...o, price: o.price - QUOTE_UNIT }) },
      { field: "amount", mutate: (o) => ({ ...o, amount: o.amount + 1n }) },
      { field: "nonce", mutate: (o) => ({ ...o, nonce: o.nonce + 1_000_000n }) },
      { field: "expiry", mutate: (o) => ({ ...o, expiry: o.expiry - 1n }) },
      { field: "maxMakerFeeBps", mutate: (o) => ({ ...o, maxMakerFeeBps: o.maxMakerFeeBps + 1 }) },
      { field: "maxTakerFeeBps", mutate: (o) => ({ ...o, maxTakerFeeBps: o.maxTakerFeeBps + 1 }) },
      { field: "flags", mutate: (o) => ({ ...o, flags: OrderFlags.PostOnly }) },
    ];

    it("covers all eleven fields of the EIP-712 Order type", function () {
      expect(mutations.map((m) => m.field)).to.deep.equal(ORDER_EIP712_TYPES.Order.map((f) => f.name));
    });

    for (const { field, mutate, resigner } of mutations) {
      it(`skips a fill whose maker order had its ${field} changed after signing (BadSignature)`, async function () {
        const ctx = await loadFixture(signaturesFixture);
        const { makerOrder } = trade(ctx);
        const signature = signOrder(ctx.fx, ctx.maker, makerOrder);
        const mutated = mutate(makerOrder, ctx);
        expect(ctx.fx.hasher.hash(mutated)).to.not.equal(ctx.fx.hasher.hash(makerOrder));
        await expectSkippedWithBadSignature(ctx, mutated, signature);

        // The same mutated order, signed by its trader, is no longer refused for its signature.
        const { takerOrder, takerSignature } = trade(ctx);
        const resigned = signOrder(ctx.fx, (resigner ?? ((c: Ctx) => c.maker))(ctx), mutated);
        const outcome = await settleHalf(ctx, mutated, resigned, takerOrder, takerSignature);
        expect(outcome.skipped.map((s) => s.reason)).to.not.include(SkipReason.BadSignature);
      });
    }
  });

  describe("ECDSA encodings", function () {
    it("skips a fill whose signature is the high-s twin of a valid signature, and settles the low-s original", async function () {
      const ctx = await loadFixture(signaturesFixture);
      const { makerOrder } = trade(ctx);
      const signature = signOrder(ctx.fx, ctx.maker, makerOrder);
      const twin = highSSignature(signature);
      // The twin really is a signature by the maker that ecrecover alone would accept.
      const harness = await (await hre.ethers.getContractFactory("OrderVectorsHarness")).deploy();
      const digest = ctx.fx.hasher.digest(makerOrder);
      const twinBytes = Buffer.from(twin.slice(2), "hex");
      const recovered = await harness.rawEcrecover(
        digest,
        twinBytes[64],
        twinBytes.subarray(0, 32),
        twinBytes.subarray(32, 64),
      );
      expect(recovered.toLowerCase()).to.equal(ctx.maker.address);

      await expectSkippedWithBadSignature(ctx, makerOrder, twin);
      const { takerOrder, takerSignature } = trade(ctx);
      const outcome = await settleHalf(ctx, makerOrder, signature, takerOrder, takerSignature);
      expect(outcome.settled).to.equal(1n);
    });

    it("settles a fill whose maker signed with a valid 64-byte EIP-2098 compact signature", async function () {
      const ctx = await loadFixture(signaturesFixture);
      const { makerOrder, takerOrder, takerSignature } = trade(ctx);
      const compact = compactSignature(signOrder(ctx.fx, ctx.maker, makerOrder));
      expect(compact.length).to.equal(2 + 128);
      const outcome = await settleHalf(ctx, makerOrder, compact, takerOrder, compactSignature(takerSignature));
      expect(outcome.skipped).to.deep.equal([]);
      expect(outcome.settled).to.equal(1n);
    });

    it("skips a fill whose 64-byte compact signature carries the wrong parity bit", async function () {
      const ctx = await loadFixture(signaturesFixture);
      const { makerOrder } = trade(ctx);
      const compact = Buffer.from(compactSignature(signOrder(ctx.fx, ctx.maker, makerOrder)).slice(2), "hex");
      compact[32] ^= 0x80;
      await expectSkippedWithBadSignature(ctx, makerOrder, `0x${compact.toString("hex")}`);
    });

    it("rejects a 64-byte compact signature whose s is above n/2 and accepts its low-s twin, at the n/2 boundary", async function () {
      // A valid high-s compact signature needs n - s < 2^255, i.e. s in a window of ~2^127
      // values: no signer can aim for it, so the pair is built backwards from a chosen
      // (r, s = n/2) and the key it recovers to. SignatureLib is what Settlement links.
      const harness = await (await hre.ethers.getContractFactory("OrderVectorsHarness")).deploy();
      const digest = hre.ethers.keccak256(hre.ethers.toUtf8Bytes("hyperindex: compact high-s"));
      const point = hre.ethers.SigningKey.computePublicKey(hre.ethers.zeroPadValue("0x3039", 32), false);
      const r = BigInt(`0x${point.slice(4, 68)}`);
      const yOdd = BigInt(`0x${point.slice(68)}`) & 1n;
      const word = (x: bigint) => hre.ethers.toBeHex(x, 32);
      const lowS = HALF_N; // the largest s accepted
      const highS = SECP256K1_N - lowS; // = n/2 + 1, still below 2^255
      expect(highS >> 255n).to.equal(0n);
      const v = 27n + yOdd;
      const signer = (await harness.rawEcrecover(digest, v, word(r), word(lowS))).toLowerCase();
      expect(signer).to.not.equal(hre.ethers.ZeroAddress);
      // ecrecover alone accepts the high-s twin (flipped parity) as the same signer.
      expect((await harness.rawEcrecover(digest, 55n - v, word(r), word(highS))).toLowerCase()).to.equal(signer);

      const compactLow = `0x${word(r).slice(2)}${word(((v - 27n) << 255n) | lowS).slice(2)}`;
      const compactHigh = `0x${word(r).slice(2)}${word(((28n - v) << 255n) | highS).slice(2)}`;
      const fullLow = `${compactLow.slice(0, 66)}${word(lowS).slice(2)}${v.toString(16)}`;
      const fullHigh = `${compactLow.slice(0, 66)}${word(highS).slice(2)}${(55n - v).toString(16)}`;
      expect(await harness.isValidSignature(signer, digest, compactLow)).to.equal(true);
      expect(await harness.isValidSignature(signer, digest, fullLow)).to.equal(true);
      expect(await harness.isValidSignature(signer, digest, compactHigh)).to.equal(false);
      expect(await harness.isValidSignature(signer, digest, fullHigh)).to.equal(false);
    });

    it("skips fills whose signatures have a wrong length (0, 1, 63, 66 and 130 bytes)", async function () {
      const ctx = await loadFixture(signaturesFixture);
      const { makerOrder } = trade(ctx);
      const good = signOrder(ctx.fx, ctx.maker, makerOrder);
      const variants: Hex[] = [
        "0x",
        "0x1b",
        `0x${good.slice(2, 2 + 126)}` as Hex, // 63 bytes
        `${good}00` as Hex, // 66 bytes: a valid signature plus one byte
        `${good}${good.slice(2)}` as Hex, // the valid signature twice
      ];
      for (const bad of variants) await expectSkippedWithBadSignature(ctx, makerOrder, bad);
    });

    it("skips fills whose 65-byte signature has v other than 27 or 28 (0, 1, 26, 29, 255)", async function () {
      const ctx = await loadFixture(signaturesFixture);
      const { makerOrder } = trade(ctx);
      const good = Buffer.from(signOrder(ctx.fx, ctx.maker, makerOrder).slice(2), "hex");
      for (const v of [good[64] - 27, 0, 1, 26, 29, 255]) {
        const bad = Buffer.from(good);
        bad[64] = v;
        await expectSkippedWithBadSignature(ctx, makerOrder, `0x${bad.toString("hex")}`);
      }
    });

    it("skips fills whose signature has a zero r, a zero s, or both", async function () {
      const ctx = await loadFixture(signaturesFixture);
      const { makerOrder } = trade(ctx);
      const good = signOrder(ctx.fx, ctx.maker, makerOrder).slice(2);
      const zero = "00".repeat(32);
      for (const bad of [`0x${zero}${good.slice(64)}`, `0x${good.slice(0, 64)}${zero}${good.slice(128)}`, `0x${zero}${zero}1b`]) {
        await expectSkippedWithBadSignature(ctx, makerOrder, bad as Hex);
      }
      await expectSkippedWithBadSignature(ctx, makerOrder, `0x${zero}${zero}` as Hex);
    });

    it("skips a fill whose order names the zero address as trader, with a garbage or empty signature", async function () {
      const ctx = await loadFixture(signaturesFixture);
      const zeroTrader = buildOrder(ctx.fx, hre.ethers.ZeroAddress as Address, { isBuy: false });
      for (const garbage of [`0x${"11".repeat(64)}1b`, `0x${"00".repeat(65)}`, `0x${"ab".repeat(64)}`, "0x"] as Hex[]) {
        await expectSkippedWithBadSignature(ctx, zeroTrader, garbage);
      }
    });

    it("skips a fill where one trader's order carries another trader's valid signature", async function () {
      const ctx = await loadFixture(signaturesFixture);
      const { makerOrder } = trade(ctx);
      await expectSkippedWithBadSignature(ctx, makerOrder, signOrder(ctx.fx, ctx.other, makerOrder));
    });

    it("skips a fill for an EOA presenting a wallet-style signature (not 64 or 65 bytes)", async function () {
      const ctx = await loadFixture(signaturesFixture);
      const { makerOrder } = trade(ctx);
      const good = signOrder(ctx.fx, ctx.maker, makerOrder);
      // e.g. an ERC-6492 / Safe-style blob wrapping a real signature
      const walletStyle = hre.ethers.AbiCoder.defaultAbiCoder().encode(["address", "bytes"], [ctx.maker.address, good]) as Hex;
      await expectSkippedWithBadSignature(ctx, makerOrder, walletStyle);
      await expectSkippedWithBadSignature(ctx, makerOrder, "0xabcdef");
    });
  });

  describe("EIP-1271 wallets", function () {
    it("settles a fill for a wallet that validates its owner's signature of the order digest", async function () {
      const ctx = await loadFixture(signaturesFixture);
      const { address, makerOrder, takerOrder, takerSignature } = await walletTrade(ctx, WalletMode.Owner);
      const ownerSignature = signDigest(ctx.other.privateKey, ctx.fx.hasher.digest(makerOrder));
      const outcome = await settleHalf(ctx, makerOrder, ownerSignature, takerOrder, takerSignature);
      expect(outcome.skipped).to.deep.equal([]);
      expect(outcome.settled).to.equal(1n);
      expect(await vaultBalance(ctx.fx, address, ctx.fx.quoteAddress)).to.equal(HALF_QUOTE);
      expect(await vaultBalance(ctx.fx, address, ctx.fx.baseAddress)).to.equal(10n * ONE_BASE - HALF);
    });

    it("skips a fill for an owner-checking wallet given its owner's signature of another digest", async function () {
      const ctx = await loadFixture(signaturesFixture);
      const { makerOrder } = await walletTrade(ctx, WalletMode.Owner);
      const wrong = signDigest(ctx.other.privateKey, ctx.fx.hasher.digest({ ...makerOrder, amount: 7n }));
      await expectSkippedWithBadSignature(ctx, makerOrder, wrong);
    });

    it("settles a fill for a wallet that approves, whatever the signature's length", async function () {
      const ctx = await loadFixture(signaturesFixture);
      const { makerOrder, takerOrder, takerSignature } = await walletTrade(ctx, WalletMode.Approve);
      const outcome = await settleHalf(ctx, makerOrder, "0xc0ffee", takerOrder, takerSignature);
      expect(outcome.skipped).to.deep.equal([]);
      expect(outcome.settled).to.equal(1n);
    });

    it("settles a fill for a wallet that answers the magic value followed by extra return data", async function () {
      const ctx = await loadFixture(signaturesFixture);
      const { makerOrder, takerOrder, takerSignature } = await walletTrade(ctx, WalletMode.ReturnLongMagic);
      const outcome = await settleHalf(ctx, makerOrder, "0xc0ffee", takerOrder, takerSignature);
      expect(outcome.settled).to.equal(1n);
    });

    const refusing: [string, number][] = [
      ["refuses (returns 0xffffffff)", WalletMode.Refuse],
      ["returns no data", WalletMode.ReturnNoData],
      ["reverts", WalletMode.Revert],
      ["returns a garbage word", WalletMode.ReturnGarbage],
      ["returns the magic value with dirty low-order bytes", WalletMode.ReturnDirtyMagic],
      ["returns only the 4 magic bytes instead of a full word", WalletMode.ReturnShortMagic],
      ["burns all the gas it is given", WalletMode.BurnGas],
    ];
    for (const [behaviour, mode] of refusing) {
      it(`skips a fill for a wallet that ${behaviour}, and settles the rest of the batch`, async function () {
        const ctx = await loadFixture(signaturesFixture);
        const { makerOrder, takerOrder, takerSignature } = await walletTrade(ctx, mode);
        // A second, valid pair in the same batch: it must settle.
        const good = signedOrder(ctx.fx, ctx.maker, { isBuy: false });
        const goodTaker = signedOrder(ctx.fx, ctx.taker, { isBuy: true });
        const ownerSignature = signDigest(ctx.other.privateKey, ctx.fx.hasher.digest(makerOrder));
        const outcome = await settle(
          ctx.fx,
          [makerOrder, takerOrder, good.order, goodTaker.order],
          [ownerSignature, takerSignature, good.signature, goodTaker.signature],
          [makeFill(1n, 0, 1, HALF), makeFill(2n, 2, 3, HALF)],
        );
        expect(outcome.skipped).to.deep.equal([{ fillId: 1n, reason: SkipReason.BadSignature }]);
        expect(outcome.filled.map((f) => f.fillId)).to.deep.equal([2n]);
        expect(await vaultBalance(ctx.fx, ctx.maker.address, ctx.fx.quoteAddress)).to.equal(100_000n * QUOTE_UNIT + HALF_QUOTE);
        if (mode === WalletMode.BurnGas) {
          // The wallet call is capped (SignatureLib.ERC1271_GAS_LIMIT): a hostile wallet cannot eat the batch.
          expect(outcome.gasUsed).to.be.lessThan(1_000_000n);
        }
      });
    }
  });

  describe("EIP-1271 gas budget per batch", function () {
    /**
     * `count` funded wallets in `mode`, sorted by address (the order settleBatch checks them
     * in), each with `ordersEach` sell orders of HALF, and one crossing buy of ctx.taker per
     * wallet order. Fill k (from 1) pairs the k-th wallet order, in that order, with its buy.
     */
    async function walletBatch(ctx: Ctx, mode: number, count: number, ordersEach: number) {
      const wallets = [];
      for (let i = 0; i < count; i++) wallets.push(await deployWallet(ctx.other.address, mode));
      wallets.sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1));
      await fundTraders(ctx.fx, wallets.map((w) => w.address), 10n * ONE_BASE, 0n);
      const orders: Order[] = [];
      const signatures: Hex[] = [];
      const fills = [];
      for (const w of wallets) {
        for (let k = 0; k < ordersEach; k++) {
          const sell = buildOrder(ctx.fx, w.address, { isBuy: false });
          const buy = signedOrder(ctx.fx, ctx.taker, { isBuy: true });
          orders.push(sell, buy.order);
          signatures.push("0xc0ffee", buy.signature);
          fills.push(makeFill(BigInt(fills.length + 1), orders.length - 2, orders.length - 1, HALF));
        }
      }
      return { wallets, orders, signatures, fills };
    }

    it("exposes the per-call cap and the per-batch budget", async function () {
      const ctx = await loadFixture(signaturesFixture);
      expect(await ctx.fx.settlement.ERC1271_GAS_LIMIT()).to.equal(ERC1271_GAS_LIMIT);
      expect(await ctx.fx.settlement.ERC1271_BATCH_GAS_BUDGET()).to.equal(ERC1271_BATCH_GAS_BUDGET);
    });

    it("asks a wallet that burned its whole gas cap nothing more in that batch: its other orders are skipped (SignatureBudgetExhausted)", async function () {
      const ctx = await loadFixture(signaturesFixture);
      const batch = await walletBatch(ctx, WalletMode.BurnGas, 1, 4);
      const good = signedOrder(ctx.fx, ctx.maker, { isBuy: false });
      const goodTaker = signedOrder(ctx.fx, ctx.taker, { isBuy: true });
      batch.orders.push(good.order, goodTaker.order);
      batch.signatures.push(good.signature, goodTaker.signature);
      batch.fills.push(makeFill(5n, batch.orders.length - 2, batch.orders.length - 1, HALF));
      const outcome = await settle(ctx.fx, batch.orders, batch.signatures, batch.fills);
      expect(outcome.skipped).to.deep.equal([
        { fillId: 1n, reason: SkipReason.BadSignature },
        { fillId: 2n, reason: SkipReason.SignatureBudgetExhausted },
        { fillId: 3n, reason: SkipReason.SignatureBudgetExhausted },
        { fillId: 4n, reason: SkipReason.SignatureBudgetExhausted },
      ]);
      expect(outcome.filled.map((f) => f.fillId)).to.deep.equal([5n]);
      // One call's cap, not four.
      expect(outcome.gasUsed).to.be.lessThan(ERC1271_GAS_LIMIT + 350_000n);
    });

    it("stops calling wallets once the batch's budget is spent, skipping their orders (SignatureBudgetExhausted), and settles the rest", async function () {
      const ctx = await loadFixture(signaturesFixture);
      const batch = await walletBatch(ctx, WalletMode.BurnGas, 5, 1);
      const good = signedOrder(ctx.fx, ctx.maker, { isBuy: false });
      const goodTaker = signedOrder(ctx.fx, ctx.taker, { isBuy: true });
      batch.orders.push(good.order, goodTaker.order);
      batch.signatures.push(good.signature, goodTaker.signature);
      batch.fills.push(makeFill(6n, batch.orders.length - 2, batch.orders.length - 1, HALF));
      const outcome = await settle(ctx.fx, batch.orders, batch.signatures, batch.fills);
      // The first wallet burns a whole call; the second gets what is left of the budget (a
      // little less than a call: the first call's own overhead counts too), so its failure is
      // the budget's, not proof of a bad signature; the others are not called at all.
      expect(outcome.skipped).to.deep.equal([
        { fillId: 1n, reason: SkipReason.BadSignature },
        { fillId: 2n, reason: SkipReason.SignatureBudgetExhausted },
        { fillId: 3n, reason: SkipReason.SignatureBudgetExhausted },
        { fillId: 4n, reason: SkipReason.SignatureBudgetExhausted },
        { fillId: 5n, reason: SkipReason.SignatureBudgetExhausted },
      ]);
      expect(outcome.filled.map((f) => f.fillId)).to.deep.equal([6n]);
      expect(outcome.gasUsed).to.be.lessThan(ERC1271_BATCH_GAS_BUDGET + 400_000n);
    });

    it("verifies costly honest wallets while the budget lasts, skips the one it cannot pay for (SignatureBudgetExhausted, not BadSignature), and settles it in a later batch", async function () {
      const ctx = await loadFixture(signaturesFixture);
      const batch = await walletBatch(ctx, WalletMode.SpendGas, 3, 1);
      for (const w of batch.wallets) await w.wallet.setGasToSpend(200_000n);
      const outcome = await settle(ctx.fx, batch.orders, batch.signatures, batch.fills);
      expect(outcome.filled.map((f) => f.fillId)).to.deep.equal([1n, 2n]);
      expect(outcome.skipped).to.deep.equal([{ fillId: 3n, reason: SkipReason.SignatureBudgetExhausted }]);

      const third = batch.orders.slice(4);
      const again = await settle(ctx.fx, third, batch.signatures.slice(4), [makeFill(4n, 0, 1, HALF)]);
      expect(again.skipped).to.deep.equal([]);
      expect(again.settled).to.equal(1n);
      expect(await vaultBalance(ctx.fx, batch.wallets[2].address, ctx.fx.quoteAddress)).to.equal(HALF_QUOTE);
    });
  });

  describe("verified only the first time", function () {
    it("settles a partially filled order again in a later batch with an empty signature", async function () {
      const ctx = await loadFixture(signaturesFixture);
      const { makerOrder, takerOrder, takerSignature } = trade(ctx);
      const first = await settleHalf(ctx, makerOrder, signOrder(ctx.fx, ctx.maker, makerOrder), takerOrder, takerSignature);
      expect(first.settled).to.equal(1n);
      expect(await ctx.fx.settlement.filledAmount(makerOrder)).to.equal(HALF);

      const second = await settleHalf(ctx, makerOrder, "0x", takerOrder, "0x");
      expect(second.skipped).to.deep.equal([]);
      expect(second.settled).to.equal(1n);
      expect(await ctx.fx.settlement.isNonceSpent(ctx.maker.address, makerOrder.nonce)).to.equal(true);
      expect(await ctx.fx.settlement.isNonceSpent(ctx.taker.address, takerOrder.nonce)).to.equal(true);
      expect(await vaultBalance(ctx.fx, ctx.taker.address, ctx.fx.baseAddress)).to.equal(11n * ONE_BASE);
    });

    it("skips an order that no batch has filled yet when it comes with an empty signature", async function () {
      const ctx = await loadFixture(signaturesFixture);
      const { makerOrder } = trade(ctx);
      await expectSkippedWithBadSignature(ctx, makerOrder, "0x");
    });

    it("skips an order that reuses a partially filled order's nonce whatever its signature (NonceInUse): the nonce backs the first order", async function () {
      const ctx = await loadFixture(signaturesFixture);
      const { makerOrder, takerOrder, takerSignature } = trade(ctx);
      await settleHalf(ctx, makerOrder, signOrder(ctx.fx, ctx.maker, makerOrder), takerOrder, takerSignature);
      // Same trader and nonce, so the nonce is marked partially filled, but a different order:
      // it can neither ride on the first order's signature check nor be filled beside it.
      const sibling = { ...makerOrder, price: makerOrder.price - QUOTE_UNIT };
      await expectSkippedWith(ctx, sibling, "0x", SkipReason.NonceInUse);
      await expectSkippedWith(ctx, sibling, signOrder(ctx.fx, ctx.other, sibling), SkipReason.NonceInUse);
      await expectSkippedWith(ctx, sibling, signOrder(ctx.fx, ctx.maker, sibling), SkipReason.NonceInUse);
    });

    it("does not ask a wallet again for an order it approved and that is partially filled", async function () {
      const ctx = await loadFixture(signaturesFixture);
      const { wallet, makerOrder, takerOrder, takerSignature } = await walletTrade(ctx, WalletMode.Approve);
      expect((await settleHalf(ctx, makerOrder, "0x01", takerOrder, takerSignature)).settled).to.equal(1n);
      await wallet.setMode(WalletMode.Revert);
      const again = await settleHalf(ctx, makerOrder, "0x", takerOrder, "0x");
      expect(again.skipped).to.deep.equal([]);
      expect(again.settled).to.equal(1n);
    });
  });
});

