/**
 * A fill as the settler carries it from the journal to the chain, and its record in the
 * settler's `fills` / `retry` hashes (./keys.ts): everything needed to rebuild it into a later
 * batch and to resolve it in the ledger, without the journal entry (which the journal may have
 * trimmed by then):
 *
 *   "<batchId>|<market>|<fillCtr>|<maker>|<taker>|<makerHash>|<takerHash>|<baseAmount>|<makerFeeBps>|<takerFeeBps>|<matchedAt>|<tries>"
 *
 * batchId 0: not in a batch yet (a retry). tries: batches the chain skipped it in with a
 * retryable reason.
 */
import type { FillEntry } from "../journal";
import type { Market } from "../markets";
import type { Address, Hex } from "../orders";
import { SettlementError } from "./errors";

export interface SettleFill {
  fillId: bigint;
  market: number;
  fillCtr: number;
  maker: Address;
  taker: Address;
  makerHash: Hex;
  takerHash: Hex;
  /** Base atoms traded. */
  baseAmount: bigint;
  makerFeeBps: number;
  takerFeeBps: number;
  /** When it was matched, unix ms: the start of its settlement lag. */
  matchedAt: number;
  tries: number;
}

export function settleFillOf(market: Market, f: FillEntry): SettleFill {
  return {
    fillId: f.fillId,
    market: f.market,
    fillCtr: f.fillCtr,
    maker: f.maker,
    taker: f.taker,
    makerHash: f.makerHash,
    takerHash: f.takerHash,
    baseAmount: BigInt(f.lots) * market.lotSize,
    makerFeeBps: f.makerFeeBps,
    takerFeeBps: f.takerFeeBps,
    matchedAt: f.ts,
    tries: 0,
  };
}

export function encodeFillRecord(batchId: bigint, f: SettleFill): string {
  return `${batchId}|${f.market}|${f.fillCtr}|${f.maker}|${f.taker}|${f.makerHash}|${f.takerHash}|${f.baseAmount}|${f.makerFeeBps}|${f.takerFeeBps}|${f.matchedAt}|${f.tries}`;
}

export function decodeFillRecord(fillId: string, text: string): { batchId: bigint; fill: SettleFill } {
  const a = text.split("|");
  if (a.length !== 12) throw new SettlementError("SETTLEMENT_CORRUPT", `fill ${fillId} has an unreadable settlement record`, { details: { fillId, text } });
  return {
    batchId: BigInt(a[0]),
    fill: {
      fillId: BigInt(fillId),
      market: Number(a[1]),
      fillCtr: Number(a[2]),
      maker: a[3] as Address,
      taker: a[4] as Address,
      makerHash: a[5] as Hex,
      takerHash: a[6] as Hex,
      baseAmount: BigInt(a[7]),
      makerFeeBps: Number(a[8]),
      takerFeeBps: Number(a[9]),
      matchedAt: Number(a[10]),
      tries: Number(a[11]),
    },
  };
}

/** A fill left out of every batch, waiting to be unwound in the ledger: "<market>|<maker>|<taker>|<makerHash>|<takerHash>|<matchedAt>|<reason>". */
export interface DroppedFill {
  fill: SettleFill;
  reason: string;
}

export function encodeDropRecord(d: DroppedFill): string {
  return `${d.fill.market}|${d.fill.maker}|${d.fill.taker}|${d.fill.makerHash}|${d.fill.takerHash}|${d.fill.matchedAt}|${d.reason}`;
}

export function decodeDropRecord(fillId: string, text: string): DroppedFill {
  const a = text.split("|");
  if (a.length !== 7) throw new SettlementError("SETTLEMENT_CORRUPT", `fill ${fillId} has an unreadable drop record`, { details: { fillId, text } });
  return {
    fill: {
      fillId: BigInt(fillId),
      market: Number(a[0]),
      fillCtr: 0,
      maker: a[1] as Address,
      taker: a[2] as Address,
      makerHash: a[3] as Hex,
      takerHash: a[4] as Hex,
      baseAmount: 0n,
      makerFeeBps: 0,
      takerFeeBps: 0,
      matchedAt: Number(a[5]),
      tries: 0,
    },
    reason: a[6],
  };
}
