import { expect } from "chai";
import {
  LEDGER_SCRIPTS,
  LedgerError,
  creditDeposit,
  getBalances,
  ledgerErrorFromReply,
  ledgerKeys,
  parseStepReply,
  settleFill,
  stepCall,
  unwindFill,
  type LedgerOp,
  type LockRequest,
} from "../../../operator/ledger";
import type { Address, Hex } from "../../../operator/orders";
import { ScriptRunner } from "../../../operator/redis";
import { useRedisServer } from "../../helpers/redis";
import { dumpKeys, silentLogger } from "../matching/fixtures";

/**
 * No balance of the Lua ledger ever exceeds 2^256 - 1: deposit.lua, step.lua and settle.lua
 * refuse an operation that would take one beyond it with LEDGER_OVERFLOW (naming the field),
 * write nothing, and leave the trader's account usable afterwards.
 */
const ALICE = "0x00000000000000000000000000000000000a1111" as Address;
const FEE = "0x00000000000000000000000000000000000000fe" as Address;
const BASE = "0x00000000000000000000000000000000000000e1" as Address;
const QUOTE = "0x00000000000000000000000000000000000000c2" as Address;
const MAX = (1n << 256n) - 1n;
const CHAIN = 31337;

const h = (n: number | bigint): Hex => `0x${n.toString(16).padStart(64, "0")}` as Hex;
const fillId = (ctr: number) => (1n << 48n) | BigInt(ctr);

describe("ledger overflow", () => {
  const db = useRedisServer();
  let scripts: ScriptRunner;
  let seq = 0;

  before(async () => {
    scripts = new ScriptRunner({ redis: db.redis, logger: silentLogger }, LEDGER_SCRIPTS);
    await scripts.load();
  });

  // Every call into the ledger's API goes through these helpers.
  const deps = () => ({ scripts, logger: silentLogger });
  const keys = (trader: Address) => ledgerKeys(CHAIN, trader);
  const deposit = (token: Address, amount: bigint, trader: Address = ALICE, depositId = `d${++seq}`) => creditDeposit(deps(), { chainId: CHAIN, trader, token, amount, depositId });
  const balance = async (token: Address, trader: Address = ALICE) => (await getBalances({ redis: db.redis }, { chainId: CHAIN, trader, tokens: [token] }))[token];
  const settle = (ctr: number, mode: "settle" | "unwind") => {
    const parties = { chainId: CHAIN, fillId: fillId(ctr), maker: ALICE, taker: ALICE, feeAccount: ALICE };
    return mode === "settle" ? settleFill(deps(), parties) : unwindFill(deps(), parties);
  };

  async function step(trader: Address, ops: LedgerOp[], orders: LockRequest[] = []) {
    const [r] = await scripts.batch([stepCall({ chainId: CHAIN, trader, nowMs: 1, limit: null, lockId: `t:${++seq}`, ops, orders })]);
    if (!r.ok) throw ledgerErrorFromReply(r.error, { trader });
    return parseStepReply(r.value, orders.length);
  }

  const lock = (n: number, token: Address, atoms: bigint, lots: number): LockRequest => ({ orderHash: h(n), nonce: BigInt(n), marketId: 1, lockToken: token, lockAtoms: atoms, lots });

  const fill = (order: number, ctr: number, lots: number, spendToken: Address, spend: bigint, recvToken: Address, recv: bigint, improvement = 0n): LedgerOp => ({
    op: "fill",
    orderHash: h(order),
    fillCtr: ctr,
    fillId: fillId(ctr),
    lots,
    spendToken,
    spend,
    improvement,
    recvToken,
    recv,
  });

  const fee = (ctr: number, baseFee: bigint, quoteFee = 0n): LedgerOp => ({ op: "fee", marketId: 1, fillCtr: ctr, fillId: fillId(ctr), baseToken: BASE, baseFee, quoteToken: QUOTE, quoteFee });

  /**
   * Runs a call the ledger must refuse with LEDGER_OVERFLOW naming `field` of the trader's
   * account, and checks that it wrote nothing (every key, byte for byte).
   */
  async function expectOverflow(call: () => Promise<unknown>, field: string, trader: Address = ALICE) {
    const before = await dumpKeys(db.redis);
    const error = await call().then(
      () => expect.fail("the ledger accepted a balance beyond 2^256 - 1"),
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(LedgerError);
    expect((error as LedgerError).code).to.equal("LEDGER_OVERFLOW");
    expect((error as LedgerError).message).to.match(/^LEDGER_OVERFLOW /);
    expect((error as LedgerError).message).to.include(`${field} of ${keys(trader).acct} would exceed 2^256-1`);
    expect(await dumpKeys(db.redis)).to.deep.equal(before);
  }

  describe("deposit.lua", () => {
    it("credits a deposit that brings available to exactly 2^256 - 1", async () => {
      await deposit(QUOTE, MAX - 10n);
      expect(await deposit(QUOTE, 10n)).to.equal(true);
      expect((await balance(QUOTE)).available).to.equal(MAX);
    });

    it("refuses one more atom with LEDGER_OVERFLOW, leaving the account hash byte for byte unchanged and the deposit id uncredited", async () => {
      await deposit(QUOTE, MAX);
      const acct = await db.redis.hgetallBuffer(keys(ALICE).acct);
      await expectOverflow(() => deposit(QUOTE, 1n, ALICE, "tx:1"), `b:${QUOTE}:a`);
      expect(await db.redis.hgetallBuffer(keys(ALICE).acct)).to.deep.equal(acct);
      expect(await db.redis.hexists(keys(ALICE).dep, "tx:1")).to.equal(0);
    });

    it("refuses a deposit that alone exceeds 2^256 - 1 (a 78-digit amount), even into an empty account", async () => {
      await expectOverflow(() => deposit(QUOTE, 10n ** 78n - 1n), `b:${QUOTE}:a`);
      await expectOverflow(() => deposit(QUOTE, MAX + 1n), `b:${QUOTE}:a`);
    });

    it("wedges nothing: after a refusal, later deposits and steps of the trader still work", async () => {
      await deposit(QUOTE, MAX);
      await expectOverflow(() => deposit(QUOTE, 1n), `b:${QUOTE}:a`);
      expect(await deposit(BASE, 5n)).to.equal(true);
      expect((await step(ALICE, [], [lock(1, QUOTE, 100n, 10)])).locks[0]).to.deep.equal({ ok: true });
      expect(await deposit(QUOTE, 100n)).to.equal(true); // back to exactly the max
      await step(ALICE, [fill(1, 1, 10, QUOTE, 100n, BASE, 9n)]);
      expect(await balance(QUOTE)).to.deep.equal({ available: MAX, locked: 0n, pendingOut: 100n, pendingIn: 0n });
      expect(await balance(BASE)).to.deep.equal({ available: 5n, locked: 0n, pendingOut: 0n, pendingIn: 9n });
    });
  });

  describe("step.lua", () => {
    it("refuses a fill whose proceeds would take pendingIn beyond 2^256 - 1, and writes nothing", async () => {
      await deposit(QUOTE, 1000n);
      await step(ALICE, [], [lock(1, QUOTE, 1000n, 10)]);
      await step(ALICE, [fill(1, 1, 1, QUOTE, 100n, BASE, MAX - 5n)]);
      await expectOverflow(() => step(ALICE, [fill(1, 2, 1, QUOTE, 100n, BASE, 6n)]), `b:${BASE}:i`);
      // Exactly up to the max is fine, and the order goes on filling.
      await step(ALICE, [fill(1, 2, 1, QUOTE, 100n, BASE, 5n)]);
      expect(await balance(BASE)).to.deep.equal({ available: 0n, locked: 0n, pendingOut: 0n, pendingIn: MAX });
      expect((await balance(QUOTE)).locked).to.equal(800n);
    });

    it("refuses a fill whose price improvement would take available beyond 2^256 - 1, and writes nothing", async () => {
      await deposit(QUOTE, 1000n);
      await step(ALICE, [], [lock(1, QUOTE, 1000n, 10)]);
      await deposit(QUOTE, MAX - 10n); // available MAX - 10
      await expectOverflow(() => step(ALICE, [fill(1, 1, 4, QUOTE, 360n, BASE, 39n, 40n)]), `b:${QUOTE}:a`);
      await step(ALICE, [fill(1, 1, 4, QUOTE, 390n, BASE, 39n, 10n)]); // 10 back: exactly the max
      expect(await balance(QUOTE)).to.deep.equal({ available: MAX, locked: 600n, pendingOut: 390n, pendingIn: 0n });
    });

    it("refuses a fill whose spend would take pendingOut beyond 2^256 - 1, and writes nothing", async () => {
      await deposit(QUOTE, MAX);
      await step(ALICE, [], [lock(1, QUOTE, MAX, 1)]);
      await step(ALICE, [fill(1, 1, 1, QUOTE, MAX, BASE, 1n)]); // pendingOut: the max
      await deposit(QUOTE, 1n);
      await step(ALICE, [], [lock(2, QUOTE, 1n, 1)]);
      await expectOverflow(() => step(ALICE, [fill(2, 2, 1, QUOTE, 1n, BASE, 1n)]), `b:${QUOTE}:o`);
    });

    it("refuses fees that would take the fee account's pendingIn beyond 2^256 - 1, and writes nothing (fee mark included)", async () => {
      await step(FEE, [fee(1, MAX - 1n)]);
      await expectOverflow(() => step(FEE, [fee(2, 1n), fee(3, 1n, 7n)]), `b:${BASE}:i`, FEE);
      await step(FEE, [fee(2, 1n, 7n)]); // exactly the max; fill 2 was not marked by the refused step
      expect((await balance(BASE, FEE)).pendingIn).to.equal(MAX);
      expect((await balance(QUOTE, FEE)).pendingIn).to.equal(7n);
    });

    it("refuses the fees of one operation whose sum alone exceeds 2^256 - 1, on the quote side too", async () => {
      await expectOverflow(() => step(FEE, [fee(1, 0n, MAX - 3n), fee(2, 0n, 4n)]), `b:${QUOTE}:i`, FEE);
      await expectOverflow(() => step(FEE, [fee(1, 0n, MAX / 2n + 1n), fee(2, 0n, MAX / 2n + 1n)]), `b:${QUOTE}:i`, FEE);
      await expectOverflow(() => step(FEE, [fee(1, 10n ** 78n - 1n)]), `b:${BASE}:i`, FEE);
      expect(await db.redis.exists(keys(FEE).acct)).to.equal(0);
    });

    it("refuses a close or release whose unlocked remainder would take available beyond 2^256 - 1, and writes nothing", async () => {
      await deposit(QUOTE, 100n);
      await step(ALICE, [], [lock(1, QUOTE, 100n, 10)]);
      await deposit(QUOTE, MAX);
      await expectOverflow(() => step(ALICE, [{ op: "close", orderHash: h(1), remainingLots: 10 }]), `b:${QUOTE}:a`);
      await expectOverflow(() => step(ALICE, [{ op: "release", orderHash: h(1), lockToken: QUOTE }]), `b:${QUOTE}:a`);
      // Once available has room, the same close goes through.
      await step(ALICE, [], [lock(2, QUOTE, 100n, 1)]);
      await step(ALICE, [{ op: "close", orderHash: h(1), remainingLots: 10 }]);
      expect(await balance(QUOTE)).to.deep.equal({ available: MAX, locked: 100n, pendingOut: 0n, pendingIn: 0n });
    });

    it("refuses a lock that would take locked beyond 2^256 - 1, writing nothing, not even the orders before it", async () => {
      await deposit(QUOTE, 100n);
      await step(ALICE, [], [lock(1, QUOTE, 100n, 1)]);
      await deposit(QUOTE, MAX);
      await expectOverflow(() => step(ALICE, [], [lock(2, QUOTE, 5n, 1), lock(3, QUOTE, MAX - 5n, 1)]), `b:${QUOTE}:l`);
      const r = await step(ALICE, [], [lock(2, QUOTE, 5n, 1), lock(3, QUOTE, MAX - 105n, 1)]);
      expect(r.locks).to.deep.equal([{ ok: true }, { ok: true }]);
      expect(await balance(QUOTE)).to.deep.equal({ available: 100n, locked: MAX, pendingOut: 0n, pendingIn: 0n });
    });
  });

  describe("settle.lua", () => {
    async function filled() {
      await deposit(QUOTE, 1000n);
      await step(ALICE, [], [lock(1, QUOTE, 1000n, 10)]);
      await step(ALICE, [fill(1, 1, 3, QUOTE, 300n, BASE, 29n)]);
    }

    it("refuses to settle a fill whose pendingIn would take available beyond 2^256 - 1, writes nothing, and settles it once there is room", async () => {
      await filled();
      await deposit(BASE, MAX - 28n);
      await expectOverflow(() => settle(1, "settle"), `b:${BASE}:a`);
      await step(ALICE, [], [lock(2, BASE, 1n, 1)]);
      expect(await settle(1, "settle")).to.equal(1);
      expect(await balance(BASE)).to.deep.equal({ available: MAX, locked: 1n, pendingOut: 0n, pendingIn: 0n });
    });

    it("refuses to unwind a fill whose pendingOut would take available beyond 2^256 - 1, and writes nothing", async () => {
      await filled();
      await deposit(QUOTE, MAX - 299n); // one atom too many for the 300 to come back
      await expectOverflow(() => settle(1, "unwind"), `b:${QUOTE}:a`);
      await step(ALICE, [], [lock(2, QUOTE, 1n, 1)]);
      expect(await settle(1, "unwind")).to.equal(1);
      expect(await balance(QUOTE)).to.deep.equal({ available: MAX, locked: 701n, pendingOut: 0n, pendingIn: 0n });
    });
  });
});
