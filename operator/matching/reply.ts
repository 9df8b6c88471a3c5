/**
 * The journal entries a book script returns in its reply (match.lua, cancel.lua), parsed into
 * the journal's entry types (operator/journal): the engine applies what a call did without
 * reading the streams back, unless a reply was lost (./match.ts JournalCollector).
 */
import { CLOSE_REASONS, type CloseEntry, type FillEntry } from "../journal";
import type { Market } from "../markets/types";
import type { Address, Hex } from "../orders";

/** The taker of a fill, as the engine knows it from the order it sent. */
export interface FillTaker {
  hash: Hex;
  trader: Address;
  side: "b" | "s";
  ticks: number;
}

/**
 * Fills from a match.lua reply (7 fields each: counter, taker index, makerHash, maker,
 * priceTicks, lots, makerRemainingLots); `takerOf(index)` gives the taker (0: the continued
 * taker, i: the i-th order of the call). `ts`: the call's clock (what the stream records).
 */
export function parseReplyFills(market: Market, flat: readonly unknown[], takerOf: (index: number) => FillTaker, ts: number): FillEntry[] {
  const out: FillEntry[] = new Array(flat.length / 7);
  const high = BigInt(market.id) << 48n;
  for (let i = 0, k = 0; i < flat.length; i += 7, k++) {
    const t = takerOf(flat[i + 1] as number);
    const ctr = flat[i] as number;
    out[k] = {
      market: market.id,
      fillCtr: ctr,
      fillId: high | BigInt(ctr),
      takerHash: t.hash,
      makerHash: flat[i + 2] as Hex,
      maker: flat[i + 3] as Address,
      taker: t.trader,
      takerIsBuy: t.side === "b",
      priceTicks: Number(flat[i + 4]),
      takerPriceTicks: t.ticks,
      lots: flat[i + 5] as number,
      makerRemainingLots: flat[i + 6] as number,
      makerFeeBps: market.makerFeeBps,
      takerFeeBps: market.takerFeeBps,
      ts,
    };
  }
  return out;
}

/** Closes from a match.lua / cancel.lua reply (8 fields each). */
export function parseReplyCloses(market: Market, flat: readonly unknown[], ts: number): CloseEntry[] {
  const out: CloseEntry[] = [];
  for (let i = 0; i < flat.length; i += 8) {
    out.push({
      closeCtr: Number(flat[i]),
      market: market.id,
      orderHash: flat[i + 1] as Hex,
      trader: flat[i + 2] as Address,
      side: flat[i + 3] as "b" | "s",
      priceTicks: Number(flat[i + 4]),
      remainingLots: Number(flat[i + 5]),
      reason: CLOSE_REASONS[flat[i + 6] as string],
      fillCtr: Number(flat[i + 7]),
      ts,
    });
  }
  return out;
}
