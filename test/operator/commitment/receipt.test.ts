/**
 * Order receipts in TypeScript: the fixed vectors (made with viem, checked on chain too by
 * test/contracts/OrderbookCommitment.receipts.test.ts), viem's agreement on any receipt, the
 * signature rules of the contract, and the receipt file's validation.
 */
import { expect } from "chai";
import fc from "fast-check";
import { getAddress } from "ethers";
import { hashTypedData, recoverTypedDataAddress } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  CommitmentError,
  RECEIPT_TYPEHASH,
  arrivalSequence,
  decodeReceipt,
  encodeReceipt,
  issueReceipt,
  parseReceipt,
  receiptDigest,
  receiptDomainSeparator,
  receiptStructHash,
  receiptTypedData,
  recoverReceiptSigner,
  serializeReceipt,
  signReceipt,
  splitArrivalSequence,
  verifyReceipt,
  type CommitmentErrorCode,
  type OrderReceipt,
  type ReceiptDomain,
} from "../../../operator/commitment";
import type { Hex } from "../../../operator/orders";
import { arbAddress, arbBytes32 } from "./fixture";
import vectorsJson from "./vectors.json";

const V = vectorsJson.receipts;
const U64 = (1n << 64n) - 1n;
/** secp256k1 group order: s and n - s are the two signatures of one (r, digest). */
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const SIGNER_KEY = V.signer.privateKey as Hex;
const DOMAIN: ReceiptDomain = { chainId: BigInt(V.domain.chainId), verifyingContract: V.domain.verifyingContract as Hex };
const receiptOf = (r: { epoch: string; sequence: string; orderHash: string }): OrderReceipt => ({
  epoch: BigInt(r.epoch),
  sequence: BigInt(r.sequence),
  orderHash: r.orderHash as Hex,
});
const RECEIPT = receiptOf(V.receipts[0]!);
const SIGNATURE = V.receipts[0]!.signature as Hex;

function failure(fn: () => unknown): CommitmentError {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(CommitmentError);
    return error as CommitmentError;
  }
  return expect.fail("expected a CommitmentError");
}
const codeOf = (fn: () => unknown): CommitmentErrorCode => failure(fn).code;

/** The other signature of the same (r, digest): s -> n - s, parity flipped. */
function highS(signature: Hex): Hex {
  const bytes = Buffer.from(signature.slice(2), "hex");
  const s = N - BigInt(`0x${bytes.subarray(32, 64).toString("hex")}`);
  Buffer.from(s.toString(16).padStart(64, "0"), "hex").copy(bytes, 32);
  bytes[64] = bytes[64] === 27 ? 28 : 27;
  return `0x${bytes.toString("hex")}`;
}

const arbDomain: fc.Arbitrary<ReceiptDomain> = fc.record({
  chainId: fc.oneof(fc.constantFrom(1n, 999n, 998n, 31337n), fc.bigInt({ min: 1n, max: (1n << 256n) - 1n })),
  verifyingContract: arbAddress,
});
const arbU64 = fc.oneof(fc.bigInt({ min: 0n, max: U64 }), fc.constantFrom(0n, U64));
const arbReceipt: fc.Arbitrary<OrderReceipt> = fc.record({ epoch: arbU64, sequence: arbU64, orderHash: arbBytes32 });
const arbKey: fc.Arbitrary<Hex> = fc
  .bigInt({ min: 1n, max: N - 1n })
  .map((k) => `0x${k.toString(16).padStart(64, "0")}` as Hex);

describe("order receipts", () => {
  describe("fixed vectors", () => {
    it("reproduces the type hash, the domain separator and every struct hash and digest", () => {
      expect(`0x${RECEIPT_TYPEHASH.toString("hex")}`).to.equal(V.typeHash);
      expect(`0x${receiptDomainSeparator(DOMAIN).toString("hex")}`).to.equal(V.domainSeparator);
      for (const v of V.receipts) {
        expect(`0x${receiptStructHash(receiptOf(v)).toString("hex")}`).to.equal(v.structHash);
        expect(receiptDigest(DOMAIN, receiptOf(v))).to.equal(v.digest);
      }
    });

    it("signs every vector receipt byte for byte like viem, and recovers the vector signer", () => {
      for (const v of V.receipts) {
        expect(signReceipt(SIGNER_KEY, DOMAIN, receiptOf(v))).to.equal(v.signature);
        expect(recoverReceiptSigner(DOMAIN, receiptOf(v), v.signature as Hex)).to.equal(V.signer.address);
      }
    });

    it("binds the chain and the contract: the other domains' vectors differ and verify only in their own domain", () => {
      for (const v of V.otherDomains) {
        const domain: ReceiptDomain = { chainId: BigInt(v.chainId), verifyingContract: v.verifyingContract as Hex };
        expect(receiptDigest(domain, receiptOf(v))).to.equal(v.digest);
        expect(signReceipt(SIGNER_KEY, domain, receiptOf(v))).to.equal(v.signature);
        expect(v.digest).to.not.equal(V.receipts[0]!.digest);
        expect(recoverReceiptSigner(DOMAIN, receiptOf(v), v.signature as Hex)).to.not.equal(V.signer.address);
      }
    });

    it("writes the vector receipt file exactly, and reads it back", () => {
      const signed = issueReceipt(SIGNER_KEY, DOMAIN, RECEIPT);
      expect(signed.operator).to.equal(V.signer.address);
      expect(serializeReceipt(signed)).to.equal(V.file);
      expect(parseReceipt(V.file)).to.deep.equal(signed);
      expect(parseReceipt(Buffer.from(V.file, "utf8"))).to.deep.equal(signed);
    });
  });

  describe("against viem", () => {
    it("hashes any receipt in any domain exactly like viem's hashTypedData", () => {
      fc.assert(
        fc.property(arbDomain, arbReceipt, (domain, receipt) => {
          expect(receiptDigest(domain, receipt)).to.equal(hashTypedData(receiptTypedData(domain, receipt)));
        }),
        { numRuns: 300 }
      );
    });

    it("round-trips any key's signature through recoverReceiptSigner, with low s, and viem agrees", async () => {
      await fc.assert(
        fc.asyncProperty(arbKey, arbDomain, arbReceipt, async (key, domain, receipt) => {
          const account = privateKeyToAccount(key);
          const signature = signReceipt(key, domain, receipt);
          expect(signature).to.match(/^0x[0-9a-f]{130}$/);
          expect(BigInt(`0x${signature.slice(66, 130)}`) <= N / 2n).to.equal(true);
          expect(recoverReceiptSigner(domain, receipt, signature)).to.equal(account.address.toLowerCase());
          const typed = receiptTypedData(domain, receipt);
          expect(await recoverTypedDataAddress({ ...typed, signature })).to.equal(account.address);
          expect(await account.signTypedData(typed)).to.equal(signature);
        }),
        { numRuns: 60 }
      );
    });
  });

  describe("signature rules (the contract's)", () => {
    it("rejects the malleable high-s twin of a valid signature", () => {
      const error = failure(() => recoverReceiptSigner(DOMAIN, RECEIPT, highS(SIGNATURE)));
      expect(error.code).to.equal("RECEIPT_SIGNATURE_HIGH_S");
    });

    it("rejects a signature that is not 65 bytes of hex, including the compact EIP-2098 form", () => {
      for (const bad of [SIGNATURE.slice(0, 130), `${SIGNATURE}00`, "0x", SIGNATURE.slice(2), `${SIGNATURE.slice(0, 131)}g`, 42]) {
        expect(codeOf(() => recoverReceiptSigner(DOMAIN, RECEIPT, bad as Hex))).to.equal("RECEIPT_SIGNATURE_LENGTH");
      }
    });

    it("rejects a v other than 27 or 28, and an r that recovers no key", () => {
      for (const v of ["00", "01", "1d", "ff"]) {
        const bad = `${SIGNATURE.slice(0, 130)}${v}` as Hex;
        expect(codeOf(() => recoverReceiptSigner(DOMAIN, RECEIPT, bad))).to.equal("RECEIPT_SIGNATURE_INVALID");
      }
      const zeroR = `0x${"00".repeat(32)}${SIGNATURE.slice(66)}` as Hex;
      expect(codeOf(() => recoverReceiptSigner(DOMAIN, RECEIPT, zeroR))).to.equal("RECEIPT_SIGNATURE_INVALID");
    });

    it("recovers another signer once the receipt is changed, so a signature never carries over to another receipt", () => {
      const other = { ...RECEIPT, sequence: RECEIPT.sequence + 1n };
      expect(recoverReceiptSigner(DOMAIN, other, SIGNATURE)).to.not.equal(V.signer.address);
      expect(codeOf(() => verifyReceipt({ domain: DOMAIN, receipt: other, operator: V.signer.address as Hex, signature: SIGNATURE }))).to.equal(
        "RECEIPT_SIGNER_MISMATCH"
      );
    });

    it("refuses to sign with something that is not a private key, and never shows it", () => {
      for (const key of [`0x${"00".repeat(32)}`, `0x${N.toString(16)}`, "0x1234", Buffer.alloc(31, 1), SIGNER_KEY.slice(2)]) {
        const error = failure(() => signReceipt(key as Hex, DOMAIN, RECEIPT));
        expect(error.code).to.equal("INVALID_SIGNING_KEY");
        expect(JSON.stringify(error.toJSON())).to.not.include(SIGNER_KEY.slice(2, 12));
      }
    });

    it("refuses to hash or sign a field out of its Solidity type, naming the field", () => {
      const cases: [Partial<OrderReceipt>, string][] = [
        [{ epoch: U64 + 1n }, "epoch"],
        [{ epoch: -1n }, "epoch"],
        [{ sequence: U64 + 1n }, "sequence"],
        [{ orderHash: "0x1234" }, "orderHash"],
        [{ orderHash: `0x${"zz".repeat(32)}` }, "orderHash"],
      ];
      for (const [edit, field] of cases) {
        const error = failure(() => signReceipt(SIGNER_KEY, DOMAIN, { ...RECEIPT, ...edit }));
        expect([error.code, error.details.field]).to.deep.equal(["INVALID_RECEIPT", field]);
      }
      for (const [domain, field] of [
        [{ ...DOMAIN, chainId: 0n }, "chainId"],
        [{ ...DOMAIN, chainId: 1n << 256n }, "chainId"],
        [{ ...DOMAIN, verifyingContract: "0x1234" }, "commitment"],
      ] as const) {
        const error = failure(() => receiptDigest(domain as ReceiptDomain, RECEIPT));
        expect([error.code, error.details.field]).to.deep.equal(["INVALID_RECEIPT", field]);
      }
    });
  });

  describe("receipt file", () => {
    const wire = (): Record<string, unknown> => JSON.parse(V.file);
    function fileError(edit: (file: Record<string, unknown>) => void): CommitmentError {
      const file = wire();
      edit(file);
      return failure(() => parseReceipt(JSON.stringify(file)));
    }

    it("reads a file reformatted by hand: indentation, keys in another order, checksummed addresses, upper-case hex", () => {
      const file = wire();
      const edited: Record<string, unknown> = Object.fromEntries(Object.entries(file).reverse());
      edited.signature = `0x${(file.signature as string).slice(2).toUpperCase()}`;
      edited.orderHash = `0x${(file.orderHash as string).slice(2).toUpperCase()}`;
      edited.commitment = getAddress(file.commitment as string);
      edited.operator = getAddress(file.operator as string);
      const parsed = parseReceipt(JSON.stringify(edited, null, 2));
      expect(parsed).to.deep.equal(parseReceipt(V.file));
      expect(serializeReceipt(parsed)).to.equal(V.file);
    });

    it("names the field of every malformed value", () => {
      const cases: [(f: Record<string, unknown>) => void, string][] = [
        [(f) => (f.format = "hyperindex-epoch"), "format"],
        [(f) => (f.version = 2), "version"],
        [(f) => (f.version = "1"), "version"],
        [(f) => (f.extra = true), "extra"],
        [(f) => delete f.sequence, "sequence"],
        [(f) => (f.chainId = 31337), "chainId"],
        [(f) => (f.chainId = "0"), "chainId"],
        [(f) => (f.chainId = (1n << 256n).toString()), "chainId"],
        [(f) => (f.epoch = "03"), "epoch"],
        [(f) => (f.epoch = "-3"), "epoch"],
        [(f) => (f.sequence = (U64 + 1n).toString()), "sequence"],
        [(f) => (f.orderHash = "0x1c9e"), "orderHash"],
        [(f) => (f.commitment = `0x${"00".repeat(20)}`), "commitment"],
        [(f) => (f.commitment = "0x70309D2602c81f316f531dd599a1fb581937a6d0"), "commitment"],
        [(f) => (f.operator = "0xde0d25a0a5677f1055e02f9c614a9d4b04f4fca"), "operator"],
        [(f) => (f.signature = SIGNATURE.slice(0, 130)), "signature"],
        [(f) => (f.signature = null), "signature"],
      ];
      for (const [edit, field] of cases) {
        const error = fileError(edit);
        expect([error.code, error.details.field], field).to.deep.equal(["INVALID_RECEIPT", field]);
      }
    });

    it("refuses a file whose signature is not the named operator's, or is malleable", () => {
      expect(fileError((f) => (f.operator = `0x${"11".repeat(20)}`)).code).to.equal("RECEIPT_SIGNER_MISMATCH");
      expect(fileError((f) => (f.epoch = "4")).code).to.equal("RECEIPT_SIGNER_MISMATCH");
      expect(fileError((f) => (f.chainId = "999")).code).to.equal("RECEIPT_SIGNER_MISMATCH");
      expect(fileError((f) => (f.signature = highS(SIGNATURE))).code).to.equal("RECEIPT_SIGNATURE_HIGH_S");
    });

    it("refuses what is not a JSON object", () => {
      for (const text of ["", "{", "[]", "null", '"receipt"']) {
        expect(failure(() => parseReceipt(text)).code).to.equal("INVALID_RECEIPT");
      }
      expect(failure(() => decodeReceipt(undefined)).code).to.equal("INVALID_RECEIPT");
    });

    it("round-trips any receipt any key signed", () => {
      fc.assert(
        fc.property(arbKey, arbDomain, arbReceipt, (key, domain, receipt) => {
          const signed = issueReceipt(key, domain, receipt);
          const text = serializeReceipt(signed);
          expect(parseReceipt(text)).to.deep.equal({
            ...signed,
            domain: { ...domain, verifyingContract: domain.verifyingContract.toLowerCase() },
          });
          expect(encodeReceipt(signed)).to.deep.equal(JSON.parse(text));
        }),
        { numRuns: 100 }
      );
    });
  });

  describe("arrival sequence", () => {
    it("composes (marketId << 48) | counter like fill ids, and splits it back", () => {
      expect(arrivalSequence(3, 41n)).to.equal(BigInt(V.receipts[0]!.sequence));
      expect(arrivalSequence(0xffff, (1n << 48n) - 1n)).to.equal(U64);
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 0xffff }), fc.bigInt({ min: 0n, max: (1n << 48n) - 1n }), (marketId, counter) => {
          expect(splitArrivalSequence(arrivalSequence(marketId, counter))).to.deep.equal({ marketId, counter });
        })
      );
    });

    it("refuses a market id or a counter that would spill into the other's bits", () => {
      expect(failure(() => arrivalSequence(0x10000, 1n)).details.field).to.equal("marketId");
      expect(failure(() => arrivalSequence(-1, 1n)).details.field).to.equal("marketId");
      expect(failure(() => arrivalSequence(1, 1n << 48n)).details.field).to.equal("counter");
      expect(failure(() => splitArrivalSequence(U64 + 1n)).details.field).to.equal("sequence");
    });
  });
});
