/**
 * Issue 9, fault 1: the operator is killed with SIGKILL (no cleanup, no flush) at each stage of
 * a fill's way to the chain, then started again on the same Redis and the same chain. Every fill
 * must settle exactly once: nothing lost with the process's memory, nothing sent twice.
 *
 * The first run is a child process (operator/main.ts, as in production), so that it can die
 * for real: a failpoint (operator/failpoints: HYPERINDEX_FAILPOINT) makes it kill itself at the
 * exact step, or the test kills it. The restart runs without the failpoint, in this process
 * (the same daemon, started by operator/daemon/start; it spares a second process start-up).
 */
import { expect } from "chai";
import { getBalances } from "../../../operator/ledger";
import type { Address } from "../../../operator/orders";
import { loadIntent, settleKeys, settlePurpose } from "../../../operator/settlement";
import { signerKeys } from "../../../operator/chain/signerKeys";
import type { DemoTrader } from "../../../scripts/demo/trader";
import { SETTLEMENT_ARTIFACT } from "../../../scripts/lib/localChain";
import { startStack, USDC, WETH, type OperatorProcess, type Stack } from "../../../scripts/lib/stack";
import type { RunningOperator } from "../../../operator/daemon/start";
import { privateKeyToAccount } from "viem/accounts";
import { expectSettledExactlyOnce, waitSettled } from "./audit";
import { exitOf, fileLogger, fundTraders, logFile, matchPair, tail, waitCredited } from "./harness";

const FUNDS = { weth: 10n * WETH, usdc: 50_000n * USDC };

describe("settlement when the operator is killed (kill -9) and restarted", function () {
  this.timeout(120_000);
  let stack: Stack;
  let maker: DemoTrader;
  let taker: DemoTrader;
  let op: OperatorProcess | undefined;
  let restarted: RunningOperator | undefined;
  let log = "";
  const fills: bigint[] = [];
  const traders = (): Address[] => [maker.address, taker.address];

  /** Starts the operator as a child process, with `failpoint` in its environment only. */
  async function spawn(name: string, failpoint?: string): Promise<OperatorProcess> {
    log = logFile(`kill-${name}`);
    if (failpoint !== undefined) stack.env.HYPERINDEX_FAILPOINT = failpoint;
    try {
      return await stack.spawnOperator(log);
    } finally {
      delete stack.env.HYPERINDEX_FAILPOINT;
    }
  }

  /** The first run died at its failpoint (SIGKILL, by itself). */
  async function diedAtFailpoint(): Promise<void> {
    const exit = await exitOf(op!, 30_000);
    expect(exit.signal, `the operator's exit (log ${log})`).to.equal("SIGKILL");
    op = undefined;
  }

  /** The restart (no failpoint), on the same Redis and chain; everything settles; the audit; a clean stop. */
  async function restartAndSettle(name: string): Promise<void> {
    const { logger, file } = fileLogger(`kill-${name}`);
    log = file;
    restarted = await stack.startOperator({ logger });
    await waitSettled(stack, traders(), 30_000);
    await expectSettledExactlyOnce(stack, { fills, traders: traders() });
    await restarted.stop();
    restarted = undefined;
  }

  async function intentOf(fillId: bigint): Promise<{ batchId: bigint; status: string; purpose: string }> {
    const redis = stack.redisClient();
    try {
      const text = await redis.hget(settleKeys(stack.chain.chainId).fills, fillId.toString());
      expect(text, `the settler's record of fill ${fillId}`).to.be.a("string");
      const batchId = BigInt(text!.split("|")[0]);
      const intent = (await loadIntent(redis, stack.chain.chainId, batchId))!;
      return { batchId, status: intent.status, purpose: settlePurpose(batchId, intent.calldataHash) };
    } finally {
      redis.disconnect();
    }
  }

  async function signerHolder(purpose: string): Promise<string | null> {
    const keys = signerKeys(stack.chain.chainId, privateKeyToAccount(stack.chain.keys.operator).address as Address);
    const redis = stack.redisClient();
    try {
      return await redis.get(keys.purpose(purpose));
    } finally {
      redis.disconnect();
    }
  }

  before(async function () {
    stack = await startStack({ env: { HYPERINDEX_CHAIN_POLL_INTERVAL_MS: "200", HYPERINDEX_BATCH_MAX_WAIT_MS: "200", HYPERINDEX_LOG_LEVEL: "info" } });
    [maker, taker] = await fundTraders(stack, "kill", ["maker", "taker"], FUNDS);
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed") console.log(`--- operator log ${log}:\n${tail(log)}`);
  });

  after(async function () {
    await op?.kill();
    await restarted?.stop();
    await stack?.stop();
  });

  it("settles once a fill matched right before the kill, when no batch had started", async function () {
    op = await spawn("a-first");
    await waitCredited(stack, [maker, taker], FUNDS);
    // The guardian holds settlement back, so that no batch can start before the kill.
    const settlement = { address: stack.chain.settlementAddress, abi: SETTLEMENT_ARTIFACT().abi, chain: stack.chain.chain } as const;
    const guardian = stack.chain.wallet(stack.chain.keys.guardian);
    const wait = (hash: `0x${string}`) => stack.chain.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100 });
    await wait(await guardian.writeContract({ ...settlement, functionName: "pause", args: [3600n], account: guardian.account! }));
    fills.push(await matchPair(stack, maker, taker));
    await op.kill();
    op = undefined;
    const redis = stack.redisClient();
    try {
      const k = settleKeys(stack.chain.chainId);
      expect(await redis.zcard(k.open), "batch intents before the restart").to.equal(0);
      expect(await redis.hlen(k.fills), "fills in a batch before the restart").to.equal(0);
    } finally {
      redis.disconnect();
    }
    await wait(await guardian.writeContract({ ...settlement, functionName: "unpause", args: [], account: guardian.account! }));
    await restartAndSettle("a-restart");
  });

  it("settles once a batch whose intent was persisted but never handed to the signer (settle:after-intent)", async function () {
    op = await spawn("b-first", "settle:after-intent");
    const id = await matchPair(stack, maker, taker);
    fills.push(id);
    await diedAtFailpoint();
    const intent = await intentOf(id);
    expect(intent.status, "the intent left by the crash").to.equal("built");
    expect(await signerHolder(intent.purpose), "a signer record of the batch before the restart").to.equal(null);
    await restartAndSettle("b-restart");
  });

  it("settles once a batch whose transaction was broadcast before the settler marked it sent (settle:after-broadcast)", async function () {
    op = await spawn("c-first", "settle:after-broadcast");
    const id = await matchPair(stack, maker, taker);
    fills.push(id);
    await diedAtFailpoint();
    const intent = await intentOf(id);
    expect(intent.status, "the intent left by the crash").to.equal("built");
    expect(await signerHolder(intent.purpose), "the signer's record of the batch's transaction").to.be.a("string");
    await restartAndSettle("c-restart");
  });

  it("settles once a batch whose outcome reached the ledger before the settler recorded it (settle:after-ledger)", async function () {
    op = await spawn("d-first", "settle:after-ledger");
    const id = await matchPair(stack, maker, taker);
    fills.push(id);
    await diedAtFailpoint();
    const redis = stack.redisClient();
    try {
      expect(await redis.hexists(settleKeys(stack.chain.chainId).fills, id.toString()), "the fill's settler record after the crash").to.equal(1);
      const b = await getBalances({ redis }, { chainId: stack.chain.chainId, trader: taker.address, tokens: [stack.chain.wethAddress, stack.chain.usdcAddress] });
      expect(b[stack.chain.wethAddress].pendingIn + b[stack.chain.usdcAddress].pendingOut, "the taker's pending amounts after the crash (the ledger applied the fill)").to.equal(0n);
    } finally {
      redis.disconnect();
    }
    await restartAndSettle("d-restart");
  });
});
