/**
 * Issue 9, fault 3: the operator's RPC node becomes unreachable for a while (a TCP proxy in
 * front of anvil drops every connection and refuses new ones), with one batch in flight and
 * fills waiting. The chain itself goes on (anvil keeps mining: the batch lands while the
 * operator cannot see it). The daemon must back off (its RPC circuit breaker opens: no request
 * reaches the node while it is open), say so in /health, send nothing twice, and settle
 * everything by itself once the node is back.
 */
import { expect } from "chai";
import type { RunningOperator } from "../../../operator/daemon/start";
import type { Address } from "../../../operator/orders";
import { loadIntent, settleKeys } from "../../../operator/settlement";
import { get, type DemoTrader } from "../../../scripts/demo/trader";
import { startStack, USDC, WETH, type Stack } from "../../../scripts/lib/stack";
import { startTcpProxy, type TcpProxy } from "../../../scripts/lib/tcpProxy";
import { expectSettledExactlyOnce, waitSettled } from "./audit";
import { apiUrl, fileLogger, fundTraders, matchPair, sleep, tail, until, waitCredited } from "./harness";

const FUNDS = { weth: 10n * WETH, usdc: 50_000n * USDC };
const CUT_MS = 10_000;

interface ChainCheck {
  ok: boolean;
  problems: string[];
  rpc: { breaker: string; requests: number; failures: number } | null;
}

describe("settlement when the RPC node is unreachable for a while", function () {
  this.timeout(120_000);
  let stack: Stack;
  let proxy: TcpProxy;
  let operator: RunningOperator;
  let maker: DemoTrader;
  let taker: DemoTrader;
  let log = "";
  const fills: bigint[] = [];
  const traders = (): Address[] => [maker.address, taker.address];

  async function chainHealth(): Promise<{ status: string; chain: ChainCheck }> {
    const { body } = await get(`${apiUrl(stack)}/health`);
    return { status: body.status, chain: body.checks.chains[0] as ChainCheck };
  }

  before(async function () {
    stack = await startStack({ env: { HYPERINDEX_CHAIN_POLL_INTERVAL_MS: "200", HYPERINDEX_BATCH_MAX_WAIT_MS: "200" } });
    proxy = await startTcpProxy(stack.node.port);
    stack.env.HYPERINDEX_RPC_URL = proxy.url;
    [maker, taker] = await fundTraders(stack, "rpc", ["maker", "taker"], FUNDS);
    const { logger, file } = fileLogger("rpc");
    log = file;
    operator = await stack.startOperator({ logger });
    await waitCredited(stack, [maker, taker], FUNDS);
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed") console.log(`--- operator log ${log}:\n${tail(log)}`);
  });

  after(async function () {
    proxy?.restore();
    await operator?.stop();
    await proxy?.close();
    await stack?.stop();
  });

  it("backs off while the node is away, reports it in /health, and settles everything once after it returns", async function () {
    expect((await chainHealth()).chain.ok, "the chain's health before the outage").to.equal(true);
    // One batch in flight (sent to the node) when the node goes away.
    const first = await matchPair(stack, maker, taker);
    fills.push(first);
    const redis = stack.redisClient();
    await until("the first batch sent", 10_000, async () => {
      const text = await redis.hget(settleKeys(stack.chain.chainId).fills, first.toString());
      return text !== null && (await loadIntent(redis, stack.chain.chainId, BigInt(text.split("|")[0])))?.status === "sent";
    });
    redis.disconnect();
    proxy.cut();
    const cutAt = Date.now();
    // Matching does not need the chain: fills keep coming while the node is away.
    fills.push(await matchPair(stack, maker, taker), await matchPair(stack, maker, taker));

    const down = await until("/health reporting the chain down", CUT_MS, async () => {
      const h = await chainHealth();
      return h.chain.rpc?.breaker === "open" ? h : undefined;
    });
    expect(down.status, "the daemon's status while the node is away").to.equal("degraded");
    expect(down.chain.ok).to.equal(false);
    expect(down.chain.problems.join(" | ")).to.match(/circuit breaker open/);
    // Backing off: while the breaker is open, no request reaches the node.
    const sentWhenOpened = down.chain.rpc!.requests;
    await sleep(Math.max(0, CUT_MS - (Date.now() - cutAt)));
    const late = await chainHealth();
    expect(late.chain.ok, "the chain's health at the end of the outage").to.equal(false);
    expect(late.chain.rpc!.requests - sentWhenOpened, "requests sent to the node while the breaker was open").to.be.at.most(1);

    proxy.restore();
    // The breaker lets a probe through after its reset time (30 s from opening), then closes.
    await waitSettled(stack, traders(), 45_000);
    await expectSettledExactlyOnce(stack, { fills, traders: traders() });
    const after = await until("/health ok again", 10_000, async () => {
      const h = await chainHealth();
      return h.chain.ok ? h : undefined;
    });
    expect(after.status).to.equal("ok");
  });
});
