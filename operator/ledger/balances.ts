/** Reading balances. */
import type { Address } from "../orders";
import type { RedisClient } from "../redis/client";
import { balanceField, ledgerKeys } from "./keys";
import type { Balance, Balances } from "./types";

const KINDS = ["a", "l", "o", "i"] as const;
const NAMES: Record<(typeof KINDS)[number], keyof Balance> = { a: "available", l: "locked", o: "pendingOut", i: "pendingIn" };

/**
 * The balances of a trader on one chain, keyed by lower-case token. With `tokens`, exactly
 * those tokens (zeros included), in one HMGET; without, every token the trader holds anything
 * of (a scan of the account hash: prefer passing the tokens on hot paths).
 */
export async function getBalances(deps: { redis: RedisClient }, params: { chainId: number; trader: Address; tokens?: readonly Address[] }): Promise<Balances> {
  const key = ledgerKeys(params.chainId, params.trader).acct;
  const out: Balances = {};
  if (params.tokens) {
    const tokens = params.tokens.map((t) => t.toLowerCase() as Address);
    const values = await deps.redis.hmget(key, ...tokens.flatMap((t) => KINDS.map((k) => balanceField(t, k))));
    tokens.forEach((t, i) => {
      const b = zeroBalance();
      KINDS.forEach((k, j) => (b[NAMES[k]] = BigInt(values[4 * i + j] ?? 0)));
      out[t] = b;
    });
    return out;
  }
  let cursor = "0";
  do {
    const [next, flat] = await deps.redis.hscan(key, cursor, "MATCH", "b:*", "COUNT", 200);
    for (let i = 0; i < flat.length; i += 2) {
      const [, token, kind] = flat[i].split(":");
      const b = (out[token as Address] ??= zeroBalance());
      b[NAMES[kind as (typeof KINDS)[number]]] = BigInt(flat[i + 1]);
    }
    cursor = next;
  } while (cursor !== "0");
  return out;
}

export function zeroBalance(): Balance {
  return { available: 0n, locked: 0n, pendingOut: 0n, pendingIn: 0n };
}
