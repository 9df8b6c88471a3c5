/**
 * The Order a trader signs, mirrored from contracts/libraries/OrderLib.sol. Field order is
 * the EIP-712 type: change both sides together (test/vectors pins them to each other).
 */
export type Hex = `0x${string}`;
export type Address = Hex;

export interface Order {
  trader: Address;
  baseToken: Address;
  quoteToken: Address;
  isBuy: boolean;
  /** Quote atoms per 10^baseDecimals base atoms. */
  price: bigint;
  /** Base atoms. */
  amount: bigint;
  /** Unique per trader and order; a fully filled or cancelled order spends it. */
  nonce: bigint;
  /** Last unix second at which the order may settle (uint64). */
  expiry: bigint;
  maxMakerFeeBps: number;
  maxTakerFeeBps: number;
  /** OrderFlags bit field (uint8). */
  flags: number;
}

/** Bits of Order.flags; mirrors OrderLib.FLAG_*. */
export const OrderFlags = {
  None: 0,
  /** Rests only: may be a maker, never a taker. */
  PostOnly: 1,
  /** Immediate-or-cancel: may be a taker, never rests, never a maker. */
  IOC: 2,
} as const;
export const KNOWN_ORDER_FLAGS = OrderFlags.PostOnly | OrderFlags.IOC;

/** EIP-712 domain of the Settlement contract on one chain. */
export interface OrderDomain {
  chainId: bigint;
  verifyingContract: Address;
}

export const DOMAIN_NAME = "HyperIndex";
export const DOMAIN_VERSION = "1";

/** EIP-712 types, in the shape viem's signTypedData / ethers' TypedDataEncoder take. */
export const ORDER_EIP712_TYPES = {
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
} as const;

export const ORDER_TYPE_STRING =
  "Order(address trader,address baseToken,address quoteToken,bool isBuy,uint256 price,uint256 amount,uint256 nonce,uint64 expiry,uint16 maxMakerFeeBps,uint16 maxTakerFeeBps,uint8 flags)";

export const UINT256_MAX = (1n << 256n) - 1n;
export const UINT128_MAX = (1n << 128n) - 1n;
export const UINT64_MAX = (1n << 64n) - 1n;
export const UINT16_MAX = 0xffff;
export const UINT8_MAX = 0xff;
