/**
 * The signed subscription: proof, for the WebSocket `orders:<trader>` channel, that the
 * subscriber is the trader. An EIP-712 message in the orders' domain (HyperIndex / 1 / chainId /
 * Settlement of one of the chains the operator serves), short-lived like a signed cancel:
 *
 *   Subscribe(address trader,string channel,uint64 expiry)
 *
 * `channel` is the channel's canonical name, `orders:` and the trader's address in lower case
 * (`ordersChannel(trader)`); `expiry` is in unix seconds. Sent in the subscribe message:
 *
 *   { "op": "subscribe", "channel": "orders:0x…",
 *     "auth": { "expiry": "1767225900", "signature": "0x…", "domain": { "chainId": "999", "verifyingContract": "0x…" } } }
 *
 * (`domain` optional: without it the operator tries each chain it serves.) Signatures follow the
 * orders' rules: ECDSA by the trader with low s, or EIP-1271 for a smart wallet. The operator
 * checks them in operator/api/ws/subscribeAuth.ts.
 *
 *   const auth = signSubscribe(privateKey, { domain, trader, expiry });      // a key in hand
 *   const typed = subscribeTypedData({ domain, trader, expiry });            // viem / ethers wallets
 *   const auth = { expiry: typed.message.expiry.toString(), signature: await wallet.signTypedData(typed) };
 */
import { writeAddressWord, writeUintWord } from "../abi/words";
import { domainSeparator, keccak256, orderDigestFromStructHash } from "./hash";
import { signDigest } from "./signature";
import { DOMAIN_NAME, DOMAIN_VERSION, UINT64_MAX, type Address, type Hex, type OrderDomain } from "./types";

export interface Subscribe {
  trader: Address;
  /** The canonical channel name: `orders:<trader, lower case>`. */
  channel: string;
  /** Unix seconds; refused once passed. */
  expiry: bigint;
}

export const SUBSCRIBE_TYPE_STRING = "Subscribe(address trader,string channel,uint64 expiry)";

/** EIP-712 types, in the shape viem's signTypedData / ethers' TypedDataEncoder take. */
export const SUBSCRIBE_EIP712_TYPES = {
  Subscribe: [
    { name: "trader", type: "address" },
    { name: "channel", type: "string" },
    { name: "expiry", type: "uint64" },
  ],
} as const;

export const SUBSCRIBE_TYPEHASH: Buffer = keccak256(Buffer.from(SUBSCRIBE_TYPE_STRING, "utf8"));

/** The canonical name of a trader's orders channel. */
export function ordersChannel(trader: Address): string {
  return `orders:${trader.toLowerCase()}`;
}

/** abi.encode(SUBSCRIBE_TYPEHASH, trader, keccak256(bytes(channel)), expiry). */
export function encodeSubscribeStruct(s: Subscribe): Buffer {
  const buf = Buffer.alloc(4 * 32);
  SUBSCRIBE_TYPEHASH.copy(buf, 0);
  if (!writeAddressWord(buf, 1, s.trader)) throw new RangeError(`not an address: ${s.trader}`);
  keccak256(Buffer.from(s.channel, "utf8")).copy(buf, 2 * 32);
  if (!writeUintWord(buf, 3, s.expiry, 64)) throw new RangeError(`expiry ${s.expiry} does not fit uint64`);
  return buf;
}

export function subscribeStructHash(s: Subscribe): Buffer {
  return keccak256(encodeSubscribeStruct(s));
}

/** The digest the trader signs: keccak256("\x19\x01" ‖ domainSeparator ‖ structHash). */
export function subscribeDigest(domain: OrderDomain, s: Subscribe): Buffer {
  return orderDigestFromStructHash(domainSeparator(domain), subscribeStructHash(s));
}

/** The `auth` object of a subscribe message. */
export interface WireSubscribeAuth {
  expiry: string;
  signature: Hex;
  domain?: { chainId: string; verifyingContract: string };
}

/**
 * Signs the subscription of `trader`'s orders channel with a private key (the trader's), for
 * `domain`; returns the `auth` object to send (naming the domain unless `nameDomain` is false).
 */
export function signSubscribe(privateKey: Buffer, params: { domain: OrderDomain; trader: Address; expiry: bigint; nameDomain?: boolean }): WireSubscribeAuth {
  if (params.expiry < 0n || params.expiry > UINT64_MAX) throw new RangeError(`expiry ${params.expiry} does not fit uint64`);
  const message: Subscribe = { trader: params.trader.toLowerCase() as Address, channel: ordersChannel(params.trader), expiry: params.expiry };
  const auth: WireSubscribeAuth = { expiry: params.expiry.toString(10), signature: signDigest(privateKey, subscribeDigest(params.domain, message)) };
  if (params.nameDomain !== false) {
    auth.domain = { chainId: params.domain.chainId.toString(10), verifyingContract: params.domain.verifyingContract.toLowerCase() };
  }
  return auth;
}

/** The typed data to hand a wallet (viem `signTypedData`, ethers `signer.signTypedData`). */
export function subscribeTypedData(params: { domain: OrderDomain; trader: Address; expiry: bigint }) {
  return {
    domain: { name: DOMAIN_NAME, version: DOMAIN_VERSION, chainId: params.domain.chainId, verifyingContract: params.domain.verifyingContract },
    types: SUBSCRIBE_EIP712_TYPES,
    primaryType: "Subscribe" as const,
    message: { trader: params.trader.toLowerCase() as Address, channel: ordersChannel(params.trader), expiry: params.expiry },
  };
}
