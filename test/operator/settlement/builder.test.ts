/**
 * The batch builder (operator/settlement/builder.ts) against a real Redis and the real
 * Settlement on anvil: orders signed with real keys, their payloads where the book keeps them,
 * batches built by buildBatch and sent by the operator's key, and the contract's events read
 * back. The chain is reset to the funded state before each test (evm_snapshot / evm_revert).
 */
import { expect } from "chai";
import Redis from "ioredis";
import { decodeFunctionData, type PublicClient, type WalletClient } from "viem";
import { bookKeys, encodeOrderPayload, fillIdOf } from "../../../operator/matching";
import { toCompactSignature, type Hex, type Order } from "../../../operator/orders";
import { settleBatchAbi } from "../../../operator/settlement/abi";
import { buildBatch, loadSignedOrders, signatureFor, type SignedOrder } from "../../../operator/settlement/builder";
import { newIntent, persistIntent } from "../../../operator/settlement/intents";
import type { SettleFill } from "../../../operator/settlement/records";
import { startAnvil, type AnvilNode } from "../../../scripts/lib/anvil";
import { deployLocal, fundAndDeposit, type LocalDeployment } from "../../../scripts/lib/localChain";
import { useRedisServer } from "../../helpers/redis";
import { PRICE, USDC, WETH, settlementEvents, signOrder, testTrader, type SignedTestOrder, type TestTrader } from "./fixture";

const MARKET = 1;
const NONE = { has: () => false };

describe("operator/settlement builder", function () {
  this.timeout(60_000);
  const r = useRedisServer();
  let node: AnvilNode;
  let chain: LocalDeployment;
  let operatorWallet: WalletClient;
  let snapshot: Hex;
  let maker: TestTrader;
  let taker: TestTrader;

  before(async function () {
    node = await startAnvil({ blockTime: 0 });
    chain = await deployLocal(node.url);
    maker = testTrader("builder:maker");
    taker = testTrader("builder:taker");
    for (const t of [maker, taker]) await fundAndDeposit(chain, t.key, { weth: 10n * WETH, usdc: 50_000n * USDC });
    operatorWallet = chain.wallet(chain.keys.operator);
    snapshot = await node.rpc<Hex>("evm_snapshot", []);
  });

  after(async function () {
    await node?.stop();
  });

  beforeEach(async function () {
    await node.rpc("evm_revert", [snapshot]);
    snapshot = await node.rpc<Hex>("evm_snapshot", []);
    maker.nonce = 0n;
    taker.nonce = 0n;
  });

  const redis = () => r.redis as unknown as Redis;
  const deps = () => ({ redis: redis(), chainId: chain.chainId, recorded: NONE });

  /** The book's copy of a signed order, as intake writes it. */
  async function putPayload(o: SignedTestOrder): Promise<void> {
    await redis().hset(bookKeys(MARKET).payloads, o.orderHash, encodeOrderPayload({ market: MARKET, receivedAt: Date.now(), order: o.order, signature: o.signature, orderHash: o.orderHash }));
  }

  function fillOf(ctr: number, ask: SignedTestOrder, bid: SignedTestOrder, baseAmount: bigint): SettleFill {
    return {
      fillId: fillIdOf(MARKET, ctr),
      market: MARKET,
      fillCtr: ctr,
      maker: ask.order.trader,
      taker: bid.order.trader,
      makerHash: ask.orderHash,
      takerHash: bid.orderHash,
      baseAmount,
      makerFeeBps: 2,
      takerFeeBps: 5,
      matchedAt: Date.now(),
      tries: 0,
    };
  }

  /** A resting ask of the maker and a crossing bid of the taker, both in the book. */
  async function crossingPair(): Promise<{ ask: SignedTestOrder; bid: SignedTestOrder }> {
    const ask = signOrder(chain, maker, { isBuy: false, price: PRICE, amount: 2n * WETH });
    const bid = signOrder(chain, taker, { isBuy: true, price: PRICE + 10n * USDC, amount: 2n * WETH });
    await putPayload(ask);
    await putPayload(bid);
    return { ask, bid };
  }

  async function nextBatchId(): Promise<bigint> {
    return (await chain.publicClient.readContract({ address: chain.settlementAddress, abi: settleBatchAbi, functionName: "nextBatchId" })) as bigint;
  }

  /** Sends the calldata with the operator's key; the events of its transaction. */
  async function settle(calldata: Hex) {
    const hash = await operatorWallet.sendTransaction({ to: chain.settlementAddress, data: calldata, account: operatorWallet.account!, chain: chain.chain, gas: 2_000_000n });
    const receipt = await (chain.publicClient as PublicClient).waitForTransactionReceipt({ hash, pollingInterval: 50 });
    expect(receipt.status, "the batch transaction succeeded").to.equal("success");
    return (await settlementEvents(chain, chain.publicClient, receipt.blockNumber)).filter((e) => e.txHash === hash.toLowerCase());
  }

  function signaturesOf(calldata: Hex): { orders: readonly Order[]; signatures: readonly Hex[] } {
    const { args } = decodeFunctionData({ abi: settleBatchAbi, data: calldata });
    const [, orders, signatures] = args as readonly [bigint, readonly Order[], readonly Hex[], readonly bigint[]];
    return { orders, signatures };
  }

  it("sends an ECDSA order's signature in its 64-byte compact form, and the contract settles the batch", async function () {
    const { ask, bid } = await crossingPair();
    const fill = fillOf(1, ask, bid, WETH / 2n);
    const orders = await loadSignedOrders(deps(), [fill], new Map());
    expect([...orders.keys()]).to.have.members([ask.orderHash, bid.orderHash]);

    const batchId = await nextBatchId();
    const built = buildBatch(deps(), batchId, [fill], orders);
    expect(built.missing).to.deep.equal([]);
    expect(built.walletOrders).to.equal(0);
    const { signatures } = signaturesOf(built.calldata);
    const byHash = new Map(built.orderHashes.map((h, i) => [h, signatures[i]]));
    expect(byHash.get(ask.orderHash)).to.equal(toCompactSignature(ask.signature));
    expect(byHash.get(bid.orderHash)).to.equal(toCompactSignature(bid.signature));
    expect(signatures.every((s) => (s.length - 2) / 2 === 64)).to.equal(true);

    const events = await settle(built.calldata);
    expect(events.map((e) => e.kind)).to.deep.equal(["Filled", "BatchSettled"]);
    const filled = events[0] as Extract<(typeof events)[number], { kind: "Filled" }>;
    expect([filled.fillId, filled.makerHash, filled.takerHash, filled.baseAmount]).to.deep.equal([fill.fillId, ask.orderHash, bid.orderHash, WETH / 2n]);
    expect(filled.quoteAmount).to.equal(1_000n * USDC);
    expect(events[1]).to.include({ batchId, fills: 1n, settled: 1n });
  });

  it('sends an order the chain already recorded with the signature "0x", which the contract accepts only for a recorded order', async function () {
    const { ask, bid } = await crossingPair();
    const first = buildBatch(deps(), await nextBatchId(), [fillOf(1, ask, bid, WETH / 4n)], await loadSignedOrders(deps(), [fillOf(1, ask, bid, WETH / 4n)], new Map()));
    expect((await settle(first.calldata)).map((e) => e.kind)).to.deep.equal(["Filled", "BatchSettled"]);

    // Both orders are recorded now: the next fill between them goes without signatures.
    const recorded = new Set<Hex>([ask.orderHash, bid.orderHash]);
    const second = fillOf(2, ask, bid, WETH / 4n);
    const built = buildBatch({ recorded }, await nextBatchId(), [second], await loadSignedOrders(deps(), [second], new Map()));
    expect(signaturesOf(built.calldata).signatures).to.deep.equal(["0x", "0x"]);
    expect(built.walletOrders).to.equal(0);
    const events = await settle(built.calldata);
    expect(events.map((e) => e.kind)).to.deep.equal(["Filled", "BatchSettled"]);
    expect(events[0]).to.include({ fillId: second.fillId });

    // "0x" for an order the chain has never seen is a bad signature: the fill is skipped.
    const other = signOrder(chain, taker, { isBuy: true, price: PRICE, amount: WETH });
    await putPayload(other);
    const third = fillOf(3, ask, other, WETH / 4n);
    const unseen = buildBatch({ recorded: new Set<Hex>([ask.orderHash, other.orderHash]) }, await nextBatchId(), [third], await loadSignedOrders(deps(), [third], new Map()));
    const skipped = await settle(unseen.calldata);
    expect(skipped.map((e) => e.kind)).to.deep.equal(["FillSkipped", "BatchSettled"]);
    expect(skipped[0]).to.include({ fillId: third.fillId, reason: 2 }); // BadSignature
  });

  it("finds a payload the book no longer has in the calldata of the batch the fill was in before, and the contract settles the rebuilt batch", async function () {
    const { ask, bid } = await crossingPair();
    const fill = fillOf(1, ask, bid, WETH / 2n);
    const batchId = await nextBatchId();
    const previous = buildBatch(deps(), batchId, [fill], await loadSignedOrders(deps(), [fill], new Map()));
    await persistIntent(redis(), chain.chainId, {
      intent: newIntent({ batchId, fillIds: [fill.fillId], orderHashes: previous.orderHashes, calldata: previous.calldata, gasLimit: 1_000_000n, estimate: 0n, simulated: false, walletOrders: 0, createdAt: Date.now() }),
      fills: [fill],
      cursors: new Map(),
      dropped: [],
    });
    // The book dropped both orders (retention of finished orders).
    await redis().hdel(bookKeys(MARKET).payloads, ask.orderHash, bid.orderHash);
    expect((await loadSignedOrders(deps(), [fill], new Map())).size, "without the previous batch, nothing").to.equal(0);

    const found = await loadSignedOrders(deps(), [fill], new Map([[fill.fillId, batchId]]));
    expect([...found.keys()]).to.have.members([ask.orderHash, bid.orderHash]);
    expect(found.get(ask.orderHash)!.order).to.deep.equal(ask.order);
    expect(found.get(bid.orderHash)!.order).to.deep.equal(bid.order);
    const rebuilt = buildBatch(deps(), batchId, [fill], found);
    expect(rebuilt.missing).to.deep.equal([]);
    expect(rebuilt.calldata, "the same batch again").to.equal(previous.calldata);
    const events = await settle(rebuilt.calldata);
    expect(events.map((e) => e.kind)).to.deep.equal(["Filled", "BatchSettled"]);
  });

  it("reports a fill whose order is in neither the book nor a previous batch in `missing`, and builds the others", async function () {
    const { ask, bid } = await crossingPair();
    const lost = signOrder(chain, taker, { isBuy: true, price: PRICE, amount: WETH }); // never in the book
    const good = fillOf(1, ask, bid, WETH / 2n);
    const orphan = fillOf(2, ask, lost, WETH / 2n);
    const orders = await loadSignedOrders(deps(), [good, orphan], new Map([[orphan.fillId, 99n]]));
    expect(orders.has(lost.orderHash)).to.equal(false);
    const built = buildBatch(deps(), await nextBatchId(), [good, orphan], orders);
    expect(built.fills.map((f) => f.fillId)).to.deep.equal([good.fillId]);
    expect(built.missing.map((f) => f.fillId)).to.deep.equal([orphan.fillId]);
    expect(built.orderHashes).to.have.members([ask.orderHash, bid.orderHash]);
    const events = await settle(built.calldata);
    expect(events.map((e) => e.kind)).to.deep.equal(["Filled", "BatchSettled"]);
    expect(events[1]).to.include({ fills: 1n, settled: 1n });
  });

  it("sends any other signature exactly as signed and counts its order as a wallet order", function () {
    const a = signOrder(chain, maker, { isBuy: false, price: PRICE, amount: WETH });
    const signed = (signature: Hex): SignedOrder => ({ order: a.order, signature });
    // A 65-byte ECDSA signature by another key (a smart wallet's owner signing for it).
    const byOwner = signOrder(chain, taker, { ...a.order, trader: a.order.trader });
    const foreign = signatureFor(a.orderHash, signed(byOwner.signature), false);
    expect(foreign).to.deep.equal({ signature: byOwner.signature, wallet: true });
    // Arbitrary EIP-1271 bytes.
    const blob = `0x${"ab".repeat(97)}` as Hex;
    expect(signatureFor(a.orderHash, signed(blob), false)).to.deep.equal({ signature: blob, wallet: true });
    // The trader's own signature, already compact, stays compact; a recorded order goes bare.
    const compact = toCompactSignature(a.signature);
    expect(signatureFor(a.orderHash, signed(compact), false)).to.deep.equal({ signature: compact, wallet: false });
    expect(signatureFor(a.orderHash, signed(blob), true)).to.deep.equal({ signature: "0x", wallet: false });
  });
});
