/**
 * EIP-1559 fees of the signer's transactions, read from the node every time (HyperEVM's base
 * fee spikes; nothing here is a hard-coded gas price).
 *
 *   quote:        tip    = max(node's eth_maxPriorityFeePerGas, minPriorityFeeWei)
 *                 maxFee = 2 x baseFee(latest block) + tip
 *                 (2 x base covers six full blocks in a row at +12.5% each before the
 *                 transaction is priced out; only the base fee of the block it lands in is paid)
 *   ceiling:      maxFee = min(maxFee, maxFeePerGasWei), tip = min(tip, maxFee): above the
 *                 ceiling the signer does not pay more, the transaction waits
 *   replacement:  each fee = max(previous x (1 + feeBumpBps / 10 000) rounded up, the quote);
 *                 the max fee rises by at least 1 wei even from tiny values. A bump that the
 *                 ceiling does not allow is no replacement at all (a node refuses a replacement
 *                 below its bump rule): the transaction waits, `capped`.
 *
 * HyperEVM reports a zero priority fee: the tip stays 0 unless minPriorityFeeWei says otherwise
 * (0 x 1.125 is 0, which nodes accept as a replacement tip when the max fee rose).
 */
import type { Block, PublicClient } from "viem";
import { SignerError } from "./signerErrors";

export interface Fees {
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

export interface FeePolicy {
  /** Floor of the priority fee, wei (default 0). */
  minPriorityFeeWei: bigint;
  /** Ceiling of the max fee, wei; undefined: none. */
  maxFeePerGasWei?: bigint;
  /** At least 1250 (12.5%). */
  feeBumpBps: number;
}

export interface FeeQuote extends Fees {
  baseFeePerGas: bigint;
  /** The ceiling lowered the max fee below 2 x base + tip. */
  capped: boolean;
}

const BPS = 10_000n;

/** Fees for a new transaction from the base fee and the node's priority fee. */
export function quoteFees(baseFeePerGas: bigint, nodeTip: bigint, policy: FeePolicy): FeeQuote {
  const tip = nodeTip > policy.minPriorityFeeWei ? nodeTip : policy.minPriorityFeeWei;
  let maxFeePerGas = 2n * baseFeePerGas + tip;
  let capped = false;
  if (policy.maxFeePerGasWei !== undefined && maxFeePerGas > policy.maxFeePerGasWei) {
    maxFeePerGas = policy.maxFeePerGasWei;
    capped = true;
  }
  return { baseFeePerGas, maxFeePerGas, maxPriorityFeePerGas: tip < maxFeePerGas ? tip : maxFeePerGas, capped };
}

/** `value` raised by `bps` basis points, rounded up. */
export function bumped(value: bigint, bps: number): bigint {
  return (value * (BPS + BigInt(bps)) + BPS - 1n) / BPS;
}

export type Replacement = { capped: false; fees: Fees } | { capped: true; needed: Fees };

/** The fees of a replacement of a transaction that paid `previous` (see the header). */
export function replacementFees(previous: Fees, quote: Fees, policy: FeePolicy): Replacement {
  let minMax = bumped(previous.maxFeePerGas, policy.feeBumpBps);
  if (minMax <= previous.maxFeePerGas) minMax = previous.maxFeePerGas + 1n;
  const minTip = bumped(previous.maxPriorityFeePerGas, policy.feeBumpBps);
  let maxFeePerGas = quote.maxFeePerGas > minMax ? quote.maxFeePerGas : minMax;
  let tip = quote.maxPriorityFeePerGas > minTip ? quote.maxPriorityFeePerGas : minTip;
  const ceiling = policy.maxFeePerGasWei;
  if (ceiling !== undefined) {
    if (minMax > ceiling) return { capped: true, needed: { maxFeePerGas: minMax, maxPriorityFeePerGas: minTip } };
    if (maxFeePerGas > ceiling) maxFeePerGas = ceiling;
  }
  // minTip <= minMax <= maxFeePerGas (the previous tip was at most its max fee): still a bump.
  if (tip > maxFeePerGas) tip = maxFeePerGas;
  return { capped: false, fees: { maxFeePerGas, maxPriorityFeePerGas: tip } };
}

/**
 * The node's fees now: the latest block's base fee (or `block`'s, when the caller just read it)
 * and eth_maxPriorityFeePerGas (viem falls back to gasPrice - baseFee where it is missing).
 * Throws SIGNER_FEES_UNAVAILABLE (cause: the RPC error) or SIGNER_NO_EIP1559.
 */
export async function readFees(client: PublicClient, policy: FeePolicy, block?: Pick<Block, "baseFeePerGas">): Promise<FeeQuote> {
  let base: bigint | null;
  let tip: bigint;
  try {
    const latest = block ?? (await client.getBlock({ blockTag: "latest" }));
    base = latest.baseFeePerGas;
    tip = await client.estimateMaxPriorityFeePerGas();
  } catch (error) {
    throw new SignerError("SIGNER_FEES_UNAVAILABLE", `cannot read the node's fees: ${firstLine(error)}`, { cause: error });
  }
  if (base === null || base === undefined) throw new SignerError("SIGNER_NO_EIP1559", "the chain's blocks carry no base fee (EIP-1559 is required)");
  return quoteFees(base, tip, policy);
}

export function firstLine(error: unknown): string {
  const e = error as { shortMessage?: string; details?: string; message?: string };
  const text = [e?.shortMessage, e?.details].filter((s) => typeof s === "string" && s.length > 0).join(": ") || (error instanceof Error ? error.message : String(error));
  return text.split("\n")[0].slice(0, 240);
}
