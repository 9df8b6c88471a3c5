/**
 * Who signed a cancel (../orders/cancel.ts): the orders' rules, on the main thread (cancels are
 * few; the verifier pool's records are order-shaped). ECDSA with the contract's rules
 * (../orders/signature: 64/65 bytes, v 27/28, low s); if that does not prove the trader signed
 * and a chain client is configured and the trader has code, EIP-1271 isValidSignature(digest,
 * signature), with the verifier's checker (cached code lookups, bounded RPC requests).
 * The WebSocket's signed subscriptions are checked the same way (./ws/subscribeAuth.ts).
 */
import { recoverSigner, type Address, type Hex, type OrderErrorCode } from "../orders";
import { codeLookupFailure, type Erc1271Checker } from "../orders/verifier/erc1271";

export type CancelSignatureResult = { ok: true; scheme: "ecdsa" | "erc1271" } | { ok: false; code: OrderErrorCode; message: string };

/** Never throws; an RPC failure is ERC1271_TIMEOUT / ERC1271_UNAVAILABLE (503). */
export async function verifyCancelSignature(
  deps: { erc1271?: Erc1271Checker; erc1271TimeoutMs?: number },
  params: { digest: Buffer; trader: Address; signature: Hex },
): Promise<CancelSignatureResult> {
  const check = recoverSigner(params.digest, Buffer.from(params.signature.slice(2), "hex"));
  if (check.ok && check.signer === params.trader.toLowerCase()) return { ok: true, scheme: "ecdsa" };
  if (deps.erc1271 !== undefined) {
    let hasCode: boolean;
    try {
      hasCode = await deps.erc1271.hasCode(params.trader);
    } catch (error) {
      return codeLookupFailure(params.trader, deps.erc1271TimeoutMs ?? 0, error);
    }
    if (hasCode) {
      const digest = `0x${params.digest.toString("hex")}` as Hex;
      const verdict = await deps.erc1271.isValidSignature({ wallet: params.trader, digest, signature: params.signature });
      return verdict.ok ? { ok: true, scheme: "erc1271" } : verdict;
    }
  }
  if (check.ok) return { ok: false, code: "SIGNER_MISMATCH", message: "the cancel was signed by another address than the trader" };
  switch (check.reason) {
    case "SIGNATURE_HIGH_S":
      return { ok: false, code: "SIGNATURE_HIGH_S", message: "the signature's s is above secp256k1n/2 (malleable); sign again" };
    case "SIGNATURE_BAD_V":
      return { ok: false, code: "SIGNATURE_MALFORMED", message: "a 65-byte signature must end with v = 27 or 28" };
    case "SIGNATURE_LENGTH":
      return { ok: false, code: "SIGNATURE_MALFORMED", message: "an ECDSA signature is 64 or 65 bytes" };
    default:
      return { ok: false, code: "SIGNATURE_INVALID", message: "no public key recovers from the signature" };
  }
}
