import { expect } from "chai";
import { TypedDataEncoder, id } from "ethers";
import {
  CANCEL_EIP712_TYPES,
  CANCEL_TYPEHASH,
  CANCEL_TYPE_STRING,
  CancelHasher,
  CancelValidationError,
  OrderValidationError,
  ZERO_ADDRESS,
  decodeSignedCancel,
  encodeSignedCancel,
  hashOrderHashes,
  validateCancel,
  type Cancel,
  type Hex,
} from "../../../operator/orders";
import { DOMAIN, NOW_MS, NOW_S } from "../orders/fixture";

const TRADER = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
const H1 = `0x${"11".repeat(32)}` as Hex;
const H2 = `0x${"a2".repeat(32)}` as Hex;

function cancel(fields: Partial<Cancel> = {}): Cancel {
  return { trader: TRADER, orderHashes: [H1, H2], baseToken: ZERO_ADDRESS, quoteToken: ZERO_ADDRESS, all: false, expiry: NOW_S + 60n, salt: 7n, ...fields };
}

function ethersHash(c: Cancel): string {
  const domain = { name: "HyperIndex", version: "1", chainId: DOMAIN.chainId, verifyingContract: DOMAIN.verifyingContract };
  const types = { Cancel: CANCEL_EIP712_TYPES.Cancel.map((f) => ({ ...f })) };
  return TypedDataEncoder.hash(domain, types, { ...c, orderHashes: [...c.orderHashes] });
}

describe("operator/orders signed cancel: EIP-712 type, hash and rules", () => {
  const hasher = new CancelHasher(DOMAIN);
  const clock = { now: () => NOW_MS };
  const rules = { domain: DOMAIN, maxExpirySeconds: 600n, maxOrderHashes: 3 };

  it("pins the type string and its type hash", () => {
    expect(CANCEL_TYPE_STRING).to.equal(
      "Cancel(address trader,bytes32[] orderHashes,address baseToken,address quoteToken,bool all,uint64 expiry,uint256 salt)",
    );
    expect(TypedDataEncoder.from({ Cancel: CANCEL_EIP712_TYPES.Cancel.map((f) => ({ ...f })) }).encodeType("Cancel")).to.equal(CANCEL_TYPE_STRING);
    expect(`0x${CANCEL_TYPEHASH.toString("hex")}`).to.equal(id(CANCEL_TYPE_STRING));
    expect(`0x${CANCEL_TYPEHASH.toString("hex")}`).to.equal("0x747a3bef4513c9ba2809fc21b3d4522546cbda12f9ec19aaae32164304ef65eb");
  });

  it("hashes exactly as ethers' TypedDataEncoder: several hashes, none (cancel-all), extreme values", () => {
    const cases: Cancel[] = [
      cancel(),
      cancel({ orderHashes: [H1] }),
      cancel({ orderHashes: [], all: true, baseToken: "0x00000000000000000000000000000000000000e1", quoteToken: "0x00000000000000000000000000000000000000c2" }),
      cancel({ expiry: (1n << 64n) - 1n, salt: (1n << 256n) - 1n }),
    ];
    for (const c of cases) expect(hasher.hash(c)).to.equal(ethersHash(c));
  });

  it("encodes bytes32[] as the keccak of the concatenated hashes (keccak of nothing when empty)", () => {
    expect(`0x${hashOrderHashes([]).toString("hex")}`).to.equal("0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  });

  it("pins a fixed vector", () => {
    expect(hasher.hash(cancel())).to.equal(FIXED_VECTOR);
  });

  it("round-trips the wire format and refuses unknown fields, bad hashes and numbers for uint fields", () => {
    const signed = { cancel: cancel(), signature: `0x${"ab".repeat(65)}` as Hex, domain: DOMAIN };
    expect(decodeSignedCancel(JSON.parse(JSON.stringify(encodeSignedCancel(signed))))).to.deep.equal(signed);
    const wire = encodeSignedCancel(signed) as { cancel: Record<string, unknown> };
    const codeOf = (value: unknown): string => {
      try {
        decodeSignedCancel(value);
      } catch (error) {
        return (error as OrderValidationError).code;
      }
      return "ok";
    };
    expect(codeOf({ ...wire, extra: 1 })).to.equal("FIELD_UNKNOWN");
    expect(codeOf({ ...wire, cancel: { ...wire.cancel, orderHashes: ["0x12"] } })).to.equal("INVALID_FIELD");
    expect(codeOf({ ...wire, cancel: { ...wire.cancel, expiry: 5 } })).to.equal("INVALID_FIELD");
    expect(codeOf({ ...wire, cancel: { ...wire.cancel, salt: "01" } })).to.equal("DECIMAL_NON_CANONICAL");
    expect(codeOf({ signature: "0x11" })).to.equal("FIELD_MISSING");
  });

  it("enforces the shape rules and the expiry horizon", () => {
    const codeOf = (c: Cancel): string => {
      try {
        validateCancel({ clock }, { signed: { cancel: c, signature: "0x11" }, rules });
      } catch (error) {
        return (error as CancelValidationError).code;
      }
      return "ok";
    };
    expect(codeOf(cancel())).to.equal("ok");
    expect(codeOf(cancel({ orderHashes: [] }))).to.equal("CANCEL_INVALID");
    expect(codeOf(cancel({ all: true }))).to.equal("CANCEL_INVALID");
    expect(codeOf(cancel({ orderHashes: [], all: true }))).to.equal("CANCEL_INVALID");
    expect(codeOf(cancel({ baseToken: "0x00000000000000000000000000000000000000e1" }))).to.equal("CANCEL_INVALID");
    expect(codeOf(cancel({ orderHashes: [H1, H2, H1, H2] }))).to.equal("CANCEL_TOO_MANY_ORDERS");
    expect(codeOf(cancel({ expiry: NOW_S }))).to.equal("CANCEL_EXPIRED");
    expect(codeOf(cancel({ expiry: NOW_S + 600n }))).to.equal("ok");
    expect(codeOf(cancel({ expiry: NOW_S + 601n }))).to.equal("CANCEL_EXPIRY_TOO_FAR");
    expect(codeOf(cancel({ trader: ZERO_ADDRESS }))).to.equal("TRADER_ZERO");
  });
});

/** hash(cancel()) in DOMAIN (chain 999, Settlement 0x5fbd…0aa3), checked against ethers above. */
const FIXED_VECTOR = "0x41ae15883aa2fb0c4a43dd7d78a965f4a34deba0244d4f5b240b0613e4c64e42";
