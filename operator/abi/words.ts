/**
 * Writers for static ABI words (abi.encode of uintN, address, bytes32) into a zero-filled
 * buffer, for the fixed-struct encoders (order hashes, Merkle leaves, cancels). Each returns
 * false instead of writing when the value does not fit, so every caller raises its own,
 * domain-specific error.
 */
const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;
const BYTES32_RE = /^0x[0-9a-fA-F]{64}$/;

/** Big-endian uint in word `word`, right-aligned. */
export function writeUintWord(buf: Buffer, word: number, value: bigint, bits: number): boolean {
  if (typeof value !== "bigint" || value < 0n || value >> BigInt(bits) !== 0n) return false;
  const hex = value.toString(16);
  const byteLen = (hex.length + 1) >> 1;
  buf.write(hex.length & 1 ? "0" + hex : hex, word * 32 + 32 - byteLen, byteLen, "hex");
  return true;
}

/** A 0x-prefixed 20-byte address, right-aligned in word `word`. */
export function writeAddressWord(buf: Buffer, word: number, value: string): boolean {
  if (typeof value !== "string" || !ADDRESS_RE.test(value)) return false;
  buf.write(value.slice(2), word * 32 + 12, 20, "hex");
  return true;
}

/** A 0x-prefixed 32-byte value filling word `word`. */
export function writeBytes32Word(buf: Buffer, word: number, value: string): boolean {
  if (typeof value !== "string" || !BYTES32_RE.test(value)) return false;
  buf.write(value.slice(2), word * 32, 32, "hex");
  return true;
}
