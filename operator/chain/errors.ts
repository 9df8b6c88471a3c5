import { BaseError, type BaseErrorOptions } from "../errors";

/**
 * CHAIN_ID_MISMATCH, CHAIN_UNREACHABLE, CHAIN_CONTRACT_MISSING: the start-up check (./clients.ts).
 * CHAIN_UNAVAILABLE: the chain's RPC failed too many times in a row; its circuit breaker is open
 *   and requests fail fast until it lets a probe through (./rpc.ts).
 * CHAIN_WATCHER_CURSOR_MISMATCH: the chain watcher's persisted cursor was written for other
 *   contract addresses than the configured ones (./watcher.ts).
 */
export type ChainErrorCode = "CHAIN_ID_MISMATCH" | "CHAIN_UNREACHABLE" | "CHAIN_CONTRACT_MISSING" | "CHAIN_UNAVAILABLE" | "CHAIN_WATCHER_CURSOR_MISMATCH";

/** A configured chain that cannot be used: wrong chain behind the RPC, RPC down, contract absent. */
export class ChainError extends BaseError {
  override name = "ChainError" as const;
  constructor(code: ChainErrorCode, shortMessage: string, options?: BaseErrorOptions) {
    super(code, shortMessage, options);
  }
}
