/**
 * The ledger effects of one fill, in atoms (bigint; Lua never multiplies money).
 *
 * A fill of `lots` at the maker's price p (ticks), with the taker's limit L (ticks):
 *   base  = lots * lotSize,  quote = lots * p * quotePerLotTick
 *   buyer:  lock gives up lots * limit_buyer * quotePerLotTick; quote -> pendingOut; for a
 *           taker buy the price improvement lots * (L - p) * quotePerLotTick -> available
 *           (a maker buy's limit is p: no improvement); base - buyerFee -> pendingIn
 *   seller: lock gives up base; base -> pendingOut; quote - sellerFee -> pendingIn
 *   fee account: buyerFee (base) and sellerFee (quote) -> pendingIn
 * Each side pays its fee in basis points of what it receives, rounded down (as Settlement does).
 * Every filled lot consumes exactly the order's lock per lot, so a fully filled order has
 * nothing left locked and a closed one has exactly its unfilled lots' worth.
 */
import type { Market } from "../markets/types";
import type { Address, Hex } from "../orders";
import type { AccountOp, LedgerOp } from "./types";

const BPS = 10_000n;

export interface FillFacts {
  /** fillAmounts' result, kept on the fill once computed (ledger ops and the public view both need it). */
  amounts?: FillAmounts;
  fillCtr: number;
  fillId: bigint;
  makerHash: Hex;
  takerHash: Hex;
  maker: Address;
  taker: Address;
  takerIsBuy: boolean;
  /** Maker's price, ticks: the execution price. */
  priceTicks: number;
  /** Taker's limit, ticks. */
  takerPriceTicks: number;
  lots: number;
  makerFeeBps: number;
  takerFeeBps: number;
}

export interface FillAmounts {
  base: bigint;
  quote: bigint;
  buyerFee: bigint;
  sellerFee: bigint;
  makerFee: bigint;
  takerFee: bigint;
  /** Quote released from a taker buy's lock because it paid less than its limit. */
  improvement: bigint;
}

export function fillAmounts(market: Market, f: FillFacts): FillAmounts {
  if (f.amounts) return f.amounts;
  const lots = BigInt(f.lots);
  const base = lots * market.lotSize;
  const quote = lots * BigInt(f.priceTicks) * market.quotePerLotTick;
  const buyerBps = BigInt(f.takerIsBuy ? f.takerFeeBps : f.makerFeeBps);
  const sellerBps = BigInt(f.takerIsBuy ? f.makerFeeBps : f.takerFeeBps);
  const buyerFee = (base * buyerBps) / BPS;
  const sellerFee = (quote * sellerBps) / BPS;
  const improvement = f.takerIsBuy && f.takerPriceTicks !== f.priceTicks ? lots * BigInt(f.takerPriceTicks - f.priceTicks) * market.quotePerLotTick : 0n;
  f.amounts = {
    base,
    quote,
    buyerFee,
    sellerFee,
    makerFee: f.takerIsBuy ? sellerFee : buyerFee,
    takerFee: f.takerIsBuy ? buyerFee : sellerFee,
    improvement,
  };
  return f.amounts;
}

/**
 * The three ledger operations of a fill, on the market's chain: maker side, taker side, and
 * the fee account of that chain (its Settlement's fee recipient).
 */
export function fillLedgerOps(market: Market, f: FillFacts, feeAccount: Address): AccountOp[] {
  const a = fillAmounts(market, f);
  const buySide = (orderHash: Hex, improvement: bigint): LedgerOp => ({
    op: "fill",
    orderHash,
    fillCtr: f.fillCtr,
    fillId: f.fillId,
    lots: f.lots,
    spendToken: market.quoteToken,
    spend: a.quote,
    improvement,
    recvToken: market.baseToken,
    recv: a.base - a.buyerFee,
  });
  const sellSide = (orderHash: Hex): LedgerOp => ({
    op: "fill",
    orderHash,
    fillCtr: f.fillCtr,
    fillId: f.fillId,
    lots: f.lots,
    spendToken: market.baseToken,
    spend: a.base,
    improvement: 0n,
    recvToken: market.quoteToken,
    recv: a.quote - a.sellerFee,
  });
  const makerOp = f.takerIsBuy ? sellSide(f.makerHash) : buySide(f.makerHash, 0n);
  const takerOp = f.takerIsBuy ? buySide(f.takerHash, a.improvement) : sellSide(f.takerHash);
  const chainId = market.chainId;
  return [
    { chainId, trader: f.maker, op: makerOp },
    { chainId, trader: f.taker, op: takerOp },
    {
      chainId,
      trader: feeAccount,
      op: {
        op: "fee",
        marketId: market.id,
        fillCtr: f.fillCtr,
        fillId: f.fillId,
        baseToken: market.baseToken,
        baseFee: a.buyerFee,
        quoteToken: market.quoteToken,
        quoteFee: a.sellerFee,
      },
    },
  ];
}
