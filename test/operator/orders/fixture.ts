/**
 * Shared by the order tests: a fixed domain and market, deterministic traders, real signed
 * orders (native signer over the operator's own hasher), and the JSON wire body of an order.
 */
import {
  OrderFlags,
  OrderHasher,
  encodeSignedOrder,
  signDigest,
  type Hex,
  type Order,
  type OrderDomain,
} from "../../../operator/orders";
import { makeTraders, type Trader } from "../../helpers/settlementFixture";

export const TRADER = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
export const BASE = "0x1111111111111111111111111111111111111111";
export const QUOTE = "0x2222222222222222222222222222222222222222";
export const SETTLEMENT = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
export const SIGNATURE = `0x${"ab".repeat(64)}1b`;
export const DOMAIN: OrderDomain = { chainId: 999n, verifyingContract: SETTLEMENT };
/** 2026-01-01T00:00:00Z, in milliseconds. */
export const NOW_MS = 1_767_225_600_000;
export const NOW_S = BigInt(NOW_MS / 1000);
export const MARKET = { tickSize: 10_000n, lotSize: 10n ** 15n, minLots: 10n, makerFeeBps: 2, takerFeeBps: 5 };

export function wireBody(order: Record<string, unknown> = {}, rest: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    order: {
      trader: TRADER,
      baseToken: BASE,
      quoteToken: QUOTE,
      isBuy: true,
      price: "2000000000",
      amount: "1000000000000000000",
      nonce: "7",
      expiry: (NOW_S + 3600n).toString(),
      maxMakerFeeBps: 10,
      maxTakerFeeBps: 30,
      flags: 0,
      ...order,
    },
    signature: SIGNATURE,
    ...rest,
  };
}

export const traders: Trader[] = makeTraders("verifier-test", 8);

export function order(trader: Trader, fields: Partial<Order> = {}): Order {
  return {
    trader: trader.address,
    baseToken: BASE,
    quoteToken: QUOTE,
    isBuy: true,
    price: 2_000_000_000n,
    amount: 10n ** 18n,
    nonce: 7n,
    expiry: NOW_S + 3600n,
    maxMakerFeeBps: 10,
    maxTakerFeeBps: 30,
    flags: OrderFlags.None,
    ...fields,
  };
}

const hashers = new Map<string, OrderHasher>();

export function sign(trader: Trader, o: Order, domain: OrderDomain = DOMAIN): Hex {
  const key = `${domain.chainId}:${domain.verifyingContract}`;
  let hasher = hashers.get(key);
  if (hasher === undefined) hashers.set(key, (hasher = new OrderHasher(domain)));
  return signDigest(trader.privateKey, hasher.digest(o));
}

export function signedWire(trader: Trader, o: Order): Record<string, unknown> {
  return encodeSignedOrder({ order: o, signature: sign(trader, o) }) as unknown as Record<string, unknown>;
}
