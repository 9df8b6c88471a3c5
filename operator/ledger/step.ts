/**
 * One ledger step per account (step.lua): the journal effects owed to the account (a trader on
 * one chain), then the locks of its new orders. The engine sends one step per account per
 * batch, all in one round trip; an account with only effects (a maker filled) or only orders
 * gets a step too.
 */
import type { Address } from "../orders";
import type { ScriptArg } from "../redis/resp";
import type { ScriptCall } from "../redis/scripts";
import { LedgerError } from "./errors";
import { ledgerKeys, rateLimitKey } from "./keys";
import { STEP_SCRIPT } from "./scripts";
import { accountKey, type AccountKey, type AccountOp, type LedgerOp, type LockOutcome, type LockRequest, type RateLimit } from "./types";

export interface StepParams {
  chainId: number;
  trader: Address;
  /** Caller's clock, unix ms (the rate bucket refills against it). */
  nowMs: number;
  /** null: no rate limit. */
  limit: RateLimit | null;
  /**
   * The most orders the trader may hold open (its open-order index) for a new order that may
   * rest to be locked; null or absent: no limit. IOC orders are not counted (see step.lua).
   */
  maxOpenOrders?: number | null;
  /** Unique per call ([A-Za-z0-9:-], at most 64 chars): lets the script recognise its own replay. */
  lockId: string;
  ops: readonly LedgerOp[];
  orders: readonly LockRequest[];
}

/**
 * Step keys of the accounts seen lately: building them validates the address (a regex), and a
 * busy engine builds them for the same accounts on every batch. Bounded: cleared past 100k.
 */
const stepKeyCache = new Map<string, { acct: string; ord: string; bucket: string }>();

function stepKeys(chainId: number, trader: string): { acct: string; ord: string; bucket: string } {
  const cacheKey = `${chainId}:${trader}`;
  let k = stepKeyCache.get(cacheKey);
  if (!k) {
    const l = ledgerKeys(chainId, trader);
    k = { acct: l.acct, ord: l.ord, bucket: rateLimitKey(chainId, trader, "place") };
    if (stepKeyCache.size >= 100_000) stepKeyCache.clear();
    stepKeyCache.set(cacheKey, k);
  }
  return k;
}

export function stepCall(params: StepParams): ScriptCall {
  const k = stepKeys(params.chainId, params.trader);
  const limited = params.limit !== null && params.limit.capacity > 0 && params.orders.length > 0;
  const maxOpen = params.maxOpenOrders ?? null;
  const args: ScriptArg[] = [
    "",
    params.lockId,
    limited ? `${params.nowMs}|${params.limit!.capacity}|${params.limit!.refillPerSecond}` : "",
    maxOpen === null ? "" : maxOpen,
  ];
  const ops = params.ops;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    switch (op.op) {
      case "fill":
        // Parts, written one after the other by the encoder (../redis/resp.ts).
        args.push(["F|", op.orderHash, "|", op.spendToken, "|", op.recvToken, "|", op.fillCtr, "|", op.fillId, "|", op.lots, "|", op.spend, "|", op.improvement, "|", op.recv]);
        break;
      case "fee": {
        // Consecutive fees of one market travel as one operation, its header then one entry
        // per fill: step.lua adds the balances up once.
        let last = i;
        while (last + 1 < ops.length && sameFeeGroup(ops[last + 1], op)) last++;
        args.push(`X|${op.baseToken}|${op.quoteToken}|${op.marketId}|${last - i + 1}`);
        for (let j = i; j <= last; j++) {
          const f = ops[j] as FeeOp;
          args.push([f.fillCtr, "|", f.fillId, "|", f.baseFee, "|", f.quoteFee]);
        }
        i = last;
        break;
      }
      case "close":
        args.push(op.lockToken ? ["C|", op.orderHash, "|", op.remainingLots, "|", op.lockToken] : ["C|", op.orderHash, "|", op.remainingLots]);
        break;
      case "release":
        args.push(op.lockToken ? ["R|", op.orderHash, "|", op.lockToken] : ["R|", op.orderHash]);
        break;
    }
  }
  args[0] = String(args.length - 4);
  for (const o of params.orders) {
    args.push([o.orderHash.toLowerCase(), "|", o.lockToken.toLowerCase(), "|", o.nonce, "|", o.marketId, "|", o.lockAtoms, "|", o.lots, o.ioc ? "|0" : "|1"]);
  }
  // The bucket key is declared only when the script may touch it (a key costs the server).
  const keys = limited ? [k.acct, k.ord, k.bucket] : [k.acct, k.ord];
  return { script: STEP_SCRIPT, keys, args };
}

type FeeOp = Extract<LedgerOp, { op: "fee" }>;

function sameFeeGroup(op: LedgerOp, first: FeeOp): op is FeeOp {
  return op.op === "fee" && op.marketId === first.marketId && op.baseToken === first.baseToken && op.quoteToken === first.quoteToken;
}

export interface StepReply {
  applied: number;
  skipped: number;
  locks: LockOutcome[];
}

export function parseStepReply(reply: unknown, orderCount: number): StepReply {
  const flat = reply as [number, number, ...string[]];
  const applied = flat[0];
  const skipped = flat[1];
  const locks: LockOutcome[] = new Array(orderCount);
  for (let i = 0; i < orderCount; i++) {
    const code = flat[2 * i + 2] as string;
    const detail = flat[2 * i + 3] as string;
    switch (code) {
      case "OK":
        locks[i] = { ok: true };
        break;
      case "RATE_LIMITED":
        locks[i] = { ok: false, code, retryAfterMs: Number(detail) };
        break;
      case "DUPLICATE_ORDER":
        locks[i] = { ok: false, code, existingHash: detail as `0x${string}` };
        break;
      case "NONCE_CANCELLED":
        locks[i] = { ok: false, code, nonce: BigInt(detail) };
        break;
      case "NONCE_BELOW_MINIMUM":
        locks[i] = { ok: false, code, minNonce: BigInt(detail) };
        break;
      case "TOO_MANY_OPEN_ORDERS":
        locks[i] = { ok: false, code, openOrders: Number(detail) };
        break;
      case "INSUFFICIENT_FUNDS":
        locks[i] = { ok: false, code, available: BigInt(detail) };
        break;
      default:
        throw new LedgerError("LEDGER_INVARIANT", `step.lua answered an unknown lock code ${String(code)}`, { details: { code } });
    }
  }
  return { applied, skipped, locks };
}

/** Groups operations per account, keeping each account's operations in the given order. */
export function groupOpsByAccount(entries: Iterable<AccountOp>): Map<AccountKey, LedgerOp[]> {
  const byAccount = new Map<AccountKey, LedgerOp[]>();
  for (const { chainId, trader, op } of entries) {
    const key = accountKey(chainId, trader);
    const list = byAccount.get(key);
    if (list) list.push(op);
    else byAccount.set(key, [op]);
  }
  return byAccount;
}
