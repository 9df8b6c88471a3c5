/**
 * Redis Cluster key slots (CRC16/XMODEM of the hash tag, mod 16384), as the server computes
 * them. Used to group pipelined commands per node and, in tests, to prove that every script
 * call stays within one slot.
 */
const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

function crc16(data: Buffer): number {
  let crc = 0;
  for (let i = 0; i < data.length; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ data[i]) & 0xff];
  return crc;
}

/** The slot of `key`: only the first non-empty `{...}` section counts when there is one. */
export function keySlot(key: string): number {
  const open = key.indexOf("{");
  if (open !== -1) {
    const close = key.indexOf("}", open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  return crc16(Buffer.from(key, "utf8")) & 16383;
}

/** True when every key hashes to the same slot (an empty list trivially does). */
export function sameSlot(keys: readonly string[]): boolean {
  if (keys.length === 0) return true;
  const first = keySlot(keys[0]);
  for (let i = 1; i < keys.length; i++) if (keySlot(keys[i]) !== first) return false;
  return true;
}
