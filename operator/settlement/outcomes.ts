/**
 * What the chain did with the settler's batches, applied to the ledger and the settler's
 * records: the chain watcher's confirmed Filled, FillSkipped and BatchSettled events, and the
 * fills the settler left out of every batch.
 *
 *  - Filled: the fill settled: its parties' pending amounts resolve (operator/ledger
 *    settleFills), its record leaves `fills`, its orders are known to the chain.
 *  - FillSkipped: with SignatureBudgetExhausted (retryable) and tries left, the fill goes to the
 *    retry queue for a later batch; otherwise both sides are compensated (unwindFills: pendingOut
 *    back to available, pendingIn dropped) and the reason is published.
 *  - BatchSettled: the intent is final (settled); its calldata is dropped unless a fill of it
 *    waits for a retry (its orders' payloads may be needed).
 *  - Left out (the `drop` hash): unwound like a skip, with the operator's reason.
 *
 * Idempotent: an event applied twice (a crash before the watcher saved its cursor, a reorg
 * re-delivering it) finds its fill's record gone, or pointing at another batch, and changes
 * nothing; the ledger's settle/unwind is idempotent per fill anyway. The ledger is written
 * before the records, so a crash between the two re-applies the event, harmlessly.
 *
 * Every resolved fill's final batch id goes to `final` (0 for a fill left out), which the epoch
 * log commits it with.
 *
 * Every resolved fill is appended to the chain's `results` stream (capped, best-effort), which
 * the WebSocket feed turns into "settlement" order updates for both traders.
 */
import type { Logger } from "../log";
import { settleFills, unwindFills, type FillParties } from "../ledger";
import type { Address, Hex } from "../orders";
import type { RedisClient } from "../redis/client";
import type { ScriptRunner } from "../redis/scripts";
import type { Failpoints } from "../failpoints";
import { RETRYABLE_SKIP, skipReasonName } from "./abi";
import { execOrThrow, FINAL_INTENT_TTL_S } from "./intents";
import { settleKeys } from "./keys";
import type { SettlementMetrics } from "./metrics";
import { decodeDropRecord, decodeFillRecord, encodeFillRecord, type SettleFill } from "./records";

/** The settlement events the chain watcher delivers (confirmed), in chain order. */
export type SettlementEvent =
  | { kind: "Filled"; id: string; txHash: Hex; blockNumber: bigint; makerHash: Hex; takerHash: Hex; fill: bigint; quoteAmount: bigint }
  | { kind: "FillSkipped"; id: string; txHash: Hex; blockNumber: bigint; batchId: bigint; fillId: bigint; reason: number }
  | { kind: "BatchSettled"; id: string; txHash: Hex; blockNumber: bigint; batchId: bigint; fills: bigint; settled: bigint };

/** Cap of the results stream: the WebSocket feed reads it as it comes; older entries are dropped. */
export const RESULTS_MAXLEN = 100_000;

export interface OutcomeDeps {
  redis: RedisClient;
  scripts: ScriptRunner;
  logger: Logger;
  metrics: SettlementMetrics;
  clock: { now(): number };
  failpoints?: Failpoints;
}

export interface OutcomeParams {
  chainId: number;
  /** The chain's fee account (Settlement's fee recipient): the third party of every fill. */
  feeAccount: Address;
  /** Batches a fill is tried in, at most, when the chain skips it with a retryable reason. */
  maxTries: number;
}

export interface AppliedOutcomes {
  settled: SettleFill[];
  skipped: { fill: SettleFill; reason: string }[];
  retried: SettleFill[];
  /** Batch ids now final. */
  batches: bigint[];
  /** Order hashes of settled fills: the chain has recorded them. */
  recordedOrders: Hex[];
  /** Events about fills the settler has no open record of (applied before, or not its own). */
  unknown: number;
}

function parties(chainId: number, feeAccount: Address, f: SettleFill): FillParties {
  return { chainId, fillId: f.fillId, maker: f.maker, taker: f.taker, feeAccount };
}

function resultFields(f: SettleFill, reason: string, batchId: bigint, txHash: string, now: number): string[] {
  return [
    "id",
    `0x${f.fillId.toString(16).padStart(16, "0")}`,
    "mk",
    String(f.market),
    "m",
    f.makerHash,
    "t",
    f.takerHash,
    "mt",
    f.maker,
    "tt",
    f.taker,
    "r",
    reason,
    "b",
    batchId.toString(),
    "tx",
    txHash,
    "ma",
    String(f.matchedAt),
    "ts",
    String(now),
  ];
}

export async function applySettlementEvents(deps: OutcomeDeps, params: OutcomeParams, events: readonly SettlementEvent[]): Promise<AppliedOutcomes> {
  const { redis } = deps;
  const keys = settleKeys(params.chainId);
  const chain = String(params.chainId);
  const out: AppliedOutcomes = { settled: [], skipped: [], retried: [], batches: [], recordedOrders: [], unknown: 0 };
  if (events.length === 0) return out;

  // The records of every fill the events name, in one HMGET.
  const fillIdOf = (e: SettlementEvent): bigint | undefined => (e.kind === "Filled" ? e.fill >> 192n : e.kind === "FillSkipped" ? e.fillId : undefined);
  const ids = [...new Set(events.map(fillIdOf).filter((id): id is bigint => id !== undefined).map(String))];
  const texts = ids.length > 0 ? await redis.hmget(keys.fills, ...ids) : [];
  const records = new Map<string, { batchId: bigint; fill: SettleFill }>();
  texts.forEach((text, i) => {
    if (text !== null) records.set(ids[i], decodeFillRecord(ids[i], text));
  });
  // A fill's batch, known from the BatchSettled of the same transaction (Filled does not carry it).
  const batchOfTx = new Map<string, bigint>();
  for (const e of events) if (e.kind === "BatchSettled" || e.kind === "FillSkipped") batchOfTx.set(e.txHash, e.batchId);
  // A BatchSettled makes its batch final once: re-delivered, it finds the batch no longer open
  // and changes nothing (neither the intent's finishedAt nor the counters, nor the settler's
  // count of open batches).
  const settledIds = [...new Set(events.filter((e) => e.kind === "BatchSettled").map((e) => String(e.batchId)))];
  const openScores = await Promise.all(settledIds.map((id) => redis.zscore(keys.open, id)));
  const finalNow = new Set(settledIds.filter((_, i) => openScores[i] !== null));

  const settleList: SettleFill[] = [];
  const unwindList: { fill: SettleFill; reason: string; batchId: bigint; tx: Hex }[] = [];
  const retryList: { fill: SettleFill; batchId: bigint }[] = [];
  const settledTx = new Map<string, { batchId: bigint; tx: Hex }>();
  const done = new Set<string>();
  for (const e of events) {
    if (e.kind === "BatchSettled") {
      if (finalNow.has(String(e.batchId)) && !out.batches.includes(e.batchId)) out.batches.push(e.batchId);
      continue;
    }
    const id = String(fillIdOf(e));
    const r = records.get(id);
    if (r === undefined || done.has(id)) {
      out.unknown++;
      continue;
    }
    const txBatch = batchOfTx.get(e.txHash);
    if (txBatch !== undefined && txBatch !== r.batchId) {
      // An event of an older batch the fill was in (re-delivered): the record points elsewhere now.
      out.unknown++;
      continue;
    }
    done.add(id);
    if (e.kind === "Filled") {
      settleList.push(r.fill);
      settledTx.set(id, { batchId: r.batchId, tx: e.txHash });
      out.recordedOrders.push(r.fill.makerHash, r.fill.takerHash);
    } else if (e.reason === RETRYABLE_SKIP && r.fill.tries + 1 < params.maxTries) {
      retryList.push({ fill: { ...r.fill, tries: r.fill.tries + 1 }, batchId: r.batchId });
    } else {
      unwindList.push({ fill: r.fill, reason: skipReasonName(e.reason), batchId: r.batchId, tx: e.txHash });
    }
  }

  // The ledger first (idempotent per fill), then the records.
  if (settleList.length > 0) await settleFills(deps, settleList.map((f) => parties(params.chainId, params.feeAccount, f)));
  if (unwindList.length > 0) await unwindFills(deps, unwindList.map((u) => parties(params.chainId, params.feeAccount, u.fill)));
  if (settleList.length + unwindList.length > 0) deps.failpoints?.hit("settle:after-ledger");

  const now = deps.clock.now();
  const multi = redis.multi();
  const resolvedIds = [...settleList.map((f) => String(f.fillId)), ...unwindList.map((u) => String(u.fill.fillId))];
  if (resolvedIds.length > 0) multi.hdel(keys.fills, ...resolvedIds);
  if (retryList.length > 0) {
    const fields: Record<string, string> = {};
    for (const r of retryList) fields[String(r.fill.fillId)] = encodeFillRecord(r.batchId, r.fill);
    multi.hset(keys.retry, fields);
    multi.hdel(keys.fills, ...Object.keys(fields));
  }
  for (const f of settleList) {
    const s = settledTx.get(String(f.fillId))!;
    multi.xadd(keys.results, "MAXLEN", "~", RESULTS_MAXLEN, "*", ...resultFields(f, "0", s.batchId, s.tx, now));
  }
  for (const u of unwindList) multi.xadd(keys.results, "MAXLEN", "~", RESULTS_MAXLEN, "*", ...resultFields(u.fill, u.reason, u.batchId, u.tx, now));
  // The final batch of each fill, for its commitment leaf (operator/commitment).
  if (resolvedIds.length > 0) {
    const final: Record<string, string> = {};
    for (const f of settleList) final[String(f.fillId)] = settledTx.get(String(f.fillId))!.batchId.toString();
    for (const u of unwindList) final[String(u.fill.fillId)] = u.batchId.toString();
    multi.hset(keys.final, final);
  }
  const retryBatches = new Set(retryList.map((r) => r.batchId));
  for (const e of events) {
    if (e.kind !== "BatchSettled" || !finalNow.delete(String(e.batchId))) continue;
    const key = keys.intent(e.batchId);
    multi.hset(key, { status: "settled", finishedAt: String(now), settled: e.settled.toString(), skipped: (e.fills - e.settled).toString(), settledTx: e.txHash, block: e.blockNumber.toString() });
    if (!retryBatches.has(e.batchId)) multi.hdel(key, "calldata");
    multi.expire(key, FINAL_INTENT_TTL_S);
    multi.zrem(keys.open, e.batchId.toString());
  }
  if (settleList.length > 0) multi.hincrby(keys.state, "fills:settled", settleList.length);
  if (unwindList.length > 0) multi.hincrby(keys.state, "fills:skipped", unwindList.length);
  if (out.batches.length > 0) multi.hincrby(keys.state, "batches:settled", out.batches.length);
  await execOrThrow(multi);

  for (const f of settleList) {
    deps.metrics.fills.inc({ chain, outcome: "settled", reason: "" });
    deps.metrics.lag.observe({ chain }, Math.max(0, now - f.matchedAt) / 1000);
  }
  for (const u of unwindList) {
    deps.metrics.fills.inc({ chain, outcome: "skipped", reason: u.reason });
    deps.metrics.lag.observe({ chain }, Math.max(0, now - u.fill.matchedAt) / 1000);
    deps.logger.warn(
      { chainId: params.chainId, fillId: u.fill.fillId.toString(), batchId: u.batchId.toString(), reason: u.reason, maker: u.fill.maker, taker: u.fill.taker, tx: u.tx },
      "the chain skipped a fill: both sides compensated",
    );
  }
  for (const r of retryList) deps.metrics.fills.inc({ chain, outcome: "retried", reason: "SignatureBudgetExhausted" });
  if (out.batches.length > 0) deps.metrics.batches.inc({ chain, outcome: "settled" }, out.batches.length);
  out.settled = settleList;
  out.skipped = unwindList.map((u) => ({ fill: u.fill, reason: u.reason }));
  out.retried = retryList.map((r) => r.fill);
  return out;
}

/** Unwinds the fills the settler left out (the `drop` hash), publishes them, and forgets them. Returns how many. */
export async function unwindDropped(deps: OutcomeDeps, params: OutcomeParams): Promise<number> {
  const keys = settleKeys(params.chainId);
  const all = await deps.redis.hgetall(keys.drop);
  const entries = Object.entries(all);
  if (entries.length === 0) return 0;
  const drops = entries.map(([id, text]) => decodeDropRecord(id, text));
  await unwindFills(deps, drops.map((d) => parties(params.chainId, params.feeAccount, d.fill)));
  const now = deps.clock.now();
  const multi = deps.redis.multi();
  for (const d of drops) multi.xadd(keys.results, "MAXLEN", "~", RESULTS_MAXLEN, "*", ...resultFields(d.fill, d.reason, 0n, "", now));
  multi.hdel(keys.drop, ...entries.map(([id]) => id));
  multi.hset(keys.final, Object.fromEntries(drops.map((d) => [String(d.fill.fillId), "0"])));
  multi.hincrby(keys.state, "fills:skipped", drops.length);
  await execOrThrow(multi);
  for (const d of drops) {
    deps.metrics.lag.observe({ chain: String(params.chainId) }, Math.max(0, now - d.fill.matchedAt) / 1000);
    deps.logger.warn(
      { chainId: params.chainId, fillId: d.fill.fillId.toString(), reason: d.reason, maker: d.fill.maker, taker: d.fill.taker },
      "a fill was left out of settlement: both sides compensated",
    );
  }
  return drops.length;
}
