/**
 * Settlement updates of the orders:<trader> channel: what the chain did with each of the
 * trader's fills, read from each chain's settlement results stream (operator/settlement
 * outcomes.ts, `results` in ./keys.ts there), for both sides of the fill:
 *
 *   { event: "settlement", orderHash, market, role, fillId, status: "settled" | "skipped",
 *     reason?, batchId, txHash?, ts }
 *
 * `reason` (skipped only): the contract's SkipReason name (OrderCancelled, MakerUnfunded...),
 * or "Operator:<why>" for a fill the settler left out (its order's payload gone, a fill that
 * alone exceeds the gas budget); either way both sides were compensated in the ledger. The
 * feed reads each stream from where it stood when the feed started (best-effort, like the
 * journal's trades: the stream is capped).
 */
import type { RedisClient } from "../../redis";
import { settleKeys } from "../../settlement/keys";
import type { Address } from "../../orders";
import type { OrderUpdate } from "./orderUpdates";

type Entry = [id: string, fields: string[]];

export interface SettlementFeed {
  /** Positions the feed at the end of each chain's stream (call before the first read). */
  start(): Promise<void>;
  /** Appends the updates since the last read for `traders` to `out`. */
  read(traders: ReadonlySet<string>, out: Map<Address, OrderUpdate[]>, count: number): Promise<void>;
}

export function createSettlementFeed(redis: RedisClient, chainIds: readonly number[]): SettlementFeed {
  const last = new Map<number, string>();
  return {
    async start() {
      for (const chainId of chainIds) {
        if (last.has(chainId)) continue;
        const entries = (await redis.xrevrange(settleKeys(chainId).results, "+", "-", "COUNT", 1)) as Entry[];
        last.set(chainId, entries.length > 0 ? entries[0][0] : "0-0");
      }
    },
    async read(traders, out, count) {
      for (const chainId of chainIds) {
        const from = last.get(chainId);
        if (from === undefined) continue;
        const reply = (await redis.xread("COUNT", count, "STREAMS", settleKeys(chainId).results, from)) as [string, Entry[]][] | null;
        const entries = reply?.[0]?.[1] ?? [];
        if (entries.length === 0) continue;
        last.set(chainId, entries[entries.length - 1][0]);
        if (traders.size === 0) continue;
        for (const [, list] of entries) {
          const f: Record<string, string> = {};
          for (let i = 0; i < list.length; i += 2) f[list[i]] = list[i + 1];
          const settled = f.r === "0";
          for (const [role, trader, orderHash] of [
            ["maker", f.mt, f.m],
            ["taker", f.tt, f.t],
          ] as const) {
            if (!traders.has(trader)) continue;
            const update: OrderUpdate = {
              event: "settlement",
              orderHash: orderHash as `0x${string}`,
              market: Number(f.mk),
              role,
              fillId: f.id,
              status: settled ? "settled" : "skipped",
              ...(settled ? {} : { reason: f.r }),
              batchId: f.b,
              ...(f.tx ? { txHash: f.tx } : {}),
              ts: Number(f.ts),
            };
            let updates = out.get(trader as Address);
            if (updates === undefined) out.set(trader as Address, (updates = []));
            updates.push(update);
          }
        }
      }
    },
  };
}
