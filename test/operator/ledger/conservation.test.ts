import { expect } from "chai";
import fc from "fast-check";
import { readFills } from "../../../operator/journal";
import { creditDeposit } from "../../../operator/ledger";
import { cancelOrders, placeOrders, stopEngine, sweepExpired } from "../../../operator/matching";
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
  ledgerOf,
  request,
  settleFillsOf,
  startEngine,
  trader,
  unwindFillsOf,
} from "../matching/fixtures";

const TRADERS = [trader(21), trader(22), trader(23), trader(24), trader(25)];
const TOKENS = [WETH, USDC, WBTC];

describe("ledger conservation", () => {
  const db = useRedisServer();

  it("conserves every token across random fills, cancels, expiries, settlements and unwinds", async function () {
    this.timeout(120_000);
    const place = fc.record({
      kind: fc.constant("place" as const),
      trader: fc.nat(TRADERS.length - 1),
      btc: fc.boolean(),
      isBuy: fc.boolean(),
      offset: fc.integer({ min: -4, max: 4 }),
      lots: fc.integer({ min: 1, max: 30 }),
      flags: fc.constantFrom(0, 0, 1, 2),
      shortLived: fc.boolean(),
    });
    const step = fc.oneof(
      { weight: 8, arbitrary: fc.array(place, { minLength: 2, maxLength: 6 }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("cancelAll" as const), trader: fc.nat(TRADERS.length - 1), btc: fc.boolean() }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("time" as const), seconds: fc.integer({ min: 1, max: 120 }) }) },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.bigInt({ min: 0n, max: 10n ** 17n }), fc.bigInt({ min: 0n, max: 10n ** 9n }), fc.bigInt({ min: 0n, max: 10n ** 7n })), { minLength: 5, maxLength: 5 }),
        fc.array(step, { minLength: 10, maxLength: 40 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        async (funding, steps, unwindShare) => {
          await db.redis.flushall();
          const { engine, clock } = await startEngine(db.redis);
          try {
            const deposits: Record<Address, bigint> = { [WETH]: 0n, [USDC]: 0n, [WBTC]: 0n };
            for (const [i, t] of TRADERS.entries()) {
              const [weth, usdc, wbtc] = funding[i];
              for (const [token, amount] of [[WETH, weth], [USDC, usdc], [WBTC, wbtc]] as const) {
                if (amount === 0n) continue;
                await creditDeposit(ledgerOf(engine), { chainId: CHAIN, trader: t, token, amount, depositId: `${t}:${token}` });
                deposits[token] += amount;
              }
            }
            for (const s of steps) {
              if (Array.isArray(s)) {
                await placeOrders(
                  engine,
                  s.map((p) =>
                    request({
                      trader: TRADERS[p.trader],
                      market: p.btc ? BTC_USDC : ETH_USDC,
                      isBuy: p.isBuy,
                      ticks: (p.btc ? 20_000 : 300_000) + p.offset,
                      lots: p.btc ? p.lots + 1 : p.lots,
                      flags: p.flags,
                      expiry: p.shortLived ? BigInt(Math.floor(clock.ms / 1000) + 60) : undefined,
                    }),
                  ),
                );
              } else if (s.kind === "cancelAll") {
                await cancelOrders(engine, { trader: TRADERS[s.trader], market: s.btc ? BTC_USDC.id : ETH_USDC.id, all: true });
              } else {
                clock.advance(s.seconds * 1000);
                await sweepExpired(engine);
              }
            }
            await checkLedger(db.redis, [ETH_USDC, BTC_USDC], TRADERS, deposits);

            // The chain settles some fills and skips the others.
            const fills: { fillId: bigint; maker: Address; taker: Address }[] = [];
            for (const m of [ETH_USDC, BTC_USDC]) {
              for (const f of await readFills(db.redis, m.id, 0)) fills.push({ fillId: f.fillId, maker: f.maker, taker: f.taker });
            }
            const cut = Math.floor(fills.length * unwindShare);
            await unwindFillsOf(engine, fills.slice(0, cut));
            await settleFillsOf(engine, fills.slice(cut));
            await settleFillsOf(engine, fills); // a second report changes nothing
            const totals: Record<string, bigint> = {};
            for (const t of [...TRADERS, FEE_ACCOUNT]) {
              for (const [token, b] of Object.entries(await balancesOf(engine, { trader: t }))) {
                expect(b.pendingOut, `${t} ${token} pendingOut`).to.equal(0n);
                expect(b.pendingIn, `${t} ${token} pendingIn`).to.equal(0n);
                totals[token] = (totals[token] ?? 0n) + b.available + b.locked;
              }
            }
            for (const token of TOKENS) expect(totals[token] ?? 0n, token).to.equal(deposits[token]);
          } finally {
            await stopEngine(engine);
          }
        },
      ),
      { numRuns: 20 },
    );
  });
});
