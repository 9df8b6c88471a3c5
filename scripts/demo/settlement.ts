/**
 * The settler's record of what happened on chain, read from Redis (operator/settlement keys.ts):
 * its counters, every batch intent (status, fills, gasUsed) and the results stream (per fill:
 * settled or skipped, matched-at `ma` and applied-at `ts`: ts - ma is the settlement lag).
 */
import type { RedisClient } from "../../operator/redis";
import { settleKeys, type SettleKeys } from "../../operator/settlement/keys";
import { percentile } from "./stats";

type Entry = [id: string, fields: string[]];

export interface SettlementCounters {
  fillsSettled: number;
  fillsSkipped: number;
  batchesSettled: number;
}

export async function readCounters(redis: RedisClient, chainId: number): Promise<SettlementCounters> {
  const [fs, fk, bs] = await redis.hmget(settleKeys(chainId).state, "fills:settled", "fills:skipped", "batches:settled");
  return { fillsSettled: Number(fs ?? 0), fillsSkipped: Number(fk ?? 0), batchesSettled: Number(bs ?? 0) };
}

function fieldsOf(list: string[]): Record<string, string> {
  const f: Record<string, string> = {};
  for (let i = 0; i < list.length; i += 2) f[list[i]] = list[i + 1];
  return f;
}

/** Reads the results stream from where it last stopped: the lags of the fills settled since. */
export class ResultsTail {
  private last = "0-0";
  private readonly k: SettleKeys;

  constructor(
    private readonly redis: RedisClient,
    chainId: number,
  ) {
    this.k = settleKeys(chainId);
  }

  async read(): Promise<{ lags: number[]; skipped: Map<string, number> }> {
    const lags: number[] = [];
    const skipped = new Map<string, number>();
    for (;;) {
      const page = (await this.redis.xrange(this.k.results, `(${this.last}`, "+", "COUNT", 2_000)) as Entry[];
      if (page.length === 0) break;
      for (const [id, list] of page) {
        this.last = id;
        const f = fieldsOf(list);
        if (f.r === "0") lags.push(Number(f.ts) - Number(f.ma));
        else skipped.set(f.r, (skipped.get(f.r) ?? 0) + 1);
      }
      if (page.length < 2_000) break;
    }
    return { lags, skipped };
  }
}

export interface SettlementReport extends SettlementCounters {
  /** Batch intents by status (settled, reverted, superseded, built, sent). */
  batches: Map<string, number>;
  /** Gas used by the settled batches (receipts) and their fills. */
  gasUsed: bigint;
  gasFills: number;
  lagP50: number;
  lagP99: number;
  lagMax: number;
  lagCount: number;
  /** Skipped fills by reason (the contract's SkipReason, or Operator:<why>). */
  skipped: Map<string, number>;
}

export async function readSettlement(redis: RedisClient, chainId: number): Promise<SettlementReport> {
  const k = settleKeys(chainId);
  const counters = await readCounters(redis, chainId);
  const next = BigInt((await redis.hget(k.state, "next")) ?? "1");
  const batches = new Map<string, number>();
  let gasUsed = 0n;
  let gasFills = 0;
  for (let id = 1n; id < next; id++) {
    const [status, gas, fills] = await redis.hmget(k.intent(id), "status", "gasUsed", "fills");
    const s = status ?? "expired";
    batches.set(s, (batches.get(s) ?? 0) + 1);
    if (s === "settled" && gas !== null) {
      gasUsed += BigInt(gas);
      gasFills += fills ? fills.split(",").length : 0;
    }
  }
  const { lags, skipped } = await new ResultsTail(redis, chainId).read();
  lags.sort((a, b) => a - b);
  return {
    ...counters,
    batches,
    gasUsed,
    gasFills,
    lagP50: percentile(lags, 50),
    lagP99: percentile(lags, 99),
    lagMax: lags.length > 0 ? lags[lags.length - 1] : NaN,
    lagCount: lags.length,
    skipped,
  };
}
