/**
 * The auditor's errors and exit codes. Every failure the tool reports is an AuditError with a
 * stable code; its exit code tells a script what happened without reading the text:
 *
 *   0  verified: the proof holds on-chain, the epoch rebuilds, the receipt is honoured
 *   1  verification failed: a proof that does not verify, a root, data hash or leaf count that
 *      does not match, an epoch file that does not parse, a receipt not signed by the operator
 *   2  nothing to check: usage error, unknown order hash or fill id, a malformed input file,
 *      the chain behind the RPC is not the one asked for, no contract at the address
 *   3  the epoch is not committed yet: ask again later
 *   4  evidence against the operator: an order it receipted is missing from the epoch it
 *      committed (omission) or another order holds the receipted sequence (equivocation)
 *   5  could not check: the RPC or the API is unreachable, the epoch file cannot be fetched
 */
import { BaseError, type BaseErrorOptions } from "../../operator/errors";

export const EXIT = {
  ok: 0,
  failed: 1,
  notFound: 2,
  notCommitted: 3,
  misbehaviour: 4,
  unavailable: 5,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export type AuditErrorCode =
  | "USAGE"
  | "INVALID_INPUT"
  | "NOT_FOUND"
  | "CHAIN_MISMATCH"
  | "NO_CONTRACT"
  | "EPOCH_NOT_COMMITTED"
  | "RPC_UNREACHABLE"
  | "API_UNREACHABLE"
  | "API_ERROR"
  | "EPOCH_DATA_UNAVAILABLE"
  | "ARTIFACT_MISSING"
  | "SUBMIT_FAILED";

const EXIT_OF: { readonly [C in AuditErrorCode]: ExitCode } = {
  USAGE: EXIT.notFound,
  INVALID_INPUT: EXIT.notFound,
  NOT_FOUND: EXIT.notFound,
  CHAIN_MISMATCH: EXIT.notFound,
  NO_CONTRACT: EXIT.notFound,
  EPOCH_NOT_COMMITTED: EXIT.notCommitted,
  RPC_UNREACHABLE: EXIT.unavailable,
  API_UNREACHABLE: EXIT.unavailable,
  API_ERROR: EXIT.unavailable,
  EPOCH_DATA_UNAVAILABLE: EXIT.unavailable,
  ARTIFACT_MISSING: EXIT.unavailable,
  SUBMIT_FAILED: EXIT.failed,
};

export class AuditError extends BaseError {
  override name = "AuditError" as const;
  declare readonly code: AuditErrorCode;

  constructor(code: AuditErrorCode, shortMessage: string, options: BaseErrorOptions = {}) {
    super(code, shortMessage, options);
  }

  get exitCode(): ExitCode {
    return EXIT_OF[this.code];
  }
}
