import { expect } from "chai";
import { encodeAbiParameters, keccak256, numberToHex, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { RunningOperator } from "../../operator/daemon/start";
import { balanceField, ledgerKeys } from "../../operator/ledger";
import { createLogger } from "../../operator/log";
import { getMarketStatus, resumeMarket } from "../../operator/markets";
import { encodeSignedOrder, type Address, type Order } from "../../operator/orders";
import type { RedisClient } from "../../operator/redis";
import type { ChainReport, RoundResult, TokenReport } from "../../operator/reconciler";
import { settleKeys } from "../../operator/settlement/keys";
import { get, post, type ApiReply, type DemoTrader } from "../../scripts/demo/trader";
import type { LocalDeployment } from "../../scripts/lib/localChain";
import { deposit, fundTradersOn, MARKET_A, MARKET_B, MARKET_FOT, mintTo, startTwoChains, transfer, type TwoChains } from "../../scripts/lib/twoChains";
import { MID, TICK, until, USDC, WETH } from "./faults/harness";

const BALANCES_SLOT = 7n; // Settlement._balances (artifacts/build-info storage layout; as test/e2e/reconciler.test.ts)
const TOTALS_SLOT = 8n; // Settlement._totals

function balanceSlot(trader: Address, token: Address): Hex {
  const inner = keccak256(encodeAbiParameters([{ type: "address" }, { type: "uint256" }], [trader, BALANCES_SLOT]));
  return keccak256(encodeAbiParameters([{ type: "address" }, { type: "bytes32" }], [token, inner]));
}
function totalSlot(token: Address): Hex {
  return keccak256(encodeAbiParameters([{ type: "address" }, { type: "uint256" }], [token, TOTALS_SLOT]));
}
async function storageAdd(d: LocalDeployment, slot: Hex, delta: bigint): Promise<void> {
  const current = BigInt((await d.publicClient.getStorageAt({ address: d.settlementAddress, slot })) ?? "0x0");
  await d.publicClient.request({ method: "anvil_setStorageAt" as never, params: [d.settlementAddress, slot, numberToHex(current + delta, { size: 32 })] as never });
}

/**
 * The reconciler over two chains with different chain ids (31337 and 31338), one operator
 * serving both: the same pair of token addresses trades on each (WETH-USDC on A, ETH-USDC on
 * B; orders name their chain by their domain). Zero drift while both trade and settle; a fault on chain B is attributed
 * to chain B and halts chain B's market only; a fee-on-transfer token is judged right; an RPC
 * outage of chain A is "unknown" there and halts nothing.
 */
describe("reconciler over two chains (e2e: two anvil nodes + Redis + operator)", function () {
  this.timeout(240_000);
  const logger = createLogger({ level: "silent" });
  const amounts = { weth: 5n * WETH, usdc: 20_000n * USDC };
  let two: TwoChains;
  let operator: RunningOperator;
  let redis: RedisClient;
  let A: LocalDeployment;
  let B: LocalDeployment;
  /** The same four traders (same keys) on each chain, signing for that chain's domain. */
  let onA: DemoTrader[];
  let onB: DemoTrader[];

  const run = (): Promise<RoundResult> => operator.reconciler!.runOnce();
  const chainOf = (r: RoundResult, chainId: number): ChainReport => r.report.chains.find((c) => c.chainId === chainId)!;
  const tokenOf = (c: ChainReport, token: Address): TokenReport => c.tokens.find((t) => t.token === token.toLowerCase())!;
  const lower = (a: string): Address => a.toLowerCase() as Address;
  const show = (r: RoundResult): string =>
    JSON.stringify(r.report.chains.map((c) => ({ chain: c.chainId, status: c.status, drifts: c.drifts.map((d) => [d.token, d.trader, String(d.drift)]) })));

  /** Places orders signed for the trader's chain, with the domain on the wire (the pair trades on both chains). */
  async function place(t: DemoTrader, orders: Order[]): Promise<ApiReply> {
    const signed = orders.map((o) => encodeSignedOrder({ ...t.sign(o), domain: t.domain }));
    return post(`${t.apiUrl}/v1/orders`, signed.length === 1 ? signed[0] : { orders: signed });
  }

  function pair(d: LocalDeployment): { baseToken: Address; quoteToken: Address } {
    return { baseToken: d.wethAddress, quoteToken: d.usdcAddress };
  }

  async function matchPairOn(d: LocalDeployment, maker: DemoTrader, taker: DemoTrader): Promise<void> {
    const ask = await place(maker, [maker.order({ ...pair(d), isBuy: false, price: MID + 5n * TICK, amount: WETH / 10n })]);
    expect(ask.status, `the ask on chain ${d.chainId}: ${JSON.stringify(ask.body)}`).to.equal(201);
    const bid = await place(taker, [taker.order({ ...pair(d), isBuy: true, price: MID + 50n * TICK, amount: WETH / 10n })]);
    expect(bid.status, `the bid on chain ${d.chainId}: ${JSON.stringify(bid.body)}`).to.equal(201);
    expect(bid.body.state, `the bid on chain ${d.chainId}: ${JSON.stringify(bid.body)}`).to.equal("filled");
  }

  /** A resting bid far below the market (never fills): intake's answer for that market. */
  function restingBid(t: DemoTrader, base: Address, quote: Address): Promise<ApiReply> {
    return place(t, [t.order({ baseToken: base, quoteToken: quote, isBuy: true, price: MID - 500n * TICK, amount: WETH / 100n })]);
  }

  async function available(d: LocalDeployment, trader: Address, token: Address): Promise<bigint> {
    const { body } = await get(`${two.apiUrl}/v1/accounts/${trader}/balances?chainId=${d.chainId}`).catch(() => ({ body: undefined }));
    return BigInt(body?.chains?.[0]?.balances?.[token]?.available ?? body?.chains?.[0]?.balances?.[lower(token)]?.available ?? -1);
  }

  async function waitCreditedOn(d: LocalDeployment, traders: readonly DemoTrader[]): Promise<void> {
    for (const t of traders) {
      await until(`${t.name}'s deposits credited on chain ${d.chainId}`, 30_000, async () => (await available(d, t.address, d.wethAddress)) === amounts.weth && (await available(d, t.address, d.usdcAddress)) === amounts.usdc);
    }
  }

  /** Waits until the watcher of `d` has applied `block`: the reconciler reads at the applied block. */
  async function applied(d: LocalDeployment, block: bigint): Promise<void> {
    await until(`chain ${d.chainId}'s watcher past block ${block}`, 20_000, async () => BigInt((await redis.hget(`hx:v3:watch:{c:${d.chainId}}:cursor`, "block")) ?? -1) >= block);
  }

  async function settlerIdle(d: LocalDeployment): Promise<boolean> {
    const k = settleKeys(d.chainId);
    return (await redis.hlen(k.fills)) + (await redis.hlen(k.retry)) + (await redis.hlen(k.drop)) === 0;
  }

  before(async () => {
    const started = Date.now();
    // The daemon's own reconciler, driven by runOnce() here: its loop waits an hour between
    // rounds, so no round of the loop races the test's.
    two = await startTwoChains({ env: { HYPERINDEX_RECONCILE_INTERVAL_MS: "3600000", HYPERINDEX_RECONCILE_DRIFT_THRESHOLD: "0", HYPERINDEX_RECONCILE_HALT: "true" } });
    [A, B] = two.chains;
    expect([A.chainId, B.chainId]).to.deep.equal([31337, 31338]);
    operator = await two.startOperator({ logger });
    expect(operator.reconciler, "the daemon's reconciler").to.not.equal(undefined);
    redis = two.redisClient();
    const names = ["a", "b", "c", "d"];
    [onA, onB] = await Promise.all([fundTradersOn(A, two.apiUrl, "rec", names, amounts), fundTradersOn(B, two.apiUrl, "rec", names, amounts)]);
    expect(onA.map((t) => t.address)).to.deep.equal(onB.map((t) => t.address)); // one trader, two chains
    await Promise.all([waitCreditedOn(A, onA), waitCreditedOn(B, onB)]);
    console.log(`      (two chains, contracts, Redis, operator and deposits ready in ${Date.now() - started} ms)`);
  });

  after(async () => {
    two?.proxyA.restore();
    redis?.disconnect();
    await operator?.stop();
    await two?.stop();
  });

  it("reports zero drift on both chains every round while pairs match and settle on each, with cross-chain totals per asset the sum of the chains", async () => {
    for (let i = 0; i < 6; i++) {
      await matchPairOn(A, onA[i % 2], onA[1 - (i % 2)]);
      await matchPairOn(B, onB[2 + (i % 2)], onB[3 - (i % 2)]);
      const r = await run();
      expect(r.report.status, show(r)).to.equal("ok");
      expect(r.report.chains.map((c) => [c.chainId, c.status])).to.deep.equal([
        [A.chainId, "ok"],
        [B.chainId, "ok"],
      ]);
      expect(r.report.alerts).to.deep.equal([]);
      expect(r.halts).to.deep.equal([]);
    }
    const r = await until("every fill settled on both chains", 60_000, async () => {
      if (!(await settlerIdle(A)) || !(await settlerIdle(B))) return undefined;
      const round = await run();
      return round.report.chains.every((c) => c.tokens.every((t) => t.pendingOut === 0n && t.pendingIn === 0n)) ? round : undefined;
    });
    expect(r.report.status, show(r)).to.equal("ok");
    for (const d of [A, B]) {
      const chain = chainOf(r, d.chainId);
      for (const t of chain.tokens) {
        expect([t.symbol, t.onChain, t.drift, t.surplus, t.deficit, t.untracked], `chain ${d.chainId} ${t.symbol}`).to.deep.equal([t.symbol, t.ledger, 0n, 0n, 0n, 0n]);
        expect(t.holdings).to.equal(t.internalTotal);
      }
      // Trades moved value between traders on each chain, not across chains.
      expect(tokenOf(chain, d.usdcAddress).ledger).to.equal(4n * amounts.usdc);
      expect(tokenOf(chain, d.wethAddress).ledger).to.equal(4n * amounts.weth);
      expect(r.rpcRequests[d.chainId], `requests of chain ${d.chainId}`).to.be.within(1, 2);
    }
    // USDC trades on both chains: one asset, its totals the sum of the two chains.
    const usdc = r.report.assets.find((x) => x.symbol === "USDC")!;
    const rows = [A, B].map((d) => tokenOf(chainOf(r, d.chainId), d.usdcAddress));
    expect(usdc.chains).to.have.members([A.chainId, B.chainId]);
    expect(usdc.unknownChains).to.deep.equal([]);
    expect([usdc.ledger, usdc.onChain, usdc.internalTotal, usdc.holdings, usdc.drift, usdc.surplus, usdc.deficit]).to.deep.equal([
      rows[0].ledger + rows[1].ledger,
      rows[0].onChain + rows[1].onChain,
      rows[0].internalTotal + rows[1].internalTotal,
      rows[0].holdings + rows[1].holdings,
      0n,
      0n,
      0n,
    ]);
    // Chain A's market calls it WETH-USDC, chain B's ETH-USDC (market names are unique across
    // chains): the tokens' own symbol() joins them into one asset.
    const weth = r.report.assets.find((x) => x.symbol === "WETH")!;
    expect(weth.chains).to.deep.equal([A.chainId, B.chainId]);
    expect(weth.ledger).to.equal(amounts.weth * 8n);
    expect(r.report.assets.find((x) => x.symbol === "ETH")).to.equal(undefined);
    expect(r.report.assets.find((x) => x.symbol === "USDC")!.ledger).to.equal(8n * amounts.usdc);
  });

  it("attributes a ledger balance edited behind the engine's back on chain B to chain B, WETH and that trader, and halts chain B's ETH-USDC market only until it is resumed", async () => {
    const trader = lower(onB[2].address);
    const weth = lower(B.wethAddress);
    const key = ledgerKeys(B.chainId, trader).acct;
    const field = balanceField(weth, "a");
    await redis.hincrby(key, field, 123);
    let undone = false;
    try {
      const r = await run();
      expect(r.report.status).to.equal("drift");
      expect(chainOf(r, A.chainId).status).to.equal("ok");
      expect(chainOf(r, A.chainId).drifts).to.deep.equal([]);
      expect(chainOf(r, B.chainId).status).to.equal("drift");
      expect(chainOf(r, B.chainId).drifts.map((d) => [d.chainId, d.token, d.trader, d.drift])).to.deep.equal([[B.chainId, weth, trader, -123n]]);
      // Same token address and same trader on chain A: untouched there.
      expect(tokenOf(chainOf(r, A.chainId), A.wethAddress).drift).to.equal(0n);
      expect(r.report.alerts.map((a) => [a.chainId, a.token, a.absDrift])).to.deep.equal([[B.chainId, weth, 123n]]);
      expect(r.halts.map((h) => h.marketId)).to.deep.equal([MARKET_B]);
      const status = await getMarketStatus({ redis, logger }, { marketId: MARKET_B });
      expect(status?.status).to.equal("halted");
      expect(status?.reason).to.contain(`chain ${B.chainId}`).and.contain(trader).and.contain(`resume-market ${MARKET_B}`);
      expect((await getMarketStatus({ redis, logger }, { marketId: MARKET_A }))?.status).to.equal("active");
      expect((await getMarketStatus({ redis, logger }, { marketId: MARKET_FOT }))?.status).to.equal("active"); // chain B, but no WETH

      const refused = await restingBid(onB[0], B.wethAddress, B.usdcAddress);
      expect(refused.status).to.not.equal(201);
      expect(JSON.stringify(refused.body)).to.contain("MARKET_HALTED");
      const onChainA = await restingBid(onA[0], A.wethAddress, A.usdcAddress);
      expect(onChainA.status, JSON.stringify(onChainA.body)).to.equal(201);
      const fotMarket = await restingBid(onB[0], two.fot.address, B.usdcAddress);
      expect(fotMarket.status, JSON.stringify(fotMarket.body)).to.equal(201);
      // The same figure next round: no second alert, no second halt.
      expect((await run()).halts).to.deep.equal([]);

      await redis.hincrby(key, field, -123);
      undone = true;
      const fixed = await run();
      expect(fixed.report.status, show(fixed)).to.equal("ok");
      // Back within the threshold, but the market stays halted until an operator resumes it.
      expect((await getMarketStatus({ redis, logger }, { marketId: MARKET_B }))?.status).to.equal("halted");
    } finally {
      if (!undone) await redis.hincrby(key, field, -123);
    }
    await resumeMarket({ redis, logger }, { marketId: MARKET_B });
    const accepted = await restingBid(onB[0], B.wethAddress, B.usdcAddress);
    expect(accepted.status, JSON.stringify(accepted.body)).to.equal(201);
  });

  it("attributes a vault balance changed on chain B by a path the ledger never saw to chain B, USDC and that trader, and halts chain B's USDC markets only, not chain A's market on the same USDC address", async () => {
    const trader = lower(onB[1].address);
    const usdc = lower(B.usdcAddress);
    expect(usdc).to.equal(lower(A.usdcAddress)); // the same address on both chains
    const edit = async (delta: bigint): Promise<void> => {
      await storageAdd(B, balanceSlot(trader, usdc), delta);
      await storageAdd(B, totalSlot(usdc), delta);
      await applied(B, (await B.publicClient.getBlockNumber()) + 1n); // the reconciler reads at the watcher's block
    };
    await edit(5n);
    let undone = false;
    try {
      const r = await run();
      expect(chainOf(r, A.chainId).status).to.equal("ok");
      expect(chainOf(r, B.chainId).drifts.map((d) => [d.chainId, d.token, d.trader, d.drift])).to.deep.equal([[B.chainId, usdc, trader, 5n]]);
      expect(tokenOf(chainOf(r, B.chainId), usdc).deficit).to.equal(5n); // credited without tokens: the vault cannot pay it
      expect(r.report.alerts.map((a) => [a.chainId, a.token, a.deficit])).to.deep.equal([[B.chainId, usdc, 5n]]);
      expect(r.halts.map((h) => h.marketId).sort()).to.deep.equal([MARKET_B, MARKET_FOT]);
      expect((await getMarketStatus({ redis, logger }, { marketId: MARKET_A }))?.status).to.equal("active");
      expect(JSON.stringify((await restingBid(onB[0], two.fot.address, B.usdcAddress)).body)).to.contain("MARKET_HALTED");
      const onChainA = await restingBid(onA[1], A.wethAddress, A.usdcAddress);
      expect(onChainA.status, JSON.stringify(onChainA.body)).to.equal(201);
      await edit(-5n);
      undone = true;
      expect((await run()).report.status).to.equal("ok");
    } finally {
      if (!undone) await edit(-5n);
    }
    for (const id of [MARKET_B, MARKET_FOT]) await resumeMarket({ redis, logger }, { marketId: id });
    const accepted = await restingBid(onB[0], two.fot.address, B.usdcAddress);
    expect(accepted.status, JSON.stringify(accepted.body)).to.equal(201);
  });

  it("credits a fee-on-transfer deposit with what arrived (no drift), and reports a fee-on-transfer token sent straight to chain B's vault as a surplus of what arrived, not as drift", async () => {
    const fot = two.fot.address;
    const key = onB[0].keyHex as Hex;
    const trader = lower(privateKeyToAccount(key).address);
    const sent = 1_000n * WETH;
    const fee = (sent * two.fot.feeBps) / 10_000n;
    await mintTo(B, fot, trader, 2n * sent);
    const depositBlock = await deposit(B, key, fot, sent);
    await applied(B, depositBlock);
    await until("the FOT deposit credited", 20_000, async () => (await available(B, trader, fot)) === sent - fee);

    const r = await run();
    expect(r.report.status, show(r)).to.equal("ok");
    const row = tokenOf(chainOf(r, B.chainId), fot);
    expect([row.symbol, row.ledger, row.onChain, row.internalTotal, row.holdings, row.drift, row.surplus, row.deficit]).to.deep.equal(["FOT", sent - fee, sent - fee, sent - fee, sent - fee, 0n, 0n, 0n]);
    expect(chainOf(r, A.chainId).tokens.map((t) => t.symbol)).to.not.include("FOT");

    // A plain transfer to the vault: the vault receives the amount less the fee; nobody is credited.
    const direct = 100n * WETH;
    const arrived = direct - (direct * two.fot.feeBps) / 10_000n;
    await applied(B, await transfer(B, key, fot, B.settlementAddress, direct));
    const after = await run();
    expect(after.report.status, show(after)).to.equal("ok");
    const row2 = tokenOf(chainOf(after, B.chainId), fot);
    expect([row2.chainId, row2.token, row2.surplus, row2.drift, row2.deficit, row2.holdings - row2.internalTotal]).to.deep.equal([B.chainId, lower(fot), arrived, 0n, 0n, arrived]);
    expect(after.report.alerts).to.deep.equal([]);
    expect(after.halts).to.deep.equal([]);
    expect((await getMarketStatus({ redis, logger }, { marketId: MARKET_FOT }))?.status).to.equal("active");
    expect(after.report.assets.find((x) => x.symbol === "FOT")).to.include({ surplus: arrived, drift: 0n });
  });

  it("reports chain A as unknown while its RPC is down, reconciles chain B as usual, and halts no market on either chain", async () => {
    const before = await run();
    expect(before.report.status, show(before)).to.equal("ok");
    two.proxyA.cut();
    try {
      const cutAt = Date.now();
      const r = await until("chain A reported unknown", 60_000, async () => {
        const round = await run();
        return chainOf(round, A.chainId).status === "unknown" ? round : undefined;
      });
      console.log(`      (chain A unknown ${Date.now() - cutAt} ms after the cut; that round took ${r.roundMs} ms)`);
      expect(r.report.status).to.equal("unknown");
      expect(chainOf(r, A.chainId).drifts).to.deep.equal([]);
      expect(chainOf(r, B.chainId).status, show(r)).to.equal("ok");
      expect(chainOf(r, B.chainId).drifts).to.deep.equal([]);
      expect(r.report.alerts).to.deep.equal([]);
      expect(r.halts).to.deep.equal([]);
      const usdc = r.report.assets.find((x) => x.symbol === "USDC")!;
      expect(usdc.unknownChains).to.deep.equal([A.chainId]);
      expect(usdc.ledger).to.equal(tokenOf(chainOf(r, B.chainId), B.usdcAddress).ledger); // chain A left out of the totals
      for (const id of [MARKET_A, MARKET_B, MARKET_FOT]) expect((await getMarketStatus({ redis, logger }, { marketId: id }))?.status, `market ${id}`).to.equal("active");
      // Chain B keeps trading while chain A is away.
      const accepted = await restingBid(onB[1], B.wethAddress, B.usdcAddress);
      expect(accepted.status, JSON.stringify(accepted.body)).to.equal(201);
      expect((await run()).halts).to.deep.equal([]);
    } finally {
      two.proxyA.restore();
    }
  });
});
