/**
 * The standard mix of the gas benchmark, shared with the small-block test: for a batch of N
 * fills, min(10, N) resting maker orders (from as many maker traders, alternately buying and
 * selling, sized to stay partially filled), N taker orders from ceil(N/2) traders, each taker
 * fully filled by one fill against a maker (makers taken in turn), every order new to the
 * contract. Encoded as the operator sends it: orders sorted by (trader, nonce), fills packed,
 * EIP-2098 64-byte signatures; each trader numbers its own orders 1, 2, 3, ...
 */
import {
  DEFAULT_PRICE,
  ONE_BASE,
  buildOrder,
  deploySettlementFixture,
  fundTraders,
  makeTraders,
  signOrder,
  type SettlementFixture,
  type Trader,
} from "../../test/helpers/settlementFixture";
import { toCompactSignature, type Hex, type Order } from "../../operator/orders";
import { encodeBatch, type EncodedBatch, type Fill } from "../../operator/settlement";

const TAKER_AMOUNT = ONE_BASE / 10n;
const MAKER_FEE_BPS = 2;
const TAKER_FEE_BPS = 5;

export interface Population {
  makers: Trader[];
  takers: Trader[];
}

export function standardPopulation(n: number, label: string): Population {
  return {
    makers: makeTraders(`${label}:maker`, Math.min(10, n)),
    takers: makeTraders(`${label}:taker`, Math.ceil(n / 2)),
  };
}

export interface StandardSetup {
  fx: SettlementFixture;
  pop: Population;
  nonces: Nonces;
  /** The batch id to settle next. */
  batchId: bigint;
}

/**
 * A fresh Settlement with the mix's traders deposited. `steady`: they have also settled one
 * standard batch already (the steady state of the benchmark); else they never traded (cold).
 */
export async function standardSetup(n: number, label: string, steady: boolean): Promise<StandardSetup> {
  const fx = await deploySettlementFixture();
  const pop = standardPopulation(n, label);
  await fundTraders(fx, [...pop.makers, ...pop.takers].map((t) => t.address), ONE_BASE * 1000n, DEFAULT_PRICE * 1000n);
  const nonces: Nonces = new Map();
  let batchId = 1n;
  if (steady) await settleStandardBatch(fx, batchId++, buildStandardBatch(fx, pop, nonces, n, 0n));
  return { fx, pop, nonces, batchId };
}

/** Each trader's own nonce counter, as a wallet keeps it. */
export type Nonces = Map<string, bigint>;
function nextNonceOf(nonces: Nonces, trader: string): bigint {
  const nonce = (nonces.get(trader) ?? 0n) + 1n;
  nonces.set(trader, nonce);
  return nonce;
}

export function buildStandardBatch(fx: SettlementFixture, pop: Population, nonces: Nonces, n: number, fillIdBase: bigint): EncodedBatch {
  const { orders, signatures, fills } = buildStandardOrders(fx, pop, nonces, n, fillIdBase);
  return encodeBatch(orders, signatures, fills);
}

/** The standard batch before encoding: orders in build order, fills indexing into them. */
export interface StandardOrders {
  orders: Order[];
  signatures: Hex[];
  fills: Fill[];
}

export function buildStandardOrders(fx: SettlementFixture, pop: Population, nonces: Nonces, n: number, fillIdBase: bigint): StandardOrders {
  const orders: Order[] = [];
  const signatures: Hex[] = [];
  const fills: Fill[] = [];
  const makerCount = pop.makers.length;
  const takersPerMaker = Math.ceil(n / makerCount);
  for (let m = 0; m < makerCount; m++) {
    const trader = pop.makers[m];
    // Twice what the maker will trade: it stays on the book, partially filled.
    const order = buildOrder(fx, trader.address, {
      isBuy: m % 2 === 0,
      price: DEFAULT_PRICE,
      amount: TAKER_AMOUNT * BigInt(takersPerMaker) * 2n,
      nonce: nextNonceOf(nonces, trader.address),
    });
    orders.push(order);
    signatures.push(toCompactSignature(signOrder(fx, trader, order)));
  }
  for (let t = 0; t < n; t++) {
    const makerIndex = t % makerCount;
    const trader = pop.takers[Math.floor(t / 2)];
    const maker = orders[makerIndex];
    const order = buildOrder(fx, trader.address, {
      isBuy: !maker.isBuy,
      price: maker.isBuy ? DEFAULT_PRICE - 10_000n : DEFAULT_PRICE + 10_000n,
      amount: TAKER_AMOUNT,
      nonce: nextNonceOf(nonces, trader.address),
    });
    fills.push({
      fillId: fillIdBase + BigInt(t),
      makerIndex,
      takerIndex: orders.length,
      baseAmount: TAKER_AMOUNT,
      makerFeeBps: MAKER_FEE_BPS,
      takerFeeBps: TAKER_FEE_BPS,
    });
    orders.push(order);
    signatures.push(toCompactSignature(signOrder(fx, trader, order)));
  }
  return { orders, signatures, fills };
}

/** Settles the batch and returns its gas; throws if any fill was skipped (the mix is all valid). */
export async function settleStandardBatch(fx: SettlementFixture, batchId: bigint, batch: EncodedBatch, gasLimit = 90_000_000): Promise<bigint> {
  const tx = await fx.settlement.connect(fx.operator).settleBatch(batchId, batch.orders, batch.signatures, batch.fills, { gasLimit });
  const receipt = await tx.wait();
  if (!receipt) throw new Error("no receipt");
  const skipped = receipt.logs.filter((log) => log.topics[0] === fx.settlement.interface.getEvent("FillSkipped").topicHash);
  if (skipped.length > 0) {
    const reasons = skipped.map((log) => fx.settlement.interface.parseLog(log)?.args.reason);
    throw new Error(`standard batch skipped ${skipped.length} fills: reasons ${reasons.join(",")}`);
  }
  return receipt.gasUsed;
}

