/**
 * Issue 9, fault 6: a reorg takes away the block that holds a settlement batch (anvil_reorg:
 * the last `depth` blocks are replaced by empty ones, and the transactions they held are gone
 * from the node, as a node that never saw them). With HYPERINDEX_CONFIRMATIONS above the
 * reorg's depth nothing of the batch was applied before the reorg: the signer sees its receipt
 * gone, sends the same signed transaction again (same nonce, same hash), it is mined again, and
 * the batch is applied once, when confirmed. Never a second batch, never a fill twice.
 */
import { expect } from "chai";
import { privateKeyToAccount } from "viem/accounts";
import type { RunningOperator } from "../../../operator/daemon/start";
import { signerKeys } from "../../../operator/chain/signerKeys";
import { decodeRecord } from "../../../operator/chain/signerRecord";
import { getBalances } from "../../../operator/ledger";
import type { Address } from "../../../operator/orders";
import { loadIntent, settleKeys } from "../../../operator/settlement";
import type { DemoTrader } from "../../../scripts/demo/trader";
import { startStack, USDC, WETH, type Stack } from "../../../scripts/lib/stack";
import { expectSettledExactlyOnce, waitSettled } from "./audit";
import { fileLogger, fundTraders, matchPair, mining, tail, until, waitCredited } from "./harness";

const FUNDS = { weth: 10n * WETH, usdc: 50_000n * USDC };
const CONFIRMATIONS = 3;

describe("settlement when a reorg removes the block of a batch", function () {
  this.timeout(90_000);
  let stack: Stack;
  let operator: RunningOperator;
  let maker: DemoTrader;
  let taker: DemoTrader;
  let log = "";

  before(async function () {
    stack = await startStack({ env: { HYPERINDEX_CHAIN_POLL_INTERVAL_MS: "200", HYPERINDEX_BATCH_MAX_WAIT_MS: "200", HYPERINDEX_CONFIRMATIONS: String(CONFIRMATIONS) } });
    [maker, taker] = await fundTraders(stack, "reorg", ["maker", "taker"], FUNDS);
    const { logger, file } = fileLogger("reorg");
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

  it(`mines the batch again after a reorg shallower than the confirmations (${CONFIRMATIONS}), and applies it once`, async function () {
    const traders = [maker.address, taker.address];
    const id = await matchPair(stack, maker, taker);
    const redis = stack.redisClient();
    const { chainId } = stack.chain;
    try {
      const sent = await until("the batch sent", 10_000, async () => {
        const text = await redis.hget(settleKeys(chainId).fills, id.toString());
        if (text === null) return undefined;
        const intent = await loadIntent(redis, chainId, BigInt(text.split("|")[0]));
        return intent?.status === "sent" ? intent.sent! : undefined;
      });
      // The signer has seen it mined (and waits for its confirmations)...
      const keys = signerKeys(chainId, privateKeyToAccount(stack.chain.keys.operator).address as Address);
      const minedIn = await until("the signer seeing the batch mined", 10_000, async () => {
        const text = await redis.hget(keys.tx(sent.nonce), "rec");
        const rec = text === null ? undefined : decodeRecord(text, keys.tx(sent.nonce));
        return rec?.status === "mined" ? rec.mined!.blockNumber : undefined;
      });
      // ...then the chain freezes, and every block from the batch's on is taken away.
      await mining.stop(stack);
      const head = (await stack.chain.publicClient.getBlock({ blockTag: "latest" })).number!;
      const depth = Number(head - minedIn) + 1;
      expect(depth, "the reorg's depth").to.be.lessThan(CONFIRMATIONS);
      // Nothing of the batch applied yet: it was not confirmed.
      expect(await redis.hexists(settleKeys(chainId).fills, id.toString()), "the fill's settler record before the reorg").to.equal(1);
      const before = await getBalances({ redis }, { chainId, trader: taker.address, tokens: [stack.chain.wethAddress] });
      expect(before[stack.chain.wethAddress].pendingIn, "the taker's WETH pending before the reorg").to.be.greaterThan(0n);

      await stack.node.rpc("anvil_reorg", [depth, []]);
      const gone = await stack.chain.publicClient.getTransactionReceipt({ hash: sent.txHash }).catch(() => undefined);
      expect(gone, "the batch's receipt after the reorg").to.equal(undefined);
      await mining.resume(stack);

      await waitSettled(stack, traders, 30_000);
      const chain = await expectSettledExactlyOnce(stack, { fills: [id], traders });
      expect(chain.operatorTxs.map((t) => t.hash), "the operator's transactions on chain: the same one, mined again").to.deep.equal([sent.txHash]);
      expect(chain.operatorTxs[0].block, "the block it is in now").to.be.at.least(minedIn);
      const rec = decodeRecord((await redis.hget(keys.tx(sent.nonce), "rec"))!, keys.tx(sent.nonce));
      expect(rec.reorgs, "reorgs the signer saw its transaction through").to.be.at.least(1);
      expect(rec.attempts.length, "signed attempts (no new signature, no new nonce)").to.equal(1);
    } finally {
      redis.disconnect();
    }
  });
});
