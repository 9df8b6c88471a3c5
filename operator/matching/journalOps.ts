/**
 * The ledger effects of a market's journal entries, and how they are applied exactly once.
 *
 *  - A fill or close is created once, atomically with the book change, by a market script;
 *    its counter is its stream id (operator/journal). Nothing else creates ledger effects of
 *    matching.
 *  - The engine applies each entry to the ledgers of the accounts involved (step.lua). Every
 *    ledger operation is idempotent: a fill is skipped by an order whose lock record already
 *    saw that fill counter (or no longer exists because the order was fully applied), fees by
 *    the fee account's per-market high-water mark, a close by the absence of the lock record.
 *  - Entries of one market are applied in causal order: a close carries the fill counter at
 *    the time it happened, and is applied only after the fills up to that counter (an order's
 *    fills always precede its close).
 *  - The engine's journal cursor ("engine" consumer) says every entry up to it has been
 *    applied. It is written after the ledger calls succeeded; a crash in between leaves it
 *    behind, and the entries after it are applied again on restart, harmlessly.
 *  - A reply lost on the wire (a script ran, its answer never came back) is detected by the
 *    counters each market script returns: an entry between the engine's cursor and the
 *    counters at the start of the call is read back from the stream and applied first
 *    (./match.ts JournalCollector).
 */
import type { CloseEntry, FillEntry } from "../journal";
import { fillLedgerOps } from "../ledger/fillOps";
import type { AccountOp } from "../ledger/types";
import type { Market } from "../markets/types";
import type { Address } from "../orders";

/**
 * The ledger operations of a market's journal entries, in causal order: each close after the
 * fills that preceded it. `fills` and `closes` must each be sorted by counter. `feeAccount`:
 * the fee account of the market's chain.
 */
export function journalLedgerOps(market: Market, fills: readonly FillEntry[], closes: readonly CloseEntry[], feeAccount: Address): AccountOp[] {
  const out: AccountOp[] = [];
  const chainId = market.chainId;
  let f = 0;
  for (const c of closes) {
    while (f < fills.length && fills[f].fillCtr <= c.fillCtr) out.push(...fillLedgerOps(market, fills[f++], feeAccount));
    out.push({ chainId, trader: c.trader, op: { op: "close", orderHash: c.orderHash, remainingLots: c.remainingLots, lockToken: c.side === "b" ? market.quoteToken : market.baseToken } });
  }
  while (f < fills.length) out.push(...fillLedgerOps(market, fills[f++], feeAccount));
  return out;
}
