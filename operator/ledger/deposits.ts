/**
 * Deposits, credited to an account (a trader on one chain) exactly once per deposit id. For
 * now an admin function credits them (the chain watcher will call the same function for each
 * confirmed Deposited event, with "<txHash>:<logIndex>" as the id).
 */
import type { Logger } from "../log";
import type { Address } from "../orders";
import type { ScriptRunner } from "../redis/scripts";
import { LedgerError, ledgerErrorFromReply } from "./errors";
import { ledgerKeys } from "./keys";
import { DEPOSIT_SCRIPT } from "./scripts";

export interface CreditDepositParams {
  /** The chain whose Settlement vault received the deposit. */
  chainId: number;
  trader: Address;
  token: Address;
  amount: bigint;
  /** Unique per deposit: crediting the same id again is a no-op. */
  depositId: string;
}

/** Credits `amount` to available. Returns false when this deposit id was already credited. */
export async function creditDeposit(deps: { scripts: ScriptRunner; logger: Logger }, params: CreditDepositParams): Promise<boolean> {
  if (params.amount <= 0n) throw new LedgerError("LEDGER_BAD_INPUT", "a deposit must be positive", { details: { amount: params.amount } });
  const k = ledgerKeys(params.chainId, params.trader);
  const [result] = await deps.scripts.batch([
    { script: DEPOSIT_SCRIPT, keys: [k.acct, k.dep], args: [params.token.toLowerCase(), params.amount.toString(), params.depositId] },
  ]);
  if (!result.ok) throw ledgerErrorFromReply(result.error, { depositId: params.depositId, chainId: params.chainId, trader: params.trader });
  const credited = result.value === 1;
  deps.logger.info(
    { chainId: params.chainId, trader: params.trader, token: params.token, amount: params.amount.toString(), depositId: params.depositId, credited },
    credited ? "deposit credited" : "deposit already credited",
  );
  return credited;
}
