/**
 * A trader's minimum nonce on a chain (Settlement.raiseMinNonce, event MinNonceRaised: every
 * order of the trader on that chain with a lower nonce is cancelled on chain). Two steps:
 *   1. min_nonce.lua (slot {t:chain:trader}) records the minimum in the trader's account on
 *      that chain, where every later lock checks it (NONCE_BELOW_MINIMUM), and lists the
 *      trader's open orders on that chain below it;
 *   2. those orders are cancelled through the normal cancel path (./cancel.ts: books, locks and
 *      the closed stream stay consistent), without charging the trader's cancel bucket (the
 *      chain cancelled them, not a request of the trader's).
 * It runs as an engine task, alone (no batch in flight), so the orders listed are resting ones.
 * Idempotent: a minimum at or below the recorded one changes nothing, and a repeated call
 * cancels whatever an interrupted one left open. Orders in markets this engine does not serve
 * are left to the engine that serves them (each one's chain watcher sees the same event).
 */
import { raiseMinNonce } from "../ledger/minNonce";
import type { Address, Hex } from "../orders";
import { processCancel } from "./cancel";
import type { EngineContext } from "./context";
import { EngineError } from "./errors";

export interface SetMinNonceParams {
  /** The chain whose Settlement raised it; optional when the engine's markets are all on one chain. */
  chainId?: number;
  trader: Address;
  /** A uint256: orders with a nonce below it are cancelled and refused from now on. */
  minNonce: bigint;
}

export interface SetMinNonceResult {
  chainId: number;
  trader: Address;
  /** The trader's minimum nonce after the call (never lower than before). */
  minNonce: bigint;
  /** False when the recorded minimum was already at least the one asked. */
  raised: boolean;
  /** Open orders below the minimum that this call cancelled, with their unfilled remainders. */
  cancelled: { orderHash: Hex; market: number; nonce: bigint; remainingAmount: bigint }[];
  /**
   * Open orders below the minimum left open: in a market this engine does not serve
   * (code MARKET_NOT_SERVED), or refused by the cancel path (its code; not expected).
   */
  notCancelled: { orderHash: Hex; market: number; nonce: bigint; code: string }[];
}

export async function processSetMinNonce(ctx: EngineContext, params: SetMinNonceParams): Promise<SetMinNonceResult> {
  if (params.chainId === undefined && ctx.markets.chainIds.length > 1) {
    throw new EngineError("ENGINE_BAD_REQUEST", "setMinNonce must name its chain when the engine serves several", { details: { chains: ctx.markets.chainIds } });
  }
  const chainId = params.chainId ?? ctx.markets.chainIds[0];
  // ---- 1. record the minimum (raiseMinNonce validates the trader and the nonce); list the
  // open orders below it
  const { minNonce, raised, below } = await raiseMinNonce({ scripts: ctx.scripts }, { chainId, trader: params.trader, minNonce: params.minNonce });
  const trader = params.trader.toLowerCase() as Address;

  // ---- 2. cancel those this engine serves
  const result: SetMinNonceResult = { chainId, trader, minNonce, raised, cancelled: [], notCancelled: [] };
  const served = new Map<Hex, (typeof below)[number]>();
  for (const o of below) {
    if (ctx.markets.byId(o.market)?.chainId === chainId) served.set(o.orderHash, o);
    else result.notCancelled.push({ ...o, code: "MARKET_NOT_SERVED" });
  }
  if (served.size > 0) {
    const cancel = await processCancel(ctx, { trader, chainId, orderHashes: [...served.keys()] }, { rateLimited: false });
    if (cancel.status !== "done") throw new EngineError("ENGINE_INVARIANT", `cancel refused without a rate limit: ${cancel.code}`);
    for (const r of cancel.results) {
      const o = served.get(r.orderHash)!;
      if (r.status === "cancelled") result.cancelled.push({ ...o, remainingAmount: r.remainingAmount });
      else result.notCancelled.push({ ...o, code: r.code });
    }
  }
  if (raised || below.length > 0) {
    ctx.deps.logger.info(
      { chainId, trader, minNonce: minNonce.toString(), raised, cancelled: result.cancelled.length, notCancelled: result.notCancelled.length },
      "minimum nonce raised",
    );
  }
  return result;
}
