/**
 * The signed order as stored in Redis, in the market's `payloads` hash (written by intake.lua
 * before the order's funds are locked): crash recovery replays an unprocessed order's match
 * from it, and settlement submits the order and its signature on chain from it.
 *
 * Format v2 (written since the hot path was tuned; a template string, a third of the cost of
 * the JSON of v1 and 70 bytes shorter), "|"-separated, field order fixed:
 *   2|market|receivedAt|trader|baseToken|quoteToken|isBuy (0|1)|price|amount|nonce|expiry|
 *   maxMakerFeeBps|maxTakerFeeBps|flags|signature|orderHash
 * uint fields as decimal strings, addresses and hashes lower-case hex.
 *
 * Format v1 (still read), a JSON array of the same fields:
 *   [1, market, receivedAt, trader, baseToken, quoteToken, isBuy (0|1), price, amount, nonce,
 *    expiry, maxMakerFeeBps, maxTakerFeeBps, flags, signature, orderHash]
 */
import type { Address, Hex, Order } from "../orders";
import { EngineError } from "./errors";

export interface OrderPayload {
  market: number;
  receivedAt: number;
  order: Order;
  signature: Hex;
  orderHash: Hex;
}

export function encodeOrderPayload(p: OrderPayload): string {
  const o = p.order;
  return `2|${p.market}|${p.receivedAt}|${o.trader.toLowerCase()}|${o.baseToken.toLowerCase()}|${o.quoteToken.toLowerCase()}|${o.isBuy ? 1 : 0}|${o.price}|${o.amount}|${o.nonce}|${o.expiry}|${o.maxMakerFeeBps}|${o.maxTakerFeeBps}|${o.flags}|${p.signature}|${p.orderHash.toLowerCase()}`;
}

function fromFields(a: readonly unknown[]): OrderPayload {
  return {
    market: Number(a[1]),
    receivedAt: Number(a[2]),
    order: {
      trader: a[3] as Address,
      baseToken: a[4] as Address,
      quoteToken: a[5] as Address,
      isBuy: Number(a[6]) === 1,
      price: BigInt(a[7] as string),
      amount: BigInt(a[8] as string),
      nonce: BigInt(a[9] as string),
      expiry: BigInt(a[10] as string),
      maxMakerFeeBps: Number(a[11]),
      maxTakerFeeBps: Number(a[12]),
      flags: Number(a[13]),
    },
    signature: a[14] as Hex,
    orderHash: a[15] as Hex,
  };
}

export function decodeOrderPayload(text: string): OrderPayload {
  if (text.startsWith("2|")) {
    const a = text.split("|");
    if (a.length !== 16) throw new EngineError("ENGINE_INVARIANT", "unknown order payload format", { details: { fields: a.length } });
    return fromFields(a);
  }
  let a: unknown[];
  try {
    a = JSON.parse(text) as unknown[];
  } catch (error) {
    throw new EngineError("ENGINE_INVARIANT", "unknown order payload format", { cause: error });
  }
  if (!Array.isArray(a) || a[0] !== 1 || a.length !== 16) throw new EngineError("ENGINE_INVARIANT", "unknown order payload format");
  return fromFields(a);
}
