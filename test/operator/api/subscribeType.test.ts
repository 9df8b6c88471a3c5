import { expect } from "chai";
import { TypedDataEncoder, Wallet, id } from "ethers";
import {
  SUBSCRIBE_EIP712_TYPES,
  SUBSCRIBE_TYPEHASH,
  SUBSCRIBE_TYPE_STRING,
  ordersChannel,
  recoverSigner,
  signSubscribe,
  subscribeDigest,
  subscribeTypedData,
  type Address,
  type Subscribe,
} from "../../../operator/orders";
import { DOMAIN, NOW_S } from "../orders/fixture";

const TRADER = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8" as Address;
/** Hardhat's second account: TRADER. */
const TRADER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

function ethersHash(s: Subscribe, domain = DOMAIN): string {
  const d = { name: "HyperIndex", version: "1", chainId: domain.chainId, verifyingContract: domain.verifyingContract };
  return TypedDataEncoder.hash(d, { Subscribe: SUBSCRIBE_EIP712_TYPES.Subscribe.map((f) => ({ ...f })) }, s);
}

describe("operator/orders signed subscription (WebSocket orders channel): EIP-712 type, hash and signing helper", () => {
  const message: Subscribe = { trader: TRADER, channel: ordersChannel(TRADER), expiry: NOW_S + 300n };

  it("pins the type string and its type hash", () => {
    expect(SUBSCRIBE_TYPE_STRING).to.equal("Subscribe(address trader,string channel,uint64 expiry)");
    expect(TypedDataEncoder.from({ Subscribe: SUBSCRIBE_EIP712_TYPES.Subscribe.map((f) => ({ ...f })) }).encodeType("Subscribe")).to.equal(SUBSCRIBE_TYPE_STRING);
    expect(`0x${SUBSCRIBE_TYPEHASH.toString("hex")}`).to.equal(id(SUBSCRIBE_TYPE_STRING));
    expect(`0x${SUBSCRIBE_TYPEHASH.toString("hex")}`).to.equal("0x3e8ae0624a10c56498206e0603cd6b2f624bf9bb18db5dff1e5b14758595c9b0");
  });

  it("names the channel in lower case and hashes exactly as ethers' TypedDataEncoder", () => {
    expect(ordersChannel("0x70997970C51812dc3A010C7d01b50e0d17dc79C8" as Address)).to.equal(`orders:${TRADER}`);
    for (const s of [message, { ...message, expiry: (1n << 64n) - 1n }, { ...message, expiry: 0n }]) {
      expect(`0x${subscribeDigest(DOMAIN, s).toString("hex")}`).to.equal(ethersHash(s));
    }
  });

  it("pins a fixed vector", () => {
    expect(`0x${subscribeDigest(DOMAIN, message).toString("hex")}`).to.equal(FIXED_VECTOR);
  });

  it("signs what a wallet signs: signSubscribe and ethers' signTypedData over subscribeTypedData agree, and recover the trader", async () => {
    const expiry = message.expiry;
    const auth = signSubscribe(Buffer.from(TRADER_KEY.slice(2), "hex"), { domain: DOMAIN, trader: TRADER, expiry });
    expect(auth).to.deep.include({ expiry: expiry.toString(), domain: { chainId: DOMAIN.chainId.toString(), verifyingContract: DOMAIN.verifyingContract } });
    const typed = subscribeTypedData({ domain: DOMAIN, trader: TRADER, expiry });
    const byWallet = await new Wallet(TRADER_KEY).signTypedData(typed.domain, { Subscribe: typed.types.Subscribe.map((f) => ({ ...f })) }, typed.message);
    expect(auth.signature).to.equal(byWallet.toLowerCase());
    const check = recoverSigner(subscribeDigest(DOMAIN, message), Buffer.from(auth.signature.slice(2), "hex"));
    expect(check).to.deep.include({ ok: true, signer: TRADER });
    expect(signSubscribe(Buffer.from(TRADER_KEY.slice(2), "hex"), { domain: DOMAIN, trader: TRADER, expiry, nameDomain: false })).to.not.have.property("domain");
  });
});

/** Cross-checked with ethers above; a change here changes what every client signs. */
const FIXED_VECTOR = "0x21febb1a78f9b9225be3baeacf9997f25a1c876c424c8b5683d00b8cfcf523e2";
