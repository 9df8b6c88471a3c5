/**
 * Nonces the trader cancelled on chain (Settlement.cancelNonces, event NonceCancelled): the
 * order that used the nonce, if the ledger knows one, or a record that refuses any later order
 * with it (NONCE_CANCELLED in step.lua); see lua/nonce_cancel.lua. The engine's cancelNonce
 * (operator/matching) calls it and cancels the order found.
 */
import type { Address, Hex } from "../orders";
import type { ScriptRunner } from "../redis/scripts";
import { LedgerError, ledgerErrorFromReply } from "./errors";
import { ledgerKeys } from "./keys";
import { NONCE_CANCEL_SCRIPT } from "./scripts";

const MAX_UINT256 = (1n << 256n) - 1n;

export interface NonceCancelledParams {
  /** The chain whose Settlement cancelled it (each chain's Settlement keeps its own nonces). */
  chainId: number;
  trader: Address;
  /** A uint256, as the NonceCancelled event carries it. */
  nonce: bigint;
}

export interface NonceCancelledResult {
  /** The order that used the nonce (still open or not), or null when no known order did. */
  orderHash: Hex | null;
  /** True when this call recorded the nonce as cancelled (no known order used it, not below the minimum nonce). */
  recorded: boolean;
}

/** Idempotent: a nonce recorded already, or one a known order used, changes nothing. */
export async function recordNonceCancelled(deps: { scripts: ScriptRunner }, params: NonceCancelledParams): Promise<NonceCancelledResult> {
  const trader = params.trader.toLowerCase();
  if (!/^0x[0-9a-f]{40}$/.test(trader)) throw new LedgerError("LEDGER_BAD_INPUT", "trader is not an address", { details: { trader: params.trader } });
  if (typeof params.nonce !== "bigint" || params.nonce < 0n || params.nonce > MAX_UINT256) {
    throw new LedgerError("LEDGER_BAD_INPUT", "nonce must be a uint256", { details: { nonce: params.nonce } });
  }
  const k = ledgerKeys(params.chainId, trader);
  const [reply] = await deps.scripts.batch([{ script: NONCE_CANCEL_SCRIPT, keys: [k.acct], args: [params.nonce.toString()] }]);
  if (!reply.ok) throw ledgerErrorFromReply(reply.error, { chainId: params.chainId, trader, nonce: params.nonce });
  const [hash, recorded] = reply.value as [string, number];
  return { orderHash: hash === "" ? null : (hash as Hex), recorded: recorded === 1 };
}
