/**
 * The engine over markets on two chains: the same token pair (WETH-USDC) trades on chain 999
 * (market 1, "WETH-USDC") and on chain 998 (market 3, "WETH-USDC.t"); WBTC-USDC only on 999.
 * Each chain has its own ledger (an account is a trader on one chain), its own fee account,
 * its own rate buckets, open-order count and minimum nonce.
 */
import { expect } from "chai";
import fc from "fast-check";
import { readFills } from "../../../operator/journal";
import { creditDeposit, getBalances, settleFills, unwindFills, type FillParties } from "../../../operator/ledger";
import { parseMarketConfig, type Market } from "../../../operator/markets";
import {
  EngineError,
  bookKeys,
  cancelOrders,
  decodeOrderRecord,
  feeAccountOf,
  getBook,
  getOrder,
  placeOrders,
  setMinNonce,
  stopEngine,
  sweepExpired,
  type MatchingEngine,
  type PlaceOrderRequest,
} from "../../../operator/matching";
import { OrderFlags, keccak256, type Address, type Hex } from "../../../operator/orders";
import type { RedisClient } from "../../../operator/redis";
import { useRedisServer } from "../../helpers/redis";
import {
  BTC_USDC,
  CHAIN,
  ETH_USDC,
  FEE_ACCOUNT,
  RATE_KEYS,
  USDC,
  WBTC,
  WETH,
  accepted,
  dumpKeys,
  ledgerOf,
  rejectedCode,
  request,
  startEngine,
  trader,
  type OrderSpec,
  type TestClock,
} from "./fixtures";

/** The second chain, and its WETH-USDC market: same tokens, another id, symbol and fees. */
const CHAIN_T = 998;
const ETH_USDC_T: Market = parseMarketConfig({
  id: 3,
  symbol: "WETH-USDC.t",
  chainId: CHAIN_T,
  baseToken: WETH,
  quoteToken: USDC,
  baseDecimals: 18,
  tickSize: 10_000n,
  lotSize: 10n ** 15n,
  minLots: 1,
  makerFeeBps: 5,
  takerFeeBps: 20,
});
const FEE_ACCOUNT_T = "0x00000000000000000000000000000000000000fd" as Address;
const MARKETS = [ETH_USDC, BTC_USDC, ETH_USDC_T];
const FEE_ACCOUNTS: Record<number, Address> = { [CHAIN]: FEE_ACCOUNT, [CHAIN_T]: FEE_ACCOUNT_T };
const CHAINS = [CHAIN, CHAIN_T];
const TOKENS_OF: Record<number, Address[]> = { [CHAIN]: [WETH, USDC, WBTC], [CHAIN_T]: [WETH, USDC] };

const A = trader(61);
const B = trader(62);
const C = trader(63);
const D = trader(64);
const LOT = ETH_USDC.lotSize;
/** Quote atoms of `lots` at `ticks` in either WETH-USDC market (10 per lot-tick). */
const quote = (lots: number, ticks: number) => BigInt(lots * ticks) * ETH_USDC.quotePerLotTick;

/**
 * A request in `market`. Its stand-in hash mixes in the market's chain, as the EIP-712 digest
 * does: the same order signed for two chains has two hashes.
 */
function on(market: Market, spec: Omit<OrderSpec, "market">): PlaceOrderRequest {
  const r = request({ ...spec, market });
  const hash = keccak256(Buffer.concat([Buffer.from(`chain:${market.chainId}:`), Buffer.from(r.orderHash.slice(2), "hex")]));
  return { ...r, orderHash: `0x${hash.toString("hex")}` as Hex };
}

async function placeOne(engine: MatchingEngine, req: PlaceOrderRequest) {
  return (await placeOrders(engine, [req]))[0];
}

/** A dump once Redis stopped changing (the engine writes its journal cursors lazily). */
async function quietDump(redis: RedisClient & Parameters<typeof dumpKeys>[0], exclude?: RegExp): Promise<Record<string, unknown>> {
  let previous = JSON.stringify(await dumpKeys(redis, exclude));
  for (let i = 0; i < 50; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    const next = JSON.stringify(await dumpKeys(redis, exclude));
    if (next === previous) return JSON.parse(next);
    previous = next;
  }
  throw new Error("Redis did not settle");
}

/** Credits a trader on one chain (plenty of every token of that chain, or the amounts given). */
async function fundOn(engine: MatchingEngine, chainId: number, who: Address, amounts: Partial<Record<Address, bigint>> = {}): Promise<void> {
  const defaults: Record<Address, bigint> = { [WETH]: 10n ** 24n, [USDC]: 10n ** 15n, [WBTC]: 10n ** 12n };
  for (const token of TOKENS_OF[chainId]) {
    const amount = amounts[token] ?? defaults[token];
    if (amount > 0n) await creditDeposit(ledgerOf(engine), { chainId, trader: who, token, amount, depositId: `seed:${token}:${amount}` });
  }
}

function balancesOn(engine: MatchingEngine, chainId: number, who: Address) {
  return getBalances({ redis: engine.ctx.deps.redis }, { chainId, trader: who, tokens: TOKENS_OF[chainId] });
}

/**
 * checkLedger, one chain at a time: on `chainId`, each trader's locked balance of a token is
 * what its open orders in that chain's markets can still spend; nothing is negative; matched
 * fills balance (sum pendingOut == sum pendingIn, that chain's fee account included); and,
 * with `deposits`, available + locked + pendingOut over everyone equals the chain's deposits.
 */
async function checkChain(redis: RedisClient, chainId: number, traders: readonly Address[], deposits?: Partial<Record<Address, bigint>>): Promise<void> {
  const expectedLocked = new Map<string, bigint>();
  for (const m of MARKETS.filter((x) => x.chainId === chainId)) {
    const k = bookKeys(m.id);
    expect(await redis.scard(k.inbox), `inbox of market ${m.id}`).to.equal(0);
    for (const rec of Object.values(await redis.hgetallBuffer(k.orders))) {
      const { side, ticks, rem, state, trader: t } = decodeOrderRecord(rec);
      if (state !== "o") continue;
      const token = side === "b" ? m.quoteToken : m.baseToken;
      const perLot = side === "b" ? BigInt(ticks) * m.quotePerLotTick : m.lotSize;
      const key = `${t}/${token}`;
      expectedLocked.set(key, (expectedLocked.get(key) ?? 0n) + BigInt(rem) * perLot);
    }
  }
  const totals = new Map<string, { all: bigint; out: bigint; in: bigint }>();
  for (const t of new Set([...traders.map((x) => x.toLowerCase()), FEE_ACCOUNTS[chainId]])) {
    const balances = await getBalances({ redis }, { chainId, trader: t as Address });
    for (const [token, b] of Object.entries(balances)) {
      expect(TOKENS_OF[chainId], `chain ${chainId} holds ${token} for ${t}`).to.include(token);
      for (const v of Object.values(b)) expect(v >= 0n, `negative balance on chain ${chainId}: ${t} ${token}`).to.equal(true);
      expect(b.locked, `locked on chain ${chainId}: ${t} ${token}`).to.equal(expectedLocked.get(`${t}/${token}`) ?? 0n);
      expectedLocked.delete(`${t}/${token}`);
      const tot = totals.get(token) ?? { all: 0n, out: 0n, in: 0n };
      tot.all += b.available + b.locked + b.pendingOut;
      tot.out += b.pendingOut;
      tot.in += b.pendingIn;
      totals.set(token, tot);
    }
  }
  for (const [key, v] of expectedLocked) expect(v, `open orders of ${key} on chain ${chainId} hold funds but nothing is locked`).to.equal(0n);
  for (const [token, tot] of totals) {
    expect(tot.out, `chain ${chainId} ${token}: pendingOut vs pendingIn`).to.equal(tot.in);
    if (deposits) expect(tot.all, `chain ${chainId} ${token}: on-chain view vs deposits`).to.equal(deposits[token as Address] ?? 0n);
  }
}

describe("matching engine on two chains", () => {
  const db = useRedisServer();
  let engine: MatchingEngine;
  let clock: TestClock;

  beforeEach(async () => {
    ({ engine, clock } = await startEngine(db.redis, { markets: MARKETS, feeAccounts: FEE_ACCOUNTS }));
  });
  afterEach(async () => {
    await stopEngine(engine);
  });

  /** Stops the engine and starts another on the same Redis and clock (with other options). */
  async function restart(options: Parameters<typeof startEngine>[1] = {}): Promise<void> {
    await stopEngine(engine);
    ({ engine, clock } = await startEngine(db.redis, { markets: MARKETS, feeAccounts: FEE_ACCOUNTS, clock, ...options }));
  }

  it("keeps a trader's balances on two chains apart: a deposit on one chain cannot fund an order on the other", async () => {
    await fundOn(engine, CHAIN, A, { [USDC]: quote(10, 100), [WETH]: 0n, [WBTC]: 0n });
    // The same deposit id credits each chain's account once.
    expect(await creditDeposit(ledgerOf(engine), { chainId: CHAIN_T, trader: A, token: WETH, amount: 3n * LOT, depositId: "tx:1" })).to.equal(true);
    expect(await creditDeposit(ledgerOf(engine), { chainId: CHAIN, trader: A, token: WETH, amount: 5n * LOT, depositId: "tx:1" })).to.equal(true);
    expect(await creditDeposit(ledgerOf(engine), { chainId: CHAIN, trader: A, token: WETH, amount: 5n * LOT, depositId: "tx:1" })).to.equal(false);

    const before = await quietDump(db.redis, RATE_KEYS);
    const poorBuy = await placeOne(engine, on(ETH_USDC_T, { trader: A, isBuy: true, ticks: 100, lots: 1 }));
    expect(poorBuy).to.deep.include({ status: "rejected", code: "INSUFFICIENT_FUNDS" });
    expect(poorBuy.status === "rejected" && poorBuy.details).to.deep.include({ token: USDC, required: quote(1, 100), available: 0n });
    const poorSell = await placeOne(engine, on(ETH_USDC_T, { trader: A, isBuy: false, ticks: 100, lots: 4 }));
    expect(poorSell.status === "rejected" && poorSell.details).to.deep.include({ token: WETH, required: 4n * LOT, available: 3n * LOT });
    expect(await quietDump(db.redis, RATE_KEYS)).to.deep.equal(before);

    accepted(await placeOne(engine, on(ETH_USDC, { trader: A, isBuy: true, ticks: 100, lots: 10 })));
    accepted(await placeOne(engine, on(ETH_USDC_T, { trader: A, isBuy: false, ticks: 100, lots: 3 })));
    const here = await balancesOn(engine, CHAIN, A);
    const there = await balancesOn(engine, CHAIN_T, A);
    expect([here[USDC].available, here[USDC].locked, here[WETH].available, here[WETH].locked]).to.deep.equal([0n, quote(10, 100), 5n * LOT, 0n]);
    expect([there[USDC].available, there[USDC].locked, there[WETH].available, there[WETH].locked]).to.deep.equal([0n, 0n, 0n, 3n * LOT]);
    for (const chainId of CHAINS) await checkChain(db.redis, chainId, [A]);
  });

  it("lets a trader use the same nonce on each chain (each Settlement has its own)", async () => {
    for (const chainId of CHAINS) await fundOn(engine, chainId, A);
    const here = accepted(await placeOne(engine, on(ETH_USDC, { trader: A, isBuy: true, ticks: 100, lots: 1, nonce: 7n })));
    const there = accepted(await placeOne(engine, on(ETH_USDC_T, { trader: A, isBuy: true, ticks: 100, lots: 1, nonce: 7n })));
    expect(here.orderHash).to.not.equal(there.orderHash);
    // On its own chain the nonce is taken, whatever the market.
    const again = await placeOne(engine, on(BTC_USDC, { trader: A, isBuy: true, ticks: 20_000, lots: 2, nonce: 7n }));
    expect(again).to.deep.include({ status: "rejected", code: "DUPLICATE_ORDER", details: { existingOrderHash: here.orderHash } });
  });

  it("matches each chain's market on its own and credits each chain's fees to that chain's fee account", async () => {
    for (const t of [A, B, C, D]) for (const chainId of CHAINS) await fundOn(engine, chainId, t);
    expect([feeAccountOf(engine, CHAIN), feeAccountOf(engine, CHAIN_T)]).to.deep.equal([FEE_ACCOUNT, FEE_ACCOUNT_T]);
    const [ask, bid] = (await placeOrders(engine, [
      on(ETH_USDC, { trader: A, isBuy: false, ticks: 100, lots: 5 }),
      on(ETH_USDC_T, { trader: B, isBuy: true, ticks: 100, lots: 5 }), // would cross A's ask on one book
    ])).map(accepted);
    expect([ask.fills, ask.state, bid.fills, bid.state]).to.deep.equal([[], "open", [], "open"]);
    expect([ask.market, bid.market]).to.deep.equal([ETH_USDC.id, ETH_USDC_T.id]);
    expect(await getBook(engine, { market: ETH_USDC.id })).to.deep.include({ bids: [], asks: [{ price: 100n * ETH_USDC.tickSize, amount: 5n * LOT }] });
    expect(await getBook(engine, { market: ETH_USDC_T.id })).to.deep.include({ bids: [{ price: 100n * ETH_USDC.tickSize, amount: 5n * LOT }], asks: [] });

    // Chain 999: C takes 2 lots of A's ask (taker 30 bps, maker 10 bps).
    const buy = accepted(await placeOne(engine, on(ETH_USDC, { trader: C, isBuy: true, ticks: 100, lots: 2 })));
    expect(buy.fills.map((f) => [f.makerHash, f.amount])).to.deep.equal([[ask.orderHash, 2n * LOT]]);
    // Chain 998: D sells 3 lots into B's bid (taker 20 bps, maker 5 bps).
    const sell = accepted(await placeOne(engine, on(ETH_USDC_T, { trader: D, isBuy: false, ticks: 100, lots: 3 })));
    expect(sell.fills.map((f) => [f.makerHash, f.amount])).to.deep.equal([[bid.orderHash, 3n * LOT]]);

    const fees = async (account: Address, chainId: number) => {
      const b = await balancesOn(engine, chainId, account);
      return [b[WETH].pendingIn, b[USDC].pendingIn];
    };
    // The buyer pays its fee in base, the seller in quote, each in bps of what it receives.
    expect(await fees(FEE_ACCOUNT, CHAIN)).to.deep.equal([(2n * LOT * 30n) / 10_000n, (quote(2, 100) * 10n) / 10_000n]);
    expect(await fees(FEE_ACCOUNT_T, CHAIN_T)).to.deep.equal([(3n * LOT * 5n) / 10_000n, (quote(3, 100) * 20n) / 10_000n]);
    expect(await fees(FEE_ACCOUNT, CHAIN_T)).to.deep.equal([0n, 0n]);
    expect(await fees(FEE_ACCOUNT_T, CHAIN)).to.deep.equal([0n, 0n]);
    // Each trader's fill shows on its market's chain only.
    const cThere = await balancesOn(engine, CHAIN_T, C);
    expect([cThere[WETH].pendingIn, cThere[USDC].pendingOut]).to.deep.equal([0n, 0n]);
    expect((await balancesOn(engine, CHAIN, C))[WETH].pendingIn).to.equal(2n * LOT - (2n * LOT * 30n) / 10_000n);
    expect((await balancesOn(engine, CHAIN_T, B))[WETH].pendingIn).to.equal(3n * LOT - (3n * LOT * 5n) / 10_000n);
    expect((await balancesOn(engine, CHAIN, B))[WETH].pendingIn).to.equal(0n);
    expect(await getOrder(engine, { orderHash: bid.orderHash })).to.deep.include({ market: ETH_USDC_T.id, chainId: CHAIN_T, state: "open", remainingAmount: 2n * LOT });
    expect(await getOrder(engine, { orderHash: ask.orderHash })).to.deep.include({ market: ETH_USDC.id, chainId: CHAIN, state: "open", remainingAmount: 3n * LOT });
    for (const chainId of CHAINS) await checkChain(db.redis, chainId, [A, B, C, D]);

    // Settlement resolves each chain's fills with that chain's fee account.
    await settleFills(ledgerOf(engine), [
      { chainId: CHAIN, fillId: buy.fills[0].fillId, maker: A, taker: C, feeAccount: FEE_ACCOUNT },
      { chainId: CHAIN_T, fillId: sell.fills[0].fillId, maker: B, taker: D, feeAccount: FEE_ACCOUNT_T },
    ]);
    const feeT = await balancesOn(engine, CHAIN_T, FEE_ACCOUNT_T);
    expect([feeT[WETH].available, feeT[USDC].available, feeT[WETH].pendingIn]).to.deep.equal([(3n * LOT * 5n) / 10_000n, (quote(3, 100) * 20n) / 10_000n, 0n]);

    // A restart recovers both chains' ledgers as they were.
    await restart();
    for (const chainId of CHAINS) await checkChain(db.redis, chainId, [A, B, C, D]);
    expect(await getBook(engine, { market: ETH_USDC_T.id })).to.deep.include({ bids: [{ price: 100n * ETH_USDC.tickSize, amount: 2n * LOT }], asks: [] });
  });

  it("limits open orders per chain: a trader at the limit on one chain may still rest orders on the other", async () => {
    await restart({ maxOpenOrdersPerTrader: 2 });
    for (const chainId of CHAINS) await fundOn(engine, chainId, A);
    const first = await placeOrders(engine, [
      on(ETH_USDC, { trader: A, isBuy: true, ticks: 90, lots: 1 }),
      on(BTC_USDC, { trader: A, isBuy: true, ticks: 20_000, lots: 2 }), // the limit spans the chain's markets
      on(ETH_USDC, { trader: A, isBuy: true, ticks: 91, lots: 1 }),
      on(ETH_USDC_T, { trader: A, isBuy: true, ticks: 90, lots: 1 }),
      on(ETH_USDC_T, { trader: A, isBuy: true, ticks: 91, lots: 1 }),
      on(ETH_USDC_T, { trader: A, isBuy: true, ticks: 92, lots: 1 }),
    ]);
    expect(first.map((r) => (r.status === "accepted" ? r.status : r.code))).to.deep.equal([
      "accepted",
      "accepted",
      "TOO_MANY_OPEN_ORDERS",
      "accepted",
      "accepted",
      "TOO_MANY_OPEN_ORDERS",
    ]);
    expect(first[5]).to.deep.include({ details: { openOrders: 2, maxOpenOrders: 2 } });
    // A place freed on 998 is a place on 998 only.
    const cancelled = await cancelOrders(engine, { trader: A, chainId: CHAIN_T, orderHashes: [accepted(first[3]).orderHash] });
    expect(cancelled.status === "done" && cancelled.results.map((r) => r.status)).to.deep.equal(["cancelled"]);
    expect(rejectedCode(await placeOne(engine, on(ETH_USDC, { trader: A, isBuy: true, ticks: 93, lots: 1 })))).to.equal("TOO_MANY_OPEN_ORDERS");
    accepted(await placeOne(engine, on(ETH_USDC_T, { trader: A, isBuy: true, ticks: 93, lots: 1 })));
  });

  it("rate-limits each account on its own: a burst on one chain leaves the trader's buckets on the other full", async () => {
    await restart({ rateLimits: { place: { capacity: 3, refillPerSecond: 1 }, cancel: { capacity: 1, refillPerSecond: 1 } } });
    for (const chainId of CHAINS) await fundOn(engine, chainId, A);
    const burst = await placeOrders(
      engine,
      [0, 1, 2, 3, 4, 5, 6].map((i) => on(i % 2 === 0 ? ETH_USDC : ETH_USDC_T, { trader: A, isBuy: true, ticks: 80 + i, lots: 1 })),
    );
    // 999 gets orders 0, 2, 4, 6 (its fourth is refused); 998 gets 1, 3, 5 (all taken).
    expect(burst.map((r) => (r.status === "accepted" ? r.status : r.code))).to.deep.equal([
      "accepted",
      "accepted",
      "accepted",
      "accepted",
      "accepted",
      "accepted",
      "RATE_LIMITED",
    ]);
    expect(burst[6]).to.deep.include({ details: { retryAfterMs: 1000 } });

    const [here0, there0, here1] = [burst[0], burst[1], burst[2]].map(accepted);
    expect((await cancelOrders(engine, { trader: A, chainId: CHAIN, orderHashes: [here0.orderHash] })).status).to.equal("done");
    expect(await cancelOrders(engine, { trader: A, chainId: CHAIN, orderHashes: [here1.orderHash] })).to.deep.include({ status: "rejected", code: "RATE_LIMITED" });
    expect((await cancelOrders(engine, { trader: A, chainId: CHAIN_T, orderHashes: [there0.orderHash] })).status).to.equal("done");
    clock.advance(1000);
    expect((await cancelOrders(engine, { trader: A, chainId: CHAIN, orderHashes: [here1.orderHash] })).status).to.equal("done");
  });

  it("raises a minimum nonce on one chain only: the trader's orders on the other chain stay open", async () => {
    for (const chainId of CHAINS) await fundOn(engine, chainId, A);
    const [here, hereHigh, there] = (await placeOrders(engine, [
      on(ETH_USDC, { trader: A, isBuy: true, ticks: 90, lots: 2, nonce: 10n }),
      on(ETH_USDC, { trader: A, isBuy: true, ticks: 91, lots: 1, nonce: 30n }),
      on(ETH_USDC_T, { trader: A, isBuy: true, ticks: 90, lots: 2, nonce: 10n }),
    ])).map(accepted);

    const result = await setMinNonce(engine, { chainId: CHAIN, trader: A, minNonce: 20n });
    expect([result.chainId, result.minNonce, result.raised, result.notCancelled]).to.deep.equal([CHAIN, 20n, true, []]);
    expect(result.cancelled).to.deep.equal([{ orderHash: here.orderHash, market: ETH_USDC.id, nonce: 10n, remainingAmount: 2n * LOT }]);
    expect((await getOrder(engine, { orderHash: here.orderHash }))?.state).to.equal("cancelled");
    expect((await getOrder(engine, { orderHash: hereHigh.orderHash }))?.state).to.equal("open");
    expect((await getOrder(engine, { orderHash: there.orderHash }))?.state).to.equal("open");
    expect((await balancesOn(engine, CHAIN_T, A))[USDC].locked).to.equal(quote(2, 90));

    expect(rejectedCode(await placeOne(engine, on(ETH_USDC, { trader: A, isBuy: true, ticks: 80, lots: 1, nonce: 11n })))).to.equal("NONCE_BELOW_MINIMUM");
    accepted(await placeOne(engine, on(ETH_USDC_T, { trader: A, isBuy: true, ticks: 80, lots: 1, nonce: 11n })));
    for (const chainId of CHAINS) await checkChain(db.redis, chainId, [A]);

    // Without a chain the engine cannot tell which Settlement raised it.
    const before = await quietDump(db.redis);
    const error = await setMinNonce(engine, { trader: A, minNonce: 40n }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(EngineError);
    expect((error as EngineError).code).to.equal("ENGINE_BAD_REQUEST");
    expect(await quietDump(db.redis)).to.deep.equal(before);
  });

  it("cancels by hash only on the chain named: an order on the other chain is not found there", async () => {
    for (const t of [A, B]) for (const chainId of CHAINS) await fundOn(engine, chainId, t);
    const [here, there, bobs] = (await placeOrders(engine, [
      on(ETH_USDC, { trader: A, isBuy: true, ticks: 90, lots: 1 }),
      on(ETH_USDC_T, { trader: A, isBuy: true, ticks: 90, lots: 1 }),
      on(ETH_USDC_T, { trader: B, isBuy: true, ticks: 89, lots: 1 }),
    ])).map(accepted);

    const r = await cancelOrders(engine, { trader: A, chainId: CHAIN_T, orderHashes: [here.orderHash, there.orderHash, bobs.orderHash] });
    expect(r.status === "done" && r.results.map((x) => [x.orderHash, x.status === "cancelled" ? x.market : x.code])).to.deep.equal([
      [here.orderHash, "ORDER_NOT_FOUND"],
      [there.orderHash, ETH_USDC_T.id],
      [bobs.orderHash, "NOT_ORDER_OWNER"],
    ]);
    expect((await getOrder(engine, { orderHash: here.orderHash }))?.state).to.equal("open");
    // Bob's order is on 998: asked on 999, it is unknown there (not someone else's).
    const wrongChain = await cancelOrders(engine, { trader: A, chainId: CHAIN, orderHashes: [bobs.orderHash] });
    expect(wrongChain.status === "done" && wrongChain.results.map((x) => x.status === "rejected" && x.code)).to.deep.equal(["ORDER_NOT_FOUND"]);
    const r2 = await cancelOrders(engine, { trader: A, chainId: CHAIN, orderHashes: [here.orderHash] });
    expect(r2.status === "done" && r2.results.map((x) => x.status)).to.deep.equal(["cancelled"]);
    for (const chainId of CHAINS) await checkChain(db.redis, chainId, [A, B]);
  });

  it("cancels all of a trader's orders in one market, on its chain only", async () => {
    for (const chainId of CHAINS) await fundOn(engine, chainId, A);
    const [h1, h2, t1, t2] = (await placeOrders(engine, [
      on(ETH_USDC, { trader: A, isBuy: true, ticks: 90, lots: 1 }),
      on(BTC_USDC, { trader: A, isBuy: true, ticks: 20_000, lots: 2 }),
      on(ETH_USDC_T, { trader: A, isBuy: true, ticks: 90, lots: 1 }),
      on(ETH_USDC_T, { trader: A, isBuy: false, ticks: 120, lots: 1 }),
    ])).map(accepted);
    const r = await cancelOrders(engine, { trader: A, market: ETH_USDC_T.id, all: true });
    expect(r.status === "done" && r.results.map((x) => x.orderHash).sort()).to.deep.equal([t1.orderHash, t2.orderHash].sort());
    for (const o of [h1, h2]) expect((await getOrder(engine, { orderHash: o.orderHash }))?.state).to.equal("open");
    const there = await balancesOn(engine, CHAIN_T, A);
    expect([there[USDC].locked, there[WETH].locked]).to.deep.equal([0n, 0n]);
    expect((await balancesOn(engine, CHAIN, A))[USDC].locked).to.equal(quote(1, 90) + BigInt(2 * 20_000) * BTC_USDC.quotePerLotTick);
  });

  it("refuses a cancel by hashes without a chain when the engine serves two (ENGINE_BAD_REQUEST), and goes on working", async () => {
    for (const chainId of CHAINS) await fundOn(engine, chainId, A);
    const o = accepted(await placeOne(engine, on(ETH_USDC_T, { trader: A, isBuy: true, ticks: 90, lots: 1 })));
    const before = await quietDump(db.redis);
    const error = await cancelOrders(engine, { trader: A, orderHashes: [o.orderHash] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(EngineError);
    expect(error).to.deep.include({ code: "ENGINE_BAD_REQUEST" });
    expect((error as EngineError).details).to.deep.equal({ chains: [CHAIN_T, CHAIN] });
    expect(await quietDump(db.redis)).to.deep.equal(before);
    expect((await getOrder(engine, { orderHash: o.orderHash }))?.state).to.equal("open");
    const r = await cancelOrders(engine, { trader: A, chainId: CHAIN_T, orderHashes: [o.orderHash] });
    expect(r.status === "done" && r.results.map((x) => x.status)).to.deep.equal(["cancelled"]);
  });

  it("refuses to start without a fee account for one of its chains", async () => {
    const error = await startEngine(db.redis, { markets: MARKETS, feeAccount: undefined, feeAccounts: { [CHAIN]: FEE_ACCOUNT } }).then(
      async ({ engine: e }) => void (await stopEngine(e)),
      (e: unknown) => e,
    );
    expect(error).to.deep.include({ code: "ENGINE_BAD_REQUEST", details: { chainId: CHAIN_T } });
  });

  it("conserves every token on each chain across random orders, cancels, expiries, settlements and unwinds on both", async function () {
    this.timeout(180_000);
    const TRADERS = [trader(71), trader(72), trader(73), trader(74)];
    // 0: WETH-USDC on 999, 1: WBTC-USDC on 999, 2: WETH-USDC.t on 998
    const place = fc.record({
      trader: fc.nat(TRADERS.length - 1),
      market: fc.constantFrom(0, 0, 1, 2, 2),
      isBuy: fc.boolean(),
      offset: fc.integer({ min: -3, max: 3 }),
      lots: fc.integer({ min: 1, max: 20 }),
      flags: fc.constantFrom(0, 0, OrderFlags.IOC, OrderFlags.PostOnly),
      shortLived: fc.boolean(),
    });
    const step = fc.oneof(
      { weight: 8, arbitrary: fc.array(place, { minLength: 1, maxLength: 6 }).map((places) => ({ kind: "places" as const, places })) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant("cancel" as const), trader: fc.nat(TRADERS.length - 1), chain: fc.nat(1), picks: fc.array(fc.nat(1000), { minLength: 1, maxLength: 4 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("cancelAll" as const), trader: fc.nat(TRADERS.length - 1), market: fc.nat(2) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("time" as const), seconds: fc.integer({ min: 1, max: 120 }) }) },
    );
    const amount = (max: bigint) => fc.oneof({ weight: 1, arbitrary: fc.constant(0n) }, { weight: 5, arbitrary: fc.bigInt({ min: max / 100n, max }) });
    // Per trader: WETH, USDC, WBTC on 999, then WETH, USDC on 998.
    const funding = fc.array(fc.tuple(amount(10n ** 17n), amount(10n ** 9n), amount(10n ** 7n), amount(10n ** 17n), amount(10n ** 9n)), {
      minLength: TRADERS.length,
      maxLength: TRADERS.length,
    });
    await fc.assert(
      fc.asyncProperty(funding, fc.array(step, { minLength: 10, maxLength: 40 }), fc.double({ min: 0, max: 1, noNaN: true }), async (funds, steps, unwindShare) => {
        await stopEngine(engine);
        await db.redis.flushall();
        ({ engine, clock } = await startEngine(db.redis, { markets: MARKETS, feeAccounts: FEE_ACCOUNTS }));
        const deposits: Record<number, Record<Address, bigint>> = { [CHAIN]: { [WETH]: 0n, [USDC]: 0n, [WBTC]: 0n }, [CHAIN_T]: { [WETH]: 0n, [USDC]: 0n } };
        for (const [i, t] of TRADERS.entries()) {
          const [weth, usdc, wbtc, wethT, usdcT] = funds[i];
          const credits: [number, Address, bigint][] = [
            [CHAIN, WETH, weth],
            [CHAIN, USDC, usdc],
            [CHAIN, WBTC, wbtc],
            [CHAIN_T, WETH, wethT],
            [CHAIN_T, USDC, usdcT],
          ];
          for (const [chainId, token, a] of credits) {
            if (a === 0n) continue;
            await creditDeposit(ledgerOf(engine), { chainId, trader: t, token, amount: a, depositId: `d:${token}` });
            deposits[chainId][token] += a;
          }
        }
        const marketOf = new Map<Hex, Market>();
        const placed: { hash: Hex; trader: Address; market: Market }[] = [];
        for (const s of steps) {
          if (s.kind === "places") {
            const reqs = s.places.map((p) => {
              const m = MARKETS[p.market];
              const btc = m === BTC_USDC;
              return on(m, {
                trader: TRADERS[p.trader],
                isBuy: p.isBuy,
                ticks: (btc ? 20_000 : 300_000) + p.offset,
                lots: btc ? p.lots + 1 : p.lots,
                flags: p.flags,
                expiry: p.shortLived ? BigInt(Math.floor(clock.ms / 1000) + 60) : undefined,
              });
            });
            const results = await placeOrders(engine, reqs);
            results.forEach((r, i) => {
              if (r.status !== "accepted") return;
              const m = MARKETS[s.places[i].market];
              expect(r.market).to.equal(m.id);
              marketOf.set(r.orderHash, m);
              placed.push({ hash: r.orderHash, trader: reqs[i].order.trader, market: m });
            });
          } else if (s.kind === "cancel") {
            if (placed.length === 0) continue;
            const who = TRADERS[s.trader];
            const hashes = [...new Set(s.picks.map((k) => placed[k % placed.length].hash))];
            const chainId = CHAINS[s.chain];
            const r = await cancelOrders(engine, { trader: who, chainId, orderHashes: hashes });
            expect(r.status).to.equal("done");
            if (r.status !== "done") continue;
            for (const x of r.results) {
              const m = marketOf.get(x.orderHash)!;
              // An order on the other chain is never touched by a cancel naming this one.
              if (m.chainId !== chainId) expect(x.status === "rejected" && x.code, "other chain").to.equal("ORDER_NOT_FOUND");
              if (x.status === "cancelled") expect(x.market).to.equal(m.id);
            }
          } else if (s.kind === "cancelAll") {
            const r = await cancelOrders(engine, { trader: TRADERS[s.trader], market: MARKETS[s.market].id, all: true });
            if (r.status === "done") for (const x of r.results) expect(marketOf.get(x.orderHash)).to.equal(MARKETS[s.market]);
          } else {
            clock.advance(s.seconds * 1000);
            await sweepExpired(engine);
          }
        }
        for (const chainId of CHAINS) await checkChain(db.redis, chainId, TRADERS, deposits[chainId]);

        // Every fill joins two orders of its own market; each chain settles some and skips the rest.
        const fills: FillParties[] = [];
        for (const m of MARKETS) {
          for (const f of await readFills(db.redis, m.id, 0)) {
            expect([marketOf.get(f.makerHash), marketOf.get(f.takerHash)]).to.deep.equal([m, m]);
            fills.push({ chainId: m.chainId, fillId: f.fillId, maker: f.maker, taker: f.taker, feeAccount: FEE_ACCOUNTS[m.chainId] });
          }
        }
        const cut = Math.floor(fills.length * unwindShare);
        await unwindFills(ledgerOf(engine), fills.slice(0, cut));
        await settleFills(ledgerOf(engine), fills.slice(cut));
        await settleFills(ledgerOf(engine), fills); // a second report changes nothing
        for (const chainId of CHAINS) {
          const totals: Record<string, bigint> = {};
          for (const t of [...TRADERS, FEE_ACCOUNTS[chainId]]) {
            for (const [token, b] of Object.entries(await balancesOn(engine, chainId, t))) {
              expect([b.pendingOut, b.pendingIn], `chain ${chainId} ${t} ${token} pending`).to.deep.equal([0n, 0n]);
              totals[token] = (totals[token] ?? 0n) + b.available + b.locked;
            }
          }
          for (const token of TOKENS_OF[chainId]) expect(totals[token], `chain ${chainId} ${token}`).to.equal(deposits[chainId][token]);
        }
      }),
      { numRuns: 25 },
    );
  });
});
