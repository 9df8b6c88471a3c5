import { expect } from "chai";
import fc from "fast-check";
import {
  LEDGER_SCRIPTS,
  LedgerError,
  creditDeposit,
  getBalances,
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

const ALICE = "0x00000000000000000000000000000000000a1111" as Address;
const BOB = "0x00000000000000000000000000000000000b2222" as Address;
const FEE = "0x00000000000000000000000000000000000000fe" as Address;
const BASE = "0x00000000000000000000000000000000000000e1" as Address;
const QUOTE = "0x00000000000000000000000000000000000000c2" as Address;

const CHAIN = 31337;
const h = (n: number | bigint): Hex => `0x${n.toString(16).padStart(64, "0")}` as Hex;

describe("ledger", () => {
  const db = useRedisServer();
  let scripts: ScriptRunner;
  let lockSeq = 0;

  before(async () => {
    scripts = new ScriptRunner({ redis: db.redis, logger: silentLogger }, LEDGER_SCRIPTS);
    await scripts.load();
  });

  const deps = () => ({ scripts, logger: silentLogger });

  async function step(trader: Address, ops: LedgerOp[], orders: LockRequest[] = [], lockId = `t:${++lockSeq}`) {
    const [r] = await scripts.batch([stepCall({ chainId: CHAIN, trader, nowMs: 1, limit: null, lockId, ops, orders })]);
    if (!r.ok) throw r.error;
    return parseStepReply(r.value, orders.length);
  }

  const lock = (n: number, token: Address, atoms: bigint, lots: number, nonce = BigInt(n)): LockRequest => ({
    orderHash: h(n),
    nonce,
    marketId: 1,
    lockToken: token,
    lockAtoms: atoms,
    lots,
  });

  const fill = (order: number, ctr: number, lots: number, spendToken: Address, spend: bigint, recvToken: Address, recv: bigint, improvement = 0n): LedgerOp => ({
    op: "fill",
    orderHash: h(order),
    fillCtr: ctr,
    fillId: (1n << 48n) | BigInt(ctr),
    lots,
    spendToken,
    spend,
    improvement,
    recvToken,
    recv,
  });

  it("credits a deposit once per deposit id, and refuses the same id with another amount", async () => {
    expect(await creditDeposit(deps(), { chainId: CHAIN, trader: ALICE, token: QUOTE, amount: 500n, depositId: "tx1:0" })).to.equal(true);
    expect(await creditDeposit(deps(), { chainId: CHAIN, trader: ALICE, token: QUOTE, amount: 500n, depositId: "tx1:0" })).to.equal(false);
    expect((await getBalances({ redis: db.redis }, { chainId: CHAIN, trader: ALICE }))[QUOTE].available).to.equal(500n);
    let code = "";
    await creditDeposit(deps(), { chainId: CHAIN, trader: ALICE, token: QUOTE, amount: 501n, depositId: "tx1:0" }).catch((e: LedgerError) => (code = e.code));
    expect(code).to.equal("DEPOSIT_CONFLICT");
  });

  it("locks exactly what an order can spend, and refuses one the available balance cannot cover without writing anything", async () => {
    await creditDeposit(deps(), { chainId: CHAIN, trader: ALICE, token: QUOTE, amount: 1000n, depositId: "d" });
    const r1 = await step(ALICE, [], [lock(1, QUOTE, 600n, 6)]);
    expect(r1.locks[0]).to.deep.equal({ ok: true });
    const before = await dumpKeys(db.redis);
    const r2 = await step(ALICE, [], [lock(2, QUOTE, 401n, 1)]);
    expect(r2.locks[0]).to.deep.equal({ ok: false, code: "INSUFFICIENT_FUNDS", available: 400n });
    expect(await dumpKeys(db.redis)).to.deep.equal(before);
    const b = (await getBalances({ redis: db.redis }, { chainId: CHAIN, trader: ALICE }))[QUOTE];
    expect(b).to.deep.equal({ available: 400n, locked: 600n, pendingOut: 0n, pendingIn: 0n });
  });

  it("checks each order of a call against the balance the orders before it left", async () => {
    await creditDeposit(deps(), { chainId: CHAIN, trader: ALICE, token: QUOTE, amount: 1000n, depositId: "d" });
    const r = await step(ALICE, [], [lock(1, QUOTE, 600n, 1), lock(2, QUOTE, 600n, 1), lock(3, QUOTE, 400n, 1)]);
    expect(r.locks.map((l) => l.ok)).to.deep.equal([true, false, true]);
  });

  it("refuses an order whose nonce another order of the trader already used", async () => {
    await creditDeposit(deps(), { chainId: CHAIN, trader: ALICE, token: QUOTE, amount: 1000n, depositId: "d" });
    await step(ALICE, [], [lock(1, QUOTE, 10n, 1, 77n)]);
    const r = await step(ALICE, [], [lock(2, QUOTE, 10n, 1, 77n), lock(3, QUOTE, 10n, 1, 78n), lock(4, QUOTE, 10n, 1, 78n)]);
    expect(r.locks[0]).to.deep.equal({ ok: false, code: "DUPLICATE_ORDER", existingHash: h(1) });
    expect(r.locks[1].ok).to.equal(true);
    expect(r.locks[2]).to.deep.equal({ ok: false, code: "DUPLICATE_ORDER", existingHash: h(3) });
  });

  it("answers OK to a resent call without locking twice", async () => {
    await creditDeposit(deps(), { chainId: CHAIN, trader: ALICE, token: QUOTE, amount: 1000n, depositId: "d" });
    await step(ALICE, [], [lock(1, QUOTE, 300n, 3)], "same:1");
    const again = await step(ALICE, [], [lock(1, QUOTE, 300n, 3)], "same:1");
    expect(again.locks[0]).to.deep.equal({ ok: true });
    expect((await getBalances({ redis: db.redis }, { chainId: CHAIN, trader: ALICE }))[QUOTE].locked).to.equal(300n);
    const other = await step(ALICE, [], [lock(1, QUOTE, 300n, 3)], "other:1");
    expect(other.locks[0]).to.deep.equal({ ok: false, code: "DUPLICATE_ORDER", existingHash: h(1) });
  });

  it("applies a fill once, however often it is sent", async () => {
    await creditDeposit(deps(), { chainId: CHAIN, trader: ALICE, token: QUOTE, amount: 1000n, depositId: "d" });
    await step(ALICE, [], [lock(1, QUOTE, 1000n, 10)]); // a buy: 100 quote per lot at its limit
    const f = fill(1, 1, 4, QUOTE, 360n, BASE, 39n, 40n); // filled at 90 per lot: 40 improvement
    const r = await step(ALICE, [f, f]);
    expect([r.applied, r.skipped]).to.deep.equal([1, 1]);
    expect((await step(ALICE, [f])).skipped).to.equal(1);
    const b = await getBalances({ redis: db.redis }, { chainId: CHAIN, trader: ALICE });
    expect(b[QUOTE]).to.deep.equal({ available: 40n, locked: 600n, pendingOut: 360n, pendingIn: 0n });
    expect(b[BASE]).to.deep.equal({ available: 0n, locked: 0n, pendingOut: 0n, pendingIn: 39n });
  });

  it("unlocks exactly the remainder when an order closes, and refuses a close that does not match its fills", async () => {
    await creditDeposit(deps(), { chainId: CHAIN, trader: BOB, token: BASE, amount: 50n, depositId: "d" });
    await step(BOB, [], [lock(5, BASE, 50n, 5)]); // a sell of 5 lots of 10
    await step(BOB, [fill(5, 1, 2, BASE, 20n, QUOTE, 199n)]);
    const before = await dumpKeys(db.redis);
    let code = "";
    await step(BOB, [{ op: "close", orderHash: h(5), remainingLots: 2 }]).catch((e: Error) => (code = e.message));
    expect(code).to.match(/LEDGER_INVARIANT/);
    expect(await dumpKeys(db.redis)).to.deep.equal(before);
    await step(BOB, [{ op: "close", orderHash: h(5), remainingLots: 3 }]);
    const b = await getBalances({ redis: db.redis }, { chainId: CHAIN, trader: BOB });
    expect(b[BASE]).to.deep.equal({ available: 30n, locked: 0n, pendingOut: 20n, pendingIn: 0n });
    expect(await db.redis.hexists(ledgerKeys(CHAIN, BOB).ord, h(5))).to.equal(0);
    expect((await step(BOB, [{ op: "close", orderHash: h(5), remainingLots: 3 }])).skipped).to.equal(1);
  });

  it("reads a close's balances in the same read when given the lock token, and refuses a wrong one, writing nothing", async () => {
    await creditDeposit(deps(), { chainId: CHAIN, trader: BOB, token: BASE, amount: 50n, depositId: "d" });
    await step(BOB, [], [lock(5, BASE, 50n, 5)]);
    await step(BOB, [fill(5, 1, 2, BASE, 20n, QUOTE, 199n)]);
    const before = await dumpKeys(db.redis);
    let message = "";
    await step(BOB, [{ op: "close", orderHash: h(5), remainingLots: 3, lockToken: QUOTE }]).catch((e: Error) => (message = e.message));
    expect(message).to.match(/LEDGER_INVARIANT.*wrong lock token/);
    expect(await dumpKeys(db.redis)).to.deep.equal(before);
    expect((await step(BOB, [{ op: "close", orderHash: h(5), remainingLots: 3, lockToken: BASE }])).applied).to.equal(1);
    expect((await getBalances({ redis: db.redis }, { chainId: CHAIN, trader: BOB }))[BASE]).to.deep.equal({ available: 30n, locked: 0n, pendingOut: 20n, pendingIn: 0n });
    expect(await db.redis.hexists(ledgerKeys(CHAIN, BOB).ord, h(5))).to.equal(0);
  });

  it("refuses a fill that would consume more than its order locked, writing nothing", async () => {
    await creditDeposit(deps(), { chainId: CHAIN, trader: ALICE, token: QUOTE, amount: 100n, depositId: "d" });
    await step(ALICE, [], [lock(1, QUOTE, 100n, 10)]);
    const before = await dumpKeys(db.redis);
    let message = "";
    await step(ALICE, [fill(1, 1, 1, QUOTE, 101n, BASE, 1n)]).catch((e: Error) => (message = e.message));
    expect(message).to.match(/LEDGER_INVARIANT/);
    await step(ALICE, [fill(1, 2, 11, QUOTE, 1n, BASE, 1n)]).catch((e: Error) => (message = e.message));
    expect(message).to.match(/exceeds/);
    expect(await dumpKeys(db.redis)).to.deep.equal(before);
  });

  it("releases an order the market refused as if it never came, freeing its nonce", async () => {
    await creditDeposit(deps(), { chainId: CHAIN, trader: ALICE, token: QUOTE, amount: 100n, depositId: "d" });
    const before = await dumpKeys(db.redis);
    await step(ALICE, [], [lock(1, QUOTE, 70n, 7, 5n)]);
    await step(ALICE, [{ op: "release", orderHash: h(1) }]);
    expect(await dumpKeys(db.redis)).to.deep.equal(before);
    // The nonce is free again, even within the step that releases it.
    await step(ALICE, [], [lock(1, QUOTE, 70n, 7, 5n)]);
    const r = await step(ALICE, [{ op: "release", orderHash: h(1) }], [lock(2, QUOTE, 70n, 7, 5n)]);
    expect(r.locks[0].ok).to.equal(true);
  });

  it("credits fees to the fee account once per fill counter", async () => {
    const fee: LedgerOp = { op: "fee", marketId: 1, fillCtr: 3, fillId: (1n << 48n) | 3n, baseToken: BASE, baseFee: 5n, quoteToken: QUOTE, quoteFee: 7n };
    await step(FEE, [fee, fee]);
    await step(FEE, [{ ...fee, fillCtr: 2 }]);
    const b = await getBalances({ redis: db.redis }, { chainId: CHAIN, trader: FEE });
    expect(b[BASE].pendingIn).to.equal(5n);
    expect(b[QUOTE].pendingIn).to.equal(7n);
  });

  it("credits the fees of many fills in one operation, each fill once, summing exactly, across a replay that overlaps", async () => {
    const fee = (ctr: number, baseFee: bigint, quoteFee: bigint): LedgerOp => ({
      op: "fee",
      marketId: 1,
      fillCtr: ctr,
      fillId: (1n << 48n) | BigInt(ctr),
      baseToken: BASE,
      baseFee,
      quoteToken: QUOTE,
      quoteFee,
    });
    // Small fees (summed in Lua numbers, carrying past 10^15) and large ones (decimal strings).
    const amount = fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: 10n ** 15n - 1n }), fc.bigInt({ min: 10n ** 15n, max: 10n ** 40n }));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(amount, amount), { minLength: 1, maxLength: 60 }), fc.nat(), fc.nat(), async (fees, a, b) => {
        await db.redis.flushall();
        const ops = fees.map(([bf, qf], i) => fee(i + 1, bf, qf));
        const first = a % (ops.length + 1); // fills 1..first credited by a first step
        const from = first === 0 ? 0 : b % first; // a replay resends from fill from+1 to the end
        if (first > 0) await step(FEE, ops.slice(0, first));
        const r = await step(FEE, ops.slice(from));
        expect([r.applied, r.skipped]).to.deep.equal([ops.length - first, first - from]);
        const balances = await getBalances({ redis: db.redis }, { chainId: CHAIN, trader: FEE });
        expect(balances[BASE]?.pendingIn ?? 0n).to.equal(fees.reduce((s, [bf]) => s + bf, 0n));
        expect(balances[QUOTE]?.pendingIn ?? 0n).to.equal(fees.reduce((s, [, qf]) => s + qf, 0n));
        const records = await db.redis.hmget(ledgerKeys(CHAIN, FEE).acct, ...ops.map((o) => `g:${(o as { fillId: bigint }).fillId}`));
        records.forEach((rec, i) => {
          const [bf, qf] = fees[i];
          const want = [bf > 0n ? `i|${BASE}|${bf}` : "", qf > 0n ? `i|${QUOTE}|${qf}` : ""].filter((x) => x !== "").join(";");
          expect(rec ?? "").to.equal(want);
        });
      }),
      { numRuns: 40 },
    );
  });

  it("settles and unwinds each party's pending amounts once per fill id", async () => {
    await creditDeposit(deps(), { chainId: CHAIN, trader: ALICE, token: QUOTE, amount: 1000n, depositId: "a" });
    await creditDeposit(deps(), { chainId: CHAIN, trader: BOB, token: BASE, amount: 100n, depositId: "b" });
    await step(ALICE, [], [lock(1, QUOTE, 1000n, 10)]);
    await step(BOB, [], [lock(2, BASE, 100n, 10)]);
    const fillId = (n: number) => (1n << 48n) | BigInt(n);
    // Two fills of 3 lots at 100 quote per lot, fees 1 base (buyer) and 3 quote (seller).
    for (const ctr of [1, 2]) {
      await step(ALICE, [fill(1, ctr, 3, QUOTE, 300n, BASE, 29n)]);
      await step(BOB, [fill(2, ctr, 3, BASE, 30n, QUOTE, 297n)]);
      await step(FEE, [{ op: "fee", marketId: 1, fillCtr: ctr, fillId: fillId(ctr), baseToken: BASE, baseFee: 1n, quoteToken: QUOTE, quoteFee: 3n }]);
    }
    const parties = (n: number) => ({ chainId: CHAIN, fillId: fillId(n), maker: BOB, taker: ALICE, feeAccount: FEE });
    expect(await settleFill(deps(), parties(1))).to.equal(3);
    expect(await settleFill(deps(), parties(1))).to.equal(0);
    expect(await unwindFill(deps(), parties(2))).to.equal(3);
    expect(await settleFill(deps(), parties(2))).to.equal(0);
    const a = await getBalances({ redis: db.redis }, { chainId: CHAIN, trader: ALICE });
    const b = await getBalances({ redis: db.redis }, { chainId: CHAIN, trader: BOB });
    const f = await getBalances({ redis: db.redis }, { chainId: CHAIN, trader: FEE });
    // Settled: alice paid 300 quote, got 29 base; unwound: her 300 quote came back to available.
    expect(a[QUOTE]).to.deep.equal({ available: 300n, locked: 400n, pendingOut: 0n, pendingIn: 0n });
    expect(a[BASE]).to.deep.equal({ available: 29n, locked: 0n, pendingOut: 0n, pendingIn: 0n });
    expect(b[BASE]).to.deep.equal({ available: 30n, locked: 40n, pendingOut: 0n, pendingIn: 0n });
    expect(b[QUOTE]).to.deep.equal({ available: 297n, locked: 0n, pendingOut: 0n, pendingIn: 0n });
    expect(f[BASE].available).to.equal(1n);
    expect(f[QUOTE].available).to.equal(3n);
  });

  it("never lets a balance go negative, and refuses exactly what a JS model of the ledger refuses", async () => {
    // A model of one trader's ledger (two tokens), driven by random operations, some invalid.
    type Rec = { token: Address; rlock: bigint; lots: number; filled: number; last: number; nonce: bigint };
    const tokens = [BASE, QUOTE];
    const op = fc.oneof(
      fc.record({ kind: fc.constant("deposit" as const), token: fc.nat(1), amount: fc.bigInt({ min: 1n, max: 10n ** 21n }) }),
      fc.record({ kind: fc.constant("lock" as const), token: fc.nat(1), lots: fc.integer({ min: 1, max: 8 }), perLot: fc.bigInt({ min: 1n, max: 10n ** 20n }), nonce: fc.nat(6) }),
      fc.record({ kind: fc.constant("fill" as const), order: fc.nat(9), lots: fc.integer({ min: 1, max: 4 }), improvementPct: fc.nat(3), recv: fc.bigInt({ min: 0n, max: 10n ** 20n }), ctrJump: fc.integer({ min: -1, max: 2 }) }),
      fc.record({ kind: fc.constant("close" as const), order: fc.nat(9), off: fc.integer({ min: -1, max: 1 }) }),
      fc.record({ kind: fc.constant("release" as const), order: fc.nat(9) }),
      fc.record({ kind: fc.constant("settle" as const), fill: fc.nat(12), unwind: fc.boolean() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 40 }), async (ops) => {
        await db.redis.flushall();
        const bal: Record<string, bigint> = {};
        const get = (f: string) => bal[f] ?? 0n;
        const recs = new Map<number, Rec | null>();
        const nonces = new Map<bigint, number>();
        const pf = new Map<number, [string, bigint][]>();
        let orderSeq = 0;
        let ctr = 0;
        for (const o of ops) {
          if (o.kind === "deposit") {
            await creditDeposit(deps(), { chainId: CHAIN, trader: ALICE, token: tokens[o.token], amount: o.amount, depositId: `d${Math.random()}` });
            bal[`${tokens[o.token]}:a`] = get(`${tokens[o.token]}:a`) + o.amount;
          } else if (o.kind === "lock") {
            const id = ++orderSeq;
            const token = tokens[o.token];
            const atoms = BigInt(o.lots) * o.perLot;
            const r = await step(ALICE, [], [lock(id, token, atoms, o.lots, BigInt(o.nonce))]);
            const expectOk = !nonces.has(BigInt(o.nonce)) && get(`${token}:a`) >= atoms;
            expect(r.locks[0].ok, "lock outcome").to.equal(expectOk);
            if (expectOk) {
              bal[`${token}:a`] = get(`${token}:a`) - atoms;
              bal[`${token}:l`] = get(`${token}:l`) + atoms;
              recs.set(id, { token, rlock: atoms, lots: o.lots, filled: 0, last: 0, nonce: BigInt(o.nonce) });
              nonces.set(BigInt(o.nonce), id);
            }
          } else if (o.kind === "fill") {
            const rec = recs.get(o.order);
            const thisCtr = Math.max(1, ctr + o.ctrJump);
            const perLot = rec ? rec.rlock / BigInt(Math.max(1, rec.lots - rec.filled)) : 1n;
            const consumed = perLot * BigInt(o.lots);
            const improvement = (consumed * BigInt(o.improvementPct)) / 10n;
            const spend = consumed - improvement;
            const token = rec?.token ?? BASE;
            const other = token === BASE ? QUOTE : BASE;
            const f = fill(o.order, thisCtr, o.lots, token, spend, other, o.recv, improvement);
            let refused = false;
            await step(ALICE, [f]).catch((e: Error) => {
              expect(e.message).to.match(/LEDGER_INVARIANT/);
              refused = true;
            });
            const skip = !rec || thisCtr <= rec.last;
            const invalid = !skip && (rec!.filled + o.lots > rec!.lots || consumed > rec!.rlock || (rec!.filled + o.lots === rec!.lots && rec!.rlock !== consumed));
            expect(refused, "fill refused").to.equal(invalid);
            if (!skip && !invalid) {
              ctr = Math.max(ctr, thisCtr);
              rec!.rlock -= consumed;
              rec!.filled += o.lots;
              rec!.last = thisCtr;
              bal[`${token}:l`] = get(`${token}:l`) - consumed;
              bal[`${token}:o`] = get(`${token}:o`) + spend;
              bal[`${token}:a`] = get(`${token}:a`) + improvement;
              bal[`${other}:i`] = get(`${other}:i`) + o.recv;
              pf.set(thisCtr, [...(pf.get(thisCtr) ?? []), [`${token}:o`, spend], [`${other}:i`, o.recv]]);
              if (rec!.filled === rec!.lots) recs.set(o.order, null);
            }
          } else if (o.kind === "close" || o.kind === "release") {
            const rec = recs.get(o.order);
            const remLots = rec ? rec.lots - rec.filled + (o.kind === "close" ? o.off : 0) : 1;
            let refused = false;
            const ledgerOp: LedgerOp = o.kind === "close" ? { op: "close", orderHash: h(o.order), remainingLots: Math.max(0, remLots) } : { op: "release", orderHash: h(o.order) };
            await step(ALICE, [ledgerOp]).catch(() => (refused = true));
            const invalid = !!rec && (o.kind === "close" ? Math.max(0, remLots) !== rec.lots - rec.filled : rec.filled !== 0);
            expect(refused, `${o.kind} refused`).to.equal(invalid);
            if (rec && !invalid) {
              bal[`${rec.token}:l`] = get(`${rec.token}:l`) - rec.rlock;
              bal[`${rec.token}:a`] = get(`${rec.token}:a`) + rec.rlock;
              recs.set(o.order, null);
              if (o.kind === "release") nonces.delete(rec.nonce);
            }
          } else {
            const entries = pf.get(o.fill);
            const fillId = (1n << 48n) | BigInt(o.fill);
            const parties = { chainId: CHAIN, fillId, maker: BOB, taker: ALICE, feeAccount: FEE };
            const n = o.unwind ? await unwindFill(deps(), parties) : await settleFill(deps(), parties);
            expect(n).to.equal(entries ? 1 : 0);
            for (const [field, amount] of entries ?? []) {
              bal[field] = get(field) - amount;
              const token = field.slice(0, 42);
              if (field.endsWith(":o") && o.unwind) bal[`${token}:a`] = get(`${token}:a`) + amount;
              if (field.endsWith(":i") && !o.unwind) bal[`${token}:a`] = get(`${token}:a`) + amount;
            }
            pf.delete(o.fill);
          }
          const account = await db.redis.hgetall(ledgerKeys(CHAIN, ALICE).acct);
          const actual = Object.fromEntries(Object.entries(account).filter(([k]) => k.startsWith("b:")).map(([k, v]) => [k.slice(2), v]));
          for (const value of Object.values(actual)) expect(BigInt(value) >= 0n, "non-negative").to.equal(true);
          const expected = Object.fromEntries(Object.entries(bal).filter(([, v]) => v !== 0n).map(([k, v]) => [k, v.toString()]));
          expect(actual).to.deep.equal(expected);
        }
      }),
      { numRuns: 40 },
    );
  });
});
