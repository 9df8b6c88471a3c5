import { expect } from "chai";
import fc from "fast-check";
import {
  DEFAULT_MAX_LOTS,
  MarketConfigError,
  checkOrderForMarket,
  parseMarketList,
  resolveOrderMarket,
  createMarketRegistry,
  getMarketStatus,
  haltMarket,
  parseMarketConfig,
  registerMarket,
  resumeMarket,
  type MarketConfigInput,
} from "../../../operator/markets";
import { OrderFlags, type Order } from "../../../operator/orders";
import { useRedisServer } from "../../helpers/redis";
import { ETH_USDC, silentLogger, USDC, WETH } from "../matching/fixtures";

const BASE: MarketConfigInput = {
  id: 7,
  symbol: "WETH-USDC",
  chainId: 31337,
  baseToken: WETH,
  quoteToken: USDC,
  baseDecimals: 18,
  tickSize: "10000",
  lotSize: "1000000000000000",
  minLots: 1,
  makerFeeBps: 10,
  takerFeeBps: 30,
};

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(MarketConfigError);
    return (error as MarketConfigError).code;
  }
  return expect.fail("expected a MarketConfigError");
}

function order(overrides: Partial<Order> = {}): Order {
  return {
    trader: "0x00000000000000000000000000000000000a0001",
    baseToken: WETH,
    quoteToken: USDC,
    isBuy: true,
    price: 3_000_000_000n,
    amount: 10n ** 16n,
    nonce: 1n,
    expiry: 4_000_000_000n,
    maxMakerFeeBps: 10,
    maxTakerFeeBps: 30,
    flags: 0,
    ...overrides,
  };
}

describe("market configuration", () => {
  it("accepts a market whose lot x tick is divisible by 10^baseDecimals, with its exact quote per lot-tick", () => {
    const m = parseMarketConfig(BASE);
    expect(m.quotePerLotTick).to.equal(10n); // 10^15 * 10^4 / 10^18
    expect(m.scale).to.equal(10n ** 18n);
    expect(m.baseToken).to.equal(WETH.toLowerCase());
  });

  it("refuses a market whose lot x tick is not divisible by 10^baseDecimals", () => {
    expect(codeOf(() => parseMarketConfig({ ...BASE, tickSize: "1", lotSize: "1000" }))).to.equal("MARKET_INEXACT");
    expect(codeOf(() => parseMarketConfig({ ...BASE, tickSize: "3", lotSize: "333333333333333333" }))).to.equal("MARKET_INEXACT");
  });

  it("accepts exactly the markets for which every fill's quote amount is a whole number of atoms", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 12n }), fc.bigInt({ min: 1n, max: 10n ** 20n }), fc.integer({ min: 0, max: 18 }), (tick, lot, decimals) => {
        const exact = (tick * lot) % 10n ** BigInt(decimals) === 0n;
        const config = { ...BASE, tickSize: tick, lotSize: lot, baseDecimals: decimals, maxLots: 1000, maxPriceTicks: 1000 };
        if (!exact) return codeOf(() => parseMarketConfig(config)) === "MARKET_INEXACT";
        const m = parseMarketConfig(config);
        // Any fill: lots x ticks at the contract's formula is exact and equals the integer form.
        const lots = 7n;
        const ticks = 13n;
        const onChain = lots * lot * (ticks * tick);
        return onChain % m.scale === 0n && onChain / m.scale === lots * ticks * m.quotePerLotTick;
      }),
    );
  });

  it("refuses bounds that Lua cannot count exactly or the contract cannot settle", () => {
    expect(codeOf(() => parseMarketConfig({ ...BASE, maxLots: 2 ** 53 }))).to.equal("MARKET_CONFIG_INVALID");
    expect(codeOf(() => parseMarketConfig({ ...BASE, tickSize: (10n ** 30n).toString(), maxPriceTicks: 2 ** 40 }))).to.equal("MARKET_OUT_OF_RANGE");
    expect(codeOf(() => parseMarketConfig({ ...BASE, minLots: 10, maxLots: 5 }))).to.equal("MARKET_OUT_OF_RANGE");
    expect(codeOf(() => parseMarketConfig({ ...BASE, id: 70_000 }))).to.equal("MARKET_CONFIG_INVALID");
    expect(codeOf(() => parseMarketConfig({ ...BASE, quoteToken: WETH }))).to.equal("MARKET_CONFIG_INVALID");
    expect(codeOf(() => parseMarketConfig({ ...BASE, takerFeeBps: 10_001 }))).to.equal("MARKET_CONFIG_INVALID");
    expect(codeOf(() => parseMarketConfig({ ...BASE, extra: 1 } as MarketConfigInput))).to.equal("MARKET_CONFIG_INVALID");
  });

  it("refuses a registry where two markets share an id, a symbol, or a token pair on one chain", () => {
    expect(codeOf(() => createMarketRegistry([BASE, { ...BASE, symbol: "X-Y", baseToken: USDC, quoteToken: WETH }]))).to.equal("MARKET_DUPLICATE");
    expect(codeOf(() => createMarketRegistry([BASE, { ...BASE, id: 8 }]))).to.equal("MARKET_DUPLICATE");
    expect(codeOf(() => createMarketRegistry([BASE, { ...BASE, id: 8, symbol: "weth-usdc", chainId: 998 }]))).to.equal("MARKET_DUPLICATE");
    const registry = createMarketRegistry([BASE, { ...BASE, id: 8, symbol: "X-Y", baseToken: USDC, quoteToken: WETH }]);
    expect(registry.byPair(31337, WETH.toUpperCase().replace("0X", "0x"), USDC)?.id).to.equal(7);
    expect(registry.byPair(998, WETH, USDC)).to.equal(undefined);
    expect(registry.bySymbol("x-y")?.id).to.equal(8);
    expect(registry.resolve("8")?.symbol).to.equal("X-Y");
    expect(codeOf(() => registry.get(9))).to.equal("MARKET_UNKNOWN");
  });

  it("lists the same pair once per chain, and the tokens of each chain", () => {
    const registry = createMarketRegistry([BASE, { ...BASE, id: 8, symbol: "WETH-USDC.t", chainId: 998 }]);
    expect(registry.chainIds).to.deep.equal([998, 31337]);
    expect(registry.withPair(WETH, USDC).map((m) => m.id)).to.deep.equal([7, 8]);
    expect(registry.byPair(998, WETH, USDC)?.id).to.equal(8);
    expect(registry.tokens(998)).to.deep.equal([WETH.toLowerCase(), USDC.toLowerCase()]);
  });

  it("requires a chain of each market, filled in from the configuration when it serves one", () => {
    const { chainId: _, ...noChain } = BASE;
    expect(codeOf(() => parseMarketConfig(noChain))).to.equal("MARKET_CONFIG_INVALID");
    expect(parseMarketConfig(noChain, { defaultChainId: 999 }).chainId).to.equal(999);
    const one = parseMarketList([noChain], { chainIds: [999] });
    expect(one.ok && one.markets[0].chainId).to.equal(999);
    const two = parseMarketList([noChain], { chainIds: [998, 999] });
    expect(two.ok ? [] : two.issues.map((i) => i.path.join("."))).to.deep.equal(["0.chainId"]);
    const unknown = parseMarketList([{ ...BASE, chainId: 5 }], { chainIds: [998, 999] });
    expect(unknown.ok ? "" : unknown.issues[0].message).to.match(/chain 5 is not configured/);
  });
});

describe("order checks against a market", () => {
  const now = 1_700_000_000;

  it("refuses an order whose price is off the tick", () => {
    const r = checkOrderForMarket(ETH_USDC, order({ price: 3_000_000_001n }), now);
    expect(r.ok === false && r.code).to.equal("PRICE_OFF_TICK");
  });

  it("refuses an order whose amount is off the lot", () => {
    const r = checkOrderForMarket(ETH_USDC, order({ amount: 10n ** 15n + 1n }), now);
    expect(r.ok === false && r.code).to.equal("AMOUNT_OFF_LOT");
  });

  it("refuses an order below the market's minimum size", () => {
    const market = parseMarketConfig({ ...BASE, minLots: 5 });
    const r = checkOrderForMarket(market, order({ amount: 4n * 10n ** 15n }), now);
    expect(r.ok === false && r.code).to.equal("AMOUNT_BELOW_MIN");
    expect(checkOrderForMarket(market, order({ amount: 5n * 10n ** 15n }), now).ok).to.equal(true);
  });

  it("refuses zero, oversized and overpriced orders", () => {
    const code = (o: Order) => {
      const r = checkOrderForMarket(ETH_USDC, o, now);
      return r.ok ? "OK" : r.code;
    };
    expect(code(order({ price: 0n }))).to.equal("PRICE_ZERO");
    expect(code(order({ amount: 0n }))).to.equal("AMOUNT_ZERO");
    expect(code(order({ amount: BigInt(ETH_USDC.maxLots + 1) * ETH_USDC.lotSize }))).to.equal("AMOUNT_ABOVE_MAX");
    expect(code(order({ price: BigInt(ETH_USDC.maxPriceTicks + 1) * ETH_USDC.tickSize }))).to.equal("PRICE_ABOVE_MAX");
    // The limits hold also when they are the defaults, and are the API's limits.
    expect(ETH_USDC.maxLots).to.equal(DEFAULT_MAX_LOTS);
  });

  it("refuses the wrong tokens, unknown or contradictory flags, low fee caps and expired orders", () => {
    const code = (o: Order, margin = 0) => {
      const r = checkOrderForMarket(ETH_USDC, o, now, margin);
      return r.ok ? "OK" : r.code;
    };
    expect(code(order({ baseToken: USDC, quoteToken: WETH }))).to.equal("MARKET_MISMATCH");
    expect(code(order({ flags: 4 }))).to.equal("FLAGS_UNKNOWN");
    expect(code(order({ flags: OrderFlags.PostOnly | OrderFlags.IOC }))).to.equal("FLAGS_CONFLICT");
    expect(code(order({ maxTakerFeeBps: 29 }))).to.equal("FEE_CAP_TOO_LOW");
    expect(code(order({ maxTakerFeeBps: 29, flags: OrderFlags.PostOnly }))).to.equal("OK"); // never takes
    expect(code(order({ maxMakerFeeBps: 9, flags: OrderFlags.IOC }))).to.equal("OK"); // never rests
    expect(code(order({ expiry: BigInt(now - 1) }))).to.equal("ORDER_EXPIRED");
    expect(code(order({ expiry: BigInt(now) }))).to.equal("ORDER_EXPIRED"); // the contract settles while timestamp <= expiry
    expect(code(order({ expiry: BigInt(now + 1) }))).to.equal("OK");
    expect(code(order({ expiry: BigInt(now + 5) }), 10)).to.equal("ORDER_EXPIRED");
  });

  it("locks exactly amount x price / 10^baseDecimals quote for a buy and the amount for a sell", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 1, max: 1_000_000 }), fc.boolean(), (ticks, lots, isBuy) => {
        const o = order({ isBuy, price: BigInt(ticks) * ETH_USDC.tickSize, amount: BigInt(lots) * ETH_USDC.lotSize });
        const r = checkOrderForMarket(ETH_USDC, o, now);
        if (!r.ok) return false;
        const expected = isBuy ? (o.amount * o.price) / ETH_USDC.scale : o.amount;
        return r.lockAtoms === expected && r.lockPerLot * BigInt(lots) === expected && r.lockToken === (isBuy ? USDC : WETH);
      }),
    );
  });
});

describe("market registration in Redis", () => {
  const db = useRedisServer();

  it("registers a market once and refuses a changed configuration under the same id", async () => {
    const deps = { redis: db.redis, logger: silentLogger };
    const m = parseMarketConfig(BASE);
    await registerMarket(deps, m);
    await registerMarket(deps, m); // idempotent
    expect(await getMarketStatus(deps, { marketId: 7 })).to.deep.equal({ status: "active", reason: "" });
    const changed = parseMarketConfig({ ...BASE, takerFeeBps: 31 });
    let code = "";
    await registerMarket(deps, changed).catch((e: MarketConfigError) => (code = e.code));
    expect(code).to.equal("MARKET_CONFIG_CHANGED");
  });

  it("halts and resumes a market, and keeps a halt across re-registration", async () => {
    const deps = { redis: db.redis, logger: silentLogger };
    const m = parseMarketConfig(BASE);
    await registerMarket(deps, m);
    await haltMarket(deps, { marketId: 7, reason: "drift" });
    await registerMarket(deps, m);
    expect(await getMarketStatus(deps, { marketId: 7 })).to.deep.equal({ status: "halted", reason: "drift" });
    await resumeMarket(deps, { marketId: 7 });
    expect((await getMarketStatus(deps, { marketId: 7 }))?.status).to.equal("active");
  });
});

describe("which market and chain an order is for", () => {
  const registry = createMarketRegistry([BASE, { ...BASE, id: 8, symbol: "WETH-USDC.t", chainId: 998 }, { ...BASE, id: 9, symbol: "USDC-WETH", baseToken: USDC, quoteToken: WETH }]);
  const S1 = "0x00000000000000000000000000000000000005e1" as const;
  const S2 = "0x00000000000000000000000000000000000005e2" as const;
  const lookup = {
    markets: registry,
    domains: new Map([
      [31337, { chainId: 31337n, verifyingContract: S1 }],
      [998, { chainId: 998n, verifyingContract: S2 }],
    ]),
  };
  const codeOfResolve = (fn: () => unknown): string => {
    try {
      fn();
    } catch (error) {
      return (error as { code: string }).code;
    }
    return "OK";
  };

  it("picks the market of the domain's chain, and the only market of a pair without a domain", () => {
    expect(resolveOrderMarket(lookup, { order: order(), domain: { chainId: 998n, verifyingContract: S2 } }).id).to.equal(8);
    expect(resolveOrderMarket(lookup, { order: order(), domain: { chainId: 31337n, verifyingContract: S1 } }).id).to.equal(7);
    expect(resolveOrderMarket(lookup, { order: order({ baseToken: USDC, quoteToken: WETH }) }).id).to.equal(9);
  });

  it("refuses a domain of another chain or contract, an unlisted pair, and a pair on several chains without a domain", () => {
    expect(codeOfResolve(() => resolveOrderMarket(lookup, { order: order(), domain: { chainId: 999n, verifyingContract: S1 } }))).to.equal("DOMAIN_CHAIN_MISMATCH");
    expect(codeOfResolve(() => resolveOrderMarket(lookup, { order: order(), domain: { chainId: 998n, verifyingContract: S1 } }))).to.equal("DOMAIN_CONTRACT_MISMATCH");
    expect(codeOfResolve(() => resolveOrderMarket(lookup, { order: order({ baseToken: USDC, quoteToken: USDC }) }))).to.equal("MARKET_UNKNOWN");
    expect(codeOfResolve(() => resolveOrderMarket(lookup, { order: order() }))).to.equal("DOMAIN_REQUIRED");
    expect(codeOfResolve(() => resolveOrderMarket(lookup, { order: order({ baseToken: USDC, quoteToken: WETH }), domain: { chainId: 998n, verifyingContract: S2 } }))).to.equal(
      "DOMAIN_CHAIN_MISMATCH",
    );
  });
});
