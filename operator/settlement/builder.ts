/**
 * Builds settleBatch calldata from fills: finds each order's signed payload (the market's
 * `payloads` hash, or, for a fill retried after its order left the book, the intent of the
 * batch it was in before), chooses each order's signature as the contract wants it, and
 * encodes the batch (./batchEncoding.ts: orders sorted, fills packed).
 *
 * Signatures: an ECDSA signature by the trader goes in EIP-2098 compact form (64 bytes, one
 * calldata word less); any other signature (an EIP-1271 wallet's) exactly as signed; and none
 * at all for an order the chain already recorded (a confirmed Filled event named it: the
 * contract checks a signature only the first time an order settles).
 */
import { decodeFunctionData, encodeFunctionData } from "viem";
import { bookKeys } from "../matching/keys";
import { decodeOrderPayload } from "../matching/payload";
import { recoverSigner, toCompactSignature } from "../orders/signature";
import type { Address, Hex, Order } from "../orders";
import type { RedisClient } from "../redis/client";
import { settleBatchAbi } from "./abi";
import { encodeBatch, type Fill } from "./batchEncoding";
import { loadIntent } from "./intents";
import type { SettleFill } from "./records";

export interface SignedOrder {
  order: Order;
  signature: Hex;
}

export interface BuiltBatch {
  batchId: bigint;
  fills: SettleFill[];
  calldata: Hex;
  /** Order hashes in the calldata's order. */
  orderHashes: Hex[];
  /** Orders whose signature is not the trader's ECDSA one and that the chain has not recorded yet. */
  walletOrders: number;
  /** Fills that cannot go into any batch: their order's payload is gone. */
  missing: SettleFill[];
}

export interface BuilderDeps {
  redis: RedisClient;
  chainId: number;
  /** Orders the chain recorded (confirmed Filled events): sent without a signature. */
  recorded: { has(orderHash: Hex): boolean };
}

/** Signed orders of `fills`, by order hash; a fill's previous batch is searched when the book dropped its payload. */
export async function loadSignedOrders(deps: BuilderDeps, fills: readonly SettleFill[], previousBatch: ReadonlyMap<bigint, bigint>): Promise<Map<Hex, SignedOrder>> {
  const out = new Map<Hex, SignedOrder>();
  const byMarket = new Map<number, Set<Hex>>();
  for (const f of fills) {
    const set = byMarket.get(f.market) ?? new Set<Hex>();
    set.add(f.makerHash);
    set.add(f.takerHash);
    byMarket.set(f.market, set);
  }
  await Promise.all(
    [...byMarket].map(async ([market, hashes]) => {
      const list = [...hashes];
      const texts = await deps.redis.hmget(bookKeys(market).payloads, ...list);
      texts.forEach((text, i) => {
        if (text === null) return;
        const p = decodeOrderPayload(text);
        out.set(list[i], { order: p.order, signature: p.signature });
      });
    }),
  );
  // Payloads the book no longer has: the orders are in the calldata of the batch the fill was in.
  const batches = new Set<bigint>();
  for (const f of fills) {
    if (out.has(f.makerHash) && out.has(f.takerHash)) continue;
    const prev = previousBatch.get(f.fillId);
    if (prev !== undefined && prev > 0n) batches.add(prev);
  }
  for (const batchId of batches) {
    const intent = await loadIntent(deps.redis, deps.chainId, batchId);
    if (intent === undefined || intent.calldata === "0x") continue;
    const { args } = decodeFunctionData({ abi: settleBatchAbi, data: intent.calldata });
    const [, orders, signatures] = args as readonly [bigint, readonly Order[], readonly Hex[], readonly bigint[]];
    intent.orderHashes.forEach((hash, i) => {
      if (!out.has(hash) && signatures[i] !== "0x") out.set(hash, { order: { ...orders[i] }, signature: signatures[i] });
    });
  }
  return out;
}

/** The signature settleBatch gets for an order; `wallet` when it is not the trader's ECDSA signature. */
export function signatureFor(orderHash: Hex, signed: SignedOrder, recorded: boolean): { signature: Hex; wallet: boolean } {
  if (recorded) return { signature: "0x", wallet: false };
  const bytes = Buffer.from(signed.signature.slice(2), "hex");
  if (bytes.length === 65) {
    const check = recoverSigner(Buffer.from(orderHash.slice(2), "hex"), bytes);
    if (check.ok && check.signer.toLowerCase() === signed.order.trader.toLowerCase()) return { signature: toCompactSignature(signed.signature), wallet: false };
  } else if (bytes.length === 64) {
    const check = recoverSigner(Buffer.from(orderHash.slice(2), "hex"), bytes);
    if (check.ok && check.signer.toLowerCase() === signed.order.trader.toLowerCase()) return { signature: signed.signature, wallet: false };
  }
  return { signature: signed.signature, wallet: true };
}

/** The calldata of batch `batchId` settling `fills` (each fill's orders must be in `orders`). */
export function buildBatch(deps: Pick<BuilderDeps, "recorded">, batchId: bigint, fills: readonly SettleFill[], orders: ReadonlyMap<Hex, SignedOrder>): BuiltBatch {
  const included: SettleFill[] = [];
  const missing: SettleFill[] = [];
  const index = new Map<Hex, number>();
  const list: Order[] = [];
  const sigs: Hex[] = [];
  const hashes: Hex[] = [];
  const packed: Fill[] = [];
  let walletOrders = 0;
  const indexOf = (hash: Hex): number => {
    let i = index.get(hash);
    if (i === undefined) {
      const signed = orders.get(hash)!;
      const s = signatureFor(hash, signed, deps.recorded.has(hash));
      if (s.wallet) walletOrders++;
      i = list.length;
      index.set(hash, i);
      list.push(signed.order);
      sigs.push(s.signature);
      hashes.push(hash);
    }
    return i;
  };
  for (const f of fills) {
    if (!orders.has(f.makerHash) || !orders.has(f.takerHash)) {
      missing.push(f);
      continue;
    }
    packed.push({ fillId: f.fillId, makerIndex: indexOf(f.makerHash), takerIndex: indexOf(f.takerHash), baseAmount: f.baseAmount, makerFeeBps: f.makerFeeBps, takerFeeBps: f.takerFeeBps });
    included.push(f);
  }
  const encoded = encodeBatch(list, sigs, packed);
  // encodeBatch sorted the orders: keep the hashes in the same order.
  const position = new Map<Order, number>(list.map((o, i) => [o, i]));
  const sortedHashes = encoded.orders.map((o) => hashes[position.get(o)!]);
  const calldata = encodeFunctionData({
    abi: settleBatchAbi,
    functionName: "settleBatch",
    args: [batchId, encoded.orders.map(toAbiOrder), encoded.signatures, encoded.fills],
  });
  return { batchId, fills: included, calldata, orderHashes: sortedHashes, walletOrders, missing };
}

function toAbiOrder(o: Order) {
  return {
    trader: o.trader as Address,
    baseToken: o.baseToken as Address,
    quoteToken: o.quoteToken as Address,
    isBuy: o.isBuy,
    price: o.price,
    amount: o.amount,
    nonce: o.nonce,
    expiry: o.expiry,
    maxMakerFeeBps: o.maxMakerFeeBps,
    maxTakerFeeBps: o.maxTakerFeeBps,
    flags: o.flags,
  };
}

/** Calldata bytes. */
export function calldataBytes(calldata: Hex): number {
  return (calldata.length - 2) / 2;
}
