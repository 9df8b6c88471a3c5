/**
 * The order record a market keeps for every order it accepted (`orders` hash, ./keys.ts),
 * written by match.lua / cancel.lua with Lua's struct.pack and read here. Binary, because the
 * match script reads and writes records on its hottest path and struct.unpack costs a fifth
 * of a pattern match with number conversions (see lua/book.lua).
 *
 * Layout (REC_FMT "<c1ddddBdc1c42dc1", 94 bytes, little-endian doubles hold integers < 2^53):
 *   side "b"|"s", ticks, lots, rem (unfilled lots), seq, flags (u8), expiry (unix s),
 *   state "o"|"f"|"c"|"t", trader (42 chars), receivedAt (ms), reason "C"|"I"|"E"|"S"|"W"|" ".
 */
import type { Address } from "../orders";
import { EngineError } from "./errors";

export const ORDER_RECORD_BYTES = 94;

export interface OrderRecord {
  side: "b" | "s";
  ticks: number;
  lots: number;
  rem: number;
  seq: number;
  flags: number;
  expiry: number;
  /** o open (resting), f filled, c closed, t taking (cut by the fill cap). */
  state: "o" | "f" | "c" | "t";
  trader: Address;
  receivedAt: number;
  /** Why a closed order closed: C cancelled, I IOC remainder, E expired, S self-trade, W withdrawal; "" none. */
  reason: "" | "C" | "I" | "E" | "S" | "W";
}

export function decodeOrderRecord(buf: Buffer): OrderRecord {
  if (buf.length !== ORDER_RECORD_BYTES) {
    throw new EngineError("ENGINE_INVARIANT", `order record of ${buf.length} bytes, expected ${ORDER_RECORD_BYTES}`, { details: { bytes: buf.length } });
  }
  const reason = String.fromCharCode(buf[93]);
  return {
    side: String.fromCharCode(buf[0]) as OrderRecord["side"],
    ticks: buf.readDoubleLE(1),
    lots: buf.readDoubleLE(9),
    rem: buf.readDoubleLE(17),
    seq: buf.readDoubleLE(25),
    flags: buf[33],
    expiry: buf.readDoubleLE(34),
    state: String.fromCharCode(buf[42]) as OrderRecord["state"],
    trader: buf.toString("latin1", 43, 85) as Address,
    receivedAt: buf.readDoubleLE(85),
    reason: (reason === " " ? "" : reason) as OrderRecord["reason"],
  };
}
