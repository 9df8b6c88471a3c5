/**
 * The demo's trading, over the operator's public HTTP API only (every order signed by its
 * trader, EIP-712):
 *
 *  - a market maker quotes a ladder (10 bids and 10 asks, 1 WETH each, 0.50 USDC apart) around
 *    a mid that wanders, and re-quotes every second: the new ladder first, then one signed
 *    cancel of the old ladder's orders (so the book is never empty);
 *  - takers send orders at random: 60% immediate-or-cancel orders that cross the spread, 40%
 *    limit orders that rest near the mid (where other takers hit them); each keeps at most
 *    three resting and cancels the oldest, one by one;
 *  - now and then, orders refused for cause (sendRefusedOrders);
 *  - at the end, everyone cancels everything left in the market at once (cancelAll).
 */
import type { Address } from "../../operator/orders";
import { TICK, USDC, WETH, LOT } from "../lib/stack";
import { sleep, type OrderStats } from "./stats";
import { DemoTrader, type ApiReply } from "./trader";

/** 2,000.00 USDC per WETH, in quote atoms per 10^18 base atoms. */
export const MID = 2_000n * USDC;
/** The mid wanders at most this far from MID (20 USDC). */
const MAX_DRIFT_TICKS = 2_000n;

export interface Pair {
  baseToken: Address;
  quoteToken: Address;
}

/** A small deterministic generator (mulberry32), so that a run can be replayed with DEMO_SEED. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function cancelledIn(reply: ApiReply): number {
  if (reply.status !== 200) return 0;
  if (Array.isArray(reply.body.results)) return reply.body.results.filter((r: { status?: string }) => r.status === "cancelled").length;
  return reply.body.status === "cancelled" ? 1 : 0;
}

export class DemoMarket {
  mid = MID;
  private stopped = false;
  private ladder: `0x${string}`[] = [];

  constructor(
    private readonly deps: { maker: DemoTrader; takers: readonly DemoTrader[]; stats: OrderStats; rng: () => number },
    private readonly pair: Pair,
  ) {}

  /** The maker's first ladder (before the takers start). */
  async quote(): Promise<void> {
    const { maker, stats } = this.deps;
    const orders = [];
    for (let i = 1n; i <= 10n; i++) {
      orders.push(maker.order({ ...this.pair, isBuy: true, price: this.mid - i * 50n * TICK, amount: WETH }));
      orders.push(maker.order({ ...this.pair, isBuy: false, price: this.mid + i * 50n * TICK, amount: WETH }));
    }
    const reply = await maker.place(orders);
    stats.record(reply, orders.length);
    const old = this.ladder;
    this.ladder = (reply.body.results ?? []).filter((r: { state?: string }) => r.state === "open").map((r: { orderHash: `0x${string}` }) => r.orderHash);
    if (old.length > 0) stats.cancelled.requote += cancelledIn(await maker.cancel({ orderHashes: old }));
  }

  /** Trades until `until` (ms since the epoch), then stops sending. */
  async run(until: number): Promise<void> {
    const timeLeft = () => !this.stopped && Date.now() < until;
    const makerLoop = async () => {
      while (timeLeft()) {
        await sleep(1_000);
        if (!timeLeft()) break;
        const step = BigInt(Math.round((this.deps.rng() - 0.5) * 40)) * TICK;
        const next = this.mid + step;
        if (next > MID - MAX_DRIFT_TICKS * TICK && next < MID + MAX_DRIFT_TICKS * TICK) this.mid = next;
        await this.quote();
      }
    };
    await Promise.all([makerLoop(), ...this.deps.takers.map((t) => this.takerLoop(t, timeLeft))]);
  }

  stop(): void {
    this.stopped = true;
  }

  private async takerLoop(t: DemoTrader, timeLeft: () => boolean): Promise<void> {
    const { rng, stats } = this.deps;
    const resting: `0x${string}`[] = [];
    while (timeLeft()) {
      await sleep(150 + rng() * 300);
      if (!timeLeft()) break;
      const isBuy = rng() < 0.5;
      const amount = BigInt(100 + Math.floor(rng() * 400)) * LOT; // 0.1 to 0.5 WETH
      const ioc = rng() < 0.6;
      // An IOC order crosses up to 5 of the maker's levels; a limit order rests up to 0.90 USDC
      // from the mid, inside the maker's spread or behind its best level.
      const offset = ioc ? 260n : -BigInt(1 + Math.floor(rng() * 90));
      const price = isBuy ? this.mid + offset * TICK : this.mid - offset * TICK;
      const reply = await t.place([t.order({ ...this.pair, isBuy, price, amount, flags: ioc ? 2 : 0 })]);
      stats.record(reply, 1);
      if (!ioc && reply.status === 201 && reply.body.state === "open") resting.push(reply.body.orderHash);
      if (resting.length > 3) {
        const cancel = await t.cancel({ orderHashes: [resting.shift()!] });
        if (cancelledIn(cancel) === 1) stats.cancelled.oneByOne++;
        else if (cancel.body.error?.code === "ORDER_NOT_OPEN") stats.cancelled.tooLate++;
      }
    }
  }

  /** Everyone cancels everything it has in the market, in one signed cancel each. */
  async cancelAll(traders: readonly DemoTrader[]): Promise<void> {
    for (const t of traders) this.deps.stats.cancelled.atEnd += cancelledIn(await t.cancel(this.pair));
  }
}

export interface RefusalOutcome {
  what: string;
  expected: string;
  status: number;
  code: string | undefined;
}

/**
 * Orders the operator must refuse, each for its own reason, sent by `t` (which has funds for
 * everything else): expired, off the tick grid, more than it owns, signed for another chain,
 * tampered with after signing, post-only crossing the book, not JSON.
 */
export async function sendRefusedOrders(t: DemoTrader, otherChain: DemoTrader, pair: Pair, mid: bigint, stats: OrderStats): Promise<RefusalOutcome[]> {
  const now = BigInt(Math.floor(Date.now() / 1000));
  const out: RefusalOutcome[] = [];
  const send = async (what: string, expected: string, reply: Promise<ApiReply>) => {
    const r = await reply;
    out.push({ what, expected, status: r.status, code: stats.recordForCause(r) });
  };
  await send("expired a minute ago", "ORDER_EXPIRED", t.place([t.order({ ...pair, isBuy: true, price: mid, amount: WETH, expiry: now - 60n })]));
  await send("price off the tick grid", "PRICE_OFF_TICK", t.place([t.order({ ...pair, isBuy: true, price: mid + 3n, amount: WETH })]));
  await send("10,000 WETH, unfunded", "INSUFFICIENT_FUNDS", t.place([t.order({ ...pair, isBuy: true, price: mid, amount: 10_000n * WETH })]));
  await send("signed for chain 999", "SIGNER_MISMATCH", otherChain.place([otherChain.order({ ...pair, isBuy: true, price: mid, amount: WETH })]));
  const signed = t.sign(t.order({ ...pair, isBuy: false, price: mid, amount: WETH }));
  const o = signed.order;
  const tampered = {
    order: { ...o, amount: (o.amount * 2n).toString(), price: o.price.toString(), nonce: o.nonce.toString(), expiry: o.expiry.toString() },
    signature: signed.signature,
  };
  await send("amount doubled after signing", "SIGNER_MISMATCH", post(t, tampered));
  await send("post-only, would cross", "POST_ONLY_WOULD_CROSS", t.place([t.order({ ...pair, isBuy: true, price: mid + 1_000n * TICK, amount: WETH, flags: 1 })]));
  await send("not JSON", "BODY_NOT_JSON", post(t, "{not json"));
  return out;
}

async function post(t: DemoTrader, body: unknown): Promise<ApiReply> {
  const response = await fetch(`${t.apiUrl}/v1/orders`, { method: "POST", headers: { "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });
  return { status: response.status, body: await response.json(), ms: 0 };
}
