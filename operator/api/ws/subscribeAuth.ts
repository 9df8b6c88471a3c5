/**
 * Checks the `auth` of a subscribe to orders:<trader>: the trader's EIP-712 signed Subscribe
 * (../../orders/subscribe.ts) for this channel, not expired, within the horizon, in the domain
 * of a chain this API serves.
 *
 * Domain: the one `auth.domain` names (it must be a served chain's, else WS_AUTH_INVALID), or,
 * without one, each served chain's in turn (ECDSA only: a recovery per chain). A smart wallet
 * (EIP-1271, checked through the chain's checker like a cancel, ../cancelSignature.ts) needs a
 * known chain: the domain named, or the only chain served.
 *
 * The check is made when subscribing; a subscription lives on after the signature's expiry
 * (expiry bounds the replay of the signed message, not the subscription).
 */
import type { Address, OrderDomain } from "../../orders";
import { recoverSigner, subscribeDigest, type Subscribe } from "../../orders";
import { verifyCancelSignature } from "../cancelSignature";
import type { ApiChain } from "../context";
import { WsProtocolError, type SubscribeAuth } from "./protocol";

export interface SubscribeAuthDeps {
  chains: ReadonlyMap<number, ApiChain>;
  clock: { now(): number };
  erc1271TimeoutMs?: number;
}

/** Resolves if `auth` proves `trader` asked for `channel`; throws WsProtocolError otherwise. */
export async function checkSubscribeAuth(
  deps: SubscribeAuthDeps,
  params: { trader: Address; channel: string; auth: SubscribeAuth | undefined; maxExpirySeconds: number },
): Promise<void> {
  const { trader, channel, auth } = params;
  const details = { channel };
  if (auth === undefined) {
    throw new WsProtocolError("WS_AUTH_REQUIRED", `${channel} is private: subscribe with auth, the trader's signed Subscribe (expiry, signature, domain?)`, { details });
  }
  const now = BigInt(Math.floor(deps.clock.now() / 1000));
  if (auth.expiry <= now) {
    throw new WsProtocolError("WS_AUTH_EXPIRED", `the signed subscription expired at ${auth.expiry} (now ${now}); sign a new one`, { details: { ...details, expiry: auth.expiry, now } });
  }
  const latest = now + BigInt(params.maxExpirySeconds);
  if (auth.expiry > latest) {
    throw new WsProtocolError("WS_AUTH_EXPIRY_TOO_FAR", `a signed subscription expires within ${params.maxExpirySeconds} seconds (latest ${latest})`, {
      details: { ...details, expiry: auth.expiry, latest },
    });
  }

  const named = auth.domain;
  const candidates = [...deps.chains.values()].filter((c) => named === undefined || sameDomain(c, named));
  if (candidates.length === 0) {
    throw new WsProtocolError("WS_AUTH_INVALID", "the subscription was signed for a domain this operator does not serve", {
      details: { ...details, reason: "DOMAIN_NOT_SERVED", domains: [...deps.chains.values()].map((c) => ({ chainId: c.domain.chainId, verifyingContract: c.domain.verifyingContract })) },
    });
  }
  const message: Subscribe = { trader, channel, expiry: auth.expiry };
  const signature = Buffer.from(auth.signature.slice(2), "hex");
  const digests = candidates.map((c) => subscribeDigest(c.domain, message));
  if (digests.some((d) => signerIs(d, signature, trader))) return;

  // Not an ECDSA signature of the trader: a smart wallet's, if the chain is known; else the reason.
  const only = candidates.length === 1 ? candidates[0] : undefined;
  const verdict = await verifyCancelSignature(
    { erc1271: only?.erc1271, erc1271TimeoutMs: deps.erc1271TimeoutMs },
    { digest: digests[0], trader, signature: auth.signature },
  );
  if (verdict.ok) return;
  if (verdict.code === "ERC1271_TIMEOUT" || verdict.code === "ERC1271_UNAVAILABLE") {
    throw new WsProtocolError("WS_UNAVAILABLE", "could not check the smart wallet's signature now; retry", { details: { ...details, reason: verdict.code } });
  }
  const hint = only === undefined ? " (a smart wallet names its chain: auth.domain)" : "";
  throw new WsProtocolError("WS_AUTH_INVALID", `the signature does not prove ${trader} signed this subscription${hint}`, { details: { ...details, reason: verdict.code } });
}

function sameDomain(chain: ApiChain, d: OrderDomain): boolean {
  return d.chainId === chain.domain.chainId && d.verifyingContract.toLowerCase() === chain.domain.verifyingContract.toLowerCase();
}

function signerIs(digest: Buffer, signature: Buffer, trader: Address): boolean {
  const check = recoverSigner(digest, signature);
  return check.ok && check.signer === trader.toLowerCase();
}
