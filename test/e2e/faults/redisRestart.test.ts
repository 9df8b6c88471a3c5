/**
 * Issue 9, fault 2: Redis dies (SIGKILL, no SHUTDOWN) and comes back from its append-only file
 * while fills wait for settlement, the operator staying up: it reconnects, its loops back off
 * while Redis is away, and settlement goes on. Nothing matched is lost, nothing is settled
 * twice.
 */
import { expect } from "chai";
import type { RunningOperator } from "../../../operator/daemon/start";
import type { Address } from "../../../operator/orders";
import { loadIntent, settleKeys } from "../../../operator/settlement";
import type { DemoTrader } from "../../../scripts/demo/trader";
import { get } from "../../../scripts/demo/trader";
import { startStack, USDC, WETH, type Stack } from "../../../scripts/lib/stack";
import { expectSettledExactlyOnce, waitSettled } from "./audit";
import { apiUrl, fileLogger, fundTraders, matchPair, mining, sleep, tail, until, waitCredited } from "./harness";

const FUNDS = { weth: 10n * WETH, usdc: 50_000n * USDC };

describe("settlement when Redis is killed and restarted (AOF)", function () {
  this.timeout(90_000);
  let stack: Stack;
  let operator: RunningOperator;
  let maker: DemoTrader;
  let taker: DemoTrader;
  let log = "";
  const fills: bigint[] = [];
  const traders = (): Address[] => [maker.address, taker.address];

  async function healthy(): Promise<void> {
    await until("the operator's /health answering 200 again", 20_000, async () => (await get(`${apiUrl(stack)}/health`).catch(() => ({ status: 0 }))).status === 200);
  }

  before(async function () {
    stack = await startStack({ env: { HYPERINDEX_CHAIN_POLL_INTERVAL_MS: "200", HYPERINDEX_BATCH_MAX_WAIT_MS: "200" } });
    [maker, taker] = await fundTraders(stack, "redis", ["maker", "taker"], FUNDS);
    const { logger, file } = fileLogger("redis");
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

  it("settles once the fills matched right before Redis died, after it comes back", async function () {
    fills.push(await matchPair(stack, maker, taker), await matchPair(stack, maker, taker));
    await stack.redis.kill();
    await sleep(1_000);
    await stack.redis.restart();
    await healthy();
    await waitSettled(stack, traders(), 30_000);
    await expectSettledExactlyOnce(stack, { fills, traders: traders() });
  });

  it("settles once a batch that was in flight (sent, not mined) while Redis was away", async function () {
    // The node holds the batch in its pool until the test lets it mine.
    await mining.stop(stack);
    const id = await matchPair(stack, maker, taker);
    fills.push(id);
    const redis = stack.redisClient();
    const batchId = await until("the batch sent", 10_000, async () => {
      const text = await redis.hget(settleKeys(stack.chain.chainId).fills, id.toString());
      if (text === null) return undefined;
      const b = BigInt(text.split("|")[0]);
      return (await loadIntent(redis, stack.chain.chainId, b))?.status === "sent" ? b : undefined;
    });
    redis.disconnect();
    await stack.redis.kill();
    // Mined, and confirmed by the chain, while the operator cannot record anything.
    await mining.resume(stack);
    await sleep(2_500);
    await stack.redis.restart();
    await healthy();
    await waitSettled(stack, traders(), 30_000);
    const chain = await expectSettledExactlyOnce(stack, { fills, traders: traders() });
    expect(chain.batches.get(batchId), `BatchSettled of batch ${batchId}`).to.equal(1);
    // Settlement goes on after the outage: a new fill settles too.
    fills.push(await matchPair(stack, maker, taker));
    await waitSettled(stack, traders(), 30_000);
    await expectSettledExactlyOnce(stack, { fills, traders: traders() });
  });
});
