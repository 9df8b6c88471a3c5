/** Reading balances. */
import type { Address } from "../orders";
import type { RedisClient } from "../redis/client";
import { ledgerKeys } from "./keys";
import type { Balance, Balances } from "./types";

const FIELD: Record<string, keyof Balance> = { a: "available", l: "locked", o: "pendingOut", i: "pendingIn" };

/** Every token the trader has a balance entry for (zeros included), keyed by lower-case token. */
export async function getBalances(deps: { redis: RedisClient }, params: { trader: Address }): Promise<Balances> {
  const raw = await deps.redis.hgetall(ledgerKeys(params.trader).bal);
  return parseBalances(raw);
}

export function parseBalances(raw: Record<string, string>): Balances {
  const out: Balances = {};
  for (const [field, value] of Object.entries(raw)) {
    const sep = field.lastIndexOf(":");
    const token = field.slice(0, sep) as Address;
    const kind = FIELD[field.slice(sep + 1)];
    if (!kind) continue;
    const balance = (out[token] ??= { available: 0n, locked: 0n, pendingOut: 0n, pendingIn: 0n });
    balance[kind] = BigInt(value);
  }
  return out;
}

export function zeroBalance(): Balance {
  return { available: 0n, locked: 0n, pendingOut: 0n, pendingIn: 0n };
}
