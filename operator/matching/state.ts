/**
 * The matching engine's mutable state, behind one object: the journal cursors (what the
 * engine has applied to the ledgers, and what it has seen), the ledger effects it owes, the
 * inbox entries it must discard, and whether it must resynchronise from Redis. The stages
 * (./place.ts, ./match.ts, ./ledgerRound.ts, ./cancel.ts, ./recovery.ts) change it only
 * through these methods.
 *
 * All of it is volatile: Redis holds the truth (the journal, the inboxes, the ledgers, the
 * engine's persisted cursor), and a resynchronisation rebuilds this state from it.
 */
import { randomBytes } from "node:crypto";
import type { AccountOp } from "../ledger/types";
import type { Hex } from "../orders";

/** Position in a market's journal (fill and close counters). */
export interface Cursor {
  fill: number;
  close: number;
}

/** Ledger effects collected but not yet applied (see ./ledgerRound.ts). */
export interface Owed {
  entries: AccountOp[];
  /** The applied cursors once these entries are applied. */
  cursors: Map<number, Cursor>;
  /** Orders refused by their market: inbox discards once their release is applied. */
  refused: Map<number, Hex[]>;
  /** Run once the entries are applied (or abandoned to a resynchronisation). */
  settle: (() => void)[];
}

function emptyOwed(): Owed {
  return { entries: [], cursors: new Map(), refused: new Map(), settle: [] };
}

/** Resynchronisation owed before the next job. */
export interface ResyncNeed {
  reason: string;
}

export class EngineState {
  /** Applied cursors: every journal entry up to them is applied to the ledgers. */
  private readonly applied = new Map<number, Cursor>();
  /** Seen cursors: every journal entry up to them is applied or owed. */
  private readonly seen = new Map<number, Cursor>();
  /** Markets whose applied cursor this engine moved (only those are written back on stop). */
  private readonly moved = new Set<number>();
  private owed: Owed = emptyOwed();
  /**
   * Inbox entries to drop with the market's next match call: orders whose lock was refused,
   * or whose lock was released after the market refused them (see intake.lua).
   */
  private readonly discards = new Map<number, Set<Hex>>();
  private resync: ResyncNeed | undefined;
  /** Prefix of lock call ids: unique per engine run. */
  private readonly runId = randomBytes(6).toString("hex");
  private lockSeq = 0;

  // ---------------------------------------------------------------- cursors

  appliedCursor(marketId: number): Readonly<Cursor> {
    return this.applied.get(marketId) ?? { fill: 0, close: 0 };
  }

  seenCursor(marketId: number): Readonly<Cursor> {
    return this.seen.get(marketId) ?? this.appliedCursor(marketId);
  }

  /** Sets both cursors of a market: what Redis says was applied (start, recovery). */
  loadCursor(marketId: number, cursor: Cursor): void {
    this.applied.set(marketId, { ...cursor });
    this.seen.set(marketId, { ...cursor });
  }

  /** Markets whose applied cursor this engine has moved since it started. */
  movedMarkets(): number[] {
    return [...this.moved];
  }

  // ---------------------------------------------------------------- owed ledger effects

  /**
   * Owes the ledger effects of journal entries (and `extra` operations) and moves the seen
   * cursors; the applied cursors follow once a ledger round applies them.
   */
  owe(entries: Iterable<AccountOp>, cursors: ReadonlyMap<number, Cursor> = new Map()): void {
    for (const e of entries) this.owed.entries.push(e);
    for (const [id, c] of cursors) {
      this.owed.cursors.set(id, { ...c });
      this.seen.set(id, { ...c });
    }
  }

  /** Orders the market refused: their inbox entries go once their release is applied. */
  oweRefused(marketId: number, hash: Hex): void {
    const list = this.owed.refused.get(marketId);
    if (list) list.push(hash);
    else this.owed.refused.set(marketId, [hash]);
  }

  /** Runs `callback` once what is owed now is applied (or abandoned to a resynchronisation). */
  whenApplied(callback: () => void): void {
    this.owed.settle.push(callback);
  }

  hasOwed(): boolean {
    const o = this.owed;
    return o.entries.length > 0 || o.cursors.size > 0 || o.refused.size > 0 || o.settle.length > 0;
  }

  takeOwed(): Owed {
    const owed = this.owed;
    this.owed = emptyOwed();
    return owed;
  }

  /**
   * A taken Owed was applied: the applied cursors advance, refused orders may leave their
   * inbox. Returns the markets whose cursor moved (to persist).
   */
  markApplied(owed: Owed): number[] {
    for (const [id, cursor] of owed.cursors) {
      this.applied.set(id, { ...cursor });
      this.moved.add(id);
    }
    for (const [id, list] of owed.refused) this.addDiscards(id, list);
    return [...owed.cursors.keys()];
  }

  // ---------------------------------------------------------------- inbox discards

  addDiscards(marketId: number, hashes: Iterable<Hex>): void {
    let set = this.discards.get(marketId);
    if (!set) {
      set = new Set();
      this.discards.set(marketId, set);
    }
    for (const h of hashes) set.add(h);
  }

  hasDiscards(): boolean {
    return this.discards.size > 0;
  }

  /**
   * Takes the owed discards, per market, except hashes in `keep` (being matched in this very
   * batch: intake took them in again; they wait for a later call, where the market will know
   * them and only their inbox entry goes).
   */
  takeDiscards(keep: ReadonlySet<Hex>): Map<number, Hex[]> {
    const out = new Map<number, Hex[]>();
    for (const [id, set] of this.discards) {
      const list: Hex[] = [];
      for (const h of set) {
        if (keep.has(h)) continue;
        list.push(h);
        set.delete(h);
      }
      if (set.size === 0) this.discards.delete(id);
      if (list.length > 0) out.set(id, list);
    }
    return out;
  }

  // ---------------------------------------------------------------- resynchronisation

  needResync(reason: string): void {
    this.resync = { reason: this.resync ? `${this.resync.reason}+${reason}` : reason };
  }

  /** The resynchronisation owed, if any (still owed until takeResync). */
  get pendingResync(): ResyncNeed | undefined {
    return this.resync;
  }

  takeResync(): ResyncNeed | undefined {
    const need = this.resync;
    this.resync = undefined;
    return need;
  }

  /**
   * Forgets what memory holds about the journal and the inboxes; a resynchronisation rebuilds
   * it from Redis (owed journal entries are re-read after the applied cursor; refused orders
   * are still in their inbox). Returns the owed callbacks, to run once the resynchronisation
   * is over (their matching outcome stands either way).
   */
  forgetVolatile(): (() => void)[] {
    const owed = this.takeOwed();
    this.seen.clear();
    this.discards.clear();
    return owed.settle;
  }

  // ---------------------------------------------------------------- lock ids

  /** A fresh lock call id: `<run>:<n>`. */
  nextLockId(): string {
    return `${this.runId}:${++this.lockSeq}`;
  }
}
