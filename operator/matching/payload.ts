/**
 * The signed order as stored in Redis, in the market's `payloads` hash (written by intake.lua
 * before the order's funds are locked): crash recovery replays an unprocessed order's match
 * from it, and settlement submits the order and its signature on chain from it.
 *
 * Format v1, a JSON array (compact, field order fixed):
 *   [1, market, receivedAt, trader, baseToken, quoteToken, isBuy (0|1), price, amount, nonce,
 *    expiry, maxMakerFeeBps, maxTakerFeeBps, flags, signature, orderHash]
 * uint fields as decimal strings.
 */
import type { Address, Hex, Order } from "../orders";

export interface OrderPayload {
  market: number;
  receivedAt: number;
  order: Order;
  signature: Hex;
  orderHash: Hex;
}

const VERSION = 1;

export function encodeOrderPayload(p: OrderPayload): string {
  const o = p.order;
  return JSON.stringify([
    VERSION,
    p.market,
    p.receivedAt,
    o.trader.toLowerCase(),
    o.baseToken.toLowerCase(),
    o.quoteToken.toLowerCase(),
    o.isBuy ? 1 : 0,
    o.price.toString(),
    o.amount.toString(),
    o.nonce.toString(),
    o.expiry.toString(),
    o.maxMakerFeeBps,
    o.maxTakerFeeBps,
    o.flags,
    p.signature,
    p.orderHash.toLowerCase(),
  ]);
}

export function decodeOrderPayload(text: string): OrderPayload {
  const a = JSON.parse(text) as unknown[];
  if (!Array.isArray(a) || a[0] !== VERSION || a.length !== 16) throw new Error("unknown order payload format");
  return {
    market: a[1] as number,
    receivedAt: a[2] as number,
    order: {
      trader: a[3] as Address,
      baseToken: a[4] as Address,
      quoteToken: a[5] as Address,
      isBuy: a[6] === 1,
      price: BigInt(a[7] as string),
      amount: BigInt(a[8] as string),
      nonce: BigInt(a[9] as string),
      expiry: BigInt(a[10] as string),
      maxMakerFeeBps: a[11] as number,
      maxTakerFeeBps: a[12] as number,
      flags: a[13] as number,
    },
    signature: a[14] as Hex,
    orderHash: a[15] as Hex,
  };
}
