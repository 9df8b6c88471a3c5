/**
 * What the operator does with a chain's confirmed events (the chain watcher's handler), in
 * chain order, each idempotent by the event's stable id (`<txHash>:<rank>`, operator/chain
 * events.ts), so an event handed again after a restart or a reorg changes nothing:
 *
 *   Deposited            credits the ledger (creditDeposit, deposit id = event id)
 *   WithdrawalRequested  holds the amount (requestWithdrawal); what the hold misses is freed by
 *                        cancelling the trader's newest resting orders that lock the token
 *                        (cancelForWithdrawal, close reason WITHDRAWAL on the WS feed)
 *   Withdrawn            finalizes it (finalizeWithdrawal)
 *   NonceCancelled       cancels the order signed with that nonce (cancelNonce)
 *   MinNonceRaised       cancels the trader's orders below it and refuses new ones (setMinNonce)
 *   Filled, FillSkipped, BatchSettled   the settler's outcomes (operator/settlement outcomes)
 *   EpochCommitted       (the epoch committer's, issue 10: not followed yet)
 *
 * A handler failure fails the watcher's poll: it backs off and hands the same range again.
 */
import type { ChainEvent } from "../chain/events";
import type { ChainEventHandler } from "../chain/watcher";
import type { Logger } from "../log";
import { creditDeposit, finalizeWithdrawal, requestWithdrawal } from "../ledger";
import { cancelForWithdrawal, cancelNonce, setMinNonce, type MatchingEngine } from "../matching";
import type { ScriptRunner } from "../redis/scripts";
import type { SettlementEvent, Settler } from "../settlement";

export interface ChainEventDeps {
  engine: MatchingEngine;
  /** The ledger's scripts (operator/ledger createLedger). */
  scripts: ScriptRunner;
  settler: Settler;
  logger: Logger;
}

function isSettlementEvent(e: ChainEvent): e is Extract<ChainEvent, { kind: "Filled" | "FillSkipped" | "BatchSettled" }> {
  return e.kind === "Filled" || e.kind === "FillSkipped" || e.kind === "BatchSettled";
}

export function chainEventHandler(deps: ChainEventDeps, chainId: number): ChainEventHandler {
  const { logger } = deps;
  const ledger = { scripts: deps.scripts, logger };
  return async (events) => {
    let run: SettlementEvent[] = [];
    const flush = async (): Promise<void> => {
      if (run.length === 0) return;
      const batch = run;
      run = [];
      await deps.settler.applyEvents(batch);
    };
    for (const e of events) {
      if (isSettlementEvent(e)) {
        run.push(e);
        continue;
      }
      await flush();
      switch (e.kind) {
        case "Deposited":
          await creditDeposit(ledger, { chainId, trader: e.trader, token: e.token, amount: e.amount, depositId: e.id });
          break;
        case "WithdrawalRequested": {
          const state = await requestWithdrawal(ledger, { chainId, trader: e.trader, token: e.token, amount: e.amount, eventId: e.id });
          if (state.shortfall > 0n && state.orders.length > 0) {
            const result = await cancelForWithdrawal(deps.engine, { chainId, trader: e.trader, token: e.token, amount: state.shortfall });
            logger.info(
              {
                chainId,
                trader: e.trader,
                token: e.token,
                cancelled: result.cancelled.length,
                notCancelled: result.notCancelled.length,
                uncovered: result.uncovered.toString(),
                shortfall: result.shortfall.toString(),
              },
              "orders cancelled to fund a withdrawal request",
            );
          }
          break;
        }
        case "Withdrawn":
          await finalizeWithdrawal(ledger, { chainId, trader: e.trader, token: e.token, amount: e.amount, eventId: e.id });
          break;
        case "NonceCancelled": {
          const result = await cancelNonce(deps.engine, { chainId, trader: e.trader, nonce: e.nonce });
          logger.info({ chainId, trader: e.trader, nonce: e.nonce.toString(), orderHash: result.orderHash, recorded: result.recorded }, "nonce cancelled on chain");
          break;
        }
        case "MinNonceRaised": {
          const result = await setMinNonce(deps.engine, { chainId, trader: e.trader, minNonce: e.minNonce });
          logger.info({ chainId, trader: e.trader, minNonce: e.minNonce.toString(), cancelled: result.cancelled.length, raised: result.raised }, "minimum nonce raised on chain");
          break;
        }
        default:
          break;
      }
    }
    await flush();
  };
}
