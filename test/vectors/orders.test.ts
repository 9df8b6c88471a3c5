/**
 * Fixed Order vectors (test/vectors/orders.json, generated once with ethers by
 * generate-orders.ts): the operator's TypeScript mirror and the contracts must both
 * reproduce every committed struct hash, domain separator and digest, and accept the
 * committed signatures.
 *
 * Contract side:
 *  - OrderLib / SignatureLib through OrderVectorsHarness, for every vector (any chain id);
 *  - the real Settlement bytecode for the Hardhat-domain vectors: a freshly deployed
 *    Settlement's runtime code is placed at the vector's verifying contract, where OZ EIP712
 *    rebuilds the domain separator from address(this) and block.chainid (31337).
 */
import { expect } from "chai";
import hre from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { TypedDataEncoder } from "ethers";
import {
  ORDER_EIP712_TYPES,
  ORDER_TYPEHASH,
  ORDER_TYPE_STRING,
  OrderHasher,
  domainSeparator,
  encodeOrderStruct,
  orderStructHash,
  privateKeyToAddress,
  recoverSigner,
  signDigest,
  type Address,
  type Order,
} from "../../operator/orders";
import { SECP256K1_N, deploySettlementFixture, highSSignature } from "../helpers/settlementFixture";
import vectorsFile from "./orders.json";

interface JsonOrder {
  trader: string;
  baseToken: string;
  quoteToken: string;
  isBuy: boolean;
  price: string;
  amount: string;
  nonce: string;
  expiry: string;
  maxMakerFeeBps: number;
  maxTakerFeeBps: number;
  flags: number;
}

interface Vector {
  name: string;
  domain: string;
  order: JsonOrder;
  encodedStruct: string;
  structHash: string;
  digest: string;
  signer: string;
  signature: string;
  compactSignature: string;
}

interface VectorDomain {
  id: string;
  chainId: string;
  verifyingContract: string;
  separator: string;
}

const file = vectorsFile as {
  typeString: string;
  typeHash: string;
  domainName: string;
  domainVersion: string;
  domains: VectorDomain[];
  keys: { label: string; privateKey: string; address: string }[];
  vectors: Vector[];
};

function toOrder(o: JsonOrder): Order {
  return {
    trader: o.trader as Address,
    baseToken: o.baseToken as Address,
    quoteToken: o.quoteToken as Address,
    isBuy: o.isBuy,
    price: BigInt(o.price),
    amount: BigInt(o.amount),
    nonce: BigInt(o.nonce),
    expiry: BigInt(o.expiry),
    maxMakerFeeBps: o.maxMakerFeeBps,
    maxTakerFeeBps: o.maxTakerFeeBps,
    flags: o.flags,
  };
}

function domainOf(v: Vector) {
  const d = file.domains.find((x) => x.id === v.domain);
  if (d === undefined) throw new Error(`vector "${v.name}" names an unknown domain ${v.domain}`);
  return { chainId: BigInt(d.chainId), verifyingContract: d.verifyingContract as Address, separator: d.separator };
}

const hex = (b: Buffer) => `0x${b.toString("hex")}`;

describe("Order vectors", function () {
  it("cover several domains, both sides, every flag, and zero and maximum values", function () {
    expect(file.vectors.length).to.be.greaterThanOrEqual(8);
    expect(new Set(file.vectors.map((v) => v.domain)).size).to.equal(file.domains.length);
    expect(file.vectors.map((v) => v.order.flags)).to.include.members([0, 1, 2, 3, 255]);
    expect(file.vectors.map((v) => v.order.isBuy)).to.include.members([true, false]);
    expect(file.vectors.map((v) => v.order.nonce)).to.include.members(["0", ((1n << 256n) - 1n).toString()]);
  });

  it("are still what ethers' TypedDataEncoder and SigningKey compute (the committed literals were not edited by hand)", function () {
    const types = { Order: ORDER_EIP712_TYPES.Order.map((f) => ({ ...f })) };
    for (const v of file.vectors) {
      const d = domainOf(v);
      const ethersDomain = { name: file.domainName, version: file.domainVersion, chainId: d.chainId, verifyingContract: d.verifyingContract };
      expect(TypedDataEncoder.hashDomain(ethersDomain), v.name).to.equal(d.separator);
      expect(TypedDataEncoder.hashStruct("Order", types, v.order), v.name).to.equal(v.structHash);
      expect(TypedDataEncoder.hash(ethersDomain, types, v.order), v.name).to.equal(v.digest);
      const key = file.keys.find((k) => k.address === v.signer)!;
      expect(new hre.ethers.SigningKey(key.privateKey).sign(v.digest).serialized, v.name).to.equal(v.signature);
    }
  });

  describe("operator/orders", function () {
    it("uses the committed EIP-712 type string and type hash", function () {
      expect(ORDER_TYPE_STRING).to.equal(file.typeString);
      expect(hex(ORDER_TYPEHASH)).to.equal(file.typeHash);
    });

    it("reproduces every committed domain separator", function () {
      for (const d of file.domains) {
        expect(hex(domainSeparator({ chainId: BigInt(d.chainId), verifyingContract: d.verifyingContract as Address })), d.id).to.equal(
          d.separator,
        );
      }
    });

    for (const v of file.vectors) {
      it(`reproduces the encoding, struct hash and digest of "${v.name}"`, function () {
        const order = toOrder(v.order);
        const d = domainOf(v);
        expect(hex(encodeOrderStruct(order))).to.equal(v.encodedStruct);
        expect(hex(orderStructHash(order))).to.equal(v.structHash);
        const hasher = new OrderHasher({ chainId: d.chainId, verifyingContract: d.verifyingContract });
        expect(hex(hasher.separator)).to.equal(d.separator);
        expect(hasher.hash(order)).to.equal(v.digest);
        // Lower-case addresses (how the operator stores them) hash the same.
        const lower = { ...order, trader: order.trader.toLowerCase() as Address, quoteToken: order.quoteToken.toLowerCase() as Address };
        expect(hasher.hash(lower)).to.equal(v.digest);
      });
    }

    it("signs every vector digest to the committed signature (signDigest, RFC 6979, low s)", function () {
      for (const v of file.vectors) {
        const key = file.keys.find((k) => k.address === v.signer)!;
        expect(signDigest(Buffer.from(key.privateKey.slice(2), "hex"), Buffer.from(v.digest.slice(2), "hex")), v.name).to.equal(
          v.signature,
        );
      }
    });

    it("derives the committed address of every fixed key", function () {
      for (const k of file.keys) {
        expect(privateKeyToAddress(Buffer.from(k.privateKey.slice(2), "hex"))).to.equal(k.address.toLowerCase());
      }
    });

    it("recovers every vector's signer from its 65-byte and 64-byte signatures", function () {
      for (const v of file.vectors) {
        const digest = Buffer.from(v.digest.slice(2), "hex");
        for (const sig of [v.signature, v.compactSignature]) {
          expect(recoverSigner(digest, Buffer.from(sig.slice(2), "hex")), `${v.name} ${sig.length}`).to.deep.equal({
            ok: true,
            signer: v.signer.toLowerCase(),
          });
        }
      }
    });

    it("refuses the high-s twin of every vector signature", function () {
      for (const v of file.vectors) {
        const twin = highSSignature(v.signature as `0x${string}`);
        expect(BigInt(`0x${twin.slice(66, 130)}`) < SECP256K1_N).to.equal(true);
        expect(recoverSigner(Buffer.from(v.digest.slice(2), "hex"), Buffer.from(twin.slice(2), "hex"))).to.deep.equal({
          ok: false,
          reason: "SIGNATURE_HIGH_S",
        });
      }
    });
  });

  describe("contracts", function () {
    async function harnessFixture() {
      const harness = await (await hre.ethers.getContractFactory("OrderVectorsHarness")).deploy();
      const fx = await deploySettlementFixture();
      return { harness, fx };
    }

    it("OrderLib.ORDER_TYPEHASH is the committed type hash", async function () {
      const { harness } = await loadFixture(harnessFixture);
      expect(await harness.orderTypehash()).to.equal(file.typeHash);
    });

    it("OrderLib.structHash and OrderLib.digest reproduce every vector", async function () {
      const { harness } = await loadFixture(harnessFixture);
      for (const v of file.vectors) {
        const order = toOrder(v.order);
        expect(await harness.structHash(order), v.name).to.equal(v.structHash);
        expect(await harness.digest(domainOf(v).separator, v.structHash), v.name).to.equal(v.digest);
        expect(await harness.hashOrder(domainOf(v).separator, order), v.name).to.equal(v.digest);
      }
    });

    it("Settlement's own bytecode computes the committed domain separator and digests at the Hardhat-domain verifying contract", async function () {
      const { fx } = await loadFixture(harnessFixture);
      expect((await hre.ethers.provider.getNetwork()).chainId).to.equal(31337n);
      const runtime = await hre.ethers.provider.getCode(fx.settlementAddress);
      const hardhatVectors = file.vectors.filter((v) => domainOf(v).chainId === 31337n);
      expect(hardhatVectors.length).to.be.greaterThanOrEqual(2);
      for (const v of hardhatVectors) {
        const d = domainOf(v);
        await hre.network.provider.request({ method: "hardhat_setCode", params: [d.verifyingContract, runtime] });
        const atVector = await hre.ethers.getContractAt("Settlement", d.verifyingContract);
        expect(await atVector.domainSeparator(), v.name).to.equal(d.separator);
        expect(await atVector.hashOrder(toOrder(v.order)), v.name).to.equal(v.digest);
      }
      // The deployed Settlement itself agrees with the operator at its own address.
      const order = toOrder(file.vectors[0].order);
      expect((await fx.settlement.hashOrder(order)).toLowerCase()).to.equal(fx.hasher.hash(order));
    });

    it("SignatureLib accepts every vector's 65-byte and 64-byte signature for its signer", async function () {
      const { harness } = await loadFixture(harnessFixture);
      for (const v of file.vectors) {
        expect(await harness.isValidSignature(v.signer, v.digest, v.signature), v.name).to.equal(true);
        expect(await harness.isValidSignature(v.signer, v.digest, v.compactSignature), v.name).to.equal(true);
      }
    });

    it("SignatureLib refuses a vector signature for another signer, another digest, or in its high-s form", async function () {
      const { harness } = await loadFixture(harnessFixture);
      for (const [i, v] of file.vectors.entries()) {
        const other = file.vectors[(i + 1) % file.vectors.length];
        const otherSigner = file.keys.find((k) => k.address !== v.signer)!.address;
        expect(await harness.isValidSignature(otherSigner, v.digest, v.signature), v.name).to.equal(false);
        if (other.digest !== v.digest) {
          expect(await harness.isValidSignature(v.signer, other.digest, v.signature), v.name).to.equal(false);
        }
        expect(await harness.isValidSignature(v.signer, v.digest, highSSignature(v.signature as `0x${string}`)), v.name).to.equal(false);
      }
    });
  });
});
