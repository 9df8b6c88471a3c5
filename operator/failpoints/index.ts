/**
 * Failpoints: named places where the daemon kills itself (SIGKILL: no cleanup, no flush, as a
 * crash or an OOM kill would), so that the fault tests can crash it at an exact step of the
 * settlement pipeline and check that nothing is lost or doubled after a restart. Off unless
 * HYPERINDEX_FAILPOINT names one (never set it in production):
 *
 *   settle:after-intent     a batch intent is persisted, not yet handed to the signer
 *   settle:after-broadcast  the signer recorded and broadcast the batch's transaction; the
 *                           settler has not marked the intent sent
 *   settle:after-ledger     the chain's outcome of a batch is applied to the ledger; the
 *                           settler's records (fills, intent status) are not updated yet
 *   epoch:after-build       an epoch's data file is written; its root is not recorded yet
 *   epoch:after-submit      the epoch's commit is handed to the signer; not recorded as sent
 *
 * `HYPERINDEX_FAILPOINT_AFTER` (default 1): the failpoint fires on its n-th hit.
 */
export const FAILPOINTS = ["settle:after-intent", "settle:after-broadcast", "settle:after-ledger", "epoch:after-build", "epoch:after-submit"] as const;
export type FailpointName = (typeof FAILPOINTS)[number];

export interface Failpoints {
  hit(name: FailpointName): void;
}

export const NO_FAILPOINTS: Failpoints = { hit: () => undefined };

export function createFailpoints(config: { name?: FailpointName; after?: number } | undefined, kill: () => void = () => process.kill(process.pid, "SIGKILL")): Failpoints {
  if (config?.name === undefined) return NO_FAILPOINTS;
  let hits = 0;
  const after = config.after ?? 1;
  return {
    hit(name) {
      if (name !== config.name) return;
      hits++;
      if (hits >= after) kill();
    },
  };
}
