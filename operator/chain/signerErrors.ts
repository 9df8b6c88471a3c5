import { BaseError, type BaseErrorOptions } from "../errors";

/**
 * SIGNER_BAD_PARAMS       createSigner was given values it cannot run with
 * SIGNER_BAD_REQUEST      a submit() request is malformed (purpose, to, data, gas)
 * SIGNER_NOT_STARTED      submit() / wait() before start()
 * SIGNER_STOPPED          the signer was stopped while the call waited
 * SIGNER_FENCED           another signer instance took over this chain and key (start() there)
 * SIGNER_PURPOSE_CONFLICT a purpose already carried by a transaction with other to/data/gas
 * SIGNER_FEES_UNAVAILABLE the node's fees could not be read: nothing was signed or recorded
 * SIGNER_NO_EIP1559       the chain's blocks carry no base fee
 * SIGNER_NONCE_CONSUMED   the transaction's nonce was used by a transaction the signer does not know
 * SIGNER_UNKNOWN_NONCE    wait() for a nonce the signer has no record of (never sent, or expired)
 * SIGNER_BAD_RECORD       a record in Redis cannot be decoded
 */
export type SignerErrorCode =
  | "SIGNER_BAD_PARAMS"
  | "SIGNER_BAD_REQUEST"
  | "SIGNER_NOT_STARTED"
  | "SIGNER_STOPPED"
  | "SIGNER_FENCED"
  | "SIGNER_PURPOSE_CONFLICT"
  | "SIGNER_FEES_UNAVAILABLE"
  | "SIGNER_NO_EIP1559"
  | "SIGNER_NONCE_CONSUMED"
  | "SIGNER_UNKNOWN_NONCE"
  | "SIGNER_BAD_RECORD";

export class SignerError extends BaseError {
  override name = "SignerError" as const;
  constructor(code: SignerErrorCode, shortMessage: string, options?: BaseErrorOptions) {
    super(code, shortMessage, options);
  }
}
