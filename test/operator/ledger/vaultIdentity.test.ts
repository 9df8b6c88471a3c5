import { expect } from "chai";
import fc from "fast-check";
import { readFills, type FillEntry } from "../../../operator/journal";
import { creditDeposit, fillAmounts, finalizeWithdrawal, requestWithdrawal, vaultBalanceOf, type Balances } from "../../../operator/ledger";
import type { Market } from "../../../operator/markets";
import { cancelForWithdrawal, cancelOrders, placeOrders, stopEngine, type MatchingEngine } from "../../../operator/matching";
import type { Address } from "../../../operator/orders";
import { useRedisServer } from "../../helpers/redis";
import {
  BTC_USDC,
  CHAIN,
  ETH_USDC,
  FEE_ACCOUNT,
  USDC,
  WBTC,
  WETH,
  balancesOf,
  checkLedger,
  dumpKeys,
  ledgerOf,
  request,
  settleFillsOf,
  startEngine,
  trader,
  unwindFillsOf,
} from "../matching/fixtures";

/**
 * The reconciler's invariant, as a property: a JS model of the Settlement vault (what the chain
 * would hold) against the ledger, through random deposits, orders (fills, IOC remainders,
 * self-trades), cancels, withdrawal requests (replacing ones included) with the cancels they
 * trigger, finalizations (of the request, or of less: the vault pays min(request, balance)),
 * settlements and unwinds (a fill whose spender the vault can no longer fund is skipped, as
 * the contract does). For every (chain, trader, token), after every step:
 *   vault == available + locked + pendingOut + withdrawalHold - withdrawalDebt,
 * nothing negative, the hold never above the request, the request the one pending on chain, a
 * debt only beside nothing available or held; and every event handed again changes nothing.
 */
const TRADERS = [trader(61), trader(62), trader(63), trader(64)];
const TOKENS = [WETH, USDC, WBTC];
const MARKETS = [ETH_USDC, BTC_USDC];
const MAX_DEPOSIT: Record<Address, bigint> = { [WETH]: 10n ** 17n, [USDC]: 10n ** 9n, [WBTC]: 10n ** 7n };

type Replay = () => Promise<unknown>;

describe("vault identity", () => {
  const db = useRedisServer();

  it("keeps vault == available + locked + pendingOut + hold - debt per (chain, trader, token) through deposits, orders, fills, cancels, withdrawal requests and finalizations, settlements and unwinds, and repeated events change nothing", async function () {
    this.timeout(600_000);
    const place = fc.record({
      trader: fc.nat(TRADERS.length - 1),
      btc: fc.boolean(),
      isBuy: fc.boolean(),
      offset: fc.integer({ min: -4, max: 4 }),
      lots: fc.integer({ min: 1, max: 30 }),
      flags: fc.constantFrom(0, 0, 0, 1, 2),
    });
    const step = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant("place" as const), orders: fc.array(place, { minLength: 1, maxLength: 6 }) }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant("deposit" as const), trader: fc.nat(TRADERS.length - 1), token: fc.nat(2), permille: fc.integer({ min: 1, max: 1000 }) }) },
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant("request" as const),
          // Two traders, two tokens: requests often replace one another.
          trader: fc.nat(1),
          token: fc.nat(1),
          // Often the whole vault balance, pendingOut included: the race that ends in a debt.
          permille: fc.oneof(fc.constant(1000), fc.integer({ min: 1, max: 1000 })),
          cancel: fc.boolean(),
          // The delay passes at once: finalized before anything else happens (the race).
          finalize: fc.boolean(),
        }),
      },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant("finalize" as const), pick: fc.nat(), quarters: fc.constantFrom(4, 4, 4, 3, 2, 1, 0) }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant("chain" as const), permille: fc.oneof(fc.integer({ min: 0, max: 400 }), fc.constant(1000)), settleFirst: fc.boolean() }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("cancelAll" as const), trader: fc.nat(TRADERS.length - 1), btc: fc.boolean() }) },
    );

    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 1000 })), { minLength: 4, maxLength: 4 }),
        fc.array(step, { minLength: 10, maxLength: 40 }),
        async (funding, steps) => {
          await db.redis.flushall();
          const { engine } = await startEngine(db.redis);
          const vault = new Map<string, bigint>();
          const requested = new Map<string, bigint>(); // pending on chain
          const replays: Replay[] = [];
          const resolved = new Set<bigint>();
          let events = 0;
          const key = (t: Address, token: Address) => `${t.toLowerCase()}/${token}`;
          const vaultOf = (t: Address, token: Address) => vault.get(key(t, token)) ?? 0n;
          const move = (t: Address, token: Address, delta: bigint) => vault.set(key(t, token), vaultOf(t, token) + delta);
          const ledger = ledgerOf(engine);

          // Settlement.finalizeWithdrawal / releaseWithdrawal: pays min(request, balance) (or, to
          // exercise the arithmetic, `quarters` fourths of it), and consumes the request.
          async function finalize(k: string, quarters: number): Promise<void> {
            const [t, token] = k.split("/") as [Address, Address];
            const full = requested.get(k)! < vaultOf(t, token) ? requested.get(k)! : vaultOf(t, token);
            const amount = (full * BigInt(quarters)) / 4n;
            requested.delete(k);
            move(t, token, -amount);
            const params = { chainId: CHAIN, trader: t, token, amount, eventId: `0x${++events}:2` };
            const r = await finalizeWithdrawal(ledger, params);
            expect(r.fromHold + r.fromAvailable + r.toDebt).to.equal(amount);
            await appliedOnce(engine, t, () => finalizeWithdrawal(ledger, params));
            replays.push(() => finalizeWithdrawal(ledger, params));
          }

          async function deposit(t: Address, token: Address, amount: bigint): Promise<void> {
            if (amount === 0n) return;
            const params = { chainId: CHAIN, trader: t, token, amount, depositId: `0x${++events}:0` };
            await creditDeposit(ledger, params);
            move(t, token, amount);
            await appliedOnce(engine, t, () => creditDeposit(ledger, params));
            replays.push(() => creditDeposit(ledger, params));
          }

          try {
            for (const [i, t] of TRADERS.entries()) {
              for (const [j, token] of TOKENS.entries()) await deposit(t, token, (MAX_DEPOSIT[token] * BigInt(funding[i][j])) / 1000n);
            }
            for (const s of steps) {
              if (s.kind === "place") {
                await placeOrders(
                  engine,
                  s.orders.map((p) =>
                    request({
                      trader: TRADERS[p.trader],
                      market: p.btc ? BTC_USDC : ETH_USDC,
                      isBuy: p.isBuy,
                      ticks: (p.btc ? 20_000 : 300_000) + p.offset,
                      lots: p.btc ? p.lots + 1 : p.lots,
                      flags: p.flags,
                    }),
                  ),
                );
              } else if (s.kind === "deposit") {
                const token = TOKENS[s.token];
                await deposit(TRADERS[s.trader], token, (MAX_DEPOSIT[token] * BigInt(s.permille)) / 1000n);
              } else if (s.kind === "request") {
                // Settlement.requestWithdrawal: 0 < amount <= the vault balance; replaces the pending one.
                const t = TRADERS[s.trader];
                const token = [USDC, WETH][s.token];
                const amount = (vaultOf(t, token) * BigInt(s.permille)) / 1000n;
                if (amount === 0n) continue;
                const params = { chainId: CHAIN, trader: t, token, amount, eventId: `0x${++events}:1` };
                const r = await requestWithdrawal(ledger, params);
                requested.set(key(t, token), amount);
                expect(r.applied).to.equal(true);
                await appliedOnce(engine, t, () => requestWithdrawal(ledger, params));
                replays.push(() => requestWithdrawal(ledger, params));
                if (s.cancel && r.shortfall > 0n) {
                  const c = await cancelForWithdrawal(engine, { chainId: CHAIN, trader: t, token, amount: r.shortfall });
                  const freed = c.cancelled.reduce((sum, o) => sum + o.locked, 0n);
                  expect(freed >= c.needed || c.uncovered === c.needed - freed, "covers what it can").to.equal(true);
                }
                if (s.finalize) await finalize(key(t, token), 4);
              } else if (s.kind === "finalize") {
                const pending = [...requested.keys()];
                if (pending.length > 0) await finalize(pending[s.pick % pending.length], s.quarters);
              } else if (s.kind === "chain") {
                // A batch: some of the pending fills, each settled if the vault funds both sides
                // (and the batch wants it), skipped otherwise.
                const pending: { market: Market; fill: FillEntry }[] = [];
                for (const m of MARKETS) for (const f of await readFills(db.redis, m.id, 0)) if (!resolved.has(f.fillId)) pending.push({ market: m, fill: f });
                const count = Math.round((pending.length * s.permille) / 1000);
                for (const { market, fill } of pending.slice(0, count)) {
                  const a = fillAmounts(market, fill);
                  const buyer = fill.takerIsBuy ? fill.taker : fill.maker;
                  const seller = fill.takerIsBuy ? fill.maker : fill.taker;
                  const funded = vaultOf(buyer, market.quoteToken) >= a.quote && vaultOf(seller, market.baseToken) >= a.base;
                  const parties = [{ fillId: fill.fillId, maker: fill.maker, taker: fill.taker }];
                  resolved.add(fill.fillId);
                  if (s.settleFirst && funded) {
                    move(buyer, market.quoteToken, -a.quote);
                    move(buyer, market.baseToken, a.base - a.buyerFee);
                    move(seller, market.baseToken, -a.base);
                    move(seller, market.quoteToken, a.quote - a.sellerFee);
                    move(FEE_ACCOUNT, market.baseToken, a.buyerFee);
                    move(FEE_ACCOUNT, market.quoteToken, a.sellerFee);
                    await settleFillsOf(engine, parties);
                    replays.push(() => settleFillsOf(engine, parties));
                  } else {
                    await unwindFillsOf(engine, parties);
                    replays.push(() => unwindFillsOf(engine, parties));
                  }
                }
              } else {
                await cancelOrders(engine, { trader: TRADERS[s.trader], market: s.btc ? BTC_USDC.id : ETH_USDC.id, all: true });
              }
              await checkIdentity(engine, vaultOf, requested, key);
            }
            await checkLedger(db.redis, MARKETS, TRADERS);

            // Every event handed again (a restart, a reorg re-read): nothing changes.
            const before = await dumpKeys(db.redis);
            for (const r of replays) await r();
            expect(await dumpKeys(db.redis)).to.deep.equal(before);
          } finally {
            await stopEngine(engine);
          }
        },
      ),
      { numRuns: 50 },
    );
  });
});

/** The trader's account is unchanged by the event handed again. */
async function appliedOnce(engine: MatchingEngine, t: Address, again: () => Promise<unknown>): Promise<void> {
  const before = await balancesOf(engine, { trader: t });
  await again();
  expect(await balancesOf(engine, { trader: t })).to.deep.equal(before);
}

async function checkIdentity(
  engine: MatchingEngine,
  vaultOf: (t: Address, token: Address) => bigint,
  requested: ReadonlyMap<string, bigint>,
  key: (t: Address, token: Address) => string,
): Promise<void> {
  for (const t of [...TRADERS, FEE_ACCOUNT]) {
    const balances: Balances = await balancesOf(engine, { trader: t });
    for (const token of TOKENS) {
      const b = balances[token];
      const where = `${t} ${token}`;
      for (const [name, v] of Object.entries(b)) expect(v >= 0n, `${where} ${name} ${v}`).to.equal(true);
      expect(vaultBalanceOf(b), `${where}: vault vs a + l + o + hold - debt (${JSON.stringify(b, (_, v) => (typeof v === "bigint" ? v.toString() : v))})`).to.equal(vaultOf(t, token));
      expect(b.withdrawalRequested ?? 0n, `${where} request`).to.equal(requested.get(key(t, token)) ?? 0n);
      expect((b.withdrawalHold ?? 0n) <= (b.withdrawalRequested ?? 0n), `${where} hold within its target`).to.equal(true);
      if ((b.withdrawalDebt ?? 0n) > 0n) expect([b.available, b.withdrawalHold ?? 0n], `${where} debt beside funds`).to.deep.equal([0n, 0n]);
    }
  }
}
