/**
 * Settlement outcomes of matched fills (settle.lua), idempotent by fill id: the settlement
 * watcher calls settleFill for a fill the chain settled (Filled event) and unwindFill for one
 * it skipped (FillSkipped). Each party's pending amounts resolve exactly once; calling again,
 * or for a trader that was not a party, changes nothing.
 */
import type { Address } from "../orders";
import type { ScriptRunner } from "../redis/scripts";
import { ledgerErrorFromReply } from "./errors";
import { ledgerKeys } from "./keys";
import { SETTLE_SCRIPT } from "./scripts";
import { accountKey, accountOf, type AccountKey } from "./types";

export interface FillParties {
  /** The chain the fill settles on (its market's). */
  chainId: number;
  fillId: bigint;
  maker: Address;
  taker: Address;
  feeAccount: Address;
}

async function resolve(deps: { scripts: ScriptRunner }, mode: "settle" | "unwind", fills: readonly FillParties[]): Promise<number> {
  // One call per party (an account: chain and trader) and fill set: group fill ids per account.
  const byAccount = new Map<AccountKey, string[]>();
  for (const f of fills) {
    for (const t of new Set([f.maker.toLowerCase(), f.taker.toLowerCase(), f.feeAccount.toLowerCase()])) {
      const key = accountKey(f.chainId, t);
      const list = byAccount.get(key) ?? [];
      list.push(f.fillId.toString());
      byAccount.set(key, list);
    }
  }
  const accounts = [...byAccount.keys()];
  if (accounts.length === 0) return 0;
  const results = await deps.scripts.batch(
    accounts.map((key) => {
      const { chainId, trader } = accountOf(key);
      const k = ledgerKeys(chainId, trader);
      return { script: SETTLE_SCRIPT, keys: [k.acct], args: [mode, ...byAccount.get(key)!] };
    }),
  );
  let resolved = 0;
  results.forEach((r, i) => {
    if (!r.ok) throw ledgerErrorFromReply(r.error, { ...accountOf(accounts[i]), mode });
    for (const v of r.value as number[]) resolved += v;
  });
  return resolved;
}

/** The fills settled on chain: pendingOut leaves the books, pendingIn becomes available. Returns how many (trader, fill) entries resolved now. */
export function settleFills(deps: { scripts: ScriptRunner }, fills: readonly FillParties[]): Promise<number> {
  return resolve(deps, "settle", fills);
}

/** The chain skipped the fills: pendingOut returns to available, pendingIn is dropped. */
export function unwindFills(deps: { scripts: ScriptRunner }, fills: readonly FillParties[]): Promise<number> {
  return resolve(deps, "unwind", fills);
}

export function settleFill(deps: { scripts: ScriptRunner }, fill: FillParties): Promise<number> {
  return resolve(deps, "settle", [fill]);
}

export function unwindFill(deps: { scripts: ScriptRunner }, fill: FillParties): Promise<number> {
  return resolve(deps, "unwind", [fill]);
}
