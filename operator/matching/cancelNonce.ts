/**
 * A nonce the trader cancelled on chain (Settlement.cancelNonces, event NonceCancelled: the
 * order signed with it can no longer settle). Two steps:
 *   1. nonce_cancel.lua (slot {t:chain:trader}, operator/ledger recordNonceCancelled) finds the
 *      order that used the nonce ("n:<nonce>" in the trader's account on that chain), or, when
 *      no known order did, records the nonce so that a later order with it is refused
 *      NONCE_CANCELLED (an order with a nonce a known order used is refused DUPLICATE_ORDER);
 *   2. that order, if still open, is cancelled through the normal cancel path (./cancel.ts:
 *      close reason CANCELLED, its remainder unlocked), without charging the trader's cancel
 *      bucket (the chain cancelled it, not a request of the trader's).
 * It runs as an engine task, alone (no batch in flight). Idempotent: a repeated call finds the
 * order closed (ORDER_NOT_OPEN) or the nonce recorded, and changes nothing.
 */
import { recordNonceCancelled } from "../ledger/cancelledNonces";
import type { Address, Hex } from "../orders";
import { processCancel } from "./cancel";
import type { EngineContext } from "./context";
import { EngineError } from "./errors";
import type { CancelResult } from "./types";

export interface CancelNonceParams {
  /** The chain whose Settlement emitted NonceCancelled. */
  chainId: number;
  trader: Address;
  /** A uint256. */
  nonce: bigint;
}

export interface CancelNonceResult {
  chainId: number;
  trader: Address;
  nonce: bigint;
  /** The order that used the nonce, or null when no known order did. */
  orderHash: Hex | null;
  /** True when this call recorded the nonce (no known order used it): later orders with it are refused NONCE_CANCELLED. */
  recorded: boolean;
  /**
   * The cancel of that order: { status: "cancelled", market, remainingAmount }, or a refusal
   * (ORDER_NOT_OPEN: it had filled or closed already; ORDER_NOT_FOUND: not in a market this
   * engine serves); null without an order.
   */
  order: CancelResult | null;
}

export async function processCancelNonce(ctx: EngineContext, params: CancelNonceParams): Promise<CancelNonceResult> {
  const chainId = params.chainId;
  if (!ctx.markets.chainIds.includes(chainId)) {
    throw new EngineError("ENGINE_BAD_REQUEST", `the engine serves no market on chain ${chainId}`, { details: { chainId, chains: ctx.markets.chainIds } });
  }
  const trader = String(params.trader).toLowerCase() as Address;
  if (!/^0x[0-9a-f]{40}$/.test(trader)) throw new EngineError("ENGINE_BAD_REQUEST", "trader is not an address", { details: { trader: params.trader } });
  if (typeof params.nonce !== "bigint" || params.nonce < 0n || params.nonce >= 1n << 256n) {
    throw new EngineError("ENGINE_BAD_REQUEST", "nonce must be a uint256", { details: { nonce: params.nonce } });
  }
  // ---- 1. the order of the nonce, or the nonce recorded (recordNonceCancelled validates)
  const { orderHash, recorded } = await recordNonceCancelled({ scripts: ctx.scripts }, { chainId, trader, nonce: params.nonce });
  const result: CancelNonceResult = { chainId, trader, nonce: params.nonce, orderHash, recorded, order: null };

  // ---- 2. cancel it if it is open
  if (orderHash !== null) {
    const cancel = await processCancel(ctx, { trader, chainId, orderHashes: [orderHash] }, { rateLimited: false });
    if (cancel.status !== "done") throw new EngineError("ENGINE_INVARIANT", `cancel refused without a rate limit: ${cancel.code}`);
    result.order = cancel.results[0];
  }
  if (recorded || result.order?.status === "cancelled") {
    ctx.deps.logger.info({ chainId, trader, nonce: params.nonce.toString(), orderHash, recorded, cancelled: result.order?.status === "cancelled" }, "nonce cancelled on chain");
  }
  return result;
}
