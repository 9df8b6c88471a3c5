/**
 * A market: one (baseToken, quoteToken) pair with integer price ticks and size lots.
 *
 * Units (see DESIGN.md "Units and numbers"):
 *  - price: quote atoms per 10^baseDecimals base atoms, a multiple of tickSize;
 *  - amount: base atoms, a multiple of lotSize;
 *  - on chain, quote = amount * price / 10^baseDecimals, at the maker's price.
 * With priceTicks = price / tickSize and lots = amount / lotSize:
 *     quote = lots * priceTicks * quotePerLotTick,  quotePerLotTick = lotSize * tickSize / 10^baseDecimals,
 * and a market is refused unless that division is exact, so no fill ever rounds. Lua sees only
 * ticks and lots (each bounded below 2^53); atoms are computed in TypeScript with bigint.
 */
import type { Address } from "../orders";

export interface MarketConfig {
  /** Small integer id, 0..65535: the top 16 bits of every fill id of the market. */
  id: number;
  /** Display symbol, e.g. "WETH-USDC"; unique across chains. */
  symbol: string;
  /** The chain the market settles on: an order's EIP-712 domain is this chain and its Settlement. */
  chainId: number;
  baseToken: Address;
  quoteToken: Address;
  baseDecimals: number;
  /** Quote atoms per 10^baseDecimals base atoms between adjacent prices. */
  tickSize: bigint;
  /** Base atoms per lot; every order amount is a whole number of lots. */
  lotSize: bigint;
  /** Smallest order, in lots. */
  minLots: number;
  makerFeeBps: number;
  takerFeeBps: number;
  /** Highest price, in ticks (defaults to 10^12). */
  maxPriceTicks?: number;
  /** Largest order, in lots (defaults to 10^12). */
  maxLots?: number;
}

/** A validated market with its derived constants. Addresses are lower-case. */
export interface Market {
  readonly id: number;
  readonly symbol: string;
  readonly chainId: number;
  readonly baseToken: Address;
  readonly quoteToken: Address;
  readonly baseDecimals: number;
  readonly tickSize: bigint;
  readonly lotSize: bigint;
  readonly minLots: number;
  readonly makerFeeBps: number;
  readonly takerFeeBps: number;
  readonly maxPriceTicks: number;
  readonly maxLots: number;
  /** 10^baseDecimals. */
  readonly scale: bigint;
  /** Quote atoms of one lot at one tick: lotSize * tickSize / 10^baseDecimals, exact. */
  readonly quotePerLotTick: bigint;
}

export type MarketStatus = "active" | "halted";
