/**
 * Keyspace of the settler of one chain, `hx:v3:settle:{c:<chainId>}:<name>`. Every key of a
 * chain's settler shares the {c:<chainId>} hash tag (the chain watcher's and the signer's
 * keys too), so one MULTI persists a batch intent, its fills and the settler's cursors at once.
 *
 *   state     HASH   "next"            the batch id the settler builds next
 *                    "cur:<market>"    the last fill counter of the market the settler has
 *                                      taken (into a persisted batch intent, or left out): its
 *                                      true journal position; the journal consumer cursor
 *                                      ("settler") is a copy saved after it, for retention
 *                    "batches:settled", "fills:settled", "fills:skipped"  counters
 *   intent:<batchId>  HASH  a batch intent (./intents.ts): status, fills, calldata, gas, nonce
 *   open      ZSET   batch ids of intents not final yet (score = id)
 *   fills     HASH   fillId (decimal) -> "<batchId>|<market>|<maker>|<taker>|<matched at, ms>|<tries>":
 *                    every fill in an intent whose on-chain outcome (Filled / FillSkipped) is
 *                    not applied yet; deleted when it is
 *   retry     HASH   fillId -> the same record: fills the chain skipped with a retryable reason
 *                    (SignatureBudgetExhausted), or whose batch reverted, to go into a later batch
 *   drop      HASH   fillId -> "<market>|<maker>|<taker>|<reason>": fills left out of every
 *                    batch (they cannot settle), to be unwound in the ledger; deleted once unwound
 *   results   STREAM per settled or skipped fill, for the WebSocket feed (best-effort, capped):
 *                    id fillId (0x hex), mk market, m/t maker/taker order hash, mt/tt maker/taker,
 *                    r "0" settled, else why not (the contract's SkipReason name, or
 *                    "Operator:<why>" for a fill left out), b batch id, tx transaction hash,
 *                    ma matched at (ms), ts applied at (ms): ts - ma is the settlement lag
 *   final     HASH   fillId (decimal) -> the batch id that settled or skipped it on chain, "0"
 *                    for a fill left out of every batch: written with the outcome, read and
 *                    deleted by the epoch log (operator/commitment/epochLog.ts) once the fill's
 *                    leaf is committed
 */
import { chainTag, keyspacePrefix } from "../redis/keys";

export const SETTLE_KEYSPACE = keyspacePrefix("settle", 3);

export interface SettleKeys {
  state: string;
  open: string;
  fills: string;
  retry: string;
  drop: string;
  results: string;
  final: string;
  intent(batchId: bigint): string;
}

export function settleKeys(chainId: number): SettleKeys {
  const prefix = `${SETTLE_KEYSPACE}:${chainTag(chainId)}:`;
  return {
    state: `${prefix}state`,
    open: `${prefix}open`,
    fills: `${prefix}fills`,
    retry: `${prefix}retry`,
    drop: `${prefix}drop`,
    results: `${prefix}results`,
    final: `${prefix}final`,
    intent: (batchId) => `${prefix}intent:${batchId}`,
  };
}
