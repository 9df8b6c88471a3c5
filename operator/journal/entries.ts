/**
 * The journal's entries: the one place their field layout is documented and decoded.
 *
 * Three streams per market (./keys.ts), written only by the book scripts
 * (operator/matching/lua), atomically with the book change each entry records. An entry's
 * stream id is "<counter>-0": the counter itself, so a cursor is a plain integer, and the
 * counters of a stream are contiguous (1, 2, 3, ...), so a reader always knows whether it
 * missed entries (trimmed before it read them).
 *
 *   accepted  "<seq>-0"    h   order hash            t  trader
 *                          ra  receivedAt, unix ms (when the API received the order)
 *                          ep  the commitment epoch it belongs to (operator/matching/epochs.ts)
 *   fills     "<fill>-0"   id  fillId, 0x + 16 hex digits: (marketId << 48) | fill counter
 *                          m   maker order hash      t   taker order hash
 *                          mt  maker                 tt  taker
 *                          sd  taker side, b | s
 *                          px  price, ticks (the maker's: the execution price)
 *                          tpx the taker's limit, ticks
 *                          l   lots
 *                          mf / tf  maker / taker fee, bps (the market's, when matched)
 *                          ts  unix ms
 *   closed    "<close>-0"  h   order hash            t   trader
 *                          sd  side, b | s           px  price, ticks
 *                          rem lots left unfilled (unlocked by the ledger)
 *                          why C cancelled | I IOC remainder | E expired | S self-trade |
 *                              W withdrawal (cancelled to fund the trader's withdrawal hold)
 *                          fc  the market's fill counter when the order closed: the order's
 *                              fills all have counters <= fc (a close is applied after them)
 *                          ts  unix ms
 * Integers are decimal strings below 2^53; addresses and hashes lower-case hex.
 */
import type { FillFacts } from "../ledger/fillOps";
import type { Address, Hex } from "../orders";
import { JournalError } from "./errors";

/** Why an order left the book with a remainder. */
export type CloseReason = "CANCELLED" | "IOC_REMAINDER" | "EXPIRED" | "SELF_TRADE" | "WITHDRAWAL";

/** The `why` letters of the closed stream. */
export const CLOSE_REASONS: Readonly<Record<string, CloseReason>> = { C: "CANCELLED", I: "IOC_REMAINDER", E: "EXPIRED", S: "SELF_TRADE", W: "WITHDRAWAL" };

export interface AcceptedEntry {
  /** The order's arrival sequence number in its market. */
  seq: number;
  market: number;
  orderHash: Hex;
  trader: Address;
  receivedAt: number;
  /** The commitment epoch it was accepted in ("ep"; absent on entries written before epochs existed). */
  epoch?: number;
}

export interface FillEntry extends FillFacts {
  market: number;
  /** When it was matched, unix ms. */
  ts: number;
  /** The maker's unfilled lots after the fill: only known from the match script's reply. */
  makerRemainingLots?: number;
}

export interface CloseEntry {
  closeCtr: number;
  market: number;
  orderHash: Hex;
  trader: Address;
  side: "b" | "s";
  priceTicks: number;
  remainingLots: number;
  reason: CloseReason;
  /** The market's fill counter when the order closed. */
  fillCtr: number;
  ts: number;
}

/** A stream entry as Redis returns it: [id, [field, value, field, value, ...]]. */
export type StreamEntry = [id: string, fields: string[]];

export type JournalStream = "fills" | "closed" | "accepted";

/** The counter of a stream id "<counter>-0". */
export function counterOf(id: string): number {
  const dash = id.indexOf("-");
  return Number(dash === -1 ? id : id.slice(0, dash));
}

function fieldsOf(entry: StreamEntry): Record<string, string> {
  const f: Record<string, string> = {};
  const list = entry[1];
  for (let i = 0; i < list.length; i += 2) f[list[i]] = list[i + 1];
  return f;
}

function corrupt(stream: JournalStream, market: number, entry: StreamEntry, what: string): never {
  throw new JournalError("JOURNAL_CORRUPT", `market ${market} ${stream} entry ${entry[0]}: ${what}`, { details: { market, stream, id: entry[0] } });
}

function int(stream: JournalStream, market: number, entry: StreamEntry, value: string | undefined, name: string): number {
  const n = Number(value);
  if (value === undefined || !Number.isSafeInteger(n) || n < 0) corrupt(stream, market, entry, `field ${name} is ${String(value)}`);
  return n;
}

function hex(stream: JournalStream, market: number, entry: StreamEntry, value: string | undefined, name: string, length: number): string {
  if (value === undefined || value.length !== length || !value.startsWith("0x")) corrupt(stream, market, entry, `field ${name} is ${String(value)}`);
  return value;
}

export function decodeAccepted(market: number, entry: StreamEntry): AcceptedEntry {
  const f = fieldsOf(entry);
  return {
    seq: counterOf(entry[0]),
    market,
    orderHash: hex("accepted", market, entry, f.h, "h", 66) as Hex,
    trader: hex("accepted", market, entry, f.t, "t", 42) as Address,
    receivedAt: int("accepted", market, entry, f.ra, "ra"),
    ...(f.ep !== undefined ? { epoch: int("accepted", market, entry, f.ep, "ep") } : {}),
  };
}

export function decodeFill(market: number, entry: StreamEntry): FillEntry {
  const f = fieldsOf(entry);
  const s = "fills" as const;
  if (f.sd !== "b" && f.sd !== "s") corrupt(s, market, entry, `field sd is ${String(f.sd)}`);
  let fillId: bigint;
  try {
    fillId = BigInt(hex(s, market, entry, f.id, "id", 18));
  } catch {
    return corrupt(s, market, entry, `field id is ${String(f.id)}`);
  }
  return {
    market,
    fillCtr: counterOf(entry[0]),
    fillId,
    makerHash: hex(s, market, entry, f.m, "m", 66) as Hex,
    takerHash: hex(s, market, entry, f.t, "t", 66) as Hex,
    maker: hex(s, market, entry, f.mt, "mt", 42) as Address,
    taker: hex(s, market, entry, f.tt, "tt", 42) as Address,
    takerIsBuy: f.sd === "b",
    priceTicks: int(s, market, entry, f.px, "px"),
    takerPriceTicks: int(s, market, entry, f.tpx, "tpx"),
    lots: int(s, market, entry, f.l, "l"),
    makerFeeBps: int(s, market, entry, f.mf, "mf"),
    takerFeeBps: int(s, market, entry, f.tf, "tf"),
    ts: int(s, market, entry, f.ts, "ts"),
  };
}

export function decodeClose(market: number, entry: StreamEntry): CloseEntry {
  const f = fieldsOf(entry);
  const s = "closed" as const;
  const reason = CLOSE_REASONS[f.why];
  if (reason === undefined) corrupt(s, market, entry, `field why is ${String(f.why)}`);
  if (f.sd !== "b" && f.sd !== "s") corrupt(s, market, entry, `field sd is ${String(f.sd)}`);
  return {
    closeCtr: counterOf(entry[0]),
    market,
    orderHash: hex(s, market, entry, f.h, "h", 66) as Hex,
    trader: hex(s, market, entry, f.t, "t", 42) as Address,
    side: f.sd,
    priceTicks: int(s, market, entry, f.px, "px"),
    remainingLots: int(s, market, entry, f.rem, "rem"),
    reason,
    fillCtr: int(s, market, entry, f.fc, "fc"),
    ts: int(s, market, entry, f.ts, "ts"),
  };
}
