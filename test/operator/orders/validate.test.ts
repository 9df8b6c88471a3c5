import { expect } from "chai";
import fc from "fast-check";
import { admitOrder } from "../../../operator/api/intake";
import { createMarketRegistry, parseMarketConfig, type Market } from "../../../operator/markets";
import { OrderFlags, OrderValidationError, UINT128_MAX, parseSignedOrderJson, validateSignedOrder, type Clock } from "../../../operator/orders";
import { BASE, DOMAIN, MARKET, NOW_MS, NOW_S, QUOTE, SETTLEMENT, wireBody } from "./fixture";

const RULES = { maxExpirySeconds: 86_400n };

/** The fixture's market (BASE-QUOTE on chain 999): tick 10000, lot 10^15, at least 10 lots, fees 2 / 5 bps. */
function market(fields: Record<string, unknown> = {}): Market {
  return parseMarketConfig({
    id: 1,
    symbol: "BASE-QUOTE",
    chainId: 999,
    baseToken: BASE,
    quoteToken: QUOTE,
    baseDecimals: 18,
    tickSize: MARKET.tickSize,
    lotSize: MARKET.lotSize,
    minLots: Number(MARKET.minLots),
    makerFeeBps: MARKET.makerFeeBps,
    takerFeeBps: MARKET.takerFeeBps,
    ...fields,
  });
}

interface Deps {
  clock: Clock;
  m: Market;
}

function deps(m: Market = market()): Deps {
  return { clock: { now: () => NOW_MS }, m };
}

/** What the API runs on an order before its signature: generic rules, market and chain, the market's rules. */
function intake(body: unknown, d: Deps = deps()) {
  const lookup = { markets: createMarketRegistry([d.m]), domains: new Map([[999, DOMAIN]]) };
  return admitOrder({ clock: d.clock, lookup, rules: RULES }, body).signed;
}

function errorOf(fn: () => unknown): OrderValidationError {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(OrderValidationError);
    return error as OrderValidationError;
  }
  return expect.fail("expected an OrderValidationError");
}

const codeOf = (fn: () => unknown) => errorOf(fn).code;

describe("operator/orders validate", () => {
  it("accepts a well-formed order inside its market's rules", () => {
    const signed = intake(wireBody({}, { domain: { chainId: "999", verifyingContract: SETTLEMENT } }));
    expect(signed.order.price).to.equal(2_000_000_000n);
    expect(validateSignedOrder({ clock: deps().clock }, { signed, rules: RULES })).to.equal(signed);
  });

  describe("domain", () => {
    it("refuses an order signed for another chain", () => {
      const error = errorOf(() => intake(wireBody({}, { domain: { chainId: "998", verifyingContract: SETTLEMENT } })));
      expect(error.code).to.equal("DOMAIN_CHAIN_MISMATCH");
      expect(error.httpStatus).to.equal(422);
      expect(error.message).to.contain("chain 998").and.contain("chain 999");
    });

    it("refuses an order signed for another Settlement contract", () => {
      const error = errorOf(() =>
        intake(wireBody({}, { domain: { chainId: 999, verifyingContract: "0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0" } })),
      );
      expect(error.code).to.equal("DOMAIN_CONTRACT_MISMATCH");
      expect(error.details.expected).to.equal(SETTLEMENT);
    });

    it("compares the contract address case-insensitively", () => {
      expect(() => intake(wireBody({}, { domain: { chainId: "999", verifyingContract: SETTLEMENT.toUpperCase().replace("0X", "0x") } }))).not.to.throw();
    });
  });

  describe("what the contract would refuse", () => {
    it("refuses the zero trader", () => {
      expect(codeOf(() => intake(wireBody({ trader: `0x${"0".repeat(40)}` })))).to.equal("TRADER_ZERO");
    });

    it("refuses a zero price and a zero amount", () => {
      expect(codeOf(() => intake(wireBody({ price: "0" })))).to.equal("PRICE_ZERO");
      expect(codeOf(() => intake(wireBody({ amount: "0" })))).to.equal("AMOUNT_ZERO");
    });

    it("refuses a price or amount above 2^128 - 1 (SkipReason.OrderOutOfRange)", () => {
      const tooBig = ((UINT128_MAX / MARKET.lotSize + 1n) * MARKET.lotSize).toString();
      expect(codeOf(() => intake(wireBody({ price: (UINT128_MAX + 1n).toString() })))).to.equal("ORDER_OUT_OF_RANGE");
      expect(codeOf(() => intake(wireBody({ amount: tooBig })))).to.equal("ORDER_OUT_OF_RANGE");
    });

    it("refuses unknown flag bits", () => {
      for (const flags of [4, 8, 128, 255]) expect(codeOf(() => intake(wireBody({ flags })))).to.equal("FLAGS_UNKNOWN");
    });

    it("refuses PostOnly together with IOC: such an order could never trade", () => {
      expect(codeOf(() => intake(wireBody({ flags: OrderFlags.PostOnly | OrderFlags.IOC })))).to.equal("FLAGS_CONFLICT");
    });
  });

  describe("expiry", () => {
    it("refuses an order that expired, or expires this very second", () => {
      for (const expiry of [NOW_S - 1n, NOW_S, 0n]) {
        const error = errorOf(() => intake(wireBody({ expiry: expiry.toString() })));
        expect(error.code).to.equal("ORDER_EXPIRED");
        expect(error.httpStatus).to.equal(422);
      }
    });

    it("accepts the next second and exactly the horizon", () => {
      expect(() => intake(wireBody({ expiry: (NOW_S + 1n).toString() }))).not.to.throw();
      expect(() => intake(wireBody({ expiry: (NOW_S + RULES.maxExpirySeconds).toString() }))).not.to.throw();
    });

    it("refuses an expiry beyond the configured horizon", () => {
      expect(codeOf(() => intake(wireBody({ expiry: (NOW_S + RULES.maxExpirySeconds + 1n).toString() })))).to.equal("EXPIRY_TOO_FAR");
    });

    it("reads the time from the injected clock", () => {
      const later: Deps = { ...deps(), clock: { now: () => NOW_MS + 7_200_000 } };
      expect(codeOf(() => intake(wireBody(), later))).to.equal("ORDER_EXPIRED");
    });
  });

  describe("market rules", () => {
    it("refuses an order for a pair with no market", () => {
      const error = errorOf(() => intake(wireBody({ baseToken: QUOTE, quoteToken: BASE })));
      expect(error.code).to.equal("MARKET_UNKNOWN");
      expect(error.httpStatus).to.equal(422);
    });

    it("refuses a price off the tick", () => {
      expect(codeOf(() => intake(wireBody({ price: "2000000001" })))).to.equal("PRICE_OFF_TICK");
    });

    it("refuses an amount off the lot", () => {
      expect(codeOf(() => intake(wireBody({ amount: "1000000000000000001" })))).to.equal("AMOUNT_OFF_LOT");
    });

    it("refuses an amount below the minimum size, and accepts exactly the minimum", () => {
      const min = MARKET.minLots * MARKET.lotSize;
      expect(codeOf(() => intake(wireBody({ amount: (min - MARKET.lotSize).toString() })))).to.equal("AMOUNT_BELOW_MIN");
      expect(() => intake(wireBody({ amount: min.toString() }))).not.to.throw();
    });

    it("refuses a price or amount above the market's bounds", () => {
      const bounded = deps(market({ maxPriceTicks: 200_000, maxLots: 1_000 }));
      expect(() => intake(wireBody(), bounded)).not.to.throw();
      expect(codeOf(() => intake(wireBody({ price: "2000010000" }), bounded))).to.equal("PRICE_ABOVE_MAX");
      expect(codeOf(() => intake(wireBody({ amount: "1001000000000000000" }), bounded))).to.equal("AMOUNT_ABOVE_MAX");
    });

    it("refuses fee caps below the market's fees, for the roles the order can take", () => {
      expect(codeOf(() => intake(wireBody({ maxMakerFeeBps: 1 })))).to.equal("FEE_CAP_TOO_LOW");
      expect(codeOf(() => intake(wireBody({ maxTakerFeeBps: 4 })))).to.equal("FEE_CAP_TOO_LOW");
      // IOC never rests (maker cap irrelevant); PostOnly never takes (taker cap irrelevant).
      expect(() => intake(wireBody({ maxMakerFeeBps: 0, flags: OrderFlags.IOC }))).not.to.throw();
      expect(() => intake(wireBody({ maxTakerFeeBps: 0, flags: OrderFlags.PostOnly }))).not.to.throw();
      // A market without fees takes caps of zero.
      expect(() => intake(wireBody({ maxMakerFeeBps: 0, maxTakerFeeBps: 0 }), deps(market({ makerFeeBps: 0, takerFeeBps: 0 })))).not.to.throw();
    });

    it("every accepted order is on the tick, on the lot, at least the minimum, with caps at or above the fees", () => {
      fc.assert(
        fc.property(
          fc.bigInt({ min: 1n, max: 10n ** 12n }),
          fc.bigInt({ min: 1n, max: 10n ** 22n }),
          fc.integer({ min: 0, max: 3 }),
          fc.integer({ min: 0, max: 20 }),
          fc.integer({ min: 0, max: 20 }),
          (price, amount, flags, maxMakerFeeBps, maxTakerFeeBps) => {
            let accepted = false;
            try {
              intake(wireBody({ price: price.toString(), amount: amount.toString(), flags, maxMakerFeeBps, maxTakerFeeBps }));
              accepted = true;
            } catch (error) {
              if (!(error instanceof OrderValidationError)) throw error;
            }
            const ok =
              price % MARKET.tickSize === 0n &&
              amount % MARKET.lotSize === 0n &&
              amount >= MARKET.minLots * MARKET.lotSize &&
              flags !== 3 &&
              (flags === OrderFlags.IOC || maxMakerFeeBps >= MARKET.makerFeeBps) &&
              (flags === OrderFlags.PostOnly || maxTakerFeeBps >= MARKET.takerFeeBps);
            expect(accepted).to.equal(ok);
          },
        ),
        { numRuns: 2_000 },
      );
    });
  });

  it("never throws anything but OrderValidationError through decode + validate on arbitrary JSON", () => {
    fc.assert(
      fc.property(fc.oneof(fc.json(), fc.string()), (text) => {
        try {
          validateSignedOrder({ clock: deps().clock }, { signed: parseSignedOrderJson(text), rules: RULES });
        } catch (error) {
          if (!(error instanceof OrderValidationError)) throw error;
        }
      }),
      { numRuns: 1_000 },
    );
  });
});
