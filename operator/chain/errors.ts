import { BaseError, type BaseErrorOptions } from "../errors";

export type ChainErrorCode = "CHAIN_ID_MISMATCH" | "CHAIN_UNREACHABLE" | "CHAIN_CONTRACT_MISSING";

/** A configured chain that cannot be used: wrong chain behind the RPC, RPC down, contract absent. */
export class ChainError extends BaseError {
  override name = "ChainError" as const;
  constructor(code: ChainErrorCode, shortMessage: string, options?: BaseErrorOptions) {
    super(code, shortMessage, options);
  }
}
