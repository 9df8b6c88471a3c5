/**
 * Withdrawals, as the Settlement vault's events tell them (lua/withdrawal.lua; the layout and
 * the reconciler's invariant vault == available + locked + pendingOut + hold - debt are in
 * ./keys.ts). The chain watcher calls, for each confirmed event, with its stable id
 * "<txHash>:<logIndex>" (an event handed again, after a restart or a reorg re-read, changes
 * nothing):
 *
 *   WithdrawalRequested(trader, token, amount, readyAt)  requestWithdrawal: the previous hold of
 *       the token returns to available, then min(available, amount) is held; the reply says
 *       what the hold still misses and which open orders lock the token, so the caller can
 *       cancel enough of them (operator/matching cancelForWithdrawal): what they unlock tops
 *       the hold up, as does anything else that returns to available later.
 *   Withdrawn(trader, token, amount, early)  finalizeWithdrawal: the vault paid `amount`; it is
 *       taken from the hold, then from available, the rest recorded as a debt that later
 *       credits pay first; the request is consumed (what is left of the hold returns to
 *       available).
 *
 * getWithdrawal reads a token's withdrawal state and the orders locking it, writing nothing.
 *
 * Order: the events of one (chain, trader, token) must be handed in chain order (a Withdrawn
 * after the request it pays). Handing one again is harmless, handing them out of order is not:
 * a request applied after the Withdrawn that consumed it on chain would hold funds for a
 * request that no longer exists, until the next request or withdrawal of that token. Event ids
 * are remembered for good (like deposit ids), so a replay from any block is safe.
 */
import type { Logger } from "../log";
import type { Address, Hex } from "../orders";
import type { ScriptRunner } from "../redis/scripts";
import { LedgerError, ledgerErrorFromReply } from "./errors";
import { ledgerKeys } from "./keys";
import { WITHDRAWAL_SCRIPT } from "./scripts";

const MAX_UINT256 = (1n << 256n) - 1n;
const ADDRESS_RE = /^0x[0-9a-f]{40}$/;

export interface WithdrawalEventParams {
  /** The chain whose Settlement emitted the event. */
  chainId: number;
  trader: Address;
  token: Address;
  /** Atoms: the amount requested (WithdrawalRequested, > 0) or paid (Withdrawn, >= 0). */
  amount: bigint;
  /** Unique per event, stable across re-reads: "<txHash>:<logIndex>". */
  eventId: string;
}

/** An open order of the trader locking the token, and what it still locks. */
export interface LockingOrder {
  orderHash: Hex;
  market: number;
  locked: bigint;
}

/** A token's withdrawal state after a call. */
export interface WithdrawalState {
  chainId: number;
  trader: Address;
  token: Address;
  /** False when the event had been applied already (nothing changed); always false for getWithdrawal. */
  applied: boolean;
  available: bigint;
  hold: bigint;
  /** The pending request's amount; 0 when there is none. */
  target: bigint;
  debt: bigint;
  /** target - hold: what the hold still misses. */
  shortfall: bigint;
}

export interface RequestWithdrawalResult extends WithdrawalState {
  /** The trader's open orders on this chain locking the token (sorted by hash). */
  orders: LockingOrder[];
}

export interface FinalizeWithdrawalResult extends WithdrawalState {
  /** How the payment was covered (all 0 when the event had been applied already). */
  fromHold: bigint;
  fromAvailable: bigint;
  toDebt: bigint;
}

type Deps = { scripts: ScriptRunner; logger?: Logger };

function checkEvent(params: WithdrawalEventParams, kind: "request" | "finalize"): { trader: string; token: string } {
  const trader = params.trader.toLowerCase();
  const token = params.token.toLowerCase();
  const bad = (what: string, details: Record<string, unknown>): never => {
    throw new LedgerError("LEDGER_BAD_INPUT", what, { details });
  };
  if (!ADDRESS_RE.test(trader)) bad("trader is not an address", { trader: params.trader });
  if (!ADDRESS_RE.test(token)) bad("token is not an address", { token: params.token });
  if (typeof params.amount !== "bigint" || params.amount < (kind === "request" ? 1n : 0n) || params.amount > MAX_UINT256) {
    bad(kind === "request" ? "a withdrawal request must be a positive uint256" : "a withdrawal must be a uint256", { amount: params.amount });
  }
  if (typeof params.eventId !== "string" || params.eventId.length === 0 || params.eventId.length > 200) bad("eventId must have 1 to 200 characters", { eventId: params.eventId });
  return { trader, token };
}

async function run(deps: Deps, chainId: number, trader: string, token: string, args: string[]): Promise<{ state: WithdrawalState; taken: bigint[]; orders: LockingOrder[] }> {
  const k = ledgerKeys(chainId, trader);
  const [reply] = await deps.scripts.batch([{ script: WITHDRAWAL_SCRIPT, keys: [k.acct, k.ord, k.wdr], args: [args[0], token, ...args.slice(1)] }]);
  if (!reply.ok) throw ledgerErrorFromReply(reply.error, { chainId, trader, token, mode: args[0], eventId: args[2] });
  const [applied, available, hold, target, debt, shortfall, fromHold, fromAvailable, toDebt, ...flat] = reply.value as [number, ...string[]];
  const orders: LockingOrder[] = [];
  for (let i = 0; i < flat.length; i += 3) orders.push({ orderHash: flat[i] as Hex, market: Number(flat[i + 1]), locked: BigInt(flat[i + 2]) });
  return {
    state: {
      chainId,
      trader: trader as Address,
      token: token as Address,
      applied: applied === 1,
      available: BigInt(available),
      hold: BigInt(hold),
      target: BigInt(target),
      debt: BigInt(debt),
      shortfall: BigInt(shortfall),
    },
    taken: [BigInt(fromHold), BigInt(fromAvailable), BigInt(toDebt)],
    orders,
  };
}

/** WithdrawalRequested: holds the amount (replacing the previous request); see the module comment. */
export async function requestWithdrawal(deps: Deps, params: WithdrawalEventParams): Promise<RequestWithdrawalResult> {
  const { trader, token } = checkEvent(params, "request");
  const { state, orders } = await run(deps, params.chainId, trader, token, ["request", params.amount.toString(), params.eventId]);
  deps.logger?.info(
    { chainId: params.chainId, trader, token, amount: params.amount.toString(), eventId: params.eventId, applied: state.applied, hold: state.hold.toString(), shortfall: state.shortfall.toString() },
    state.applied ? "withdrawal requested: funds held" : "withdrawal request already applied",
  );
  return { ...state, orders };
}

/** Withdrawn: the vault paid `amount`; see the module comment. */
export async function finalizeWithdrawal(deps: Deps, params: WithdrawalEventParams): Promise<FinalizeWithdrawalResult> {
  const { trader, token } = checkEvent(params, "finalize");
  const { state, taken } = await run(deps, params.chainId, trader, token, ["finalize", params.amount.toString(), params.eventId]);
  const [fromHold, fromAvailable, toDebt] = taken;
  if (state.applied) {
    const log = { chainId: params.chainId, trader, token, amount: params.amount.toString(), eventId: params.eventId, toDebt: toDebt.toString() };
    // A debt means the vault paid out funds that matched, unsettled fills still spend: they
    // will be skipped on chain. Expected in a race with settlement, worth a look otherwise.
    if (toDebt > 0n) deps.logger?.warn(log, "withdrawal paid beyond the hold and available: debt recorded");
    else deps.logger?.info(log, "withdrawal finalized");
  }
  return { ...state, fromHold, fromAvailable, toDebt };
}

/** A token's withdrawal state and the open orders locking it; writes nothing. */
export async function getWithdrawal(deps: Deps, params: { chainId: number; trader: Address; token: Address }): Promise<RequestWithdrawalResult> {
  const trader = params.trader.toLowerCase();
  const token = params.token.toLowerCase();
  if (!ADDRESS_RE.test(trader) || !ADDRESS_RE.test(token)) {
    throw new LedgerError("LEDGER_BAD_INPUT", "trader and token must be addresses", { details: { trader: params.trader, token: params.token } });
  }
  const { state, orders } = await run(deps, params.chainId, trader, token, ["status"]);
  return { ...state, orders };
}
