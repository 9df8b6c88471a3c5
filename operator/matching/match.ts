/**
 * The match stage and the ledger stage of a batch, shared by placement and recovery:
 * one match.lua call per market per round (all markets in one round trip), repeated while a
 * market has deferred orders or a taker cut by the fill cap; then one apply.lua call per
 * trader with every ledger effect of the batch (fills, closes, confirmations, releases).
 */
import { applyLedgerOps, groupOpsByTrader } from "../ledger/apply";
import type { LedgerOp } from "../ledger/types";
import { marketKeys } from "../markets/keys";
import type { Market } from "../markets/types";
import type { Address, Hex } from "../orders";
import type { ScriptCall } from "../redis/scripts";
import type { MatchingEngine } from "./engine";
import { EngineError } from "./errors";
import { journalLedgerOps, parseReplyCloses, parseReplyFills, readCloses, readFills, type CloseEvent, type FillEvent } from "./journal";
import { bookKeys, fillIdOf } from "./keys";
import { MATCH_SCRIPT } from "./scripts";
import type { PlaceOrderRequest } from "./types";

/** An order ready for its market: locked, in the market's integer units. */
export interface MatchItem {
  req: PlaceOrderRequest;
  market: Market;
  trader: Address;
  hash: Hex;
  side: "b" | "s";
  ticks: number;
  lots: number;
  flags: number;
  /** Clamped to 2^53 - 1 (Lua numbers); any later expiry means the same: far away. */
  expiry: number;
  payload: string;
}

export type RecordState = "o" | "f" | "c" | "t";

export interface MatchOutcome {
  /** A accepted now, K known already (replay), R refused by the market. */
  status: "A" | "K" | "R";
  code: string;
  seq: number;
  remLots: number;
  state: RecordState;
  /** Fills in which the order was the taker, from this batch. */
  fills: FillEvent[];
}

/** The journal entries a batch produced in one market, with lost replies filled in. */
export class JournalCollector {
  readonly fills: FillEvent[] = [];
  readonly closes: CloseEvent[] = [];
  constructor(
    private readonly engine: MatchingEngine,
    readonly market: Market,
    public seenFill: number,
    public seenClose: number,
  ) {}

  async add(fillBefore: number, fills: FillEvent[], closeBefore: number, closes: CloseEvent[]): Promise<void> {
    if (fillBefore < this.seenFill || closeBefore < this.seenClose) {
      throw new EngineError("ENGINE_INVARIANT", "market counters are behind the engine's cursor: Redis lost writes", {
        details: { market: this.market.id, fillBefore, closeBefore, seenFill: this.seenFill, seenClose: this.seenClose },
      });
    }
    const redis = this.engine.deps.redis;
    if (fillBefore > this.seenFill) {
      // A reply we never got (dropped connection, resent call): read its fills back.
      this.fills.push(...(await readFills(redis, this.market, this.seenFill, fillBefore)));
    }
    if (closeBefore > this.seenClose) this.closes.push(...(await readCloses(redis, this.market, this.seenClose, closeBefore)));
    for (const f of fills) this.fills.push(f);
    for (const c of closes) this.closes.push(c);
    this.seenFill = fills.length > 0 ? fills[fills.length - 1].fillCtr : fillBefore;
    this.seenClose = closes.length > 0 ? closes[closes.length - 1].closeCtr : closeBefore;
  }

  ledgerEntries(feeAccount: Address): { trader: Address; op: LedgerOp }[] {
    return journalLedgerOps(this.market, this.fills, this.closes, feeAccount);
  }
}

export function collectorFor(engine: MatchingEngine, collectors: Map<number, JournalCollector>, market: Market): JournalCollector {
  let c = collectors.get(market.id);
  if (!c) {
    const cursor = engine.cursor(market.id);
    c = new JournalCollector(engine, market, cursor.fill, cursor.close);
    collectors.set(market.id, c);
  }
  return c;
}

/**
 * Applies the collected journal entries plus extra operations, then advances the cursors.
 * The cursor moves only after every ledger call succeeded.
 */
export async function applyCollected(
  engine: MatchingEngine,
  collectors: Map<number, JournalCollector>,
  extra: { trader: Address; op: LedgerOp }[],
): Promise<void> {
  const entries: { trader: Address; op: LedgerOp }[] = [];
  for (const c of collectors.values()) for (const e of c.ledgerEntries(engine.config.feeAccount)) entries.push(e);
  for (const e of extra) entries.push(e);
  const started = performance.now();
  await applyLedgerOps(engine, groupOpsByTrader(entries));
  engine.metrics.batchSeconds.observe({ stage: "apply" }, (performance.now() - started) / 1000);
  for (const c of collectors.values()) {
    const cursor = engine.cursor(c.market.id);
    cursor.fill = c.seenFill;
    cursor.close = c.seenClose;
    if (c.fills.length > 0) engine.metrics.fills.inc({ market: String(c.market.id) }, c.fills.length);
  }
  if (collectors.size > 0) engine.persistCursors(collectors.keys());
}

function matchCall(engine: MatchingEngine, market: Market, chunk: readonly MatchItem[], now: number, cutoff: number): ScriptCall {
  const k = bookKeys(market.id);
  const args: (string | number)[] = [
    k.prefix,
    now,
    cutoff,
    market.makerFeeBps,
    market.takerFeeBps,
    fillIdOf(market.id, 0).toString(),
    engine.config.maxFillsPerCall,
    chunk.length,
  ];
  for (const it of chunk) args.push(it.hash, it.trader, it.side, it.ticks, it.lots, it.flags, it.expiry, it.req.receivedAt, it.payload);
  return {
    script: MATCH_SCRIPT,
    keys: [marketKeys.meta(market.id), k.state, k.orders, k.payloads, k.bids, k.asks, k.depth, k.expiry, k.accepted, k.fills, k.closed],
    args,
  };
}

/**
 * Matches locked orders (in the given order within each market) and applies every ledger
 * effect. `forceMarkets`: markets to call even without orders (to finish a cut taker).
 */
export async function matchAndApply(
  engine: MatchingEngine,
  items: readonly MatchItem[],
  params: { now: number; forceMarkets?: Iterable<number> },
): Promise<Map<Hex, MatchOutcome>> {
  const queues = new Map<number, MatchItem[]>();
  for (const it of items) {
    const q = queues.get(it.market.id);
    if (q) q.push(it);
    else queues.set(it.market.id, [it]);
  }
  for (const id of params.forceMarkets ?? []) if (!queues.has(id)) queues.set(id, []);
  const cutoff = Math.floor(params.now / 1000) + engine.config.expiryMarginSeconds;
  const collectors = new Map<number, JournalCollector>();
  const outcomes = new Map<Hex, MatchOutcome>();
  const active = new Set(queues.keys());
  const started = performance.now();

  while (active.size > 0) {
    const ids = [...active];
    const chunks = ids.map((id) => queues.get(id)!.slice(0, engine.config.maxOrdersPerCall));
    const replies = await engine.scripts.batch(ids.map((id, i) => matchCall(engine, engine.markets.get(id), chunks[i], params.now, cutoff)));
    for (let i = 0; i < ids.length; i++) {
      const reply = replies[i];
      const market = engine.markets.get(ids[i]);
      if (!reply.ok) {
        throw new EngineError("ENGINE_INVARIANT", `match script failed in market ${market.id}: ${reply.error.message}`, { cause: reply.error });
      }
      const [pending, fillBefore, closeBefore, results, fills, closes] = reply.value as [string, number, number, unknown[], unknown[], unknown[]];
      await collectorFor(engine, collectors, market).add(fillBefore, parseReplyFills(market, fills), closeBefore, parseReplyCloses(market, closes));
      let processed = 0;
      for (let j = 0; j < results.length; j += 6) {
        const status = results[j + 1] as string;
        if (status === "D") break;
        processed++;
        outcomes.set(results[j] as Hex, {
          status: status as MatchOutcome["status"],
          code: results[j + 2] as string,
          seq: Number(results[j + 3]),
          remLots: Number(results[j + 4]),
          state: results[j + 5] as RecordState,
          fills: [],
        });
      }
      const queue = queues.get(market.id)!;
      queue.splice(0, processed);
      if (queue.length === 0 && pending === "") active.delete(market.id);
    }
  }
  engine.metrics.batchSeconds.observe({ stage: "match" }, (performance.now() - started) / 1000);

  for (const c of collectors.values()) {
    for (const f of c.fills) outcomes.get(f.takerHash)?.fills.push(f);
  }
  const extra: { trader: Address; op: LedgerOp }[] = [];
  for (const it of items) {
    const o = outcomes.get(it.hash);
    if (!o) continue;
    // Accepted or known: the market has the order, its recovery payload can go. Refused: the
    // lock is undone as if the order never came.
    extra.push({ trader: it.trader, op: o.status === "R" ? { op: "release", orderHash: it.hash } : { op: "ack", orderHash: it.hash } });
  }
  await applyCollected(engine, collectors, extra);
  return outcomes;
}
