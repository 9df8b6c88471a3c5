import { EcdsaStatus } from "./records";
import type { VerifyResult } from "./types";
import type { Hex } from "../types";

/** The result for an order whose ECDSA check failed and that is not (or cannot be checked as) a smart wallet. */
export function ecdsaFailure(status: EcdsaStatus, orderHash: Hex): VerifyResult {
  switch (status) {
    case EcdsaStatus.SignerMismatch:
      return { ok: false, code: "SIGNER_MISMATCH", message: "the signature was made by another address than the trader", orderHash };
    case EcdsaStatus.HighS:
      return { ok: false, code: "SIGNATURE_HIGH_S", message: "the signature's s is above secp256k1n/2 (malleable); sign again", orderHash };
    case EcdsaStatus.BadV:
      return { ok: false, code: "SIGNATURE_MALFORMED", message: "a 65-byte signature must end with v = 27 or 28", orderHash };
    case EcdsaStatus.BadLength:
      return { ok: false, code: "SIGNATURE_MALFORMED", message: "an ECDSA signature is 64 or 65 bytes", orderHash };
    default:
      return { ok: false, code: "SIGNATURE_INVALID", message: "no public key recovers from the signature", orderHash };
  }
}
