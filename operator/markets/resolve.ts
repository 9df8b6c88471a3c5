/**
 * Which market (and so which chain) a signed order or cancel is for. An order's EIP-712
 * domain is its market's chain and that chain's Settlement: the token pair names the market,
 * and the domain the client says it signed for (optional on the wire) picks the chain when the
 * pair trades on several, and must match it otherwise. Refusals use the public codes:
 *
 *   MARKET_UNKNOWN            no market trades the pair (on the chain the domain names)
 *   DOMAIN_CHAIN_MISMATCH     the domain names a chain the pair does not trade on here
 *   DOMAIN_CONTRACT_MISMATCH  the domain names another contract than that chain's Settlement
 *   DOMAIN_REQUIRED           the pair trades on several chains and no domain says which
 */
import { OrderValidationError, type Order, type OrderDomain } from "../orders";
import type { MarketRegistry } from "./registry";
import type { Market } from "./types";

export interface OrderMarketLookup {
  markets: MarketRegistry;
  /** The order domain of each chain served (its Settlement), by chain id. */
  domains: ReadonlyMap<number, OrderDomain>;
}

/** The market of `order` (throws an OrderValidationError with a public code). */
export function resolveOrderMarket(lookup: OrderMarketLookup, params: { order: Pick<Order, "baseToken" | "quoteToken">; domain?: OrderDomain }): Market {
  const { order, domain } = params;
  const candidates = lookup.markets.withPair(order.baseToken, order.quoteToken);
  if (candidates.length === 0) {
    throw new OrderValidationError("MARKET_UNKNOWN", `no market trades ${order.baseToken} against ${order.quoteToken}`, {
      details: { field: "order.baseToken", baseToken: order.baseToken, quoteToken: order.quoteToken },
    });
  }
  if (domain === undefined) {
    if (candidates.length === 1) return candidates[0];
    throw new OrderValidationError(
      "DOMAIN_REQUIRED",
      `the pair trades on chains ${candidates.map((m) => m.chainId).join(" and ")}: give the domain the order was signed for`,
      { details: { field: "domain", chains: candidates.map((m) => m.chainId) } },
    );
  }
  const market = candidates.find((m) => BigInt(m.chainId) === domain.chainId);
  if (market === undefined) {
    const chains = candidates.map((m) => m.chainId);
    throw new OrderValidationError(
      "DOMAIN_CHAIN_MISMATCH",
      `the order was signed for chain ${domain.chainId}; this pair settles on chain ${chains.join(" or ")}`,
      { details: { field: "domain.chainId", expected: chains.length === 1 ? chains[0] : chains, got: domain.chainId } },
    );
  }
  checkContract(lookup, market.chainId, domain);
  return market;
}

/**
 * The chain a signed request names with its domain, among `chainIds` (default every chain
 * served); with no domain, the only candidate chain (else DOMAIN_REQUIRED).
 */
export function resolveDomainChain(lookup: OrderMarketLookup, params: { domain?: OrderDomain; chainIds?: readonly number[] }): number {
  const chainIds = params.chainIds ?? [...lookup.domains.keys()].sort((a, b) => a - b);
  const { domain } = params;
  if (domain === undefined) {
    if (chainIds.length === 1) return chainIds[0];
    throw new OrderValidationError("DOMAIN_REQUIRED", `this operator serves chains ${chainIds.join(" and ")}: give the domain the request was signed for`, {
      details: { field: "domain", chains: chainIds },
    });
  }
  const chainId = chainIds.find((id) => BigInt(id) === domain.chainId);
  if (chainId === undefined) {
    throw new OrderValidationError("DOMAIN_CHAIN_MISMATCH", `signed for chain ${domain.chainId}; this operator settles on chain ${chainIds.join(" or ")}`, {
      details: { field: "domain.chainId", expected: chainIds.length === 1 ? chainIds[0] : chainIds, got: domain.chainId },
    });
  }
  checkContract(lookup, chainId, domain);
  return chainId;
}

function checkContract(lookup: OrderMarketLookup, chainId: number, domain: OrderDomain): void {
  const ours = lookup.domains.get(chainId);
  if (ours !== undefined && ours.verifyingContract.toLowerCase() !== domain.verifyingContract.toLowerCase()) {
    throw new OrderValidationError(
      "DOMAIN_CONTRACT_MISMATCH",
      `signed for contract ${domain.verifyingContract}; chain ${chainId} settles through ${ours.verifyingContract}`,
      { details: { field: "domain.verifyingContract", expected: ours.verifyingContract.toLowerCase(), got: domain.verifyingContract.toLowerCase() } },
    );
  }
}
