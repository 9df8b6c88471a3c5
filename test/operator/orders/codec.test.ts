import { expect } from "chai";
import fc from "fast-check";
import {
  MAX_SIGNATURE_BYTES,
  ORDER_ERROR_HTTP_STATUS,
  OrderFlags,
  OrderValidationError,
  UINT256_MAX,
  UINT64_MAX,
  decodeSignedOrder,
  encodeSignedOrder,
  parseSignedOrderJson,
  serializeSignedOrder,
  toChecksumAddress,
  type Order,
  type SignedOrder,
} from "../../../operator/orders";
import { BASE, NOW_S, QUOTE, SETTLEMENT, SIGNATURE, TRADER, wireBody } from "./fixture";

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(OrderValidationError);
    return (error as OrderValidationError).code;
  }
  return expect.fail("expected an OrderValidationError");
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

const decode = (body: unknown) => () => decodeSignedOrder(body);

describe("operator/orders codec", () => {
  it("decodes the wire format into an Order with bigints and lower-case hex", () => {
    const signed = decodeSignedOrder(
      wireBody({ trader: toChecksumAddress(TRADER) }, { signature: SIGNATURE.toUpperCase().replace("0X", "0x"), domain: { chainId: "999", verifyingContract: SETTLEMENT } }),
    );
    expect(signed).to.deep.equal({
      order: {
        trader: TRADER,
        baseToken: BASE,
        quoteToken: QUOTE,
        isBuy: true,
        price: 2_000_000_000n,
        amount: 10n ** 18n,
        nonce: 7n,
        expiry: NOW_S + 3600n,
        maxMakerFeeBps: 10,
        maxTakerFeeBps: 30,
        flags: 0,
      },
      signature: SIGNATURE,
      domain: { chainId: 999n, verifyingContract: SETTLEMENT },
    });
  });

  it("accepts a domain chainId given as a JSON integer, as wallets write it", () => {
    expect(decodeSignedOrder(wireBody({}, { domain: { chainId: 998, verifyingContract: SETTLEMENT } })).domain?.chainId).to.equal(998n);
  });

  it("accepts the largest value of every field's type", () => {
    const signed = decodeSignedOrder(
      wireBody({
        price: UINT256_MAX.toString(),
        amount: UINT256_MAX.toString(),
        nonce: UINT256_MAX.toString(),
        expiry: UINT64_MAX.toString(),
        maxMakerFeeBps: 65_535,
        maxTakerFeeBps: 65_535,
        flags: 255,
      }),
    );
    expect(signed.order.nonce).to.equal(UINT256_MAX);
    expect(signed.order.expiry).to.equal(UINT64_MAX);
  });

  it("parses JSON text and bytes, and refuses what is not JSON", () => {
    const text = JSON.stringify(wireBody());
    expect(parseSignedOrderJson(text)).to.deep.equal(parseSignedOrderJson(Buffer.from(text)));
    const error = errorOf(() => parseSignedOrderJson("{ nope"));
    expect(error.code).to.equal("BODY_NOT_JSON");
    expect(error.httpStatus).to.equal(400);
  });

  describe("shape", () => {
    it("refuses a body that is not an object", () => {
      for (const body of [null, [], "x", 1, true]) expect(codeOf(decode(body))).to.equal("INVALID_FIELD");
    });

    it("refuses missing fields, naming them", () => {
      const body = wireBody();
      delete (body.order as Record<string, unknown>).nonce;
      const error = errorOf(decode(body));
      expect(error.code).to.equal("FIELD_MISSING");
      expect(error.details.field).to.equal("order.nonce");
      expect(codeOf(decode({ order: wireBody().order }))).to.equal("FIELD_MISSING");
      expect(codeOf(decode({ signature: SIGNATURE }))).to.equal("FIELD_MISSING");
    });

    it("refuses unknown fields at every level, naming them", () => {
      expect(errorOf(decode(wireBody({ salt: "1" }))).details.field).to.equal("order.salt");
      expect(errorOf(decode(wireBody({}, { extra: 1 }))).details.field).to.equal("extra");
      expect(errorOf(decode(wireBody({}, { domain: { chainId: "1", verifyingContract: SETTLEMENT, name: "x" } }))).code).to.equal(
        "FIELD_UNKNOWN",
      );
      expect(codeOf(() => parseSignedOrderJson(JSON.stringify(wireBody()).replace('"order":', '"__proto__":{},"order":')))).to.equal(
        "FIELD_UNKNOWN",
      );
    });

    it("refuses wrong JSON types", () => {
      for (const order of [{ isBuy: "true" }, { isBuy: 1 }, { flags: "0" }, { maxMakerFeeBps: 1.5 }, { trader: 1 }, { price: null }, { nonce: {} }]) {
        expect(codeOf(decode(wireBody(order))), JSON.stringify(order)).to.equal("INVALID_FIELD");
      }
      expect(codeOf(decode(wireBody({}, { domain: null })))).to.equal("INVALID_FIELD");
      expect(codeOf(decode({ order: [], signature: SIGNATURE }))).to.equal("INVALID_FIELD");
    });

    it("refuses JSON numbers for money fields: they lose precision", () => {
      for (const field of ["price", "amount", "nonce", "expiry"]) {
        const error = errorOf(decode(wireBody({ [field]: 1 })));
        expect(error.code).to.equal("INVALID_FIELD");
        expect(error.message).to.contain("JSON numbers lose precision");
        expect(error.details.field).to.equal(`order.${field}`);
      }
      // 2^53 + 1 parses to 2^53: exactly the silent corruption this prevents.
      expect(codeOf(() => parseSignedOrderJson(JSON.stringify(wireBody()).replace('"7"', "9007199254740993")))).to.equal("INVALID_FIELD");
    });
  });

  describe("decimal strings", () => {
    for (const bad of ["", "01", "00", "+1", "-1", " 1", "1 ", "1e3", "0x10", "1.0", "1_000", "１"]) {
      it(`refuses ${JSON.stringify(bad)} as non-canonical`, () => {
        const error = errorOf(decode(wireBody({ amount: bad })));
        expect(error.code).to.equal("DECIMAL_NON_CANONICAL");
        expect(error.details.field).to.equal("order.amount");
        expect(error.httpStatus).to.equal(400);
      });
    }

    it("refuses values above the field's Solidity type", () => {
      expect(codeOf(decode(wireBody({ price: (UINT256_MAX + 1n).toString() })))).to.equal("VALUE_OUT_OF_RANGE");
      expect(codeOf(decode(wireBody({ nonce: "9".repeat(5000) })))).to.equal("VALUE_OUT_OF_RANGE");
      expect(codeOf(decode(wireBody({ expiry: (UINT64_MAX + 1n).toString() })))).to.equal("VALUE_OUT_OF_RANGE");
      expect(codeOf(decode(wireBody({ maxTakerFeeBps: 65_536 })))).to.equal("VALUE_OUT_OF_RANGE");
      expect(codeOf(decode(wireBody({ flags: 256 })))).to.equal("VALUE_OUT_OF_RANGE");
      expect(codeOf(decode(wireBody({ flags: -1 })))).to.equal("VALUE_OUT_OF_RANGE");
    });
  });

  describe("addresses", () => {
    it("accepts lower, upper and correctly checksummed case", () => {
      for (const trader of [TRADER, `0x${TRADER.slice(2).toUpperCase()}`, toChecksumAddress(TRADER)]) {
        expect(decodeSignedOrder(wireBody({ trader })).order.trader).to.equal(TRADER);
      }
      expect(toChecksumAddress(TRADER)).to.equal("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    });

    for (const [label, bad] of [
      ["that is too short", "0x1234"],
      ["without 0x", TRADER.slice(2)],
      ["with non-hex digits", `0x${"g".repeat(40)}`],
      ["with a wrong EIP-55 checksum", "0x70997970c51812dc3a010c7d01b50e0d17dc79C8"],
      ["with a leading space", ` ${TRADER}`],
    ] as const) {
      it(`refuses an address ${label}`, () => {
        const error = errorOf(decode(wireBody({ baseToken: bad })));
        expect(error.code).to.equal("ADDRESS_INVALID");
        expect(error.details.field).to.equal("order.baseToken");
      });
    }

    it("refuses a bad verifyingContract in the domain", () => {
      expect(errorOf(decode(wireBody({}, { domain: { chainId: "1", verifyingContract: "0x12" } }))).details.field).to.equal(
        "domain.verifyingContract",
      );
    });
  });

  describe("signatures", () => {
    for (const [label, bad] of [
      ["not a string", 42],
      ["empty", "0x"],
      ["without 0x", "ab".repeat(65)],
      ["not hex", `0x${"zz".repeat(65)}`],
      ["an odd number of digits", `0x${"a".repeat(129)}`],
      ["too long", `0x${"ab".repeat(MAX_SIGNATURE_BYTES + 1)}`],
    ] as const) {
      it(`refuses a signature that is ${label}`, () => {
        const error = errorOf(decode(wireBody({}, { signature: bad })));
        expect(error.code).to.equal("SIGNATURE_MALFORMED");
        expect(error.httpStatus).to.equal(400);
      });
    }

    it("accepts any whole-byte length up to the maximum (smart wallets sign with any length)", () => {
      expect(decodeSignedOrder(wireBody({}, { signature: "0x01" })).signature).to.equal("0x01");
      expect(decodeSignedOrder(wireBody({}, { signature: `0x${"cd".repeat(MAX_SIGNATURE_BYTES)}` })).signature).to.have.length(
        2 + 2 * MAX_SIGNATURE_BYTES,
      );
    });
  });

  describe("serializer", () => {
    const arbAddress = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => `0x${Buffer.from(b).toString("hex")}` as const);
    const arbOrder: fc.Arbitrary<Order> = fc.record({
      trader: arbAddress,
      baseToken: arbAddress,
      quoteToken: arbAddress,
      isBuy: fc.boolean(),
      price: fc.bigInt({ min: 0n, max: UINT256_MAX }),
      amount: fc.bigInt({ min: 0n, max: UINT256_MAX }),
      nonce: fc.bigInt({ min: 0n, max: UINT256_MAX }),
      expiry: fc.bigInt({ min: 0n, max: UINT64_MAX }),
      maxMakerFeeBps: fc.integer({ min: 0, max: 65_535 }),
      maxTakerFeeBps: fc.integer({ min: 0, max: 65_535 }),
      flags: fc.integer({ min: 0, max: 255 }),
    });
    const arbSigned: fc.Arbitrary<SignedOrder> = fc.record(
      {
        order: arbOrder,
        signature: fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => `0x${Buffer.from(b).toString("hex")}` as const),
        domain: fc.record({ chainId: fc.bigInt({ min: 0n, max: UINT256_MAX }), verifyingContract: arbAddress }),
      },
      { requiredKeys: ["order", "signature"] },
    );

    it("round-trips every valid signed order through the wire format", () => {
      fc.assert(
        fc.property(arbSigned, (signed) => {
          expect(parseSignedOrderJson(serializeSignedOrder(signed))).to.deep.equal(signed);
        }),
        { numRuns: 500 },
      );
    });

    it("writes uint256 fields as decimal strings and small fields as JSON integers", () => {
      const wire = encodeSignedOrder(decodeSignedOrder(wireBody({ flags: OrderFlags.PostOnly })));
      expect(wire).to.deep.equal(wireBody({ flags: OrderFlags.PostOnly }));
    });
  });

  describe("fuzz", () => {
    const assertOnlyValidationErrors = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        if (!(error instanceof OrderValidationError)) throw error;
        expect(ORDER_ERROR_HTTP_STATUS).to.have.property(error.code);
      }
    };

    it("never throws anything but OrderValidationError on arbitrary JSON text", () => {
      fc.assert(
        fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify(v))), (text) => {
          assertOnlyValidationErrors(() => parseSignedOrderJson(text));
        }),
        { numRuns: 2_000 },
      );
    });

    it("never throws anything but OrderValidationError when fields of a valid body are replaced by arbitrary values", () => {
      const orderKeys = Object.keys(wireBody().order as object);
      const arbMutation = fc.record({
        where: fc.constantFrom("order", "top", "domain"),
        key: fc.oneof(fc.constantFrom(...orderKeys, "order", "signature", "domain", "chainId", "verifyingContract"), fc.string()),
        value: fc.oneof(
          fc.anything(),
          fc.jsonValue(),
          fc.string(),
          fc.stringMatching(/^[0-9]{0,90}$/),
          fc.stringMatching(/^0x[0-9a-fA-F]{0,140}$/),
          fc.double(),
          fc.integer(),
        ),
        drop: fc.boolean(),
      });
      fc.assert(
        fc.property(fc.array(arbMutation, { minLength: 1, maxLength: 4 }), (mutations) => {
          const body = wireBody({}, { domain: { chainId: "999", verifyingContract: SETTLEMENT } }) as Record<string, Record<string, unknown>>;
          for (const m of mutations) {
            const target = m.where === "top" ? body : body[m.where];
            if (typeof target !== "object" || target === null) continue;
            if (m.drop) delete target[m.key];
            else target[m.key] = m.value as never;
          }
          // Through JSON, as the API receives it, and as a raw value.
          let text: string | undefined;
          try {
            text = JSON.stringify(body);
          } catch {
            text = undefined; // bigints or cycles from fc.anything(): not a JSON body
          }
          if (text !== undefined) assertOnlyValidationErrors(() => parseSignedOrderJson(text as string));
          assertOnlyValidationErrors(() => decodeSignedOrder(body));
        }),
        { numRuns: 3_000 },
      );
    });
  });
});
