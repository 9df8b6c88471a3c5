/**
 * Issue 9, fault 4: a settlement transaction that cannot be mined for a while. The node's base
 * fee jumps far above the max fee the batch's transaction was signed with (a HyperEVM base-fee
 * spike), so it sits in the pool. After HYPERINDEX_TX_STUCK_AFTER_MS the signer must replace it:
 * same nonce, same call, both fees raised by at least 12.5% (the nodes' replacement rule), and
 * never a second transaction of the same batch. The batch settles once.
 */
import { expect } from "chai";
import { privateKeyToAccount } from "viem/accounts";
import type { RunningOperator } from "../../../operator/daemon/start";
import { signerKeys } from "../../../operator/chain/signerKeys";
import { decodeRecord, type TxRecord } from "../../../operator/chain/signerRecord";
import type { Address } from "../../../operator/orders";
import { loadIntent, settleKeys } from "../../../operator/settlement";
import type { DemoTrader } from "../../../scripts/demo/trader";
import { startStack, USDC, WETH, type Stack } from "../../../scripts/lib/stack";
import { expectSettledExactlyOnce, waitSettled } from "./audit";
import { fileLogger, fundTraders, matchPair, mining, tail, until, waitCredited } from "./harness";

const FUNDS = { weth: 10n * WETH, usdc: 50_000n * USDC };
/** 12.5%: what nodes require of a replacement. */
const MIN_BUMP_BPS = 1_250n;

describe("settlement when its transaction is stuck (base fee spike)", function () {
  this.timeout(90_000);
  let stack: Stack;
  let operator: RunningOperator;
  let maker: DemoTrader;
  let taker: DemoTrader;
  let log = "";

  async function record(nonce: number): Promise<TxRecord> {
    const keys = signerKeys(stack.chain.chainId, privateKeyToAccount(stack.chain.keys.operator).address as Address);
    const redis = stack.redisClient();
    try {
      return decodeRecord((await redis.hget(keys.tx(nonce), "rec"))!, keys.tx(nonce));
    } finally {
      redis.disconnect();
    }
  }

  before(async function () {
    stack = await startStack({ env: { HYPERINDEX_CHAIN_POLL_INTERVAL_MS: "200", HYPERINDEX_BATCH_MAX_WAIT_MS: "200", HYPERINDEX_TX_STUCK_AFTER_MS: "2000" } });
    [maker, taker] = await fundTraders(stack, "stuck", ["maker", "taker"], FUNDS);
    const { logger, file } = fileLogger("stuck");
    log = file;
    operator = await stack.startOperator({ logger });
    await waitCredited(stack, [maker, taker], FUNDS);
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed") console.log(`--- operator log ${log}:\n${tail(log)}`);
  });

  after(async function () {
    await mining.resume(stack).catch(() => undefined);
    await operator?.stop();
    await stack?.stop();
  });

  it("replaces the stuck transaction with fees raised by at least 12.5%, never sends the batch twice, and settles it once", async function () {
    // The batch's transaction reaches the pool while no block is mined...
    await mining.stop(stack);
    const id = await matchPair(stack, maker, taker);
    const redis = stack.redisClient();
    const sent = await until("the batch sent", 10_000, async () => {
      const text = await redis.hget(settleKeys(stack.chain.chainId).fills, id.toString());
      if (text === null) return undefined;
      const intent = await loadIntent(redis, stack.chain.chainId, BigInt(text.split("|")[0]));
      return intent?.status === "sent" ? intent.sent! : undefined;
    });
    redis.disconnect();
    const first = await record(sent.nonce);
    expect(first.attempts.length, "attempts before the spike").to.equal(1);
    // ...then the base fee jumps to ten times its max fee: the next blocks cannot include it.
    const spikedAt = await stack.chain.publicClient.getBlockNumber({ cacheTime: 0 });
    await stack.node.rpc("anvil_setNextBlockBaseFeePerGas", [`0x${(first.attempts[0].maxFeePerGas * 10n).toString(16)}`]);
    await mining.resume(stack);
    const spiked = await until("a block after the spike", 5_000, async () => stack.chain.publicClient.getBlock({ blockNumber: spikedAt + 1n }).catch(() => undefined));
    expect(spiked.baseFeePerGas!, "the base fee after the spike").to.be.greaterThan(first.attempts[0].maxFeePerGas);
    expect(spiked.transactions.length, "transactions in the block after the spike").to.equal(0);

    const replaced = await until("a replacement mined", 30_000, async () => {
      const r = await record(sent.nonce);
      return r.status === "confirmed" ? r : undefined;
    });
    expect(replaced.attempts.length, "attempts of the stuck transaction").to.be.at.least(2);
    for (let i = 1; i < replaced.attempts.length; i++) {
      const [prev, next] = [replaced.attempts[i - 1], replaced.attempts[i]];
      expect(next.maxFeePerGas * 10_000n, `attempt ${i + 1}'s max fee over attempt ${i}'s`).to.be.at.least(prev.maxFeePerGas * (10_000n + MIN_BUMP_BPS));
      expect(next.maxPriorityFeePerGas * 10_000n, `attempt ${i + 1}'s priority fee over attempt ${i}'s`).to.be.at.least(prev.maxPriorityFeePerGas * (10_000n + MIN_BUMP_BPS));
    }
    // The first attempt was never mined: it was replaced, under the same nonce.
    expect(replaced.mined!.hash, "the attempt mined").to.not.equal(first.attempts[0].hash);
    expect(replaced.attempts.map((a) => a.hash)).to.include(replaced.mined!.hash);
    const missing = await stack.chain.publicClient.getTransactionReceipt({ hash: first.attempts[0].hash }).catch(() => undefined);
    expect(missing, "a receipt of the replaced attempt").to.equal(undefined);

    await waitSettled(stack, [maker.address, taker.address], 30_000);
    const chain = await expectSettledExactlyOnce(stack, { fills: [id], traders: [maker.address, taker.address] });
    expect(chain.operatorTxs.length, "the operator's transactions on chain").to.equal(1);
  });
});
