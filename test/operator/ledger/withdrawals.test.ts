import { expect } from "chai";
import {
  LEDGER_SCRIPTS,
  LedgerError,
  creditDeposit,
  finalizeWithdrawal,
  getBalances,
  getWithdrawal,
  ledgerErrorFromReply,
  ledgerKeys,
  parseStepReply,
  recordNonceCancelled,
  requestWithdrawal,
  settleFill,
  stepCall,
  unwindFill,
  vaultBalanceOf,
  type Balance,
  type LedgerOp,
  type LockRequest,
} from "../../../operator/ledger";
import type { Address, Hex } from "../../../operator/orders";
import { ScriptRunner } from "../../../operator/redis";
import { useRedisServer } from "../../helpers/redis";
import { dumpKeys, silentLogger } from "../matching/fixtures";

/**
 * Withdrawal holds (operator/ledger/withdrawals.ts, lua/withdrawal.lua): a request holds funds
 * still in the vault, whatever returns to available later tops the hold up (step.lua closes,
 * releases and price improvements; settle.lua; deposit.lua), a finalization takes the amount
 * paid from the hold, then available, then records a debt that later credits pay first. Per
 * token, vault == available + locked + pendingOut + hold - debt throughout.
 */
const ALICE = "0x00000000000000000000000000000000000a1111" as Address;
const BOB = "0x00000000000000000000000000000000000b2222" as Address;
const BASE = "0x00000000000000000000000000000000000000e1" as Address;
const QUOTE = "0x00000000000000000000000000000000000000c2" as Address;
const MAX = (1n << 256n) - 1n;
const CHAIN = 31337;

const h = (n: number | bigint): Hex => `0x${n.toString(16).padStart(64, "0")}` as Hex;
const fillId = (ctr: number) => (1n << 48n) | BigInt(ctr);

describe("ledger withdrawals", () => {
  const db = useRedisServer();
  let scripts: ScriptRunner;
  let seq = 0;

  before(async () => {
    scripts = new ScriptRunner({ redis: db.redis, logger: silentLogger }, LEDGER_SCRIPTS);
    await scripts.load();
  });

  const deps = () => ({ scripts, logger: silentLogger });
  const deposit = (token: Address, amount: bigint, trader: Address = ALICE, depositId = `d${++seq}`) => creditDeposit(deps(), { chainId: CHAIN, trader, token, amount, depositId });
  const request = (token: Address, amount: bigint, eventId: string, trader: Address = ALICE) => requestWithdrawal(deps(), { chainId: CHAIN, trader, token, amount, eventId });
  const finalize = (token: Address, amount: bigint, eventId: string, trader: Address = ALICE) => finalizeWithdrawal(deps(), { chainId: CHAIN, trader, token, amount, eventId });
  const balance = async (token: Address, trader: Address = ALICE): Promise<Balance> => (await getBalances({ redis: db.redis }, { chainId: CHAIN, trader, tokens: [token] }))[token];
  const lock = (n: number, token: Address, atoms: bigint, lots: number): LockRequest => ({ orderHash: h(n), nonce: BigInt(n), marketId: 1, lockToken: token, lockAtoms: atoms, lots });
  const close = (n: number, remainingLots: number, lockToken?: Address): LedgerOp => ({ op: "close", orderHash: h(n), remainingLots, lockToken });
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
  const parties = (ctr: number, trader: Address = ALICE) => ({ chainId: CHAIN, fillId: fillId(ctr), maker: trader, taker: trader, feeAccount: trader });

  async function step(ops: LedgerOp[], orders: LockRequest[] = [], trader: Address = ALICE) {
    const [r] = await scripts.batch([stepCall({ chainId: CHAIN, trader, nowMs: 1, limit: null, lockId: `t:${++seq}`, ops, orders })]);
    if (!r.ok) throw ledgerErrorFromReply(r.error, { trader });
    return parseStepReply(r.value, orders.length);
  }

  async function codeOf(p: Promise<unknown>): Promise<string> {
    try {
      await p;
    } catch (e) {
      return (e as LedgerError).code;
    }
    return "none";
  }

  describe("a request", () => {
    it("holds what it asks out of available, so that an order can no longer lock it", async () => {
      await deposit(QUOTE, 1000n);
      const r = await request(QUOTE, 700n, "tx1:0");
      expect([r.applied, r.hold, r.target, r.shortfall, r.available]).to.deep.equal([true, 700n, 700n, 0n, 300n]);
      expect(await balance(QUOTE)).to.deep.equal({ available: 300n, locked: 0n, pendingOut: 0n, pendingIn: 0n, withdrawalRequested: 700n, withdrawalHold: 700n });
      const s = await step([], [lock(1, QUOTE, 301n, 1), lock(2, QUOTE, 300n, 1)]);
      expect(s.locks).to.deep.equal([{ ok: false, code: "INSUFFICIENT_FUNDS", available: 300n }, { ok: true }]);
    });

    it("holds what available has and answers the shortfall with the open orders locking the token", async () => {
      await deposit(QUOTE, 1000n);
      await deposit(BASE, 50n);
      await step([], [lock(1, QUOTE, 400n, 4), lock(2, QUOTE, 250n, 1), lock(3, BASE, 50n, 5)]);
      const r = await request(QUOTE, 800n, "tx1:0");
      expect([r.hold, r.shortfall, r.available]).to.deep.equal([350n, 450n, 0n]);
      expect(r.orders).to.deep.equal([
        { orderHash: h(1), market: 1, locked: 400n },
        { orderHash: h(2), market: 1, locked: 250n },
      ]);
    });

    it("applies once per event id: handed again it changes nothing and answers the state now; another record under that id is a conflict", async () => {
      await deposit(QUOTE, 1000n);
      await request(QUOTE, 700n, "tx1:0");
      const before = await dumpKeys(db.redis);
      const again = await request(QUOTE, 700n, "tx1:0");
      expect([again.applied, again.hold, again.target]).to.deep.equal([false, 700n, 700n]);
      expect(await dumpKeys(db.redis)).to.deep.equal(before);
      expect(await codeOf(request(QUOTE, 600n, "tx1:0"))).to.equal("WITHDRAWAL_CONFLICT");
      expect(await codeOf(finalize(QUOTE, 700n, "tx1:0"))).to.equal("WITHDRAWAL_CONFLICT");
      expect(await dumpKeys(db.redis)).to.deep.equal(before);
    });

    it("replaces the previous request: its hold returns to available before the new one is held", async () => {
      await deposit(QUOTE, 1000n);
      await request(QUOTE, 700n, "tx1:0");
      const smaller = await request(QUOTE, 200n, "tx2:0");
      expect([smaller.hold, smaller.target, smaller.available]).to.deep.equal([200n, 200n, 800n]);
      const larger = await request(QUOTE, 1500n, "tx3:0");
      expect([larger.hold, larger.target, larger.shortfall, larger.available]).to.deep.equal([1000n, 1500n, 500n, 0n]);
    });

    it("of one token leaves the other tokens alone", async () => {
      await deposit(QUOTE, 1000n);
      await deposit(BASE, 90n);
      await request(QUOTE, 100n, "tx1:0");
      expect(await balance(BASE)).to.deep.equal({ available: 90n, locked: 0n, pendingOut: 0n, pendingIn: 0n });
      expect(await db.redis.hget(ledgerKeys(CHAIN, ALICE).acct, "w")).to.equal(QUOTE);
    });

    it("refuses a zero amount, a bad token and an empty event id before touching Redis", async () => {
      const before = await dumpKeys(db.redis);
      expect(await codeOf(request(QUOTE, 0n, "tx1:0"))).to.equal("LEDGER_BAD_INPUT");
      expect(await codeOf(request("0x12" as Address, 1n, "tx1:0"))).to.equal("LEDGER_BAD_INPUT");
      expect(await codeOf(request(QUOTE, 1n, ""))).to.equal("LEDGER_BAD_INPUT");
      expect(await codeOf(request(QUOTE, MAX + 1n, "tx1:0"))).to.equal("LEDGER_BAD_INPUT");
      expect(await dumpKeys(db.redis)).to.deep.equal(before);
    });
  });

  describe("what returns to available tops the hold up first", () => {
    it("a close of an order: its remainder fills the hold up to the target, the rest is available", async () => {
      await deposit(QUOTE, 1000n);
      await step([], [lock(1, QUOTE, 600n, 6), lock(2, QUOTE, 400n, 4)]);
      await request(QUOTE, 500n, "tx1:0");
      await step([close(1, 6, QUOTE)]);
      expect(await balance(QUOTE)).to.deep.include({ available: 100n, locked: 400n, withdrawalHold: 500n, withdrawalRequested: 500n });
      await step([close(2, 4)]); // without its lock token: the record is read first
      expect(await balance(QUOTE)).to.deep.include({ available: 500n, locked: 0n, withdrawalHold: 500n });
    });

    it("a release of an order the market refused, and a taker's price improvement, in the same step", async () => {
      await deposit(QUOTE, 1000n);
      await step([], [lock(1, QUOTE, 500n, 5), lock(2, QUOTE, 500n, 5)]);
      await request(QUOTE, 300n, "tx1:0");
      await step([fill(1, 1, 5, QUOTE, 400n, BASE, 5n, 100n), { op: "release", orderHash: h(2), lockToken: QUOTE }]);
      const b = await balance(QUOTE);
      expect(b).to.deep.include({ available: 300n, locked: 0n, pendingOut: 400n, withdrawalHold: 300n });
      expect(vaultBalanceOf(b)).to.equal(1000n);
    });

    it("a deposit, a settled fill's proceeds and an unwound fill's spend", async () => {
      await deposit(QUOTE, 100n);
      await step([], [lock(1, QUOTE, 100n, 1)]);
      await request(QUOTE, 400n, "tx1:0");
      expect((await balance(QUOTE)).withdrawalHold).to.equal(0n);
      await deposit(QUOTE, 50n);
      expect(await balance(QUOTE)).to.deep.include({ available: 0n, withdrawalHold: 50n });
      await step([fill(1, 1, 1, QUOTE, 100n, BASE, 10n)]);
      await unwindFill(deps(), parties(1));
      expect(await balance(QUOTE)).to.deep.include({ available: 0n, pendingOut: 0n, withdrawalHold: 150n });
      // Alice sells base for quote: the proceeds, once settled, top the hold up too.
      await deposit(BASE, 10n);
      await step([], [lock(3, BASE, 10n, 1)]);
      await step([fill(3, 2, 1, BASE, 10n, QUOTE, 300n)]);
      await settleFill(deps(), parties(2));
      expect(await balance(QUOTE)).to.deep.include({ available: 50n, withdrawalHold: 400n, withdrawalRequested: 400n });
    });

    it("never beyond the target: a hold that reached it leaves the rest available", async () => {
      await deposit(QUOTE, 100n);
      await request(QUOTE, 100n, "tx1:0");
      await deposit(QUOTE, 70n);
      expect(await balance(QUOTE)).to.deep.include({ available: 70n, withdrawalHold: 100n });
    });
  });

  describe("a finalization", () => {
    it("takes the amount from the hold, returns the rest of the hold and clears the request", async () => {
      await deposit(QUOTE, 1000n);
      await request(QUOTE, 700n, "tx1:0");
      const r = await finalize(QUOTE, 600n, "tx2:0");
      expect([r.applied, r.fromHold, r.fromAvailable, r.toDebt, r.hold, r.target, r.available]).to.deep.equal([true, 600n, 0n, 0n, 0n, 0n, 400n]);
      expect(await balance(QUOTE)).to.deep.equal({ available: 400n, locked: 0n, pendingOut: 0n, pendingIn: 0n });
      expect(await db.redis.hexists(ledgerKeys(CHAIN, ALICE).acct, "w")).to.equal(0);
      const before = await dumpKeys(db.redis);
      expect((await finalize(QUOTE, 600n, "tx2:0")).applied).to.equal(false);
      expect(await dumpKeys(db.redis)).to.deep.equal(before);
    });

    it("takes from available what the hold misses", async () => {
      await deposit(QUOTE, 300n);
      await step([], [lock(1, QUOTE, 200n, 2)]);
      await request(QUOTE, 300n, "tx1:0"); // holds 100, misses 200
      await step([close(1, 2, QUOTE)]); // tops it up to 300
      await deposit(QUOTE, 50n);
      const r = await finalize(QUOTE, 320n, "tx2:0");
      expect([r.fromHold, r.fromAvailable, r.toDebt, r.available]).to.deep.equal([300n, 20n, 0n, 30n]);
    });

    it("records as a debt what the vault paid beyond the hold and available, which the next credits pay first", async () => {
      await deposit(QUOTE, 100n);
      await step([], [lock(1, QUOTE, 100n, 1)]);
      await step([fill(1, 1, 1, QUOTE, 100n, BASE, 10n)]); // matched, not settled: 100 pendingOut
      const r = await finalize(QUOTE, 100n, "tx1:0"); // the vault still had the 100: paid out
      expect([r.fromHold, r.fromAvailable, r.toDebt, r.debt]).to.deep.equal([0n, 0n, 100n, 100n]);
      const b = await balance(QUOTE);
      expect(b).to.deep.equal({ available: 0n, locked: 0n, pendingOut: 100n, pendingIn: 0n, withdrawalDebt: 100n });
      expect(vaultBalanceOf(b)).to.equal(0n);
      await deposit(QUOTE, 30n);
      expect(await balance(QUOTE)).to.deep.include({ available: 0n, withdrawalDebt: 70n });
      await unwindFill(deps(), parties(1)); // the chain skipped the unfunded fill
      expect(await balance(QUOTE)).to.deep.equal({ available: 30n, locked: 0n, pendingOut: 0n, pendingIn: 0n });
      expect(await db.redis.hexists(ledgerKeys(CHAIN, ALICE).acct, "w")).to.equal(0);
    });

    it("leaves a debt that a close of a resting order (step.lua) pays down before anything becomes available", async () => {
      await deposit(QUOTE, 200n);
      await step([], [lock(1, QUOTE, 100n, 1), lock(2, QUOTE, 100n, 1)]);
      await step([fill(1, 1, 1, QUOTE, 100n, BASE, 10n)]);
      await request(QUOTE, 200n, "tx1:0"); // holds nothing: all of it is locked or spent
      const r = await finalize(QUOTE, 200n, "tx2:0"); // released early by the operator, say
      expect([r.toDebt, r.debt]).to.deep.equal([200n, 200n]);
      await step([close(2, 1, QUOTE)]);
      expect(await balance(QUOTE)).to.deep.equal({ available: 0n, locked: 0n, pendingOut: 100n, pendingIn: 0n, withdrawalDebt: 100n });
      await unwindFill(deps(), parties(1));
      expect(await balance(QUOTE)).to.deep.equal({ available: 0n, locked: 0n, pendingOut: 0n, pendingIn: 0n });
      expect(await db.redis.hexists(ledgerKeys(CHAIN, ALICE).acct, "w")).to.equal(0);
    });

    it("with a debt outstanding, a new request holds nothing until the debt is paid", async () => {
      await deposit(QUOTE, 100n);
      await step([], [lock(1, QUOTE, 100n, 1)]);
      await step([fill(1, 1, 1, QUOTE, 100n, BASE, 10n)]);
      await finalize(QUOTE, 100n, "tx1:0");
      const r = await request(QUOTE, 450n, "tx2:0");
      expect([r.hold, r.shortfall, r.debt]).to.deep.equal([0n, 450n, 100n]);
      await deposit(QUOTE, 500n); // 100 pays the debt, 400 go to the hold
      const b = await balance(QUOTE);
      expect(b).to.deep.equal({ available: 0n, locked: 0n, pendingOut: 100n, pendingIn: 0n, withdrawalRequested: 450n, withdrawalHold: 400n });
      expect(vaultBalanceOf(b)).to.equal(500n);
    });

    it("refuses a debt beyond 2^256 - 1, writing nothing", async () => {
      await finalize(QUOTE, MAX, "tx1:0");
      const before = await dumpKeys(db.redis);
      expect(await codeOf(finalize(QUOTE, 1n, "tx2:0"))).to.equal("LEDGER_OVERFLOW");
      expect(await dumpKeys(db.redis)).to.deep.equal(before);
    });
  });

  it("refuses to act on a hold above its target (LEDGER_INVARIANT), writing nothing", async () => {
    await deposit(QUOTE, 100n);
    await request(QUOTE, 50n, "tx1:0");
    await db.redis.hset(ledgerKeys(CHAIN, ALICE).acct, `b:${QUOTE}:w`, "60");
    const before = await dumpKeys(db.redis);
    expect(await codeOf(request(QUOTE, 10n, "tx2:0"))).to.equal("LEDGER_INVARIANT");
    expect(await codeOf(finalize(QUOTE, 10n, "tx3:0"))).to.equal("LEDGER_INVARIANT");
    expect(await codeOf(deposit(QUOTE, 10n))).to.equal("LEDGER_INVARIANT");
    expect(await dumpKeys(db.redis)).to.deep.equal(before);
  });

  it("refuses a close whose credit would take available beyond 2^256 - 1 even after the hold, writing nothing", async () => {
    await deposit(QUOTE, MAX);
    await step([], [lock(1, QUOTE, MAX, 1)]);
    await request(QUOTE, 1n, "tx1:0");
    await deposit(QUOTE, MAX, ALICE, "again"); // 1 tops the hold up: available MAX - 1
    const before = await dumpKeys(db.redis);
    expect(await codeOf(step([close(1, 1, QUOTE)]))).to.equal("LEDGER_OVERFLOW");
    expect(await dumpKeys(db.redis)).to.deep.equal(before);
  });

  it("getWithdrawal reads the state and the orders locking the token without writing", async () => {
    await deposit(QUOTE, 1000n, BOB);
    await step([], [lock(9, QUOTE, 600n, 6)], BOB);
    await request(QUOTE, 900n, "tx1:0", BOB);
    const before = await dumpKeys(db.redis);
    const s = await getWithdrawal(deps(), { chainId: CHAIN, trader: BOB, token: QUOTE });
    expect([s.applied, s.hold, s.target, s.shortfall, s.orders]).to.deep.equal([false, 400n, 900n, 500n, [{ orderHash: h(9), market: 1, locked: 600n }]]);
    expect(await dumpKeys(db.redis)).to.deep.equal(before);
  });

  describe("a nonce cancelled on chain", () => {
    it("is recorded when no known order used it, and refuses a later order with it NONCE_CANCELLED", async () => {
      await deposit(QUOTE, 1000n);
      expect(await recordNonceCancelled(deps(), { chainId: CHAIN, trader: ALICE, nonce: 42n })).to.deep.equal({ orderHash: null, recorded: true });
      expect(await recordNonceCancelled(deps(), { chainId: CHAIN, trader: ALICE, nonce: 42n })).to.deep.equal({ orderHash: null, recorded: false });
      const r = await step([], [{ ...lock(1, QUOTE, 10n, 1), nonce: 42n }, { ...lock(2, QUOTE, 10n, 1), nonce: 43n }]);
      expect(r.locks).to.deep.equal([{ ok: false, code: "NONCE_CANCELLED", nonce: 42n }, { ok: true }]);
    });

    it("answers the order that used it", async () => {
      await deposit(QUOTE, 1000n);
      await step([], [{ ...lock(1, QUOTE, 10n, 1), nonce: 7n }]);
      expect(await recordNonceCancelled(deps(), { chainId: CHAIN, trader: ALICE, nonce: 7n })).to.deep.equal({ orderHash: h(1), recorded: false });
    });
  });
});
