/**
 * The match stage, shared by placement and recovery: one match.lua call per market per round
 * (all markets in one round trip), repeated while a market has deferred orders or a taker cut
 * by the fill cap. Its journal entries (and the releases of orders the market refused) become
 * ledger effects owed to the traders, applied by the next ledger round (./ledgerRound.ts).
 */
import { journalKeys, readCloses, readFills, type CloseEntry, type FillEntry } from "../journal";
import type { AccountOp } from "../ledger/types";
import { marketKeys } from "../markets/keys";
import type { Market } from "../markets/types";
import type { Address, Hex } from "../orders";
import type { ScriptArg } from "../redis/resp";
import type { ScriptCall } from "../redis/scripts";
import { feeAccountOf, type EngineContext } from "./context";
import { EngineError } from "./errors";
import { journalLedgerOps } from "./journalOps";
import { bookKeys } from "./keys";
import { parseReplyCloses, parseReplyFills, type FillTaker } from "./reply";
import { MATCH_SCRIPT } from "./scripts";
import type { Cursor } from "./state";
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
  /** The commitment epoch of an order accepted now (status A; 0 otherwise). */
  epoch: number;
  /** Fills in which the order was the taker, from this batch. */
  fills: FillEntry[];
}

/** The journal entries a stage produced in one market, with lost replies filled in. */
export class JournalCollector {
  readonly fills: FillEntry[] = [];
  readonly closes: CloseEntry[] = [];
  constructor(
    private readonly ctx: EngineContext,
    readonly market: Market,
    public seenFill: number,
    public seenClose: number,
  ) {}

  /**
   * Adds a script's entries. `fillBefore` / `closeBefore` are the market's counters when the
   * script started: anything between what the engine has seen and them is an entry whose
   * reply was lost (a call resent after a dropped connection): it is read back from the stream.
   */
  async add(fillBefore: number, fills: FillEntry[], closeBefore: number, closes: CloseEntry[]): Promise<void> {
    if (fillBefore < this.seenFill || closeBefore < this.seenClose) {
      throw new EngineError("ENGINE_INVARIANT", "market counters are behind the engine's: Redis lost writes", {
        details: { market: this.market.id, fillBefore, closeBefore, seenFill: this.seenFill, seenClose: this.seenClose },
      });
    }
    const redis = this.ctx.deps.redis;
    if (fillBefore > this.seenFill) this.fills.push(...(await readFills(redis, this.market.id, this.seenFill, fillBefore)));
    if (closeBefore > this.seenClose) this.closes.push(...(await readCloses(redis, this.market.id, this.seenClose, closeBefore)));
    for (const f of fills) this.fills.push(f);
    for (const c of closes) this.closes.push(c);
    this.seenFill = fills.length > 0 ? fills[fills.length - 1].fillCtr : fillBefore;
    this.seenClose = closes.length > 0 ? closes[closes.length - 1].closeCtr : closeBefore;
  }
}

export function collectorFor(ctx: EngineContext, collectors: Map<number, JournalCollector>, market: Market): JournalCollector {
  let c = collectors.get(market.id);
  if (!c) {
    const seen = ctx.state.seenCursor(market.id);
    c = new JournalCollector(ctx, market, seen.fill, seen.close);
    collectors.set(market.id, c);
  }
  return c;
}

/**
 * Hands the collected entries to the engine as owed ledger effects (plus `extra` operations),
 * in causal order per market; the cursors advance once they are applied.
 */
export function oweCollected(ctx: EngineContext, collectors: Map<number, JournalCollector>, extra: AccountOp[] = []): void {
  const cursors = new Map<number, Cursor>();
  for (const c of collectors.values()) {
    ctx.state.owe(journalLedgerOps(c.market, c.fills, c.closes, feeAccountOf(ctx, c.market)));
    cursors.set(c.market.id, { fill: c.seenFill, close: c.seenClose });
    if (c.fills.length > 0) ctx.metrics.fills.inc({ market: String(c.market.id) }, c.fills.length);
  }
  ctx.state.owe(extra, cursors);
}

export function matchCall(ctx: EngineContext, market: Market, chunk: readonly MatchItem[], discards: readonly Hex[], now: number, cutoff: number): ScriptCall {
  const k = bookKeys(market.id);
  const j = journalKeys(market.id);
  const args: ScriptArg[] = [
    k.prefix,
    now,
    cutoff,
    market.makerFeeBps,
    market.takerFeeBps,
    market.id.toString(16).padStart(4, "0"),
    ctx.config.maxFillsPerCall,
    chunk.length,
  ];
  for (const it of chunk) args.push([it.hash, "|", it.trader, "|", it.side, "|", it.ticks, "|", it.lots, "|", it.flags, "|", it.expiry, "|", it.req.receivedAt]);
  for (const h of discards) args.push(h);
  return {
    script: MATCH_SCRIPT,
    keys: [marketKeys.meta(market.id), k.state, k.orders, k.payloads, k.bids, k.asks, k.depth, k.expiry, j.accepted, j.fills, j.closed, k.inbox, j.done],
    args,
  };
}

/**
 * Matches locked orders (in the given order within each market). `forceMarkets`: markets to
 * call even without orders (to finish a cut taker). Inbox entries the engine owes a market
 * are discarded with its first call. The ledger effects are owed, not yet applied.
 */
export async function matchStage(
  ctx: EngineContext,
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
  const owedDiscards = ctx.state.takeDiscards(inBatch);
  for (const id of owedDiscards.keys()) if (!queues.has(id)) queues.set(id, []);
  const cutoff = Math.floor(params.now / 1000) + ctx.config.expiryMarginSeconds;
  const collectors = new Map<number, JournalCollector>();
  const outcomes = new Map<Hex, MatchOutcome>();
  const active = new Set(queues.keys());
  const started = performance.now();

  while (active.size > 0) {
    const ids = [...active];
    const chunks = ids.map((id) => queues.get(id)!.slice(0, ctx.config.maxOrdersPerCall));
    const calls = ids.map((id, i) => {
      const discards = owedDiscards.get(id) ?? [];
      owedDiscards.delete(id);
      return matchCall(ctx, ctx.markets.get(id), chunks[i], discards, params.now, cutoff);
    });
    const replies = await ctx.scripts.batch(calls);
    for (let i = 0; i < ids.length; i++) {
      const reply = replies[i];
      const market = ctx.markets.get(ids[i]);
      if (!reply.ok) {
        throw new EngineError("ENGINE_INVARIANT", `match script failed in market ${market.id}: ${reply.error.message}`, { cause: reply.error });
      }
      const [pending, fillBefore, closeBefore, results, fills, closes, continued, epoch] = reply.value as [string, number, number, unknown[], unknown[], unknown[], unknown[], number];
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
      await collectorFor(ctx, collectors, market).add(fillBefore, parseReplyFills(market, fills, takerOf, params.now), closeBefore, parseReplyCloses(market, closes, params.now));
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
          // Accepted now: the market's open epoch. Known already: looked up by the caller.
          epoch: status === "A" ? Number(epoch) : 0,
          fills: [],
        });
      }
      const queue = queues.get(market.id)!;
      queue.splice(0, processed);
      if (queue.length === 0 && pending === "") active.delete(market.id);
    }
  }
  ctx.metrics.batchSeconds.observe({ stage: "match" }, (performance.now() - started) / 1000);

  for (const c of collectors.values()) {
    for (const f of c.fills) outcomes.get(f.takerHash)?.fills.push(f);
  }
  // Refused by the market: the lock is undone as if the order never came; once that is
  // applied, the order leaves the inbox.
  const extra: AccountOp[] = [];
  for (const it of items) {
    if (outcomes.get(it.hash)?.status !== "R") continue;
    extra.push({ chainId: it.market.chainId, trader: it.trader, op: { op: "release", orderHash: it.hash, lockToken: it.side === "b" ? it.market.quoteToken : it.market.baseToken } });
    ctx.state.oweRefused(it.market.id, it.hash);
  }
  oweCollected(ctx, collectors, extra);
  return outcomes;
}
