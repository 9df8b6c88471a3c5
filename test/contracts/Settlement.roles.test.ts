/**
 * Settlement roles: batch ordering, operator-only entry points, delayed operator rotation
 * and admin transfer (AccessControlDefaultAdminRules), the guardian's self-expiring pause.
 */
import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import {
  ADMIN_TRANSFER_DELAY,
  BatchBuilder,
  ONE_BASE,
  OPERATOR_ROTATION_DELAY,
  WITHDRAWAL_DELAY,
  deploySettlementFixture,
  fundTraders,
  makeTraders,
  traderSigner,
  vaultBalance,
  type SettlementFixture,
  type Trader,
} from "../helpers/settlementFixture";

const QUOTE_UNIT = 10n ** 6n;
const MAX_PAUSE = 3n * 86400n;
const PAUSE_COOLDOWN = 4n * 86400n;

interface Ctx {
  fx: SettlementFixture;
  maker: Trader;
  taker: Trader;
}

async function rolesFixture(): Promise<Ctx> {
  const fx = await deploySettlementFixture();
  const [maker, taker] = makeTraders("settlement-roles", 2);
  await fundTraders(fx, [maker.address, taker.address], 10n * ONE_BASE, 100_000n * QUOTE_UNIT);
  return { fx, maker, taker };
}

/** A one-fill batch (maker sells `amount` to taker) with fresh orders. */
function oneFill(ctx: Ctx, amount = ONE_BASE / 10n): BatchBuilder {
  const b = new BatchBuilder(ctx.fx);
  b.fill(b.signed(ctx.maker, { isBuy: false }), b.signed(ctx.taker, { isBuy: true }), amount);
  return b;
}

describe("Settlement roles", function () {
  describe("batch ids", function () {
    it("numbers batches 1, 2, 3, ... one per settled batch", async function () {
      const ctx = await loadFixture(rolesFixture);
      expect(await ctx.fx.settlement.nextBatchId()).to.equal(1n);
      for (const id of [1n, 2n, 3n]) {
        const b = oneFill(ctx);
        await expect(b.send(id))
          .to.emit(ctx.fx.settlement, "BatchSettled")
          .withArgs(id, 1n, 1n);
        expect(await ctx.fx.settlement.nextBatchId()).to.equal(id + 1n);
      }
    });

    it("reverts a resubmitted batch with SettlementBatchOutOfOrder(expected, got), so it never settles twice", async function () {
      const ctx = await loadFixture(rolesFixture);
      const b = oneFill(ctx);
      expect((await b.settle({ batchId: 1n })).settled).to.equal(1n);
      const before = await vaultBalance(ctx.fx, ctx.taker.address, ctx.fx.baseAddress);
      await expect(b.send(1n))
        .to.be.revertedWithCustomError(ctx.fx.settlement, "SettlementBatchOutOfOrder")
        .withArgs(2n, 1n);
      expect(await vaultBalance(ctx.fx, ctx.taker.address, ctx.fx.baseAddress)).to.equal(before);
      expect(await ctx.fx.settlement.nextBatchId()).to.equal(2n);
    });

    it("reverts a batch id that skips ahead, or batch 0, with SettlementBatchOutOfOrder(expected, got)", async function () {
      const ctx = await loadFixture(rolesFixture);
      const b = oneFill(ctx);
      for (const got of [0n, 2n, 3n, 2n ** 64n - 1n]) {
        await expect(b.send(got))
          .to.be.revertedWithCustomError(ctx.fx.settlement, "SettlementBatchOutOfOrder")
          .withArgs(1n, got);
      }
      await b.settle({ batchId: 1n });
      await expect(new BatchBuilder(ctx.fx).send(3n))
        .to.be.revertedWithCustomError(ctx.fx.settlement, "SettlementBatchOutOfOrder")
        .withArgs(2n, 3n);
    });
  });

  describe("operator", function () {
    it("reverts settleBatch and releaseWithdrawal from anyone but the operator (AccessControlUnauthorizedAccount)", async function () {
      const ctx = await loadFixture(rolesFixture);
      const { fx } = ctx;
      const role = await fx.settlement.OPERATOR_ROLE();
      const trader = await traderSigner(ctx.maker.address);
      for (const caller of [fx.admin, fx.guardian, fx.feeRecipient, fx.others[0], trader]) {
        const b = oneFill(ctx);
        await expect(b.send(1n, { sender: caller }))
          .to.be.revertedWithCustomError(fx.settlement, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, role);
        await expect(fx.settlement.connect(caller).releaseWithdrawal(ctx.maker.address, fx.baseAddress))
          .to.be.revertedWithCustomError(fx.settlement, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, role);
      }
      expect(await fx.settlement.nextBatchId()).to.equal(1n);
    });

    it("refuses to grant OPERATOR_ROLE directly, even by the admin (OperatorRolesUseRotation)", async function () {
      const ctx = await loadFixture(rolesFixture);
      const { fx } = ctx;
      const role = await fx.settlement.OPERATOR_ROLE();
      await expect(fx.settlement.connect(fx.admin).grantRole(role, fx.others[0].address)).to.be.revertedWithCustomError(
        fx.settlement,
        "OperatorRolesUseRotation",
      );
      await expect(fx.settlement.connect(fx.others[0]).grantRole(role, fx.others[0].address)).to.be.reverted;
      expect(await fx.settlement.hasRole(role, fx.others[0].address)).to.equal(false);
    });

    it("lets the admin revoke the operator at once", async function () {
      const ctx = await loadFixture(rolesFixture);
      const { fx } = ctx;
      await fx.settlement.connect(fx.admin).revokeRole(await fx.settlement.OPERATOR_ROLE(), fx.operator.address);
      expect(await fx.settlement.operator()).to.equal(hre.ethers.ZeroAddress);
      const b = oneFill(ctx);
      await expect(b.send(1n)).to.be.revertedWithCustomError(
        fx.settlement,
        "AccessControlUnauthorizedAccount",
      );
    });

    it("rotates the operator only after its delay, and the old operator loses the role", async function () {
      const ctx = await loadFixture(rolesFixture);
      const { fx } = ctx;
      const role = await fx.settlement.OPERATOR_ROLE();
      const next = fx.others[1];
      expect(await fx.settlement.operatorRotationDelay()).to.equal(OPERATOR_ROTATION_DELAY);
      const scheduledAt = BigInt(await time.latest()) + 10n;
      const effectiveAt = scheduledAt + OPERATOR_ROTATION_DELAY;
      await time.setNextBlockTimestamp(scheduledAt);
      await expect(fx.settlement.connect(fx.admin).scheduleOperatorRotation(next.address))
        .to.emit(fx.settlement, "OperatorRotationScheduled")
        .withArgs(next.address, effectiveAt);
      expect(await fx.settlement.pendingOperatorRotation()).to.deep.equal([next.address, effectiveAt]);

      await expect(fx.settlement.executeOperatorRotation())
        .to.be.revertedWithCustomError(fx.settlement, "OperatorRolesRotationNotReady")
        .withArgs(effectiveAt);
      await time.setNextBlockTimestamp(effectiveAt - 1n);
      await expect(fx.settlement.connect(fx.others[2]).executeOperatorRotation())
        .to.be.revertedWithCustomError(fx.settlement, "OperatorRolesRotationNotReady")
        .withArgs(effectiveAt);
      // Until then the old operator still settles and the new one cannot.
      expect(await fx.settlement.operator()).to.equal(fx.operator.address);
      await expect(oneFill(ctx).settle({ sender: next })).to.be.revertedWithCustomError(
        fx.settlement,
        "AccessControlUnauthorizedAccount",
      );
      expect((await oneFill(ctx).settle()).settled).to.equal(1n);

      // Anyone may execute once the delay has passed.
      await expect(fx.settlement.connect(fx.others[2]).executeOperatorRotation())
        .to.emit(fx.settlement, "OperatorRotated")
        .withArgs(fx.operator.address, next.address);
      expect(await fx.settlement.operator()).to.equal(next.address);
      expect(await fx.settlement.hasRole(role, next.address)).to.equal(true);
      expect(await fx.settlement.hasRole(role, fx.operator.address)).to.equal(false);
      expect(await fx.settlement.pendingOperatorRotation()).to.deep.equal([hre.ethers.ZeroAddress, 0n]);
      await expect(oneFill(ctx).settle()).to.be.revertedWithCustomError(fx.settlement, "AccessControlUnauthorizedAccount");
      const byNew = await oneFill(ctx).settle({ sender: next });
      expect(byNew.batchId).to.equal(2n);
      expect(byNew.settled).to.equal(1n);
      await expect(fx.settlement.executeOperatorRotation()).to.be.revertedWithCustomError(
        fx.settlement,
        "OperatorRolesNoRotationScheduled",
      );
    });

    it("lets only the admin schedule or cancel a rotation, and a cancelled rotation never executes", async function () {
      const ctx = await loadFixture(rolesFixture);
      const { fx } = ctx;
      const next = fx.others[1];
      for (const caller of [fx.operator, fx.guardian, next]) {
        await expect(fx.settlement.connect(caller).scheduleOperatorRotation(next.address))
          .to.be.revertedWithCustomError(fx.settlement, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, hre.ethers.ZeroHash);
      }
      await expect(fx.settlement.connect(fx.admin).scheduleOperatorRotation(hre.ethers.ZeroAddress)).to.be.revertedWithCustomError(
        fx.settlement,
        "OperatorRolesZeroOperator",
      );
      await expect(fx.settlement.connect(fx.admin).cancelOperatorRotation()).to.be.revertedWithCustomError(
        fx.settlement,
        "OperatorRolesNoRotationScheduled",
      );
      await fx.settlement.connect(fx.admin).scheduleOperatorRotation(next.address);
      await expect(fx.settlement.connect(fx.operator).cancelOperatorRotation()).to.be.revertedWithCustomError(
        fx.settlement,
        "AccessControlUnauthorizedAccount",
      );
      await expect(fx.settlement.connect(fx.admin).cancelOperatorRotation())
        .to.emit(fx.settlement, "OperatorRotationCancelled")
        .withArgs(next.address);
      await time.increase(OPERATOR_ROTATION_DELAY + 1n);
      await expect(fx.settlement.executeOperatorRotation()).to.be.revertedWithCustomError(
        fx.settlement,
        "OperatorRolesNoRotationScheduled",
      );
      expect(await fx.settlement.operator()).to.equal(fx.operator.address);
    });
  });

  describe("admin", function () {
    it("transfers the default admin only after its delay (AccessControlDefaultAdminRules)", async function () {
      const ctx = await loadFixture(rolesFixture);
      const { fx } = ctx;
      const next = fx.others[3];
      expect(await fx.settlement.defaultAdminDelay()).to.equal(ADMIN_TRANSFER_DELAY);
      await fx.settlement.connect(fx.admin).beginDefaultAdminTransfer(next.address);
      const [pending, schedule] = await fx.settlement.pendingDefaultAdmin();
      expect(pending).to.equal(next.address);
      expect(schedule).to.equal(BigInt(await time.latest()) + ADMIN_TRANSFER_DELAY);
      await expect(fx.settlement.connect(next).acceptDefaultAdminTransfer())
        .to.be.revertedWithCustomError(fx.settlement, "AccessControlEnforcedDefaultAdminDelay")
        .withArgs(schedule);
      await time.setNextBlockTimestamp(schedule);
      await expect(fx.settlement.connect(next).acceptDefaultAdminTransfer())
        .to.be.revertedWithCustomError(fx.settlement, "AccessControlEnforcedDefaultAdminDelay")
        .withArgs(schedule);
      await time.increaseTo(schedule + 1n);
      await fx.settlement.connect(next).acceptDefaultAdminTransfer();
      expect(await fx.settlement.defaultAdmin()).to.equal(next.address);
      expect(await fx.settlement.hasRole(hre.ethers.ZeroHash, fx.admin.address)).to.equal(false);
      await expect(fx.settlement.connect(fx.admin).setFeeRecipient(fx.admin.address)).to.be.revertedWithCustomError(
        fx.settlement,
        "AccessControlUnauthorizedAccount",
      );
      await fx.settlement.connect(next).setFeeRecipient(next.address);
      expect(await fx.settlement.feeRecipient()).to.equal(next.address);
    });

    it("refuses to grant the default admin role directly (AccessControlEnforcedDefaultAdminRules)", async function () {
      const ctx = await loadFixture(rolesFixture);
      const { fx } = ctx;
      await expect(fx.settlement.connect(fx.admin).grantRole(hre.ethers.ZeroHash, fx.others[3].address)).to.be.revertedWithCustomError(
        fx.settlement,
        "AccessControlEnforcedDefaultAdminRules",
      );
    });

    it("lets only the admin set the fee recipient (never zero) and the withdrawal delay (within its bounds)", async function () {
      const ctx = await loadFixture(rolesFixture);
      const { fx } = ctx;
      await expect(fx.settlement.connect(fx.operator).setFeeRecipient(fx.operator.address)).to.be.revertedWithCustomError(
        fx.settlement,
        "AccessControlUnauthorizedAccount",
      );
      await expect(fx.settlement.connect(fx.admin).setFeeRecipient(hre.ethers.ZeroAddress)).to.be.revertedWithCustomError(
        fx.settlement,
        "SettlementZeroAddress",
      );
      await expect(fx.settlement.connect(fx.admin).setFeeRecipient(fx.others[4].address))
        .to.emit(fx.settlement, "FeeRecipientSet")
        .withArgs(fx.others[4].address);
      // Fees of the next batch go to the new recipient.
      const b = new BatchBuilder(fx);
      b.fill(b.signed(ctx.maker, { isBuy: false }), b.signed(ctx.taker, { isBuy: true }), ONE_BASE, 10, 30);
      await b.settle();
      expect(await vaultBalance(fx, fx.others[4].address, fx.baseAddress)).to.equal((ONE_BASE * 30n) / 10_000n);
      expect(await vaultBalance(fx, fx.feeRecipient.address, fx.baseAddress)).to.equal(0n);

      await expect(fx.settlement.connect(fx.operator).setWithdrawalDelay(600n)).to.be.revertedWithCustomError(
        fx.settlement,
        "AccessControlUnauthorizedAccount",
      );
      for (const bad of [0n, 299n, 7n * 86400n + 1n]) {
        await expect(fx.settlement.connect(fx.admin).setWithdrawalDelay(bad))
          .to.be.revertedWithCustomError(fx.settlement, "SettlementWithdrawalDelayOutOfRange")
          .withArgs(bad);
      }
      // Shorter or equal: at once. Longer (up to the bound): scheduled (Settlement.vault.test.ts).
      for (const good of [WITHDRAWAL_DELAY, 300n]) {
        await expect(fx.settlement.connect(fx.admin).setWithdrawalDelay(good))
          .to.emit(fx.settlement, "WithdrawalDelaySet")
          .withArgs(good);
        expect(await fx.settlement.withdrawalDelay()).to.equal(good);
      }
      await expect(fx.settlement.connect(fx.admin).setWithdrawalDelay(7n * 86400n)).to.emit(fx.settlement, "WithdrawalDelayIncreaseScheduled");
    });
  });

  describe("guardian pause", function () {
    it("blocks settleBatch while paused (SettlementPaused), but never deposits, cancels or withdrawals", async function () {
      const ctx = await loadFixture(rolesFixture);
      const { fx } = ctx;
      const trader = await traderSigner(ctx.maker.address);
      await fx.settlement.connect(trader).requestWithdrawal(fx.baseAddress, ONE_BASE);
      const pausedAt = BigInt(await time.latest()) + 10n;
      await time.setNextBlockTimestamp(pausedAt);
      await expect(fx.settlement.connect(fx.guardian).pause(MAX_PAUSE))
        .to.emit(fx.settlement, "SettlementPausedUntil")
        .withArgs(pausedAt + MAX_PAUSE);
      expect(await fx.settlement.pausedUntil()).to.equal(pausedAt + MAX_PAUSE);

      await expect(oneFill(ctx).settle({ batchId: 1n }))
        .to.be.revertedWithCustomError(fx.settlement, "SettlementPaused")
        .withArgs(pausedAt + MAX_PAUSE);

      // Everything a trader needs keeps working.
      await time.increase(WITHDRAWAL_DELAY);
      await fx.settlement.finalizeWithdrawal(ctx.maker.address, fx.baseAddress);
      expect(await fx.base.balanceOf(ctx.maker.address)).to.equal(ONE_BASE);
      await fx.settlement.connect(trader).requestWithdrawal(fx.quoteAddress, 5n * QUOTE_UNIT);
      await fx.settlement.connect(fx.operator).releaseWithdrawal(ctx.maker.address, fx.quoteAddress);
      expect(await fx.quote.balanceOf(ctx.maker.address)).to.equal(5n * QUOTE_UNIT);
      await fx.settlement.connect(trader).requestWithdrawal(fx.quoteAddress, 7n * QUOTE_UNIT);
      await time.increase(WITHDRAWAL_DELAY);
      await fx.settlement.connect(fx.others[0]).finalizeWithdrawal(ctx.maker.address, fx.quoteAddress);
      expect(await fx.quote.balanceOf(ctx.maker.address)).to.equal(12n * QUOTE_UNIT);
      await fx.base.connect(trader).approve(fx.settlementAddress, ONE_BASE);
      await fx.settlement.connect(trader).deposit(fx.baseAddress, ONE_BASE);
      await fx.settlement.connect(trader).cancelNonces([123_456_789n]);
      await fx.settlement.connect(trader).raiseMinNonce(5n);
      expect(await fx.settlement.pausedUntil()).to.equal(pausedAt + MAX_PAUSE);
    });

    it("lets a pause expire by itself", async function () {
      const ctx = await loadFixture(rolesFixture);
      const { fx } = ctx;
      await fx.settlement.connect(fx.guardian).pause(3600n);
      const until = await fx.settlement.pausedUntil();
      await time.setNextBlockTimestamp(until - 1n);
      await expect(oneFill(ctx).settle({ batchId: 1n })).to.be.revertedWithCustomError(fx.settlement, "SettlementPaused");
      await time.setNextBlockTimestamp(until);
      expect((await oneFill(ctx).settle()).settled).to.equal(1n);
    });

    it("enforces MAX_PAUSE on every pause (SettlementPauseTooLong)", async function () {
      const ctx = await loadFixture(rolesFixture);
      const { fx } = ctx;
      expect(await fx.settlement.MAX_PAUSE()).to.equal(MAX_PAUSE);
      await expect(fx.settlement.connect(fx.guardian).pause(MAX_PAUSE + 1n))
        .to.be.revertedWithCustomError(fx.settlement, "SettlementPauseTooLong")
        .withArgs(MAX_PAUSE + 1n, MAX_PAUSE);
      await expect(fx.settlement.connect(fx.guardian).pause(2n ** 64n - 1n)).to.be.revertedWithCustomError(
        fx.settlement,
        "SettlementPauseTooLong",
      );
      // A pause of nothing would only start the cooldown: refused.
      await expect(fx.settlement.connect(fx.guardian).pause(0n)).to.be.revertedWithCustomError(fx.settlement, "SettlementZeroAmount");
      expect(await fx.settlement.pausedUntil()).to.equal(0n);
      const startedAt = BigInt(await time.latest()) + 1n;
      await time.setNextBlockTimestamp(startedAt);
      await fx.settlement.connect(fx.guardian).pause(2n * 86400n);
      // A running pause may be extended, but never past MAX_PAUSE from its start.
      await time.setNextBlockTimestamp(startedAt + 86400n);
      await fx.settlement.connect(fx.guardian).pause(MAX_PAUSE - 86400n);
      expect(await fx.settlement.pausedUntil()).to.equal(startedAt + MAX_PAUSE);
      await time.setNextBlockTimestamp(startedAt + 86400n + 1n);
      await expect(fx.settlement.connect(fx.guardian).pause(MAX_PAUSE - 86400n))
        .to.be.revertedWithCustomError(fx.settlement, "SettlementPauseTooLong")
        .withArgs(MAX_PAUSE + 1n, MAX_PAUSE);
    });

    it("refuses a re-pause right before a pause expires (SettlementPauseTooLong), then any pause during the cooldown (SettlementPauseCoolingDown)", async function () {
      const ctx = await loadFixture(rolesFixture);
      const { fx } = ctx;
      expect(await fx.settlement.PAUSE_COOLDOWN()).to.equal(PAUSE_COOLDOWN);
      const startedAt = BigInt(await time.latest()) + 1n;
      await time.setNextBlockTimestamp(startedAt);
      await fx.settlement.connect(fx.guardian).pause(MAX_PAUSE);
      const endsAt = startedAt + MAX_PAUSE;
      expect(await fx.settlement.nextPauseAt()).to.equal(endsAt + PAUSE_COOLDOWN);

      // One minute before expiry: chaining another full pause is refused.
      await time.setNextBlockTimestamp(endsAt - 60n);
      await expect(fx.settlement.connect(fx.guardian).pause(MAX_PAUSE))
        .to.be.revertedWithCustomError(fx.settlement, "SettlementPauseTooLong")
        .withArgs(2n * MAX_PAUSE - 60n, MAX_PAUSE);
      // Right after expiry: a new pause must wait for the cooldown.
      await time.setNextBlockTimestamp(endsAt);
      await expect(fx.settlement.connect(fx.guardian).pause(60n))
        .to.be.revertedWithCustomError(fx.settlement, "SettlementPauseCoolingDown")
        .withArgs(endsAt + PAUSE_COOLDOWN);
      expect((await oneFill(ctx).settle()).settled).to.equal(1n);
      await time.setNextBlockTimestamp(endsAt + PAUSE_COOLDOWN - 1n);
      await expect(fx.settlement.connect(fx.guardian).pause(60n)).to.be.revertedWithCustomError(fx.settlement, "SettlementPauseCoolingDown");
      await time.setNextBlockTimestamp(endsAt + PAUSE_COOLDOWN);
      await expect(fx.settlement.connect(fx.guardian).pause(60n))
        .to.emit(fx.settlement, "SettlementPausedUntil")
        .withArgs(endsAt + PAUSE_COOLDOWN + 60n);
    });

    it("starts the cooldown when the guardian lifts a pause early, so unpause-then-pause cannot reset the clock", async function () {
      const ctx = await loadFixture(rolesFixture);
      const { fx } = ctx;
      await fx.settlement.connect(fx.guardian).pause(MAX_PAUSE);
      const liftedAt = BigInt(await time.latest()) + 3600n;
      await time.setNextBlockTimestamp(liftedAt);
      await fx.settlement.connect(fx.guardian).unpause();
      expect(await fx.settlement.nextPauseAt()).to.equal(liftedAt + PAUSE_COOLDOWN);
      await expect(fx.settlement.connect(fx.guardian).pause(MAX_PAUSE))
        .to.be.revertedWithCustomError(fx.settlement, "SettlementPauseCoolingDown")
        .withArgs(liftedAt + PAUSE_COOLDOWN);
      // Unpausing again while not paused does not push the cooldown further out.
      await time.increase(86400n);
      await fx.settlement.connect(fx.guardian).unpause();
      expect(await fx.settlement.nextPauseAt()).to.equal(liftedAt + PAUSE_COOLDOWN);
    });

    it("keeps settlement paused at most MAX_PAUSE in any window of MAX_PAUSE + PAUSE_COOLDOWN, however a guardian chains pauses", async function () {
      const ctx = await loadFixture(rolesFixture);
      const { fx } = ctx;
      const guardian = fx.settlement.connect(fx.guardian);
      const STEP = 3n * 3600n;
      const start = BigInt(await time.latest()) + 1n;
      const end = start + 21n * 86400n;
      /** Each successful pause or unpause: when, and the pausedUntil it set. */
      const changes: { at: bigint; until: bigint }[] = [];
      const attempt = async (at: bigint, call: () => Promise<unknown>) => {
        await time.setNextBlockTimestamp(at);
        try {
          await call();
          changes.push({ at, until: await fx.settlement.pausedUntil() });
        } catch {
          // A refused call may or may not have been mined: make sure `at` is used up.
          if (BigInt(await time.latest()) < at) await hre.network.provider.send("evm_mine", []);
        }
      };
      let step = 0;
      for (let at = start; at < end; at += STEP, step++) {
        // Greedy: try a full pause every step, and every fourth step also try to lift and
        // re-pause, or to stretch the running pause by a shorter one.
        await attempt(at, () => guardian.pause(MAX_PAUSE));
        if (step % 4 === 1) {
          await attempt(at + 1n, () => guardian.unpause());
          await attempt(at + 2n, () => guardian.pause(MAX_PAUSE));
        }
        if (step % 4 === 3) await attempt(at + 1n, () => guardian.pause(MAX_PAUSE / 2n));
      }
      // Paused intervals: each change holds until its pausedUntil or the next change.
      const intervals: [bigint, bigint][] = [];
      changes.forEach((c, i) => {
        const next = i + 1 < changes.length ? changes[i + 1].at : end + MAX_PAUSE;
        const stop = c.until < next ? c.until : next;
        if (stop > c.at) intervals.push([c.at, stop]);
      });
      const window = MAX_PAUSE + PAUSE_COOLDOWN;
      let worst = 0n;
      for (let w = start; w + window <= end + MAX_PAUSE; w += 3600n) {
        let paused = 0n;
        for (const [a, b] of intervals) {
          const lo = a > w ? a : w;
          const hi = b < w + window ? b : w + window;
          if (hi > lo) paused += hi - lo;
        }
        if (paused > worst) worst = paused;
      }
      expect(intervals.length, "the guardian did pause").to.be.greaterThan(1);
      expect(worst <= MAX_PAUSE, `paused ${worst} s in a ${window} s window`).to.equal(true);
    });

    it("lets the guardian lift a pause early (unpause)", async function () {
      const ctx = await loadFixture(rolesFixture);
      const { fx } = ctx;
      await fx.settlement.connect(fx.guardian).pause(MAX_PAUSE);
      await expect(oneFill(ctx).settle({ batchId: 1n })).to.be.revertedWithCustomError(fx.settlement, "SettlementPaused");
      await expect(fx.settlement.connect(fx.guardian).unpause()).to.emit(fx.settlement, "SettlementPausedUntil").withArgs(0n);
      expect(await fx.settlement.pausedUntil()).to.equal(0n);
      expect((await oneFill(ctx).settle()).settled).to.equal(1n);
    });

    it("lets only the guardian pause and unpause", async function () {
      const ctx = await loadFixture(rolesFixture);
      const { fx } = ctx;
      const role = await fx.settlement.GUARDIAN_ROLE();
      for (const caller of [fx.admin, fx.operator, fx.others[0]]) {
        await expect(fx.settlement.connect(caller).pause(60n))
          .to.be.revertedWithCustomError(fx.settlement, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, role);
        await expect(fx.settlement.connect(caller).unpause())
          .to.be.revertedWithCustomError(fx.settlement, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, role);
      }
      // The admin may appoint another guardian directly.
      await fx.settlement.connect(fx.admin).grantRole(role, fx.others[0].address);
      await fx.settlement.connect(fx.others[0]).pause(60n);
      expect(await fx.settlement.pausedUntil()).to.be.greaterThan(0n);
    });
  });
});
