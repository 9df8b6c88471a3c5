/**
 * Issue 9, fault 5: withdrawals racing settlement. Withdrawals are the escape hatch (request,
 * then finalize after the delay, without the operator), so a trader can take funds out of the
 * vault that a matched, unsettled fill counts on:
 *
 *  (a) a withdrawal requested between match and settlement: the operator holds the funds at
 *      once (no new order can use them) and the pending fill still settles (the request moves
 *      nothing: the vault still holds the funds);
 *  (b) settlement held back by the guardian (a pause stops settlement, never withdrawals), a
 *      maker requests everything, the delay passes, the maker finalizes: its fill is skipped on
 *      chain (MakerUnfunded), both sides are compensated in the ledger, the rest of the batch
 *      settles, and every vault equals the ledger.
 *
 * One pause covers both (a pause has a 4-day cooldown after it): the fills of (a) and (b) wait
 * for the same batch.
 */
import { expect } from "chai";
import type { Hex } from "viem";
import type { RunningOperator } from "../../../operator/daemon/start";
import { getBalances, type Balance } from "../../../operator/ledger";
import type { Address } from "../../../operator/orders";
import { settleKeys } from "../../../operator/settlement";
import type { DemoTrader } from "../../../scripts/demo/trader";
import { SETTLEMENT_ARTIFACT } from "../../../scripts/lib/localChain";
import { startStack, USDC, WETH, type Stack } from "../../../scripts/lib/stack";
import { expectSettledExactlyOnce, waitSettled } from "./audit";
import { fileLogger, fundTraders, market, matchPair, MID, tail, until, waitCredited } from "./harness";

const FUNDS = { weth: 10n * WETH, usdc: 50_000n * USDC };
const WITHDRAWAL_DELAY_S = 300;

describe("settlement racing withdrawals", function () {
  this.timeout(90_000);
  let stack: Stack;
  let operator: RunningOperator;
  let m1: DemoTrader;
  let t1: DemoTrader;
  let m2: DemoTrader;
  let t2: DemoTrader;
  let log = "";
  const fills: { f1?: bigint; f2?: bigint; f3?: bigint } = {};

  const settlement = () => ({ address: stack.chain.settlementAddress, abi: SETTLEMENT_ARTIFACT().abi, chain: stack.chain.chain }) as const;
  const mined = (hash: Hex) => stack.chain.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 });

  async function send(key: Hex, functionName: string, args: unknown[]): Promise<void> {
    const wallet = stack.chain.wallet(key);
    const receipt = await mined(await wallet.writeContract({ ...settlement(), functionName, args, account: wallet.account! } as never));
    expect(receipt.status, `${functionName}`).to.equal("success");
  }

  async function balance(trader: Address, token: Address): Promise<Balance> {
    const redis = stack.redisClient();
    try {
      return (await getBalances({ redis }, { chainId: stack.chain.chainId, trader, tokens: [token] }))[token];
    } finally {
      redis.disconnect();
    }
  }

  async function vault(trader: Address, token: Address): Promise<bigint> {
    return (await stack.chain.publicClient.readContract({ ...settlement(), functionName: "balanceOf", args: [trader, token] })) as bigint;
  }

  before(async function () {
    stack = await startStack({ env: { HYPERINDEX_CHAIN_POLL_INTERVAL_MS: "200", HYPERINDEX_BATCH_MAX_WAIT_MS: "200" }, deploy: { withdrawalDelay: WITHDRAWAL_DELAY_S } });
    [m1, t1, m2, t2] = await fundTraders(stack, "withdraw", ["m1", "t1", "m2", "t2"], FUNDS);
    const { logger, file } = fileLogger("withdraw");
    log = file;
    operator = await stack.startOperator({ logger });
    await waitCredited(stack, [m1, t1, m2, t2], FUNDS);
    // Settlement held back until (b) lifts the pause.
    await send(stack.chain.keys.guardian, "pause", [3600n]);
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed") console.log(`--- operator log ${log}:\n${tail(log)}`);
  });

  after(async function () {
    await operator?.stop();
    await stack?.stop();
  });

  it("holds the funds of a withdrawal requested between match and settlement, so that no new order can use them", async function () {
    const { usdcAddress: usdc } = stack.chain;
    fills.f1 = await matchPair(stack, m1, t1);
    const before = await balance(t1.address, usdc);
    expect(before.pendingOut, "t1's USDC paid by the pending fill").to.be.greaterThan(0n);
    // t1 asks for everything the vault holds for it, the pending fill's USDC included.
    await send(t1.keyHex as Hex, "requestWithdrawal", [usdc, FUNDS.usdc]);
    const held = await until("t1's withdrawal hold", 10_000, async () => {
      const b = await balance(t1.address, usdc);
      return b.withdrawalRequested === FUNDS.usdc ? b : undefined;
    });
    expect(held.withdrawalHold, "what the ledger holds for the request").to.equal(before.available);
    expect(held.available, "t1's USDC left for orders").to.equal(0n);
    expect(held.pendingOut, "the pending fill still counts on its USDC").to.equal(before.pendingOut);
    const refused = await t1.place([t1.order({ ...market(stack), isBuy: true, price: MID, amount: WETH / 100n })]);
    expect(refused.status, JSON.stringify(refused.body)).to.equal(422);
    expect(refused.body.error.code).to.equal("INSUFFICIENT_FUNDS");
    // Nothing has settled: the pause holds every batch back.
    const redis = stack.redisClient();
    try {
      expect(await redis.hget(settleKeys(stack.chain.chainId).state, "batches:settled")).to.equal(null);
    } finally {
      redis.disconnect();
    }
  });

  it("skips the fill of a maker that withdrew everything during a pause, compensates both sides, and settles the rest of the batch", async function () {
    const { wethAddress: weth, usdcAddress: usdc } = stack.chain;
    fills.f2 = await matchPair(stack, m2, t2);
    fills.f3 = await matchPair(stack, m1, t2);
    // m2 leaves with everything, its pending fill's WETH included: request, wait, finalize.
    await send(m2.keyHex as Hex, "requestWithdrawal", [weth, FUNDS.weth]);
    await until("m2's withdrawal hold", 10_000, async () => (await balance(m2.address, weth)).withdrawalRequested === FUNDS.weth);
    await stack.node.rpc("evm_increaseTime", [WITHDRAWAL_DELAY_S + 1]);
    await stack.node.rpc("evm_mine", []);
    await send(m2.keyHex as Hex, "finalizeWithdrawal", [m2.address, weth]);
    expect(await vault(m2.address, weth), "m2's WETH in the vault after its withdrawal").to.equal(0n);
    await until("m2's withdrawal applied", 10_000, async () => (await balance(m2.address, weth)).withdrawalRequested === undefined);

    await send(stack.chain.keys.guardian, "unpause", []);
    const traders = [m1.address, t1.address, m2.address, t2.address];
    await waitSettled(stack, traders, 30_000);
    const chain = await expectSettledExactlyOnce(stack, {
      fills: [fills.f1!, fills.f2!, fills.f3!],
      skipped: new Map([[fills.f2!, ["MakerUnfunded"]]]),
      traders,
    });
    expect(chain.batches.size, "batches: the three fills waited for the same one").to.equal(1);

    // Both sides of the skipped fill are whole: m2 owes nothing and has nothing, t2 got its USDC back.
    const m2Weth = await balance(m2.address, weth);
    expect(m2Weth.available + m2Weth.pendingOut + (m2Weth.withdrawalDebt ?? 0n), "m2's WETH in the ledger").to.equal(0n);
    expect((await balance(m2.address, usdc)).available, "m2's USDC (the skipped fill paid it nothing)").to.equal(FUNDS.usdc);
    // (a)'s fill settled although t1 asked to withdraw its USDC; the hold still covers the request.
    const t1Usdc = await balance(t1.address, usdc);
    expect(await vault(t1.address, usdc), "t1's USDC in the vault").to.equal(t1Usdc.withdrawalHold);
  });
});
