/**
 * The calldata shape of Settlement.settleBatch: fills packed into one word each, orders
 * sorted by (trader, nonce) with fill indices remapped. The layout mirrors ISettlement:
 *
 *   bits 192..255 fillId (uint64) | 176..191 makerIndex (uint16) | 160..175 takerIndex (uint16)
 *   | 32..159 baseAmount (uint128) | 16..31 makerFeeBps (uint16) | 0..15 takerFeeBps (uint16)
 */
import { BaseError } from "../errors";
import { UINT128_MAX, UINT16_MAX, UINT64_MAX, type Hex, type Order } from "../orders";

export interface Fill {
  fillId: bigint;
  makerIndex: number;
  takerIndex: number;
  baseAmount: bigint;
  makerFeeBps: number;
  takerFeeBps: number;
}

export class BatchEncodingError extends BaseError {
  override name = "BatchEncodingError" as const;
}

function checkRange(name: string, value: bigint, max: bigint): void {
  if (value < 0n || value > max) {
    throw new BatchEncodingError("FILL_FIELD_OUT_OF_RANGE", `${name} ${value} does not fit its fill field`, {
      details: { field: name, value, max },
    });
  }
}

export function packFill(fill: Fill): bigint {
  checkRange("fillId", fill.fillId, UINT64_MAX);
  checkRange("makerIndex", BigInt(fill.makerIndex), BigInt(UINT16_MAX));
  checkRange("takerIndex", BigInt(fill.takerIndex), BigInt(UINT16_MAX));
  checkRange("baseAmount", fill.baseAmount, UINT128_MAX);
  checkRange("makerFeeBps", BigInt(fill.makerFeeBps), BigInt(UINT16_MAX));
  checkRange("takerFeeBps", BigInt(fill.takerFeeBps), BigInt(UINT16_MAX));
  return (
    (fill.fillId << 192n) |
    (BigInt(fill.makerIndex) << 176n) |
    (BigInt(fill.takerIndex) << 160n) |
    (fill.baseAmount << 32n) |
    (BigInt(fill.makerFeeBps) << 16n) |
    BigInt(fill.takerFeeBps)
  );
}

export function unpackFill(word: bigint): Fill {
  return {
    fillId: word >> 192n,
    makerIndex: Number((word >> 176n) & 0xffffn),
    takerIndex: Number((word >> 160n) & 0xffffn),
    baseAmount: (word >> 32n) & UINT128_MAX,
    makerFeeBps: Number((word >> 16n) & 0xffffn),
    takerFeeBps: Number(word & 0xffffn),
  };
}

/** Order of settleBatch's `orders`: by trader (as a number), then by nonce. */
export function compareOrders(a: Order, b: Order): number {
  const ta = BigInt(a.trader);
  const tb = BigInt(b.trader);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.nonce < b.nonce ? -1 : a.nonce > b.nonce ? 1 : 0;
}

export interface EncodedBatch {
  orders: Order[];
  signatures: Hex[];
  /** Packed fill words, in the caller's fill order. */
  fills: bigint[];
}

/**
 * Sorts `orders` (with their signatures) the way settleBatch requires, remaps each fill's
 * maker/taker index to the sorted positions and packs the fills. Refuses two orders of the
 * same trader with the same nonce: the contract would revert the whole batch.
 */
export function encodeBatch(orders: readonly Order[], signatures: readonly Hex[], fills: readonly Fill[]): EncodedBatch {
  if (orders.length !== signatures.length) {
    throw new BatchEncodingError("BATCH_LENGTH_MISMATCH", `${orders.length} orders but ${signatures.length} signatures`);
  }
  const positions = orders.map((_, i) => i).sort((i, j) => compareOrders(orders[i], orders[j]));
  const newIndexOf = new Array<number>(orders.length);
  positions.forEach((oldIndex, newIndex) => {
    newIndexOf[oldIndex] = newIndex;
    if (newIndex > 0 && compareOrders(orders[positions[newIndex - 1]], orders[oldIndex]) === 0) {
      throw new BatchEncodingError("BATCH_DUPLICATE_NONCE", "two orders of one trader share a nonce", {
        details: { trader: orders[oldIndex].trader, nonce: orders[oldIndex].nonce },
      });
    }
  });
  return {
    orders: positions.map((i) => orders[i]),
    signatures: positions.map((i) => signatures[i]),
    fills: fills.map((fill) => {
      const remap = (index: number) => (index >= 0 && index < orders.length ? newIndexOf[index] : index);
      return packFill({ ...fill, makerIndex: remap(fill.makerIndex), takerIndex: remap(fill.takerIndex) });
    }),
  };
}
