/**
 * Shared fixtures of the engine tests: a market, traders, order builders, an engine on a real
 * Redis with a controlled clock, and state dumps for "nothing changed" assertions.
 */
import type { Cluster } from "ioredis";
import Redis from "ioredis";
import { createLogger } from "../../../operator/log";
import { creditDeposit, getBalances, settleFills, unwindFills, type Balances } from "../../../operator/ledger";
import { haltMarket, resumeMarket } from "../../../operator/markets";
import { createEngine, type EngineConfig, type MatchingEngine, type PlaceOrderRequest } from "../../../operator/matching";
import { parseMarketConfig, type Market } from "../../../operator/markets";
import { keccak256, type Address, type Hex, type Order } from "../../../operator/orders";
import type { RedisClient } from "../../../operator/redis";

export const WETH = "0x00000000000000000000000000000000000000e1" as Address;
export const USDC = "0x00000000000000000000000000000000000000c2" as Address;
export const WBTC = "0x00000000000000000000000000000000000000b3" as Address;
export const FEE_ACCOUNT = "0x00000000000000000000000000000000000000fe" as Address;
/** The chain of the fixture markets (and of their ledgers): the orders fixture's domain (chain 999). */
export const CHAIN = 999;

/** WETH-USDC: 18 / 6 decimals; tick 0.01 USDC; lot 0.001 WETH; quote per lot-tick 10 atoms. */
export const ETH_USDC: Market = parseMarketConfig({
  id: 1,
  symbol: "WETH-USDC",
  chainId: CHAIN,
  baseToken: WETH,
  quoteToken: USDC,
  baseDecimals: 18,
  tickSize: 10_000n,
  lotSize: 10n ** 15n,
  minLots: 1,
  makerFeeBps: 10,
  takerFeeBps: 30,
});

/** WBTC-USDC: 8 / 6 decimals; tick 1 USDC; lot 0.0001 WBTC. */
export const BTC_USDC: Market = parseMarketConfig({
  id: 2,
  symbol: "WBTC-USDC",
  chainId: CHAIN,
  baseToken: WBTC,
  quoteToken: USDC,
  baseDecimals: 8,
  tickSize: 1_000_000n,
  lotSize: 10_000n,
  minLots: 2,
  makerFeeBps: 0,
  takerFeeBps: 20,
});

export function trader(n: number): Address {
  return `0x${(0xa0000 + n).toString(16).padStart(40, "0")}` as Address;
}

export const FAR_EXPIRY = 4_000_000_000n;
export const T0 = 1_700_000_000_000;

export interface OrderSpec {
  trader: Address;
  market?: Market;
  isBuy: boolean;
  /** Price in ticks and size in lots (converted to atoms). */
  ticks: number;
  lots: number;
  nonce?: bigint;
  flags?: number;
  expiry?: bigint;
  receivedAt?: number;
}

let nonceCounter = 1n;

/** A request as the API would pass it. The hash is a stand-in (unique per order); signatures are not checked by the engine. */
export function request(spec: OrderSpec): PlaceOrderRequest {
  const market = spec.market ?? ETH_USDC;
  const order: Order = {
    trader: spec.trader,
    baseToken: market.baseToken,
    quoteToken: market.quoteToken,
    isBuy: spec.isBuy,
    price: BigInt(spec.ticks) * market.tickSize,
    amount: BigInt(spec.lots) * market.lotSize,
    nonce: spec.nonce ?? nonceCounter++,
    expiry: spec.expiry ?? FAR_EXPIRY,
    maxMakerFeeBps: 100,
    maxTakerFeeBps: 100,
    flags: spec.flags ?? 0,
  };
  return { order, orderHash: hashOf(order), signature: `0x${"11".repeat(65)}` as Hex, market: market.id, receivedAt: spec.receivedAt ?? T0 };
}

export function hashOf(order: Order): Hex {
  const text = JSON.stringify(order, (_, v) => (typeof v === "bigint" ? v.toString() : v));
  return `0x${keccak256(Buffer.from(text)).toString("hex")}` as Hex;
}

export const silentLogger = createLogger({ level: "silent" });

export class TestClock {
  constructor(public ms = T0) {}
  now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

export async function startEngine(
  redis: RedisClient,
  options: Partial<EngineConfig> & { clock?: TestClock } = {},
): Promise<{ engine: MatchingEngine; clock: TestClock }> {
  const clock = options.clock ?? new TestClock();
  const engine = await createEngine(
    { redis, logger: silentLogger, clock: clock.now },
    { markets: [ETH_USDC, BTC_USDC], feeAccount: FEE_ACCOUNT, ...options },
  );
  return { engine, clock };
}

/** Funds a trader with plenty of every token (or the given amounts). */
export async function fund(engine: MatchingEngine, who: Address, amounts: Partial<Record<Address, bigint>> = {}): Promise<void> {
  const defaults: Record<Address, bigint> = { [WETH]: 10n ** 24n, [USDC]: 10n ** 15n, [WBTC]: 10n ** 12n };
  for (const token of [WETH, USDC, WBTC]) {
    const amount = amounts[token] ?? defaults[token];
    if (amount > 0n) await creditDeposit(ledgerOf(engine), { chainId: CHAIN, trader: who, token, amount, depositId: `seed:${who}:${token}:${amount}` });
  }
}

/** The engine's ledger scripts, for ledger calls outside the engine (deposits). */
export function ledgerOf(engine: MatchingEngine): { scripts: MatchingEngine["ctx"]["scripts"]; logger: typeof silentLogger } {
  return { scripts: engine.ctx.scripts, logger: silentLogger };
}

/** A trader's balances on the fixture chain, every token of the engine's markets. */
export function balancesOf(engine: MatchingEngine, params: { trader: Address; chainId?: number }): Promise<Balances> {
  const chainId = params.chainId ?? CHAIN;
  return getBalances({ redis: engine.ctx.deps.redis }, { chainId, trader: params.trader, tokens: engine.ctx.markets.tokens(chainId) });
}

type Parties = { fillId: bigint; maker: Address; taker: Address };

/** Fills settled on chain (the fixture chain's fee account). */
export function settleFillsOf(engine: MatchingEngine, fills: readonly Parties[]): Promise<number> {
  return settleFills({ scripts: engine.ctx.scripts }, fills.map((f) => ({ ...f, chainId: CHAIN, feeAccount: FEE_ACCOUNT })));
}

/** Fills the chain skipped. */
export function unwindFillsOf(engine: MatchingEngine, fills: readonly Parties[]): Promise<number> {
  return unwindFills({ scripts: engine.ctx.scripts }, fills.map((f) => ({ ...f, chainId: CHAIN, feeAccount: FEE_ACCOUNT })));
}

export function haltMarketOf(engine: MatchingEngine, params: { market: number; reason: string }): Promise<void> {
  return haltMarket({ redis: engine.ctx.deps.redis, logger: silentLogger }, { marketId: params.market, reason: params.reason });
}

export function resumeMarketOf(engine: MatchingEngine, params: { market: number }): Promise<void> {
  return resumeMarket({ redis: engine.ctx.deps.redis, logger: silentLogger }, { marketId: params.market });
}

/** Every key and its value (by type), for "Redis unchanged" assertions. */
export async function dumpKeys(redis: Redis, exclude: RegExp = /^$/): Promise<Record<string, unknown>> {
  const keys = (await redis.keys("*")).filter((k) => !exclude.test(k)).sort();
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const type = await redis.type(k);
    // Hashes as bytes (order records are binary): latin1 keeps every byte, so equal dumps
    // mean equal contents.
    if (type === "hash") out[k] = Object.fromEntries(Object.entries(await redis.hgetallBuffer(k)).map(([f, v]) => [f, v.toString("latin1")]));
    else if (type === "string") out[k] = await redis.get(k);
    else if (type === "list") out[k] = await redis.lrange(k, 0, -1);
    else if (type === "set") out[k] = (await redis.smembers(k)).sort();
    else if (type === "zset") out[k] = await redis.zrange(k, 0, -1, "WITHSCORES");
    else if (type === "stream") out[k] = await redis.xrange(k, "-", "+");
  }
  return out;
}

export type { Cluster };

/** Narrows a placement result to accepted (fails the test otherwise). */
export function accepted(r: import("../../../operator/matching").PlaceOrderResult): import("../../../operator/matching").PlaceOrderAccepted {
  if (r.status !== "accepted") throw new Error(`expected accepted, got ${r.code}: ${r.message}`);
  return r;
}

export function rejectedCode(r: import("../../../operator/matching").PlaceOrderResult): string {
  if (r.status !== "rejected") throw new Error(`expected a rejection, got ${r.state}`);
  return r.code;
}

/** Keys of the rate buckets: the only thing a refused order may change. */
export const RATE_KEYS = /^hx:v3:rl:/;

/**
 * Checks the ledger against the books, for quiescent state (no batch in flight):
 *  - each trader's locked balance of a token is exactly what its open orders can still spend;
 *  - no balance is negative, no order is half-processed, every inbox is empty;
 *  - per token, debits and credits of matched fills balance (sum pendingOut == sum pendingIn,
 *    fees included) and available + locked + pendingOut summed over everyone equals deposits
 *    minus what settled fills moved out (pass `deposits`).
 */
export async function checkLedger(
  redis: RedisClient,
  markets: readonly Market[],
  traders: readonly Address[],
  deposits?: Record<Address, bigint>,
): Promise<void> {
  const { bookKeys, decodeOrderRecord } = await import("../../../operator/matching");
  const { getBalances } = await import("../../../operator/ledger");
  const expectedLocked = new Map<string, bigint>();
  for (const m of markets) {
    const k = bookKeys(m.id);
    if ((await redis.scard(k.inbox)) !== 0) throw new Error(`inbox of market ${m.id} is not empty`);
    if (((await redis.hget(k.state, "pending")) ?? "") !== "") throw new Error(`market ${m.id} has a cut taker`);
    const records = await redis.hgetallBuffer(k.orders);
    for (const rec of Object.values(records)) {
      const { side, ticks, rem, state, trader } = decodeOrderRecord(rec);
      if (state !== "o") continue;
      const token = side === "b" ? m.quoteToken : m.baseToken;
      const perLot = side === "b" ? BigInt(ticks) * m.quotePerLotTick : m.lotSize;
      const key = `${trader}/${token}`;
      expectedLocked.set(key, (expectedLocked.get(key) ?? 0n) + BigInt(rem) * perLot);
    }
  }
  const totals = new Map<string, { all: bigint; out: bigint; in: bigint }>();
  for (const t of new Set([...traders.map((x) => x.toLowerCase()), FEE_ACCOUNT])) {
    const balances = await getBalances({ redis }, { chainId: CHAIN, trader: t as Address });
    for (const [token, b] of Object.entries(balances)) {
      for (const v of Object.values(b)) if (v < 0n) throw new Error(`negative balance ${t} ${token}`);
      const want = expectedLocked.get(`${t}/${token}`) ?? 0n;
      if (b.locked !== want) throw new Error(`locked ${t} ${token}: ${b.locked} != open orders' ${want}`);
      expectedLocked.delete(`${t}/${token}`);
      const tot = totals.get(token) ?? { all: 0n, out: 0n, in: 0n };
      tot.all += b.available + b.locked + b.pendingOut;
      tot.out += b.pendingOut;
      tot.in += b.pendingIn;
      totals.set(token, tot);
    }
  }
  for (const [key, v] of expectedLocked) if (v !== 0n) throw new Error(`open orders of ${key} hold ${v} but nothing is locked`);
  for (const [token, tot] of totals) {
    if (tot.out !== tot.in) throw new Error(`token ${token}: pendingOut ${tot.out} != pendingIn ${tot.in}`);
    if (deposits && tot.all !== (deposits[token as Address] ?? 0n)) throw new Error(`token ${token}: on-chain view ${tot.all} != deposits ${deposits[token as Address]}`);
  }
}

/** Total of the default `fund` amounts for n traders. */
export function fundedTotals(n: number): Record<Address, bigint> {
  return { [WETH]: BigInt(n) * 10n ** 24n, [USDC]: BigInt(n) * 10n ** 15n, [WBTC]: BigInt(n) * 10n ** 12n };
}
