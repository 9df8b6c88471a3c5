/** How the API shows a market (GET /v1/markets): the limits the engine enforces, defaults included. */
import type { Market, MarketStatus } from "../markets";

/** GET /v1/markets entry. */
export function marketView(m: Market, settlement: string | undefined, status: { status: MarketStatus; reason: string } | undefined): Record<string, unknown> {
  return {
    id: m.id,
    symbol: m.symbol,
    chainId: m.chainId,
    ...(settlement === undefined ? {} : { settlement: settlement.toLowerCase() }),
    baseToken: m.baseToken,
    quoteToken: m.quoteToken,
    baseDecimals: m.baseDecimals,
    tickSize: m.tickSize,
    lotSize: m.lotSize,
    minLots: m.minLots,
    minAmount: BigInt(m.minLots) * m.lotSize,
    maxPriceTicks: m.maxPriceTicks,
    maxLots: m.maxLots,
    maxPrice: BigInt(m.maxPriceTicks) * m.tickSize,
    maxAmount: BigInt(m.maxLots) * m.lotSize,
    makerFeeBps: m.makerFeeBps,
    takerFeeBps: m.takerFeeBps,
    status: status?.status ?? "unregistered",
    ...(status?.status === "halted" ? { haltReason: status.reason } : {}),
  };
}
