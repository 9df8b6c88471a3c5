/**
 * A trader's minimum nonce (Settlement.raiseMinNonce, event MinNonceRaised: every order of the
 * trader with a lower nonce is cancelled on chain). Two steps:
 *   1. min_nonce.lua (slot {t:trader}) records the minimum in the trader's account, where every
 *      later lock checks it (NONCE_BELOW_MINIMUM), and lists the trader's open orders below it;
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
import type { MatchingEngine } from "./engine";
import { EngineError } from "./errors";

export interface SetMinNonceParams {
  trader: Address;
  /** A uint256: orders with a nonce below it are cancelled and refused from now on. */
  minNonce: bigint;
}

export interface SetMinNonceResult {
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

export async function processSetMinNonce(engine: MatchingEngine, params: SetMinNonceParams): Promise<SetMinNonceResult> {
  // ---- 1. record the minimum (raiseMinNonce validates the trader and the nonce); list the
  // open orders below it
  const { minNonce, raised, below } = await raiseMinNonce({ scripts: engine.scripts }, params);
  const trader = params.trader.toLowerCase() as Address;

  // ---- 2. cancel those this engine serves
  const result: SetMinNonceResult = { trader, minNonce, raised, cancelled: [], notCancelled: [] };
  const served = new Map<Hex, (typeof below)[number]>();
  for (const o of below) {
    if (engine.markets.byId(o.market)) served.set(o.orderHash, o);
    else result.notCancelled.push({ ...o, code: "MARKET_NOT_SERVED" });
  }
  if (served.size > 0) {
    const cancel = await processCancel(engine, { trader, orderHashes: [...served.keys()] }, { rateLimited: false });
    if (cancel.status !== "done") throw new EngineError("ENGINE_INVARIANT", `cancel refused without a rate limit: ${cancel.code}`);
    for (const r of cancel.results) {
      const o = served.get(r.orderHash)!;
      if (r.status === "cancelled") result.cancelled.push({ ...o, remainingAmount: r.remainingAmount });
      else result.notCancelled.push({ ...o, code: r.code });
    }
  }
  if (raised || below.length > 0) {
    engine.deps.logger.info(
      { trader, minNonce: minNonce.toString(), raised, cancelled: result.cancelled.length, notCancelled: result.notCancelled.length },
      "minimum nonce raised",
    );
  }
  return result;
}
