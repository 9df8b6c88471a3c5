/**
 * The EIP-712 domains one verifier pool serves, one per chain, numbered 0..n-1 in the order
 * given. That number, the domain index, is what a request record carries (./records): it
 * picks the worker's domain separator and the pool's EIP-1271 checker for the order.
 *
 * Everything is checked here, once, when the pool is created: 1 to MAX_DOMAINS domains
 * (an index is one byte), distinct chain ids, each domain encodable (so no worker can fail
 * to start on it), and chain clients only for chains the pool serves.
 */
import { domainSeparator } from "../hash";
import type { Address, OrderDomain } from "../types";
import type { Erc1271Client } from "./erc1271";
import { MAX_DOMAINS } from "./records";
import type { VerifierPoolDeps, VerifierPoolParams, VerifyResult } from "./types";

export interface PoolDomains {
  /** The domains, by domain index: copies, addresses lower-cased. */
  readonly list: readonly OrderDomain[];
  /** The domain index of a request's chainId, or -1 if the pool cannot verify it (see mismatch). */
  indexOf(chainId: bigint | undefined): number;
  /** The result for a request whose indexOf is -1. */
  mismatch(chainId: bigint | undefined): VerifyResult;
}

export function createPoolDomains(params: Pick<VerifierPoolParams, "domain" | "domains">): PoolDomains {
  if ((params.domain === undefined) === (params.domains === undefined)) {
    throw new TypeError("verifier pool: give exactly one of `domain` and `domains`");
  }
  const given = params.domains ?? [params.domain as OrderDomain];
  if (given.length < 1 || given.length > MAX_DOMAINS) {
    throw new RangeError(`verifier pool: 1 to ${MAX_DOMAINS} domains, got ${given.length}`);
  }
  const byChain = new Map<bigint, number>();
  const list: OrderDomain[] = [];
  for (const domain of given) {
    if (typeof domain.chainId !== "bigint") {
      throw new TypeError(`verifier pool: a domain's chainId must be a bigint, got ${typeof domain.chainId}`);
    }
    if (byChain.has(domain.chainId)) throw new RangeError(`verifier pool: two domains for chain ${domain.chainId}`);
    domainSeparator(domain); // a RangeError here for a chain id or address out of range, not in every worker
    byChain.set(domain.chainId, list.length);
    list.push({ chainId: domain.chainId, verifyingContract: domain.verifyingContract.toLowerCase() as Address });
  }
  const only = list.length === 1;
  const served = list.map((d) => d.chainId).join(", ");

  return {
    list,
    indexOf: (chainId) => (chainId === undefined ? (only ? 0 : -1) : (byChain.get(chainId) ?? -1)),
    mismatch: (chainId) => ({
      ok: false,
      code: "DOMAIN_CHAIN_MISMATCH",
      message:
        chainId === undefined
          ? `the order's chain must be named: this verifier serves chains ${served}`
          : `the order is for chain ${chainId}; this verifier serves ${only ? "chain" : "chains"} ${served}`,
    }),
  };
}

/**
 * The EIP-1271 client of each domain, by domain index (undefined: ECDSA only). `chain` is the
 * one-domain shorthand; a client for a chain the pool does not serve is a configuration
 * mistake and throws.
 */
export function erc1271ClientsByDomain(
  deps: Pick<VerifierPoolDeps, "chain" | "chains">,
  domains: PoolDomains,
): (Erc1271Client | undefined)[] {
  if (deps.chain !== undefined && deps.chains !== undefined) {
    throw new TypeError("verifier pool: give `chain` or `chains`, not both");
  }
  if (deps.chain !== undefined) {
    if (domains.list.length !== 1) {
      throw new TypeError("verifier pool: `chain` is the one-domain shorthand; with several domains give `chains`");
    }
    return [deps.chain];
  }
  const clients: (Erc1271Client | undefined)[] = domains.list.map(() => undefined);
  for (const [chainId, client] of deps.chains ?? []) {
    const index = domains.indexOf(chainId);
    if (index < 0) throw new RangeError(`verifier pool: a chain client for chain ${chainId}, which has no domain`);
    clients[index] = client;
  }
  return clients;
}
