/**
 * The trader's minimum nonce (Settlement.raiseMinNonce cancels on chain every order of the
 * trader with a lower nonce). Recorded in the trader's account, where step.lua checks every new
 * order against it; see lua/min_nonce.lua.
 */
import type { Address, Hex } from "../orders";
import type { ScriptRunner } from "../redis/scripts";
import { LedgerError, ledgerErrorFromReply } from "./errors";
import { ledgerKeys } from "./keys";
import { MIN_NONCE_SCRIPT } from "./scripts";

const MAX_UINT256 = (1n << 256n) - 1n;

export interface RaiseMinNonceParams {
  /** The chain whose Settlement raised the minimum (each chain's Settlement keeps its own). */
  chainId: number;
  trader: Address;
  /** A uint256, as the MinNonceRaised event carries it. */
  minNonce: bigint;
}

export interface RaiseMinNonceResult {
  /** The recorded minimum after the call: the higher of the one recorded and the one asked. */
  minNonce: bigint;
  /** False when the recorded minimum was already at least the one asked (nothing written). */
  raised: boolean;
  /** The trader's open orders (holding a lock) whose nonce is below the minimum, by hash. */
  below: { orderHash: Hex; market: number; nonce: bigint }[];
}

/** Raises the trader's minimum nonce (never lowers it) and lists its open orders below it. */
export async function raiseMinNonce(deps: { scripts: ScriptRunner }, params: RaiseMinNonceParams): Promise<RaiseMinNonceResult> {
  const trader = params.trader.toLowerCase();
  if (!/^0x[0-9a-f]{40}$/.test(trader)) throw new LedgerError("LEDGER_BAD_INPUT", "trader is not an address", { details: { trader: params.trader } });
  if (typeof params.minNonce !== "bigint" || params.minNonce < 0n || params.minNonce > MAX_UINT256) {
    throw new LedgerError("LEDGER_BAD_INPUT", "minNonce must be a uint256", { details: { minNonce: params.minNonce } });
  }
  const k = ledgerKeys(params.chainId, trader);
  const [reply] = await deps.scripts.batch([{ script: MIN_NONCE_SCRIPT, keys: [k.acct, k.ord], args: [params.minNonce.toString()] }]);
  if (!reply.ok) throw ledgerErrorFromReply(reply.error, { chainId: params.chainId, trader, minNonce: params.minNonce });
  const [min, raised, ...flat] = reply.value as [string, number, ...string[]];
  const below: RaiseMinNonceResult["below"] = [];
  for (let i = 0; i < flat.length; i += 3) below.push({ orderHash: flat[i] as Hex, market: Number(flat[i + 1]), nonce: BigInt(flat[i + 2]) });
  return { minNonce: BigInt(min), raised: raised === 1, below };
}
