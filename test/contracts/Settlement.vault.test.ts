/**
 * Settlement vault: deposits (fee-on-transfer safe, re-entrancy safe), the two-step
 * withdrawal escape hatch, early release by the operator, views, and token listing.
 */
import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import {
  BatchBuilder,
  ONE_BASE,
  WITHDRAWAL_DELAY,
  deploySettlementFixture,
  fundTraders,
  makeTraders,
  traderSigner,
  vaultBalance,
  type SettlementFixture,
  type Trader,
} from "../helpers/settlementFixture";
import type { Address } from "../../operator/orders";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { BaseContract } from "ethers";

const QUOTE_UNIT = 10n ** 6n;

interface Ctx {
  fx: SettlementFixture;
  alice: Trader;
  bob: Trader;
  aliceSigner: HardhatEthersSigner;
}

async function vaultFixture(): Promise<Ctx> {
  const fx = await deploySettlementFixture();
  const [alice, bob] = makeTraders("settlement-vault", 2);
  const aliceSigner = await traderSigner(alice.address);
  return { fx, alice, bob, aliceSigner };
}

async function listed<T extends BaseContract>(fx: SettlementFixture, token: T): Promise<{ token: T; address: Address }> {
  const address = (await token.getAddress()).toLowerCase() as Address;
  await fx.settlement.connect(fx.admin).listToken(address);
  return { token, address };
}

/** A listed token that burns `feeBps` of every transfer. */
async function feeOnTransferToken(fx: SettlementFixture, feeBps: bigint) {
  return listed(fx, await (await hre.ethers.getContractFactory("FeeOnTransferToken")).deploy(18, feeBps));
}

/** A listed token whose transfer hook can call back into Settlement. */
async function reentrantToken(fx: SettlementFixture) {
  return listed(fx, await (await hre.ethers.getContractFactory("ReentrantToken")).deploy());
}

/** Alice deposits `amount` of base into her own vault. */
async function aliceDeposits(ctx: Ctx, amount: bigint) {
  await ctx.fx.base.mint(ctx.alice.address, amount);
  await ctx.fx.base.connect(ctx.aliceSigner).approve(ctx.fx.settlementAddress, amount);
  await ctx.fx.settlement.connect(ctx.aliceSigner).deposit(ctx.fx.baseAddress, amount);
}

async function expectConservation(fx: SettlementFixture, token: string, accounts: string[]) {
  const balances = await fx.settlement.balancesOf(accounts, accounts.map(() => token));
  const sum = balances.reduce((s, v) => s + v, 0n);
  const erc20 = await hre.ethers.getContractAt("IERC20", token);
  expect(await fx.settlement.totalBalance(token)).to.equal(sum);
  expect(await erc20.balanceOf(fx.settlementAddress)).to.equal(sum);
}

describe("Settlement vault", function () {
  describe("deposits", function () {
    it("credits a deposit to the caller and emits Deposited with the amount that arrived", async function () {
      const ctx = await loadFixture(vaultFixture);
      const { fx, alice, aliceSigner } = ctx;
      await fx.base.mint(alice.address, 5n * ONE_BASE);
      await fx.base.connect(aliceSigner).approve(fx.settlementAddress, 5n * ONE_BASE);
      expect(await fx.settlement.connect(aliceSigner).deposit.staticCall(fx.baseAddress, 3n * ONE_BASE)).to.equal(3n * ONE_BASE);
      const owner = hre.ethers.getAddress(alice.address);
      await expect(fx.settlement.connect(aliceSigner).deposit(fx.baseAddress, 3n * ONE_BASE))
        .to.emit(fx.settlement, "Deposited")
        .withArgs(owner, hre.ethers.getAddress(fx.baseAddress), owner, 3n * ONE_BASE);
      expect(await vaultBalance(fx, alice.address, fx.baseAddress)).to.equal(3n * ONE_BASE);
      expect(await fx.base.balanceOf(alice.address)).to.equal(2n * ONE_BASE);
      await expectConservation(fx, fx.baseAddress, [alice.address]);
    });

    it("credits only what arrived from a fee-on-transfer token", async function () {
      const ctx = await loadFixture(vaultFixture);
      const { fx, alice, aliceSigner } = ctx;
      const { token, address } = await feeOnTransferToken(fx, 100n); // 1% per transfer
      await token.mint(alice.address, 1_000n);
      await token.connect(aliceSigner).approve(fx.settlementAddress, 1_000n);
      expect(await fx.settlement.connect(aliceSigner).deposit.staticCall(address, 1_000n)).to.equal(990n);
      await expect(fx.settlement.connect(aliceSigner).deposit(address, 1_000n))
        .to.emit(fx.settlement, "Deposited")
        .withArgs(hre.ethers.getAddress(alice.address), hre.ethers.getAddress(address), hre.ethers.getAddress(alice.address), 990n);
      expect(await vaultBalance(fx, alice.address, address)).to.equal(990n);
      await expectConservation(fx, address, [alice.address]);
    });

    it("pays out a fee-on-transfer token from the vault's books exactly, the token's fee falling on the trader", async function () {
      const ctx = await loadFixture(vaultFixture);
      const { fx, alice, aliceSigner } = ctx;
      const { token, address } = await feeOnTransferToken(fx, 100n);
      await token.mint(alice.address, 10_000n);
      await token.connect(aliceSigner).approve(fx.settlementAddress, 10_000n);
      await fx.settlement.connect(aliceSigner).deposit(address, 10_000n); // credited 9,900
      await fx.settlement.connect(aliceSigner).requestWithdrawal(address, 5_000n);
      await time.increase(WITHDRAWAL_DELAY);
      await fx.settlement.finalizeWithdrawal(alice.address, address);
      expect(await vaultBalance(fx, alice.address, address)).to.equal(4_900n);
      expect(await token.balanceOf(alice.address)).to.equal(4_950n); // 5,000 minus the token's 1%
      await expectConservation(fx, address, [alice.address]);
    });

    it("credits depositFor to the named trader and pulls the tokens from the caller", async function () {
      const ctx = await loadFixture(vaultFixture);
      const { fx, alice } = ctx;
      await fx.quote.mint(fx.funder.address, 700n * QUOTE_UNIT);
      await fx.quote.connect(fx.funder).approve(fx.settlementAddress, 700n * QUOTE_UNIT);
      await expect(fx.settlement.connect(fx.funder).depositFor(alice.address, fx.quoteAddress, 700n * QUOTE_UNIT))
        .to.emit(fx.settlement, "Deposited")
        .withArgs(hre.ethers.getAddress(alice.address), hre.ethers.getAddress(fx.quoteAddress), fx.funder.address, 700n * QUOTE_UNIT);
      expect(await vaultBalance(fx, alice.address, fx.quoteAddress)).to.equal(700n * QUOTE_UNIT);
      expect(await vaultBalance(fx, fx.funder.address, fx.quoteAddress)).to.equal(0n);
      expect(await fx.quote.balanceOf(fx.funder.address)).to.equal(0n);
    });

    it("reverts a deposit of an unlisted token (SettlementTokenNotListed)", async function () {
      const ctx = await loadFixture(vaultFixture);
      const { fx, alice, aliceSigner } = ctx;
      const unlisted = await (await hre.ethers.getContractFactory("MockERC20")).deploy("U", "U", 18);
      await unlisted.mint(alice.address, 10n);
      await unlisted.connect(aliceSigner).approve(fx.settlementAddress, 10n);
      await expect(fx.settlement.connect(aliceSigner).deposit(await unlisted.getAddress(), 10n))
        .to.be.revertedWithCustomError(fx.settlement, "SettlementTokenNotListed")
        .withArgs(await unlisted.getAddress());
      await expect(fx.settlement.connect(aliceSigner).depositFor(alice.address, await unlisted.getAddress(), 10n))
        .to.be.revertedWithCustomError(fx.settlement, "SettlementTokenNotListed");
    });

    it("reverts a zero deposit and a deposit for the zero address", async function () {
      const ctx = await loadFixture(vaultFixture);
      const { fx, aliceSigner } = ctx;
      await expect(fx.settlement.connect(aliceSigner).deposit(fx.baseAddress, 0n)).to.be.revertedWithCustomError(
        fx.settlement,
        "SettlementZeroAmount",
      );
      await expect(
        fx.settlement.connect(fx.funder).depositFor(hre.ethers.ZeroAddress, fx.baseAddress, 1n),
      ).to.be.revertedWithCustomError(fx.settlement, "SettlementZeroAddress");
    });
  });

  describe("re-entrancy", function () {
    async function reentrantSetup(ctx: Ctx) {
      const { token, address } = await reentrantToken(ctx.fx);
      await token.mint(ctx.alice.address, 1_000n);
      await token.connect(ctx.aliceSigner).approve(ctx.fx.settlementAddress, 1_000n);
      return { token, address };
    }

    it("deposits a callback-bearing token normally while its hook is disarmed", async function () {
      const ctx = await loadFixture(vaultFixture);
      const { address } = await reentrantSetup(ctx);
      await ctx.fx.settlement.connect(ctx.aliceSigner).deposit(address, 100n);
      expect(await vaultBalance(ctx.fx, ctx.alice.address, address)).to.equal(100n);
    });

    it("stops a token that calls back into deposit during a deposit (ReentrancyGuardReentrantCall)", async function () {
      const ctx = await loadFixture(vaultFixture);
      const { fx } = ctx;
      const { token, address } = await reentrantSetup(ctx);
      await token.arm(fx.settlementAddress, fx.settlement.interface.encodeFunctionData("deposit", [address, 1n]));
      await expect(fx.settlement.connect(ctx.aliceSigner).deposit(address, 100n)).to.be.revertedWithCustomError(
        fx.settlement,
        "ReentrancyGuardReentrantCall",
      );
      await token.arm(
        fx.settlementAddress,
        fx.settlement.interface.encodeFunctionData("depositFor", [ctx.bob.address, address, 1n]),
      );
      await expect(fx.settlement.connect(ctx.aliceSigner).depositFor(ctx.alice.address, address, 100n)).to.be.revertedWithCustomError(
        fx.settlement,
        "ReentrancyGuardReentrantCall",
      );
      expect(await token.reentries()).to.equal(0n);
      expect(await fx.settlement.totalBalance(address)).to.equal(0n);
    });

    it("stops a token that calls back into finalizeWithdrawal during a payout (ReentrancyGuardReentrantCall)", async function () {
      const ctx = await loadFixture(vaultFixture);
      const { fx, alice, aliceSigner } = ctx;
      const { token, address } = await reentrantSetup(ctx);
      await fx.settlement.connect(aliceSigner).deposit(address, 1_000n);
      await fx.settlement.connect(aliceSigner).requestWithdrawal(address, 400n);
      await time.increase(WITHDRAWAL_DELAY);
      await token.arm(fx.settlementAddress, fx.settlement.interface.encodeFunctionData("finalizeWithdrawal", [alice.address, address]));
      await expect(fx.settlement.finalizeWithdrawal(alice.address, address)).to.be.revertedWithCustomError(
        fx.settlement,
        "ReentrancyGuardReentrantCall",
      );
      // A callback into deposit during a payout is stopped too.
      await token.arm(fx.settlementAddress, fx.settlement.interface.encodeFunctionData("deposit", [address, 1n]));
      await expect(fx.settlement.finalizeWithdrawal(alice.address, address)).to.be.revertedWithCustomError(
        fx.settlement,
        "ReentrancyGuardReentrantCall",
      );
      await token.disarm();
      await fx.settlement.finalizeWithdrawal(alice.address, address);
      expect(await token.balanceOf(alice.address)).to.equal(400n);
      expect(await vaultBalance(fx, alice.address, address)).to.equal(600n);
    });
  });

  describe("withdrawals", function () {
    it("finalizes a withdrawal after the delay with no operator involvement, by the trader", async function () {
      const ctx = await loadFixture(vaultFixture);
      const { fx, alice, aliceSigner } = ctx;
      await aliceDeposits(ctx, 5n * ONE_BASE);
      const requestedAt = BigInt(await time.latest()) + 10n;
      const readyAt = requestedAt + WITHDRAWAL_DELAY;
      await time.setNextBlockTimestamp(requestedAt);
      await expect(fx.settlement.connect(aliceSigner).requestWithdrawal(fx.baseAddress, 2n * ONE_BASE))
        .to.emit(fx.settlement, "WithdrawalRequested")
        .withArgs(hre.ethers.getAddress(alice.address), hre.ethers.getAddress(fx.baseAddress), 2n * ONE_BASE, readyAt);
      expect(await fx.settlement.withdrawalRequest(alice.address, fx.baseAddress)).to.deep.equal([2n * ONE_BASE, readyAt]);
      // Funds stay in the vault (and tradable) until finalized.
      expect(await vaultBalance(fx, alice.address, fx.baseAddress)).to.equal(5n * ONE_BASE);

      await time.increaseTo(readyAt);
      await expect(fx.settlement.connect(aliceSigner).finalizeWithdrawal(alice.address, fx.baseAddress))
        .to.emit(fx.settlement, "Withdrawn")
        .withArgs(hre.ethers.getAddress(alice.address), hre.ethers.getAddress(fx.baseAddress), 2n * ONE_BASE, false);
      expect(await fx.base.balanceOf(alice.address)).to.equal(2n * ONE_BASE);
      expect(await vaultBalance(fx, alice.address, fx.baseAddress)).to.equal(3n * ONE_BASE);
      expect(await fx.settlement.withdrawalRequest(alice.address, fx.baseAddress)).to.deep.equal([0n, 0n]);
      await expectConservation(fx, fx.baseAddress, [alice.address]);
    });

    it("lets any third party finalize a ready withdrawal, and pays the trader, not the caller", async function () {
      const ctx = await loadFixture(vaultFixture);
      const { fx, alice, aliceSigner } = ctx;
      await aliceDeposits(ctx, 5n * ONE_BASE);
      await fx.settlement.connect(aliceSigner).requestWithdrawal(fx.baseAddress, 5n * ONE_BASE);
      await time.increase(WITHDRAWAL_DELAY);
      const stranger = fx.others[0];
      await fx.settlement.connect(stranger).finalizeWithdrawal(alice.address, fx.baseAddress);
      expect(await fx.base.balanceOf(alice.address)).to.equal(5n * ONE_BASE);
      expect(await fx.base.balanceOf(stranger.address)).to.equal(0n);
      expect(await vaultBalance(fx, alice.address, fx.baseAddress)).to.equal(0n);
    });

    it("refuses to finalize one second before the delay ends (SettlementWithdrawalNotReady), and finalizes at its end", async function () {
      const ctx = await loadFixture(vaultFixture);
      const { fx, alice, aliceSigner } = ctx;
      await aliceDeposits(ctx, ONE_BASE);
      await fx.settlement.connect(aliceSigner).requestWithdrawal(fx.baseAddress, ONE_BASE);
      const [, readyAt] = await fx.settlement.withdrawalRequest(alice.address, fx.baseAddress);
      await expect(fx.settlement.finalizeWithdrawal(alice.address, fx.baseAddress))
        .to.be.revertedWithCustomError(fx.settlement, "SettlementWithdrawalNotReady")
        .withArgs(readyAt);
      await time.setNextBlockTimestamp(readyAt - 1n);
      await expect(fx.settlement.finalizeWithdrawal(alice.address, fx.baseAddress))
        .to.be.revertedWithCustomError(fx.settlement, "SettlementWithdrawalNotReady")
        .withArgs(readyAt);
      await time.setNextBlockTimestamp(readyAt);
      await fx.settlement.finalizeWithdrawal(alice.address, fx.baseAddress);
      expect(await fx.base.balanceOf(alice.address)).to.equal(ONE_BASE);
    });

    it("refuses to finalize without a request, or a second time (SettlementNoWithdrawalRequest)", async function () {
      const ctx = await loadFixture(vaultFixture);
      const { fx, alice, aliceSigner } = ctx;
      await expect(fx.settlement.finalizeWithdrawal(alice.address, fx.baseAddress))
        .to.be.revertedWithCustomError(fx.settlement, "SettlementNoWithdrawalRequest")
        .withArgs(hre.ethers.getAddress(alice.address), hre.ethers.getAddress(fx.baseAddress));
      await aliceDeposits(ctx, ONE_BASE);
      await fx.settlement.connect(aliceSigner).requestWithdrawal(fx.baseAddress, ONE_BASE / 2n);
      await time.increase(WITHDRAWAL_DELAY);
      await fx.settlement.finalizeWithdrawal(alice.address, fx.baseAddress);
      await expect(fx.settlement.finalizeWithdrawal(alice.address, fx.baseAddress)).to.be.revertedWithCustomError(
        fx.settlement,
        "SettlementNoWithdrawalRequest",
      );
      expect(await vaultBalance(fx, alice.address, fx.baseAddress)).to.equal(ONE_BASE / 2n);
    });

    it("refuses a request above the balance (SettlementInsufficientBalance) or of zero (SettlementZeroAmount)", async function () {
      const ctx = await loadFixture(vaultFixture);
      const { fx, alice, aliceSigner } = ctx;
      await aliceDeposits(ctx, ONE_BASE);
      await expect(fx.settlement.connect(aliceSigner).requestWithdrawal(fx.baseAddress, ONE_BASE + 1n))
        .to.be.revertedWithCustomError(fx.settlement, "SettlementInsufficientBalance")
        .withArgs(hre.ethers.getAddress(alice.address), hre.ethers.getAddress(fx.baseAddress), ONE_BASE, ONE_BASE + 1n);
      await expect(fx.settlement.connect(aliceSigner).requestWithdrawal(fx.baseAddress, 0n)).to.be.revertedWithCustomError(
        fx.settlement,
        "SettlementZeroAmount",
      );
    });

    it("replaces a pending request with a new one, which restarts the delay", async function () {
      const ctx = await loadFixture(vaultFixture);
      const { fx, alice, aliceSigner } = ctx;
      await aliceDeposits(ctx, 5n * ONE_BASE);
      await fx.settlement.connect(aliceSigner).requestWithdrawal(fx.baseAddress, ONE_BASE);
      await time.increase(WITHDRAWAL_DELAY / 2n);
      await fx.settlement.connect(aliceSigner).requestWithdrawal(fx.baseAddress, 3n * ONE_BASE);
      const [amount, readyAt] = await fx.settlement.withdrawalRequest(alice.address, fx.baseAddress);
      expect(amount).to.equal(3n * ONE_BASE);
      expect(readyAt).to.equal(BigInt(await time.latest()) + WITHDRAWAL_DELAY);
      await time.increase(WITHDRAWAL_DELAY / 2n + 1n);
      await expect(fx.settlement.finalizeWithdrawal(alice.address, fx.baseAddress)).to.be.revertedWithCustomError(
        fx.settlement,
        "SettlementWithdrawalNotReady",
      );
      await time.increaseTo(readyAt);
      await fx.settlement.finalizeWithdrawal(alice.address, fx.baseAddress);
      expect(await fx.base.balanceOf(alice.address)).to.equal(3n * ONE_BASE);
    });

    it("applies a longer withdrawal delay only once the current delay has passed, and never moves a pending request's readyAt", async function () {
      const ctx = await loadFixture(vaultFixture);
      const { fx, alice, aliceSigner } = ctx;
      const TWO_DAYS = 2n * 86400n;
      await aliceDeposits(ctx, 5n * ONE_BASE);
      await fx.settlement.connect(aliceSigner).requestWithdrawal(fx.baseAddress, ONE_BASE);
      const [, pendingReadyAt] = await fx.settlement.withdrawalRequest(alice.address, fx.baseAddress);

      const scheduledAt = BigInt(await time.latest()) + 10n;
      const effectiveAt = scheduledAt + WITHDRAWAL_DELAY;
      await time.setNextBlockTimestamp(scheduledAt);
      await expect(fx.settlement.connect(fx.admin).setWithdrawalDelay(TWO_DAYS))
        .to.emit(fx.settlement, "WithdrawalDelayIncreaseScheduled")
        .withArgs(TWO_DAYS, effectiveAt)
        .and.not.to.emit(fx.settlement, "WithdrawalDelaySet");
      expect(await fx.settlement.withdrawalDelay()).to.equal(WITHDRAWAL_DELAY);
      expect(await fx.settlement.pendingWithdrawalDelay()).to.deep.equal([TWO_DAYS, effectiveAt]);
      // The request made before the change keeps its readyAt, and finalizes then.
      expect((await fx.settlement.withdrawalRequest(alice.address, fx.baseAddress))[1]).to.equal(pendingReadyAt);

      // Until effectiveAt, a new request still gets the current delay: traders who dislike the
      // longer one have the whole current delay to leave under it.
      await time.setNextBlockTimestamp(effectiveAt - 1n);
      await fx.settlement.connect(aliceSigner).requestWithdrawal(fx.baseAddress, 2n * ONE_BASE);
      expect((await fx.settlement.withdrawalRequest(alice.address, fx.baseAddress))[1]).to.equal(effectiveAt - 1n + WITHDRAWAL_DELAY);

      // From effectiveAt on, the longer delay binds new requests, without anybody executing it.
      await time.setNextBlockTimestamp(effectiveAt);
      await fx.base.mint(alice.address, ONE_BASE);
      await fx.base.connect(aliceSigner).approve(fx.settlementAddress, ONE_BASE);
      await fx.settlement.connect(aliceSigner).deposit(fx.baseAddress, ONE_BASE); // a transaction at effectiveAt
      expect(await fx.settlement.withdrawalDelay()).to.equal(TWO_DAYS);
      const requestedAt = BigInt(await time.latest()) + 5n;
      await time.setNextBlockTimestamp(requestedAt);
      await expect(fx.settlement.connect(aliceSigner).requestWithdrawal(fx.baseAddress, ONE_BASE))
        .to.emit(fx.settlement, "WithdrawalRequested")
        .withArgs(hre.ethers.getAddress(alice.address), hre.ethers.getAddress(fx.baseAddress), ONE_BASE, requestedAt + TWO_DAYS);
    });

    it("never lengthens a request made before a longer delay took effect: it finalizes at its own readyAt", async function () {
      const ctx = await loadFixture(vaultFixture);
      const { fx, alice, aliceSigner } = ctx;
      await aliceDeposits(ctx, ONE_BASE);
      await fx.settlement.connect(aliceSigner).requestWithdrawal(fx.baseAddress, ONE_BASE);
      const [, readyAt] = await fx.settlement.withdrawalRequest(alice.address, fx.baseAddress);
      await fx.settlement.connect(fx.admin).setWithdrawalDelay(7n * 86400n);
      await time.increaseTo(readyAt + WITHDRAWAL_DELAY); // past the increase's own effectiveAt too
      expect(await fx.settlement.withdrawalDelay()).to.equal(7n * 86400n);
      await fx.settlement.finalizeWithdrawal(alice.address, fx.baseAddress);
      expect(await fx.base.balanceOf(alice.address)).to.equal(ONE_BASE);
    });

    it("applies a shorter withdrawal delay at once, dropping a scheduled increase; pending requests keep their readyAt", async function () {
      const ctx = await loadFixture(vaultFixture);
      const { fx, alice, aliceSigner } = ctx;
      await aliceDeposits(ctx, 2n * ONE_BASE);
      await fx.settlement.connect(aliceSigner).requestWithdrawal(fx.baseAddress, ONE_BASE);
      const [, readyAt] = await fx.settlement.withdrawalRequest(alice.address, fx.baseAddress);
      await fx.settlement.connect(fx.admin).setWithdrawalDelay(86400n);
      await expect(fx.settlement.connect(fx.admin).setWithdrawalDelay(600n)).to.emit(fx.settlement, "WithdrawalDelaySet").withArgs(600n);
      expect(await fx.settlement.withdrawalDelay()).to.equal(600n);
      expect(await fx.settlement.pendingWithdrawalDelay()).to.deep.equal([0n, 0n]);
      await time.increase(WITHDRAWAL_DELAY + 1n);
      expect(await fx.settlement.withdrawalDelay()).to.equal(600n);
      // The earlier request is not shortened (the trader may request again to use the new delay).
      expect((await fx.settlement.withdrawalRequest(alice.address, fx.baseAddress))[1]).to.equal(readyAt);
    });

    it("restarts the wait when a scheduled increase is replaced by another increase", async function () {
      const ctx = await loadFixture(vaultFixture);
      const { fx } = ctx;
      await fx.settlement.connect(fx.admin).setWithdrawalDelay(86400n);
      await time.increase(WITHDRAWAL_DELAY / 2n);
      const at = BigInt(await time.latest()) + 1n;
      await time.setNextBlockTimestamp(at);
      await expect(fx.settlement.connect(fx.admin).setWithdrawalDelay(2n * 86400n))
        .to.emit(fx.settlement, "WithdrawalDelayIncreaseScheduled")
        .withArgs(2n * 86400n, at + WITHDRAWAL_DELAY);
      await time.increaseTo(at + WITHDRAWAL_DELAY - 1n);
      expect(await fx.settlement.withdrawalDelay()).to.equal(WITHDRAWAL_DELAY);
      await time.increase(1n);
      expect(await fx.settlement.withdrawalDelay()).to.equal(2n * 86400n);
      expect(await fx.settlement.pendingWithdrawalDelay()).to.deep.equal([0n, 0n]);
    });

    it("lets the operator release a pending withdrawal early, flagged early, and nobody else", async function () {
      const ctx = await loadFixture(vaultFixture);
      const { fx, alice, aliceSigner } = ctx;
      await aliceDeposits(ctx, 5n * ONE_BASE);
      await fx.settlement.connect(aliceSigner).requestWithdrawal(fx.baseAddress, 2n * ONE_BASE);
      for (const caller of [aliceSigner, fx.admin, fx.guardian]) {
        await expect(fx.settlement.connect(caller).releaseWithdrawal(alice.address, fx.baseAddress))
          .to.be.revertedWithCustomError(fx.settlement, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, await fx.settlement.OPERATOR_ROLE());
      }
      await expect(fx.settlement.connect(fx.operator).releaseWithdrawal(alice.address, fx.baseAddress))
        .to.emit(fx.settlement, "Withdrawn")
        .withArgs(hre.ethers.getAddress(alice.address), hre.ethers.getAddress(fx.baseAddress), 2n * ONE_BASE, true);
      expect(await fx.base.balanceOf(alice.address)).to.equal(2n * ONE_BASE);
      expect(await fx.settlement.withdrawalRequest(alice.address, fx.baseAddress)).to.deep.equal([0n, 0n]);
      await expect(fx.settlement.connect(fx.operator).releaseWithdrawal(alice.address, fx.baseAddress)).to.be.revertedWithCustomError(
        fx.settlement,
        "SettlementNoWithdrawalRequest",
      );
    });

    it("flags a release by the operator after the delay as not early", async function () {
      const ctx = await loadFixture(vaultFixture);
      const { fx, alice, aliceSigner } = ctx;
      await aliceDeposits(ctx, ONE_BASE);
      await fx.settlement.connect(aliceSigner).requestWithdrawal(fx.baseAddress, ONE_BASE);
      await time.increase(WITHDRAWAL_DELAY);
      await expect(fx.settlement.connect(fx.operator).releaseWithdrawal(alice.address, fx.baseAddress))
        .to.emit(fx.settlement, "Withdrawn")
        .withArgs(hre.ethers.getAddress(alice.address), hre.ethers.getAddress(fx.baseAddress), ONE_BASE, false);
    });

    it("pays the smaller of the request and the balance when fills spent some of it during the delay", async function () {
      const ctx = await loadFixture(vaultFixture);
      const { fx, alice, bob, aliceSigner } = ctx;
      await fundTraders(fx, [alice.address], 10n * ONE_BASE, 0n);
      await fundTraders(fx, [bob.address], 0n, 100_000n * QUOTE_UNIT);
      await fx.settlement.connect(aliceSigner).requestWithdrawal(fx.baseAddress, 10n * ONE_BASE);
      // Alice's resting sell fills for 4 base during the delay.
      const b = new BatchBuilder(fx);
      b.fill(b.signed(alice, { isBuy: false, amount: 4n * ONE_BASE }), b.signed(bob, { isBuy: true, amount: 4n * ONE_BASE }), 4n * ONE_BASE);
      expect((await b.settle()).settled).to.equal(1n);
      await time.increase(WITHDRAWAL_DELAY);
      await expect(fx.settlement.connect(fx.others[1]).finalizeWithdrawal(alice.address, fx.baseAddress))
        .to.emit(fx.settlement, "Withdrawn")
        .withArgs(hre.ethers.getAddress(alice.address), hre.ethers.getAddress(fx.baseAddress), 6n * ONE_BASE, false);
      expect(await fx.base.balanceOf(alice.address)).to.equal(6n * ONE_BASE);
      expect(await vaultBalance(fx, alice.address, fx.baseAddress)).to.equal(0n);
      expect(await vaultBalance(fx, alice.address, fx.quoteAddress)).to.equal(8_000n * QUOTE_UNIT);
      await expectConservation(fx, fx.baseAddress, [alice.address, bob.address, fx.feeRecipient.address]);
    });

    it("pays nothing and clears the request when fills spent the whole balance during the delay", async function () {
      const ctx = await loadFixture(vaultFixture);
      const { fx, alice, bob, aliceSigner } = ctx;
      await fundTraders(fx, [alice.address], ONE_BASE, 0n);
      await fundTraders(fx, [bob.address], 0n, 100_000n * QUOTE_UNIT);
      await fx.settlement.connect(aliceSigner).requestWithdrawal(fx.baseAddress, ONE_BASE);
      const b = new BatchBuilder(fx);
      b.fill(b.signed(alice, { isBuy: false }), b.signed(bob, { isBuy: true }), ONE_BASE);
      await b.settle();
      await time.increase(WITHDRAWAL_DELAY);
      await expect(fx.settlement.finalizeWithdrawal(alice.address, fx.baseAddress))
        .to.emit(fx.settlement, "Withdrawn")
        .withArgs(hre.ethers.getAddress(alice.address), hre.ethers.getAddress(fx.baseAddress), 0n, false);
      expect(await fx.base.balanceOf(alice.address)).to.equal(0n);
      expect(await fx.settlement.withdrawalRequest(alice.address, fx.baseAddress)).to.deep.equal([0n, 0n]);
    });

    it("refuses a withdrawal request above 2^128 - 1 instead of recording a truncated amount", async function () {
      const ctx = await loadFixture(vaultFixture);
      const { fx, alice, aliceSigner } = ctx;
      const huge = 2n ** 128n + 5n;
      await aliceDeposits(ctx, huge);
      await expect(fx.settlement.connect(aliceSigner).requestWithdrawal(fx.baseAddress, huge))
        .to.be.revertedWithCustomError(fx.settlement, "SafeCastOverflowedUintDowncast")
        .withArgs(128, huge);
      expect(await fx.settlement.withdrawalRequest(alice.address, fx.baseAddress)).to.deep.equal([0n, 0n]);
      // The largest storable request works and pays out in full.
      const max = 2n ** 128n - 1n;
      await fx.settlement.connect(aliceSigner).requestWithdrawal(fx.baseAddress, max);
      await time.increase(WITHDRAWAL_DELAY);
      await fx.settlement.finalizeWithdrawal(alice.address, fx.baseAddress);
      expect(await fx.base.balanceOf(alice.address)).to.equal(max);
    });

    it("reads many (trader, token) balances in one balancesOf call, and rejects arrays of different lengths", async function () {
      const ctx = await loadFixture(vaultFixture);
      const { fx, alice, bob } = ctx;
      await fundTraders(fx, [alice.address], 3n, 4n);
      await fundTraders(fx, [bob.address], 5n, 0n);
      expect(
        await fx.settlement.balancesOf(
          [alice.address, alice.address, bob.address, bob.address, fx.others[0].address],
          [fx.baseAddress, fx.quoteAddress, fx.baseAddress, fx.quoteAddress, fx.baseAddress],
        ),
      ).to.deep.equal([3n, 4n, 5n, 0n, 0n]);
      expect(await fx.settlement.balancesOf([], [])).to.deep.equal([]);
      await expect(fx.settlement.balancesOf([alice.address], []))
        .to.be.revertedWithCustomError(fx.settlement, "SettlementLengthMismatch")
        .withArgs(1n, 0n);
    });

    it("reports in totalBalance what the vault owes: deposits add, fills move, withdrawals subtract", async function () {
      const ctx = await loadFixture(vaultFixture);
      const { fx, alice, bob, aliceSigner } = ctx;
      const all = [alice.address, bob.address, fx.feeRecipient.address];
      await fundTraders(fx, [alice.address, bob.address], 3n * ONE_BASE, 10_000n * QUOTE_UNIT);
      expect(await fx.settlement.totalBalance(fx.baseAddress)).to.equal(6n * ONE_BASE);
      expect(await fx.settlement.totalBalance(fx.quoteAddress)).to.equal(20_000n * QUOTE_UNIT);
      const b = new BatchBuilder(fx);
      b.fill(b.signed(alice, { isBuy: false }), b.signed(bob, { isBuy: true }), ONE_BASE, 10, 30);
      await b.settle();
      expect(await fx.settlement.totalBalance(fx.baseAddress)).to.equal(6n * ONE_BASE);
      expect(await fx.settlement.totalBalance(fx.quoteAddress)).to.equal(20_000n * QUOTE_UNIT);
      await expectConservation(fx, fx.baseAddress, all);
      await expectConservation(fx, fx.quoteAddress, all);
      await fx.settlement.connect(aliceSigner).requestWithdrawal(fx.quoteAddress, 1_000n * QUOTE_UNIT);
      await time.increase(WITHDRAWAL_DELAY);
      await fx.settlement.finalizeWithdrawal(alice.address, fx.quoteAddress);
      expect(await fx.settlement.totalBalance(fx.quoteAddress)).to.equal(19_000n * QUOTE_UNIT);
      await expectConservation(fx, fx.quoteAddress, all);
    });
  });

  describe("token listing", function () {
    it("lists a token once, reading its decimals, and only by the admin", async function () {
      const ctx = await loadFixture(vaultFixture);
      const { fx } = ctx;
      const factory = await hre.ethers.getContractFactory("MockERC20");
      const t8 = await factory.deploy("T8", "T8", 8);
      await expect(fx.settlement.connect(fx.operator).listToken(await t8.getAddress()))
        .to.be.revertedWithCustomError(fx.settlement, "AccessControlUnauthorizedAccount")
        .withArgs(fx.operator.address, hre.ethers.ZeroHash);
      await expect(fx.settlement.connect(fx.admin).listToken(await t8.getAddress()))
        .to.emit(fx.settlement, "TokenListed")
        .withArgs(await t8.getAddress(), 8);
      expect(await fx.settlement.tokenScale(await t8.getAddress())).to.equal(10n ** 8n);
      await expect(fx.settlement.connect(fx.admin).listToken(await t8.getAddress()))
        .to.be.revertedWithCustomError(fx.settlement, "SettlementTokenAlreadyListed")
        .withArgs(await t8.getAddress());
      const t37 = await factory.deploy("T37", "T37", 37);
      await expect(fx.settlement.connect(fx.admin).listToken(await t37.getAddress()))
        .to.be.revertedWithCustomError(fx.settlement, "SettlementUnsupportedDecimals")
        .withArgs(await t37.getAddress(), 37);
      const t36 = await factory.deploy("T36", "T36", 36);
      await fx.settlement.connect(fx.admin).listToken(await t36.getAddress());
      expect(await fx.settlement.tokenScale(await t36.getAddress())).to.equal(10n ** 36n);
      expect(await fx.settlement.tokenScale(hre.ethers.ZeroAddress)).to.equal(0n);
    });
  });
});
