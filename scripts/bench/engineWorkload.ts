/**
 * The workload of the engine benchmark: one market (an 18-decimal base, a 6-decimal quote),
 * many funded traders, and pre-signed orders around a mid price of which about half cross.
 * Signing is the traders' work, done before any clock starts.
 */
import { OrderFlags, OrderHasher, keccak256, privateKeyToAddress, signDigest, type Address, type Hex, type Order, type OrderDomain } from "../../operator/orders";
import { createMarketRegistry, parseMarketConfig, resolveOrderMarket, checkOrderForMarket, type Market } from "../../operator/markets";
import { DEFAULT_LIMITS } from "../../operator/config";
import type { EngineConfig } from "../../operator/matching";
import { validateSignedOrder, type SignedOrder } from "../../operator/orders";

export const BENCH_DOMAIN: OrderDomain = { chainId: 31337n, verifyingContract: "0x5fbdb2315678afecb367f032d93f642f64180aa3" };
export const BASE: Address = "0x1000000000000000000000000000000000000001";
export const QUOTE: Address = "0x2000000000000000000000000000000000000002";
export const FEE_ACCOUNT: Address = "0xfee0000000000000000000000000000000000fee";

/** 0.01 quote unit ticks, 0.001 base unit lots: 10 quote atoms per lot per tick. */
/** The daemon's default per-trader limits: the benchmark pays for the checks production runs. */
export const BENCH_ENGINE_LIMITS: Pick<EngineConfig, "rateLimits" | "maxOpenOrdersPerTrader"> = {
  rateLimits: {
    place: { capacity: DEFAULT_LIMITS.placeRateLimit.burst, refillPerSecond: DEFAULT_LIMITS.placeRateLimit.perSecond },
    cancel: { capacity: DEFAULT_LIMITS.cancelRateLimit.burst, refillPerSecond: DEFAULT_LIMITS.cancelRateLimit.perSecond },
  },
  maxOpenOrdersPerTrader: DEFAULT_LIMITS.maxOpenOrdersPerTrader,
};

export const BENCH_MARKET: Market = parseMarketConfig({
  id: 1,
  symbol: "WETH-USDC",
  chainId: Number(BENCH_DOMAIN.chainId),
  baseToken: BASE,
  quoteToken: QUOTE,
  baseDecimals: 18,
  tickSize: 10_000n,
  lotSize: 10n ** 15n,
  minLots: 1,
  makerFeeBps: 2,
  takerFeeBps: 5,
});

const benchLookup = { markets: createMarketRegistry([BENCH_MARKET]), domains: new Map([[BENCH_MARKET.chainId, BENCH_DOMAIN]]) };
const benchRules = { maxExpirySeconds: 10n ** 10n };

/**
 * What the API checks of a decoded order before its signature (operator/api/intake.ts
 * admitOrder without the JSON decoding): generic rules, its market and chain, the market's
 * rules. Throws an OrderValidationError.
 */
export function admitBenchOrder(o: SignedOrder, receivedAt: number): Market {
  validateSignedOrder({ clock: { now: () => receivedAt } }, { signed: o, rules: benchRules });
  const market = resolveOrderMarket(benchLookup, { order: o.order, domain: o.domain });
  const check = checkOrderForMarket(market, o.order, Math.floor(receivedAt / 1000));
  if (!check.ok) throw new Error(check.code);
  return market;
}

export interface BenchTrader {
  address: Address;
  privateKey: Buffer;
}

export interface SignedBenchOrder {
  order: Order;
  signature: Hex;
  orderHash: Hex;
}

/** Deterministic pseudo-random numbers (mulberry32), so every run sees the same orders. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function benchTraders(count: number, label = "bench"): BenchTrader[] {
  return Array.from({ length: count }, (_, i) => {
    const privateKey = keccak256(Buffer.from(`${label}:trader:${i}`, "utf8"));
    return { address: privateKeyToAddress(privateKey), privateKey };
  });
}

export const MID_TICKS = 200_000n; // 2,000.00 quote units

/**
 * `count` signed orders: random trader, random side, 1..100 lots; half are passive (a few
 * ticks behind the mid), half aggressive (up to 20 ticks through it, so they cross the
 * resting side); one in ten aggressive orders is IOC. Nonces count up per trader.
 */
export function signedOrders(traders: readonly BenchTrader[], count: number, seed: number, nonceBase = 0n): SignedBenchOrder[] {
  const random = rng(seed);
  const hasher = new OrderHasher(BENCH_DOMAIN);
  const nonces = new Map<string, bigint>();
  const out: SignedBenchOrder[] = [];
  for (let i = 0; i < count; i++) {
    const trader = traders[Math.floor(random() * traders.length)];
    const isBuy = random() < 0.5;
    const aggressive = random() < 0.5;
    const offset = BigInt(1 + Math.floor(random() * 20));
    const ticks = aggressive ? (isBuy ? MID_TICKS + offset : MID_TICKS - offset) : isBuy ? MID_TICKS - offset : MID_TICKS + offset;
    const nonce = (nonces.get(trader.address) ?? nonceBase) + 1n;
    nonces.set(trader.address, nonce);
    const order: Order = {
      trader: trader.address,
      baseToken: BASE,
      quoteToken: QUOTE,
      isBuy,
      price: ticks * BENCH_MARKET.tickSize,
      amount: BigInt(1 + Math.floor(random() * 100)) * BENCH_MARKET.lotSize,
      nonce,
      expiry: 4_000_000_000n,
      maxMakerFeeBps: 10,
      maxTakerFeeBps: 10,
      flags: aggressive && random() < 0.1 ? OrderFlags.IOC : OrderFlags.None,
    };
    const digest = hasher.digest(order);
    out.push({ order, signature: signDigest(trader.privateKey, digest), orderHash: `0x${digest.toString("hex")}` });
  }
  return out;
}

/** Percentile of a sorted array (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
