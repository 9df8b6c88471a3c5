/**
 * Generates test/vectors/orders.json: fixed Order vectors (EIP-712 struct hash, domain
 * separator, digest, signatures) computed with an implementation INDEPENDENT of
 * operator/orders and of the contract: ethers v6 TypedDataEncoder and SigningKey.
 *
 * Run once, review, commit the JSON; the tests only read the committed literals:
 *
 *     npx ts-node test/vectors/generate-orders.ts
 *
 * Re-running must reproduce the committed file byte for byte (signatures are RFC 6979
 * deterministic); a difference means ethers, this script or the vectors changed.
 */
import fs from "node:fs";
import path from "node:path";
import { SigningKey, Signature, TypedDataEncoder, computeAddress, getAddress, id, keccak256, toUtf8Bytes, type TypedDataField } from "ethers";

const TYPES: Record<string, TypedDataField[]> = {
  Order: [
    { name: "trader", type: "address" },
    { name: "baseToken", type: "address" },
    { name: "quoteToken", type: "address" },
    { name: "isBuy", type: "bool" },
    { name: "price", type: "uint256" },
    { name: "amount", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "expiry", type: "uint64" },
    { name: "maxMakerFeeBps", type: "uint16" },
    { name: "maxTakerFeeBps", type: "uint16" },
    { name: "flags", type: "uint8" },
  ],
};

const MAX256 = (1n << 256n) - 1n;
const MAX128 = (1n << 128n) - 1n;
const MAX64 = (1n << 64n) - 1n;

/** Fixed keys, derived from labels so they are easy to regenerate; committed as literals. */
const keys = ["hyperindex/vectors/key-0", "hyperindex/vectors/key-1", "hyperindex/vectors/key-2"].map((label) => {
  const key = new SigningKey(keccak256(toUtf8Bytes(label)));
  return { label, privateKey: key.privateKey, address: computeAddress(key) };
});

const domains = [
  { id: "hyperevm", chainId: 999n, verifyingContract: getAddress("0x1d1e7e5a0000000000000000000000000000c0de") },
  { id: "hyperevm-testnet", chainId: 998n, verifyingContract: getAddress("0x1d1e7e5a0000000000000000000000000000c0de") },
  // Checked against the real Settlement bytecode placed at this address on the Hardhat network.
  { id: "hardhat", chainId: 31337n, verifyingContract: getAddress("0x5e771e0e000000000000000000000000000000aa") },
];

/** Illustrative token addresses (any 20 bytes do; one with mixed-case checksum letters). */
const BASE = getAddress("0x5555555555555555555555555555555555555555");
const QUOTE = getAddress("0xb88339cb7199b77e23db6e890353e22632ba630f");

interface VectorOrder {
  trader: string;
  baseToken: string;
  quoteToken: string;
  isBuy: boolean;
  price: bigint;
  amount: bigint;
  nonce: bigint;
  expiry: bigint;
  maxMakerFeeBps: number;
  maxTakerFeeBps: number;
  flags: number;
}

const cases: { name: string; domain: string; key: number; order: Omit<VectorOrder, "trader"> }[] = [
  {
    name: "buy 1 base unit (18 dp) at 42.5 quote units (6 dp), no flags",
    domain: "hyperevm",
    key: 0,
    order: { baseToken: BASE, quoteToken: QUOTE, isBuy: true, price: 42_500_000n, amount: 10n ** 18n, nonce: 1n, expiry: 1_767_225_600n, maxMakerFeeBps: 10, maxTakerFeeBps: 30, flags: 0 },
  },
  {
    name: "post-only sell, large nonce",
    domain: "hyperevm",
    key: 1,
    order: { baseToken: BASE, quoteToken: QUOTE, isBuy: false, price: 43_010_000n, amount: 2_500_000_000_000_000_000n, nonce: 2n ** 200n + 7n, expiry: 1_800_000_000n, maxMakerFeeBps: 0, maxTakerFeeBps: 25, flags: 1 },
  },
  {
    name: "IOC buy, zero fee caps",
    domain: "hyperevm",
    key: 2,
    order: { baseToken: BASE, quoteToken: QUOTE, isBuy: true, price: 1n, amount: 1n, nonce: 0n, expiry: 1n, maxMakerFeeBps: 0, maxTakerFeeBps: 0, flags: 2 },
  },
  {
    name: "every numeric field at its type's maximum",
    domain: "hyperevm",
    key: 0,
    order: { baseToken: getAddress("0xffffffffffffffffffffffffffffffffffffffff"), quoteToken: getAddress("0xfffffffffffffffffffffffffffffffffffffffe"), isBuy: true, price: MAX256, amount: MAX256, nonce: MAX256, expiry: MAX64, maxMakerFeeBps: 65_535, maxTakerFeeBps: 65_535, flags: 255 },
  },
  {
    name: "every field zero (tokens are the zero address)",
    domain: "hyperevm",
    key: 1,
    order: { baseToken: getAddress("0x0000000000000000000000000000000000000000"), quoteToken: getAddress("0x0000000000000000000000000000000000000000"), isBuy: false, price: 0n, amount: 0n, nonce: 0n, expiry: 0n, maxMakerFeeBps: 0, maxTakerFeeBps: 0, flags: 0 },
  },
  {
    name: "both flags, price and amount at 2^128 - 1 (the settlement range limit)",
    domain: "hyperevm",
    key: 2,
    order: { baseToken: QUOTE, quoteToken: BASE, isBuy: false, price: MAX128, amount: MAX128, nonce: 123_456_789n, expiry: 4_000_000_000n, maxMakerFeeBps: 10_000, maxTakerFeeBps: 9_999, flags: 3 },
  },
  {
    name: "the first order on the testnet domain: same fields, different digest",
    domain: "hyperevm-testnet",
    key: 0,
    order: { baseToken: BASE, quoteToken: QUOTE, isBuy: true, price: 42_500_000n, amount: 10n ** 18n, nonce: 1n, expiry: 1_767_225_600n, maxMakerFeeBps: 10, maxTakerFeeBps: 30, flags: 0 },
  },
  {
    name: "hardhat domain: sell with both caps",
    domain: "hardhat",
    key: 1,
    order: { baseToken: BASE, quoteToken: QUOTE, isBuy: false, price: 2_000_000_000n, amount: 5n * 10n ** 17n, nonce: 99n, expiry: 4_000_000_000n, maxMakerFeeBps: 10, maxTakerFeeBps: 30, flags: 0 },
  },
  {
    name: "hardhat domain: maximum values",
    domain: "hardhat",
    key: 2,
    order: { baseToken: BASE, quoteToken: QUOTE, isBuy: true, price: MAX256, amount: MAX128, nonce: MAX256, expiry: MAX64, maxMakerFeeBps: 65_535, maxTakerFeeBps: 65_535, flags: 255 },
  },
];

function stringify(order: VectorOrder) {
  return {
    ...order,
    price: order.price.toString(),
    amount: order.amount.toString(),
    nonce: order.nonce.toString(),
    expiry: order.expiry.toString(),
  };
}

function main(): void {
  const encoder = TypedDataEncoder.from(TYPES);
  const out = {
    description:
      "Fixed EIP-712 Order vectors for HyperIndex. Generated once by test/vectors/generate-orders.ts with ethers v6 (TypedDataEncoder, SigningKey.sign: RFC 6979, low s), independently of operator/orders and contracts/. Integers are decimal strings.",
    typeString: encoder.encodeType("Order"),
    typeHash: id(encoder.encodeType("Order")),
    domainType: "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)",
    domainName: "HyperIndex",
    domainVersion: "1",
    domains: domains.map((d) => ({
      id: d.id,
      chainId: d.chainId.toString(),
      verifyingContract: d.verifyingContract,
      separator: TypedDataEncoder.hashDomain({ name: "HyperIndex", version: "1", chainId: d.chainId, verifyingContract: d.verifyingContract }),
    })),
    keys: keys.map((k) => ({ label: k.label, privateKey: k.privateKey, address: k.address })),
    vectors: cases.map((c) => {
      const domain = domains.find((d) => d.id === c.domain)!;
      const key = keys[c.key];
      const order: VectorOrder = { trader: key.address, ...c.order };
      const ethersDomain = { name: "HyperIndex", version: "1", chainId: domain.chainId, verifyingContract: domain.verifyingContract };
      const digest = TypedDataEncoder.hash(ethersDomain, TYPES, order);
      const signature = new SigningKey(key.privateKey).sign(digest);
      return {
        name: c.name,
        domain: c.domain,
        order: stringify(order),
        encodedStruct: encoder.encodeData("Order", order),
        structHash: encoder.hashStruct("Order", order),
        digest,
        signer: key.address,
        signature: signature.serialized,
        compactSignature: Signature.from(signature).compactSerialized,
      };
    }),
  };
  const file = path.join(__dirname, "orders.json");
  fs.writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`wrote ${out.vectors.length} vectors to ${file}`);
}

// Only when run directly: `hardhat test` loads every file under test/, and must not rewrite the vectors.
if (require.main === module) main();
