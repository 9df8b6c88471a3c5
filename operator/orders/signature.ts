/**
 * ECDSA over secp256k1 with the native `secp256k1` binding: signing (always low-s) and
 * recovery with the same rules as the contract's SignatureLib (65-byte r‖s‖v with v 27/28,
 * or 64-byte EIP-2098 r‖vs; high-s rejected; a zero address never recovers).
 */
import secp256k1 from "secp256k1";
import { keccak256 } from "./hash";
import type { Address, Hex } from "./types";

/** secp256k1n / 2: the largest s the contract accepts. */
const HALF_N = Buffer.from("7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0", "hex");

export type SignatureCheck =
  | { ok: true; signer: Address }
  | { ok: false; reason: "SIGNATURE_LENGTH" | "SIGNATURE_HIGH_S" | "SIGNATURE_BAD_V" | "SIGNATURE_INVALID" };

/** Signs a 32-byte digest; returns the 65-byte r‖s‖v signature (v = 27 or 28) as hex. */
export function signDigest(privateKey: Buffer, digest: Buffer): Hex {
  const { signature, recid } = secp256k1.ecdsaSign(digest, privateKey);
  const out = Buffer.alloc(65);
  Buffer.from(signature.buffer, signature.byteOffset, 64).copy(out, 0);
  out[64] = 27 + recid;
  return `0x${out.toString("hex")}`;
}

/** Ethereum address of an uncompressed public key (65 bytes, 0x04 prefix). */
export function publicKeyToAddress(publicKey: Uint8Array): Address {
  const hash = keccak256(Buffer.from(publicKey.buffer, publicKey.byteOffset + 1, 64));
  return `0x${hash.subarray(12).toString("hex")}`;
}

export function privateKeyToAddress(privateKey: Buffer): Address {
  return publicKeyToAddress(secp256k1.publicKeyCreate(privateKey, false));
}

/** Recovers the signer of `digest` from a 64- or 65-byte signature, with the contract's rules. */
export function recoverSigner(digest: Buffer, signature: Buffer): SignatureCheck {
  let rs: Buffer;
  let recid: number;
  if (signature.length === 65) {
    const v = signature[64];
    if (v !== 27 && v !== 28) return { ok: false, reason: "SIGNATURE_BAD_V" };
    recid = v - 27;
    rs = signature.subarray(0, 64);
  } else if (signature.length === 64) {
    // EIP-2098: the top bit of the second word is the parity; s is the rest.
    recid = signature[32] >> 7;
    rs = Buffer.from(signature);
    rs[32] &= 0x7f;
  } else {
    return { ok: false, reason: "SIGNATURE_LENGTH" };
  }
  if (Buffer.compare(rs.subarray(32, 64), HALF_N) > 0) return { ok: false, reason: "SIGNATURE_HIGH_S" };
  try {
    const publicKey = secp256k1.ecdsaRecover(rs, recid, digest, false);
    return { ok: true, signer: publicKeyToAddress(publicKey) };
  } catch {
    return { ok: false, reason: "SIGNATURE_INVALID" };
  }
}

/** EIP-2098 compact form (64 bytes r‖vs) of a 65-byte r‖s‖v signature: one word less calldata. */
export function toCompactSignature(signature: Hex): Hex {
  const bytes = Buffer.from(signature.slice(2), "hex");
  if (bytes.length !== 65) throw new RangeError(`expected a 65-byte signature, got ${bytes.length} bytes`);
  const v = bytes[64];
  if (v !== 27 && v !== 28) throw new RangeError(`signature v must be 27 or 28, got ${v}`);
  const out = bytes.subarray(0, 64);
  if (v === 28) out[32] |= 0x80;
  return `0x${out.toString("hex")}`;
}
