/**
 * EIP-712 hashing of Order by a fixed-struct encoder over native keccak (the `keccak`
 * package). Every Order encodes to the same 12 words, so no generic typed-data walk is
 * needed; test/vectors pins the result to the contract's OrderLib and to viem/ethers.
 *
 * The encoder trusts its input to be a validated Order (see ./codec): a value out of its
 * Solidity type's range throws here rather than hashing something nobody signed.
 */
import { writeAddressWord, writeUintWord } from "../abi/words";
import { keccak256 } from "./keccak";
import { DOMAIN_NAME, DOMAIN_VERSION, ORDER_TYPE_STRING, type Hex, type Order, type OrderDomain } from "./types";

export { keccak256 };

export const ORDER_TYPEHASH: Buffer = keccak256(Buffer.from(ORDER_TYPE_STRING, "utf8"));
const DOMAIN_TYPEHASH = keccak256(
  Buffer.from("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)", "utf8"),
);
const WORDS = 12;

function writeUint(buf: Buffer, word: number, value: bigint, bits: number): void {
  if (!writeUintWord(buf, word, value, bits)) throw new RangeError(`value ${value} does not fit uint${bits}`);
}

function writeAddress(buf: Buffer, word: number, address: string): void {
  if (!writeAddressWord(buf, word, address)) throw new RangeError(`not an address: ${address}`);
}

/** abi.encode(ORDER_TYPEHASH, order): 12 words, exactly what OrderLib.structHash hashes. */
export function encodeOrderStruct(order: Order): Buffer {
  const buf = Buffer.alloc(WORDS * 32);
  ORDER_TYPEHASH.copy(buf, 0);
  writeAddress(buf, 1, order.trader);
  writeAddress(buf, 2, order.baseToken);
  writeAddress(buf, 3, order.quoteToken);
  buf[4 * 32 + 31] = order.isBuy ? 1 : 0;
  writeUint(buf, 5, order.price, 256);
  writeUint(buf, 6, order.amount, 256);
  writeUint(buf, 7, order.nonce, 256);
  writeUint(buf, 8, order.expiry, 64);
  writeUint(buf, 9, BigInt(order.maxMakerFeeBps), 16);
  writeUint(buf, 10, BigInt(order.maxTakerFeeBps), 16);
  writeUint(buf, 11, BigInt(order.flags), 8);
  return buf;
}

export function orderStructHash(order: Order): Buffer {
  return keccak256(encodeOrderStruct(order));
}

/** The EIP-712 domain separator of Settlement at `verifyingContract` on `chainId`. */
export function domainSeparator(domain: OrderDomain): Buffer {
  const buf = Buffer.alloc(5 * 32);
  DOMAIN_TYPEHASH.copy(buf, 0);
  keccak256(Buffer.from(DOMAIN_NAME, "utf8")).copy(buf, 32);
  keccak256(Buffer.from(DOMAIN_VERSION, "utf8")).copy(buf, 64);
  writeUint(buf, 3, domain.chainId, 256);
  writeAddress(buf, 4, domain.verifyingContract);
  return keccak256(buf);
}

/** keccak256("\x19\x01" ‖ domainSeparator ‖ structHash): the digest a trader signs. */
export function orderDigestFromStructHash(separator: Buffer, structHash: Buffer): Buffer {
  const buf = Buffer.alloc(66);
  buf[0] = 0x19;
  buf[1] = 0x01;
  separator.copy(buf, 2);
  structHash.copy(buf, 34);
  return keccak256(buf);
}

/**
 * Hashes orders for one domain; computes the separator once. This is the order hash used
 * everywhere: on-chain events, Redis keys, API responses, Merkle leaves.
 */
export class OrderHasher {
  readonly separator: Buffer;

  constructor(readonly domain: OrderDomain) {
    this.separator = domainSeparator(domain);
  }

  digest(order: Order): Buffer {
    return orderDigestFromStructHash(this.separator, orderStructHash(order));
  }

  hash(order: Order): Hex {
    return `0x${this.digest(order).toString("hex")}`;
  }
}
