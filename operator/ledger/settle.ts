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

export interface FillParties {
  fillId: bigint;
  maker: Address;
  taker: Address;
  feeAccount: Address;
}

async function resolve(deps: { scripts: ScriptRunner }, mode: "settle" | "unwind", fills: readonly FillParties[]): Promise<number> {
  // One call per party and fill set: group fill ids per trader.
  const byTrader = new Map<string, string[]>();
  for (const f of fills) {
    for (const t of new Set([f.maker.toLowerCase(), f.taker.toLowerCase(), f.feeAccount.toLowerCase()])) {
      const list = byTrader.get(t) ?? [];
      list.push(f.fillId.toString());
      byTrader.set(t, list);
    }
  }
  const traders = [...byTrader.keys()];
  if (traders.length === 0) return 0;
  const results = await deps.scripts.batch(
    traders.map((t) => {
      const k = ledgerKeys(t);
      return { script: SETTLE_SCRIPT, keys: [k.acct], args: [mode, ...byTrader.get(t)!] };
    }),
  );
  let resolved = 0;
  results.forEach((r, i) => {
    if (!r.ok) throw ledgerErrorFromReply(r.error, { trader: traders[i], mode });
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
