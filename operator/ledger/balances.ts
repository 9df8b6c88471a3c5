/** Reading balances. */
import type { Address } from "../orders";
import type { RedisClient } from "../redis/client";
import { balanceField, ledgerKeys } from "./keys";
import type { Balance, Balances } from "./types";

const KINDS = ["a", "l", "o", "i", "w", "t", "d"] as const;
type Kind = (typeof KINDS)[number];
const NAMES: Record<Kind, keyof Balance> = {
  a: "available",
  l: "locked",
  o: "pendingOut",
  i: "pendingIn",
  w: "withdrawalHold",
  t: "withdrawalRequested",
  d: "withdrawalDebt",
};

/**
 * The balances of a trader on one chain, keyed by lower-case token. With `tokens`, exactly
 * those tokens (zeros included), in one HMGET; without, every token the trader holds anything
 * of (a scan of the account hash: prefer passing the tokens on hot paths).
 * available, locked, pendingOut and pendingIn are always there; withdrawalRequested and
 * withdrawalHold only while the trader has a withdrawal request for the token, withdrawalDebt
 * only when non-zero (./types.ts), so a trader who never withdraws reads as it always did.
 * vaultBalanceOf(balance) is what the vault should hold for it.
 */
export async function getBalances(deps: { redis: RedisClient }, params: { chainId: number; trader: Address; tokens?: readonly Address[] }): Promise<Balances> {
  const key = ledgerKeys(params.chainId, params.trader).acct;
  const out: Balances = {};
  if (params.tokens) {
    const tokens = params.tokens.map((t) => t.toLowerCase() as Address);
    const values = await deps.redis.hmget(key, ...tokens.flatMap((t) => KINDS.map((k) => balanceField(t, k))));
    tokens.forEach((t, i) => {
      const b = zeroBalance();
      KINDS.forEach((k, j) => {
        const v = values[KINDS.length * i + j];
        if (v !== null && v !== undefined) b[NAMES[k]] = BigInt(v);
      });
      out[t] = withdrawalShape(b);
    });
    return out;
  }
  let cursor = "0";
  do {
    const [next, flat] = await deps.redis.hscan(key, cursor, "MATCH", "b:*", "COUNT", 200);
    for (let i = 0; i < flat.length; i += 2) {
      const [, token, kind] = flat[i].split(":");
      const name = NAMES[kind as Kind];
      if (name === undefined) continue;
      const b = (out[token as Address] ??= zeroBalance());
      b[name] = BigInt(flat[i + 1]);
    }
    cursor = next;
  } while (cursor !== "0");
  for (const t of Object.keys(out) as Address[]) out[t] = withdrawalShape(out[t]);
  return out;
}

/** The withdrawal fields as Balance documents them: hold with its request, debt when non-zero. */
function withdrawalShape(b: Balance): Balance {
  if (b.withdrawalRequested !== undefined) b.withdrawalHold ??= 0n;
  else delete b.withdrawalHold;
  return b;
}

export function zeroBalance(): Balance {
  return { available: 0n, locked: 0n, pendingOut: 0n, pendingIn: 0n };
}

/**
 * What the Settlement vault should hold for this balance (the reconciler's invariant, see
 * ./keys.ts): available + locked + pendingOut + withdrawalHold - withdrawalDebt.
 */
export function vaultBalanceOf(b: Balance): bigint {
  return b.available + b.locked + b.pendingOut + (b.withdrawalHold ?? 0n) - (b.withdrawalDebt ?? 0n);
}
