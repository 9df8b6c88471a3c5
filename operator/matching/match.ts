/**
 * The match stage, shared by placement and recovery: one match.lua call per market per round
 * (all markets in one round trip), repeated while a market has deferred orders or a taker cut
 * by the fill cap. Its journal entries (and the releases of orders the market refused) become
 * ledger effects owed to the traders, applied by the next ledger round (./ledgerRound.ts).
 */
import type { LedgerOp } from "../ledger/types";
import { marketKeys } from "../markets/keys";
import type { Market } from "../markets/types";
import type { Address, Hex } from "../orders";
import type { ScriptArg } from "../redis/resp";
import type { ScriptCall } from "../redis/scripts";
import type { Cursor, MatchingEngine } from "./engine";
import { EngineError } from "./errors";
import { journalLedgerOps, parseReplyCloses, parseReplyFills, readCloses, readFills, type CloseEvent, type FillEvent, type FillTaker } from "./journal";
import { bookKeys } from "./keys";
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
  /** The signed order as intake.lua stores it (./payload.ts), encoded when read. */
  readonly payload: string;
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

/** The journal entries a stage produced in one market, with lost replies filled in. */
export class JournalCollector {
  readonly fills: FillEvent[] = [];
  readonly closes: CloseEvent[] = [];
  constructor(
    private readonly engine: MatchingEngine,
    readonly market: Market,
    public seenFill: number,
    public seenClose: number,
  ) {}

  /**
   * Adds a script's entries. `fillBefore` / `closeBefore` are the market's counters when the
   * script started: anything between what the engine has seen and them is an entry whose
   * reply was lost (a call resent after a dropped connection): it is read back from the stream.
   */
  async add(fillBefore: number, fills: FillEvent[], closeBefore: number, closes: CloseEvent[]): Promise<void> {
    if (fillBefore < this.seenFill || closeBefore < this.seenClose) {
      throw new EngineError("ENGINE_INVARIANT", "market counters are behind the engine's: Redis lost writes", {
        details: { market: this.market.id, fillBefore, closeBefore, seenFill: this.seenFill, seenClose: this.seenClose },
      });
    }
    const redis = this.engine.deps.redis;
    if (fillBefore > this.seenFill) this.fills.push(...(await readFills(redis, this.market, this.seenFill, fillBefore)));
    if (closeBefore > this.seenClose) this.closes.push(...(await readCloses(redis, this.market, this.seenClose, closeBefore)));
    for (const f of fills) this.fills.push(f);
    for (const c of closes) this.closes.push(c);
    this.seenFill = fills.length > 0 ? fills[fills.length - 1].fillCtr : fillBefore;
    this.seenClose = closes.length > 0 ? closes[closes.length - 1].closeCtr : closeBefore;
  }
}

export function collectorFor(engine: MatchingEngine, collectors: Map<number, JournalCollector>, market: Market): JournalCollector {
  let c = collectors.get(market.id);
  if (!c) {
    const seen = engine.seenCursor(market.id);
    c = new JournalCollector(engine, market, seen.fill, seen.close);
    collectors.set(market.id, c);
  }
  return c;
}

/**
 * Hands the collected entries to the engine as owed ledger effects (plus `extra` operations),
 * in causal order per market; the cursors advance once they are applied.
 */
export function oweCollected(engine: MatchingEngine, collectors: Map<number, JournalCollector>, extra: { trader: Address; op: LedgerOp }[] = []): void {
  const owed = engine.owed;
  for (const c of collectors.values()) {
    for (const e of journalLedgerOps(c.market, c.fills, c.closes, engine.config.feeAccount)) owed.entries.push(e);
    const cursor: Cursor = { fill: c.seenFill, close: c.seenClose };
    owed.cursors.set(c.market.id, cursor);
    engine.seen.set(c.market.id, { ...cursor });
    if (c.fills.length > 0) engine.metrics.fills.inc({ market: String(c.market.id) }, c.fills.length);
  }
  for (const e of extra) owed.entries.push(e);
}

export function matchCall(engine: MatchingEngine, market: Market, chunk: readonly MatchItem[], discards: readonly Hex[], now: number, cutoff: number): ScriptCall {
  const k = bookKeys(market.id);
  const args: ScriptArg[] = [
    k.prefix,
    now,
    cutoff,
    market.makerFeeBps,
    market.takerFeeBps,
    market.id.toString(16).padStart(4, "0"),
    engine.config.maxFillsPerCall,
    chunk.length,
  ];
  for (const it of chunk) args.push([it.hash, "|", it.trader, "|", it.side, "|", it.ticks, "|", it.lots, "|", it.flags, "|", it.expiry, "|", it.req.receivedAt]);
  for (const h of discards) args.push(h);
  return {
    script: MATCH_SCRIPT,
    keys: [marketKeys.meta(market.id), k.state, k.orders, k.payloads, k.bids, k.asks, k.depth, k.expiry, k.accepted, k.fills, k.closed, k.inbox],
    args,
  };
}

/**
 * Matches locked orders (in the given order within each market). `forceMarkets`: markets to
 * call even without orders (to finish a cut taker). Inbox entries the engine owes a market
 * are discarded with its first call. The ledger effects are owed, not yet applied.
 */
export async function matchStage(
  engine: MatchingEngine,
  items: readonly MatchItem[],
  params: { now: number; forceMarkets?: Iterable<number> },
): Promise<Map<Hex, MatchOutcome>> {
  const queues = new Map<number, MatchItem[]>();
  const inBatch = new Set<Hex>();
  for (const it of items) {
    inBatch.add(it.hash);
    const q = queues.get(it.market.id);
    if (q) q.push(it);
    else queues.set(it.market.id, [it]);
  }
  for (const id of params.forceMarkets ?? []) if (!queues.has(id)) queues.set(id, []);
  // Owed discards go with the market's first call. A hash being matched in this batch was
  // taken in again by intake: it waits for a later call (where the market will know it, and
  // only its inbox entry goes).
  const owedDiscards = new Map<number, Hex[]>();
  for (const [id, set] of engine.discards) {
    const list: Hex[] = [];
    for (const h of set) {
      if (inBatch.has(h)) continue;
      list.push(h);
      set.delete(h);
    }
    if (set.size === 0) engine.discards.delete(id);
    if (list.length > 0) {
      owedDiscards.set(id, list);
      if (!queues.has(id)) queues.set(id, []);
    }
  }
  const cutoff = Math.floor(params.now / 1000) + engine.config.expiryMarginSeconds;
  const collectors = new Map<number, JournalCollector>();
  const outcomes = new Map<Hex, MatchOutcome>();
  const active = new Set(queues.keys());
  const started = performance.now();

  while (active.size > 0) {
    const ids = [...active];
    const chunks = ids.map((id) => queues.get(id)!.slice(0, engine.config.maxOrdersPerCall));
    const calls = ids.map((id, i) => {
      const discards = owedDiscards.get(id) ?? [];
      owedDiscards.delete(id);
      return matchCall(engine, engine.markets.get(id), chunks[i], discards, params.now, cutoff);
    });
    const replies = await engine.scripts.batch(calls);
    for (let i = 0; i < ids.length; i++) {
      const reply = replies[i];
      const market = engine.markets.get(ids[i]);
      if (!reply.ok) {
        throw new EngineError("ENGINE_INVARIANT", `match script failed in market ${market.id}: ${reply.error.message}`, { cause: reply.error });
      }
      const [pending, fillBefore, closeBefore, results, fills, closes, continued] = reply.value as [string, number, number, unknown[], unknown[], unknown[], unknown[]];
      const chunk = chunks[i];
      const cont: FillTaker | undefined =
        continued.length > 0 ? { hash: continued[0] as Hex, trader: continued[1] as Address, side: continued[2] as "b" | "s", ticks: Number(continued[3]) } : undefined;
      const takerOf = (index: number): FillTaker => {
        if (index === 0) {
          if (!cont) throw new EngineError("ENGINE_INVARIANT", "a fill of a continued taker without one", { details: { market: market.id } });
          return cont;
        }
        const it = chunk[index - 1];
        return { hash: it.hash, trader: it.trader, side: it.side, ticks: it.ticks };
      };
      await collectorFor(engine, collectors, market).add(fillBefore, parseReplyFills(market, fills, takerOf), closeBefore, parseReplyCloses(market, closes));
      if (cont) {
        // A taker cut by the cap, continued: its outcome (from an earlier round) moves on.
        const o = outcomes.get(cont.hash);
        if (o) {
          o.remLots = Number(continued[5]);
          o.state = continued[6] as RecordState;
        }
      }
      let processed = 0;
      for (let j = 0, k = 0; j < results.length; j += 5, k++) {
        const status = results[j] as string;
        if (status === "D") break;
        processed++;
        outcomes.set(chunk[k].hash, {
          status: status as MatchOutcome["status"],
          code: results[j + 1] as string,
          seq: Number(results[j + 2]),
          remLots: Number(results[j + 3]),
          state: results[j + 4] as RecordState,
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
  // Refused by the market: the lock is undone as if the order never came; once that is
  // applied, the order leaves the inbox.
  const extra: { trader: Address; op: LedgerOp }[] = [];
  for (const it of items) {
    if (outcomes.get(it.hash)?.status !== "R") continue;
    extra.push({ trader: it.trader, op: { op: "release", orderHash: it.hash, lockToken: it.side === "b" ? it.market.quoteToken : it.market.baseToken } });
    const list = engine.owed.refused.get(it.market.id) ?? [];
    list.push(it.hash);
    engine.owed.refused.set(it.market.id, list);
  }
  oweCollected(engine, collectors, extra);
  return outcomes;
}
