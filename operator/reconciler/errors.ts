import { BaseError, type BaseErrorOptions } from "../errors";

/**
 * RECONCILER_NO_CURSOR: the chain's watcher has not started (no cursor in Redis): the ledger
 *   reflects no known block, so there is nothing exact to compare against; the chain is unknown.
 * RECONCILER_UNSTABLE: the watcher's cursor moved during every attempt to read the ledger
 *   (a catch-up in progress); the round tries again later.
 * RECONCILER_CHAIN_READ: a read of the chain failed (RPC down, circuit breaker open, a state
 *   the node no longer serves); the chain is reported unknown.
 * RECONCILER_WEBHOOK: the alert webhook did not answer 2xx in time (logged, never fatal).
 */
export type ReconcilerErrorCode = "RECONCILER_NO_CURSOR" | "RECONCILER_UNSTABLE" | "RECONCILER_CHAIN_READ" | "RECONCILER_WEBHOOK";

export class ReconcilerError extends BaseError {
  override name = "ReconcilerError" as const;
  constructor(code: ReconcilerErrorCode, shortMessage: string, options?: BaseErrorOptions) {
    super(code, shortMessage, options);
  }
}
