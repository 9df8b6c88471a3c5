/**
 * Realistic data of the v2 layout for the migration tests, made rather than written by hand:
 * `buildV3State` drives the engine (deposits, resting orders in both fixture markets, fills,
 * an IOC remainder, a cancel, rate buckets, a halted market) and records what it sees, then
 * `downgradeToV2` rewrites that state in the v2 layout, key for key the inverse of
 * operator/migration/migrate.ts. Migrating it back must give the engine's state again.
 */
import { rememberCancel } from "../../../operator/api/cancelReplay";
import type { Balances } from "../../../operator/ledger";
import { marketConfigJson, type Market } from "../../../operator/markets";
import { cancelOrders, getBook, getOrder, placeOrders, stopEngine, type BookSnapshot, type MatchingEngine, type OrderView } from "../../../operator/matching";
import { OrderFlags, type Address, type Hex } from "../../../operator/orders";
import { masterNodes, type RedisClient } from "../../../operator/redis";
import {
  BTC_USDC,
  CHAIN,
  ETH_USDC,
  FEE_ACCOUNT,
  accepted,
  balancesOf,
  dumpKeys,
  fund,
  fundedTotals,
  haltMarketOf,
  request,
  startEngine,
  trader,
} from "../matching/fixtures";

export const A = trader(1);
export const B = trader(2);
export const C = trader(3);
export const D = trader(4);
export const TRADERS: readonly Address[] = [A, B, C, D];
export const MARKETS: readonly Market[] = [ETH_USDC, BTC_USDC];
export const HALT_REASON = "oracle out of range";

/** Rate buckets that never refill, so they have no TTL and cannot expire during a test. */
export const RATE_LIMITS = { place: { capacity: 1_000, refillPerSecond: 0 }, cancel: { capacity: 1_000, refillPerSecond: 0 } };

/** What the engine showed before it stopped: a migrated Redis must show the same. */
export interface EngineView {
  balances: Record<Address, Balances>;
  books: BookSnapshot[];
  orders: OrderView[];
  /** Every order the engine accepted, open or finished. */
  hashes: Hex[];
  /** Open orders by name, to trade against after the migration. */
  resting: { aSells100: Hex; aSells101: Hex; dBuys95: Hex; bBuysBtc50: Hex };
  deposits: Record<Address, bigint>;
}

/** Every key and its value over every master (dumpKeys of each node, merged). */
export async function dumpAll(redis: RedisClient): Promise<Record<string, unknown>> {
  const merged: Record<string, unknown> = {};
  for (const node of masterNodes(redis)) Object.assign(merged, await dumpKeys(node));
  return Object.fromEntries(Object.entries(merged).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Every key over every master. */
export async function allKeys(redis: RedisClient): Promise<string[]> {
  const keys: string[] = [];
  for (const node of masterNodes(redis)) keys.push(...(await node.keys("*")));
  return keys.sort();
}

/** The engine's view of both markets, every order and every party's balances. */
export async function engineView(engine: MatchingEngine, hashes: readonly Hex[]): Promise<Omit<EngineView, "resting" | "hashes" | "deposits">> {
  const balances: Record<Address, Balances> = {};
  for (const t of [...TRADERS, FEE_ACCOUNT]) balances[t] = await balancesOf(engine, { trader: t });
  const books = await Promise.all(MARKETS.map((m) => getBook(engine, { market: m.id, depth: 20 })));
  const orders: OrderView[] = [];
  for (const orderHash of hashes) {
    const view = await getOrder(engine, { orderHash });
    if (view === null) throw new Error(`order ${orderHash} unknown`);
    orders.push(view);
  }
  return { balances, books, orders };
}

/**
 * Runs the engine on an empty Redis until it holds a bit of everything a running exchange
 * has, stops it, and returns what it showed. After it, in WETH-USDC: A sells 3 of 5 left at
 * 100 and 2 at 101, D buys 4 at 95; C's buy at 100 filled, C's IOC buy closed, B's buy at 90
 * cancelled. In WBTC-USDC (halted): B buys 2 of 4 left at 50; C's sell filled. A signed cancel
 * is remembered for A.
 */
export async function buildV3State(redis: RedisClient): Promise<EngineView> {
  const { engine } = await startEngine(redis, { rateLimits: RATE_LIMITS });
  for (const t of TRADERS) await fund(engine, t);
  const [aSells100, aSells101, bBuys90, dBuys95] = (
    await placeOrders(engine, [
      request({ trader: A, isBuy: false, ticks: 100, lots: 5 }),
      request({ trader: A, isBuy: false, ticks: 101, lots: 2 }),
      request({ trader: B, isBuy: true, ticks: 90, lots: 3 }),
      request({ trader: D, isBuy: true, ticks: 95, lots: 4 }),
    ])
  ).map(accepted);
  const cBuys = accepted((await placeOrders(engine, [request({ trader: C, isBuy: true, ticks: 100, lots: 2 })]))[0]);
  if (cBuys.state !== "filled") throw new Error("fixture: C's buy should fill");
  const cIoc = accepted((await placeOrders(engine, [request({ trader: C, isBuy: true, ticks: 99, lots: 9, flags: OrderFlags.IOC })]))[0]);
  if (cIoc.state !== "cancelled") throw new Error("fixture: C's IOC should close");
  const cancelled = await cancelOrders(engine, { trader: B, orderHashes: [bBuys90.orderHash] });
  if (cancelled.status !== "done" || cancelled.results[0].status !== "cancelled") throw new Error("fixture: B's cancel should go through");
  const [bBuysBtc50, cSellsBtc] = (
    await placeOrders(engine, [
      request({ trader: B, market: BTC_USDC, isBuy: true, ticks: 50, lots: 4 }),
      request({ trader: C, market: BTC_USDC, isBuy: false, ticks: 50, lots: 2 }),
    ])
  ).map(accepted);
  await haltMarketOf(engine, { market: BTC_USDC.id, reason: HALT_REASON });
  await rememberCancel({ redis }, { trader: A, digest: `0x${"ab".repeat(32)}`, ttlMs: 3_600_000 });
  const hashes = [aSells100, aSells101, bBuys90, dBuys95, cBuys, cIoc, bBuysBtc50, cSellsBtc].map((r) => r.orderHash);
  const view = await engineView(engine, hashes);
  await stopEngine(engine);
  return {
    ...view,
    hashes,
    resting: { aSells100: aSells100.orderHash, aSells101: aSells101.orderHash, dBuys95: dBuys95.orderHash, bBuysBtc50: bBuysBtc50.orderHash },
    deposits: fundedTotals(TRADERS.length),
  };
}

/** DUMP / RESTORE / DEL (keeps the TTL; works across slots, unlike RENAME on a cluster). */
async function moveKey(redis: RedisClient, from: string, to: string): Promise<void> {
  const [dump, pttl] = await Promise.all([redis.dumpBuffer(from), redis.pttl(from)]);
  if (dump === null) throw new Error(`downgrade: ${from} vanished`);
  await redis.restore(to, pttl > 0 ? pttl : 0, dump, "REPLACE");
  await redis.del(from);
}

/** The v2 market configuration: the canonical JSON of the market, without chainId. */
export function v2ConfigJson(market: Market): string {
  const { chainId: _chainId, ...config } = JSON.parse(marketConfigJson(market)) as Record<string, unknown>;
  return JSON.stringify(config);
}

/**
 * Rewrites the v3 state of the fixture chain in the v2 layout, the inverse of migrateV2ToV3:
 *
 *   hx:v3:ldg:{t:<chain>:<trader>}:<acct|ord|dep>  -> hx:v2:ldg:{t:<trader>}:<same>
 *   hx:v3:rl:{t:<chain>:<trader>}:<place|cancel>   -> hx:v1:rl:{t:<trader>}:<same>
 *   hx:v3:mkt:{m:<id>}:meta                        -> hx:v1:mkt:{m:<id>}:meta, its config without chainId
 *                                                     (status and reason as they are)
 *   hx:v3:jrn:{m:<id>}:accepted|fills|closed       -> hx:v2:book:{m:<id>}:<same>
 *   hx:v3:jrn:{m:<id>}:consumers, "engine" = "d|<fill>|<close>|-"
 *                                                  -> appliedFill / appliedClose of hx:v2:book:{m:<id>}:state
 *   hx:v3:jrn:{m:<id>}:done                        -> dropped (v2 had no done list)
 *   hx:v3:book:{m:<id>}:<anything>                 -> hx:v2:book:{m:<id>}:<same> (state merged with the above)
 *   hx:keyspace                                    -> dropped (v2 wrote no marker)
 *   hx:v1:cancel:*                                 unchanged
 * Values move byte for byte with their TTL. Any other key fails the downgrade (the fixture
 * would no longer be what v2 held).
 */
export async function downgradeToV2(redis: RedisClient): Promise<void> {
  for (const key of await allKeys(redis)) {
    let m: RegExpExecArray | null;
    if ((m = /^hx:v3:ldg:\{t:(\d+):(0x[0-9a-f]{40})\}:(acct|ord|dep)$/.exec(key)) !== null) {
      if (Number(m[1]) !== CHAIN) throw new Error(`downgrade: ledger of another chain ${key}`);
      await moveKey(redis, key, `hx:v2:ldg:{t:${m[2]}}:${m[3]}`);
    } else if ((m = /^hx:v3:rl:\{t:(\d+):(0x[0-9a-f]{40})\}:(place|cancel)$/.exec(key)) !== null) {
      await moveKey(redis, key, `hx:v1:rl:{t:${m[2]}}:${m[3]}`);
    } else if ((m = /^hx:v3:mkt:\{m:(\d+)\}:meta$/.exec(key)) !== null) {
      const meta = await redis.hgetall(key);
      const { chainId: _chainId, ...config } = JSON.parse(meta.config) as Record<string, unknown>;
      await redis.hset(`hx:v1:mkt:{m:${m[1]}}:meta`, { ...meta, config: JSON.stringify(config) });
      await redis.del(key);
    } else if ((m = /^hx:v3:jrn:\{m:(\d+)\}:(accepted|fills|closed)$/.exec(key)) !== null) {
      await moveKey(redis, key, `hx:v2:book:{m:${m[1]}}:${m[2]}`);
    } else if ((m = /^hx:v3:jrn:\{m:(\d+)\}:consumers$/.exec(key)) !== null) {
      const consumers = await redis.hgetall(key);
      const cursor = /^d\|(\d+)\|(\d+)\|-$/.exec(consumers.engine ?? "");
      if (cursor === null || Object.keys(consumers).length !== 1) throw new Error(`downgrade: v2 knew only the engine's cursor, got ${JSON.stringify(consumers)}`);
      await redis.hset(`hx:v2:book:{m:${m[1]}}:state`, "appliedFill", cursor[1], "appliedClose", cursor[2]);
      await redis.del(key);
    } else if (/^hx:v3:jrn:\{m:\d+\}:done$/.test(key) || key === "hx:keyspace") {
      await redis.del(key);
    } else if ((m = /^hx:v3:book:\{m:(\d+)\}:state$/.exec(key)) !== null) {
      await redis.hset(`hx:v2:book:{m:${m[1]}}:state`, await redis.hgetall(key));
      await redis.del(key);
    } else if ((m = /^hx:v3:book:\{m:(\d+)\}:(.+)$/.exec(key)) !== null) {
      await moveKey(redis, key, `hx:v2:book:{m:${m[1]}}:${m[2]}`);
    } else if (!key.startsWith("hx:v1:cancel:")) {
      throw new Error(`downgrade: no v2 counterpart for ${key}`);
    }
  }
}

/** Keys a migration leaves out on purpose: rate buckets (dropped), done lists (rebuilt), the marker. */
export const NOT_COMPARED = /^hx:v3:rl:|^hx:v3:jrn:\{m:\d+\}:done$|^hx:keyspace$/;

export function withoutUncompared(dump: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(dump).filter(([k]) => !NOT_COMPARED.test(k)));
}

/** A done list's order hashes, sorted ("<seq>|<fill>|<close>|<ts>|<hash>"). */
export async function doneHashes(redis: RedisClient, marketId: number): Promise<string[]> {
  const entries = await redis.lrange(`hx:v3:jrn:{m:${marketId}}:done`, 0, -1);
  return entries.map((e) => e.split("|")[4]).sort();
}

/**
 * Every done list with the time of each entry blanked (a migration lists orders at its own
 * time) and sorted (it lists a market's orders in HSCAN order, all with the same counters).
 */
export async function doneListsWithoutTimes(redis: RedisClient): Promise<Record<number, string[]>> {
  const out: Record<number, string[]> = {};
  for (const m of MARKETS) {
    out[m.id] = (await redis.lrange(`hx:v3:jrn:{m:${m.id}}:done`, 0, -1)).map((e) => e.split("|").map((p, i) => (i === 3 ? "<ts>" : p)).join("|")).sort();
  }
  return out;
}

/** Every key's DUMP and TTL, to put a Redis back exactly as it was (restoreKeys). */
export type KeySnapshot = Map<string, { dump: Buffer; pttl: number }>;

export async function snapshotKeys(redis: RedisClient): Promise<KeySnapshot> {
  const snapshot: KeySnapshot = new Map();
  for (const key of await allKeys(redis)) {
    const [dump, pttl] = await Promise.all([redis.dumpBuffer(key), redis.pttl(key)]);
    if (dump !== null) snapshot.set(key, { dump, pttl });
  }
  return snapshot;
}

/** Empties every master and restores the snapshot. */
export async function restoreKeys(redis: RedisClient, snapshot: KeySnapshot): Promise<void> {
  for (const node of masterNodes(redis)) await node.flushall();
  for (const [key, { dump, pttl }] of snapshot) await redis.restore(key, pttl > 0 ? pttl : 0, dump);
}
