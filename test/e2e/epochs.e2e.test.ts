/**
 * Epoch commitments in the daemon, end to end (anvil + Redis + the operator): an accepted
 * order's signed receipt, its epoch sealed, built and committed on chain, its proof served over
 * HTTP and accepted by OrderbookCommitment.verifyOrder, a fill's proof with its final batch id,
 * the epoch data file's hash and root equal to the chain's, and a crash between building an
 * epoch and committing it (kill -9 at the failpoint) recovering without a gap or a second root.
 */
import { expect } from "chai";
import { keccak256 } from "viem";
import { CommitmentTree, parseEpochData, rebuildRoot, serializeEpochData, type OrderAcceptedLeaf } from "../../operator/commitment";
import { parseReceipt, verifyReceipt } from "../../operator/commitment/receipt";
import type { RunningOperator } from "../../operator/daemon/start";
import { listConsumers } from "../../operator/journal";
import { splitOrderSequence } from "../../operator/matching";
import type { Hex } from "../../operator/orders";
import { get } from "../../scripts/demo/trader";
import { COMMITMENT_ARTIFACT } from "../../scripts/lib/localChain";
import { startStack, USDC, WETH, type OperatorProcess, type Stack } from "../../scripts/lib/stack";
import { waitSettled } from "./faults/audit";
import { apiUrl, exitOf, fileLogger, fundTraders, logFile, market, MID, tail, TICK, until, waitCredited } from "./faults/harness";
import { privateKeyToAccount } from "viem/accounts";

const FUNDS = { weth: 10n * WETH, usdc: 50_000n * USDC };

async function epochsCursor(stack: Stack, marketId: number): Promise<{ accepted: number | null } | undefined> {
  const redis = stack.redisClient();
  try {
    return (await listConsumers(redis, marketId)).find((c) => c.name === "epochs");
  } finally {
    redis.disconnect();
  }
}

const commitment = (stack: Stack) => ({ address: stack.chain.commitmentAddress, abi: COMMITMENT_ARTIFACT().abi }) as const;

describe("epoch commitments in the daemon", function () {
  this.timeout(120_000);

  describe("receipts, commits and proofs", function () {
    let stack: Stack;
    let operator: RunningOperator;
    let log = "";

    before(async function () {
      stack = await startStack({ env: { HYPERINDEX_EPOCH_SECONDS: "2", HYPERINDEX_BATCH_MAX_WAIT_MS: "200" } });
      const { logger, file } = fileLogger("epochs");
      log = file;
      operator = await stack.startOperator({ logger });
    });

    afterEach(function () {
      if (this.currentTest?.state === "failed") console.log(`--- operator log ${log}:\n${tail(log)}`);
    });

    after(async function () {
      await operator?.stop();
      await stack?.stop();
    });

    const commitment = () => ({ address: stack.chain.commitmentAddress, abi: COMMITMENT_ARTIFACT().abi }) as const;

    it("signs a receipt for an accepted order, commits its epoch, and serves a proof the contract accepts; a fill's proof carries its batch", async function () {
      const [maker, taker] = await fundTraders(stack, "epochs", ["maker", "taker"], FUNDS);
      await waitCredited(stack, [maker, taker], FUNDS);
      const m = market(stack);
      const ask = await maker.place([maker.order({ ...m, isBuy: false, price: MID + 5n * TICK, amount: WETH / 10n })]);
      expect(ask.status, JSON.stringify(ask.body)).to.equal(201);
      const bid = await taker.place([taker.order({ ...m, isBuy: true, price: MID + 50n * TICK, amount: WETH / 10n, flags: 0 })]);
      expect(bid.status, JSON.stringify(bid.body)).to.equal(201);
      const fillId = BigInt(bid.body.fills[0].fillId);

      // The receipt: the operator's key, this chain and commitment, the order's epoch and sequence.
      const receipt = parseReceipt(JSON.stringify(ask.body.receipt));
      verifyReceipt(receipt);
      expect(receipt.operator.toLowerCase()).to.equal(privateKeyToAccount(stack.chain.keys.operator).address.toLowerCase());
      expect(receipt.domain.chainId).to.equal(BigInt(stack.chain.chainId));
      expect(receipt.domain.verifyingContract.toLowerCase()).to.equal(stack.chain.commitmentAddress.toLowerCase());
      expect(receipt.receipt.orderHash).to.equal(ask.body.orderHash);
      expect(receipt.receipt.sequence.toString()).to.equal(ask.body.sequence);
      const epoch = receipt.receipt.epoch;

      await waitSettled(stack, [maker.address, taker.address], 30_000);
      const proof = await until("the order's epoch committed", 40_000, async () => {
        const r = await get(`${apiUrl(stack)}/v1/proofs/orders/${ask.body.orderHash}`);
        return r.status === 200 && r.body.committed === true ? r.body : undefined;
      });
      expect(proof.epoch).to.equal(epoch.toString());
      expect(proof.sequence).to.equal(receipt.receipt.sequence.toString());
      const leaf = proof.leaf;
      const ok = await stack.chain.publicClient.readContract({
        ...commitment(),
        functionName: "verifyOrder",
        args: [BigInt(leaf.epoch), BigInt(leaf.sequence), leaf.orderHash as Hex, leaf.trader as Hex, BigInt(leaf.receivedAt), proof.proof as Hex[]],
      });
      expect(ok, "verifyOrder on chain").to.equal(true);
      // A tampered leaf does not verify.
      const bad = await stack.chain.publicClient.readContract({
        ...commitment(),
        functionName: "verifyOrder",
        args: [BigInt(leaf.epoch), BigInt(leaf.sequence), leaf.orderHash as Hex, leaf.trader as Hex, BigInt(leaf.receivedAt) + 1n, proof.proof as Hex[]],
      });
      expect(bad, "verifyOrder of a tampered leaf").to.equal(false);

      const fill = await until("the fill's epoch committed", 40_000, async () => {
        const r = await get(`${apiUrl(stack)}/v1/proofs/fills/${fillId}`);
        return r.status === 200 && r.body.committed === true && r.body.leaf !== null ? r.body : undefined;
      });
      expect(BigInt(fill.leaf.batchId), "the fill's final batch").to.be.greaterThan(0n);
      const fillOk = await stack.chain.publicClient.readContract({
        ...commitment(),
        functionName: "verifyFill",
        args: [BigInt(fill.leaf.epoch), BigInt(fill.leaf.fillId), fill.leaf.makerHash, fill.leaf.takerHash, BigInt(fill.leaf.price), BigInt(fill.leaf.amount), BigInt(fill.leaf.batchId), fill.proof],
      });
      expect(fillOk, "verifyFill on chain").to.equal(true);

      // The epoch's header and file agree with the chain.
      const header = await get(`${apiUrl(stack)}/v1/epochs/${epoch}`);
      expect(header.status).to.equal(200);
      const onChain = (await stack.chain.publicClient.readContract({ ...commitment(), functionName: "epochOf", args: [epoch] })) as { root: Hex; dataHash: Hex; leafCount: bigint };
      expect(header.body.root).to.equal(onChain.root.toLowerCase());
      const res = await fetch(`${apiUrl(stack)}${header.body.data}`);
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(keccak256(bytes)).to.equal(onChain.dataHash.toLowerCase());
      const data = parseEpochData(bytes);
      expect(rebuildRoot(data)).to.equal(onChain.root.toLowerCase());
      expect(BigInt(data.leaves.length)).to.equal(onChain.leafCount);
    });

    it("answers clear errors for unknown orders, fills and epochs", async function () {
      const unknown = await get(`${apiUrl(stack)}/v1/proofs/orders/0x${"ab".repeat(32)}`);
      expect(unknown.status).to.equal(404);
      const badHash = await get(`${apiUrl(stack)}/v1/proofs/orders/0x1234`);
      expect(badHash.status).to.equal(400);
      expect(badHash.body.error.code).to.equal("INVALID_ORDER_HASH");
      const fill = await get(`${apiUrl(stack)}/v1/proofs/fills/999999999`);
      expect(fill.status).to.equal(404);
      expect(fill.body.error.code).to.equal("FILL_NOT_FOUND");
      const epoch = await get(`${apiUrl(stack)}/v1/epochs/0`);
      expect(epoch.status).to.equal(400);
      expect(epoch.body.error.code).to.equal("INVALID_EPOCH");
      const chain = await get(`${apiUrl(stack)}/v1/epochs/latest?chainId=999`);
      expect(chain.status).to.equal(404);
      expect(chain.body.error.code).to.equal("CHAIN_UNKNOWN");
    });
  });

  describe("a crash between building an epoch and committing it", function () {
    let stack: Stack;
    let operator: OperatorProcess | undefined;
    const file = logFile("epochs-crash");

    before(async function () {
      stack = await startStack({ env: { HYPERINDEX_EPOCH_SECONDS: "1", HYPERINDEX_BATCH_MAX_WAIT_MS: "200", HYPERINDEX_FAILPOINT: "epoch:after-build" } });
    });

    afterEach(function () {
      if (this.currentTest?.state === "failed") console.log(`--- operator log ${file}:\n${tail(file)}`);
    });

    after(async function () {
      await operator?.stop();
      await stack?.stop();
    });

    it("commits the epoch once, with the root it built before the crash, and goes on with the next", async function () {
      operator = await stack.spawnOperator(file);
      const [maker, taker] = await fundTraders(stack, "crash", ["maker", "taker"], FUNDS);
      await waitCredited(stack, [maker, taker], FUNDS);
      const m = market(stack);
      const ask = await maker.place([maker.order({ ...m, isBuy: false, price: MID + 5n * TICK, amount: WETH / 10n })]);
      expect(ask.status).to.equal(201);
      const epoch = BigInt(ask.body.receipt.epoch);
      // The operator builds the epoch, writes its file, and dies before recording it.
      const exit = await exitOf(operator, 30_000);
      expect(exit.signal ?? exit.code, "the failpoint killed the operator").to.not.equal(0);
      const latestBefore = (await stack.chain.publicClient.readContract({ address: stack.chain.commitmentAddress, abi: COMMITMENT_ARTIFACT().abi, functionName: "latestEpoch" })) as bigint;
      expect(latestBefore, "nothing committed before the crash").to.equal(epoch - 1n);
      // The journal keeps the epoch's entries: the epoch log's consumer has not passed them.
      const { market: marketId, seq } = splitOrderSequence(BigInt(ask.body.sequence));
      expect((await epochsCursor(stack, marketId))?.accepted ?? 0, "the epochs consumer before the commit").to.be.lessThan(seq);

      delete stack.env.HYPERINDEX_FAILPOINT;
      operator = await stack.spawnOperator(file);
      const header = await until("the epoch committed after the restart", 40_000, async () => {
        const r = await get(`${apiUrl(stack)}/v1/epochs/${epoch}`).catch(() => undefined);
        return r?.status === 200 && r.body.committed === true ? r.body : undefined;
      });
      const onChain = (await stack.chain.publicClient.readContract({ address: stack.chain.commitmentAddress, abi: COMMITMENT_ARTIFACT().abi, functionName: "epochOf", args: [epoch] })) as { root: Hex };
      expect(header.root).to.equal(onChain.root.toLowerCase());
      // Committed: the journal may now trim the epoch's entries.
      expect((await epochsCursor(stack, marketId))?.accepted ?? 0, "the epochs consumer after the commit").to.be.at.least(seq);
      // The same bytes as before the crash: the file was rebuilt identically (or kept), never replaced.
      const res = await fetch(`${apiUrl(stack)}${header.data}`);
      expect(rebuildRoot(parseEpochData(Buffer.from(await res.arrayBuffer())))).to.equal(onChain.root.toLowerCase());
      // Orders go on into the next epoch, which commits too: no gap.
      const bid = await taker.place([taker.order({ ...m, isBuy: true, price: MID - 50n * TICK, amount: WETH / 10n, flags: 0 })]);
      expect(bid.status).to.equal(201);
      expect(BigInt(bid.body.receipt.epoch)).to.be.greaterThan(epoch);
      await until("the next epoch committed", 40_000, async () => {
        const latest = (await stack.chain.publicClient.readContract({ address: stack.chain.commitmentAddress, abi: COMMITMENT_ARTIFACT().abi, functionName: "latestEpoch" })) as bigint;
        return latest >= BigInt(bid.body.receipt.epoch);
      });
    });
  });

  describe("an operator that commits another order at a receipted sequence", function () {
    let stack: Stack;
    let operator: OperatorProcess | undefined;
    const file = logFile("epochs-equivocation");

    before(async function () {
      stack = await startStack({ env: { HYPERINDEX_EPOCH_SECONDS: "1", HYPERINDEX_FAILPOINT: "epoch:after-build" } });
    });

    afterEach(function () {
      if (this.currentTest?.state === "failed") console.log(`--- operator log ${file}:\n${tail(file)}`);
    });

    after(async function () {
      await operator?.stop();
      await stack?.stop();
    });

    it("is proven at fault on chain with the trader's receipt, and the daemon stops its epoch log on the foreign root", async function () {
      operator = await stack.spawnOperator(file);
      const [maker] = await fundTraders(stack, "equivocation", ["maker"], FUNDS);
      await waitCredited(stack, [maker], FUNDS);
      const m = market(stack);
      const ask = await maker.place([maker.order({ ...m, isBuy: false, price: MID + 5n * TICK, amount: WETH / 10n })]);
      expect(ask.status).to.equal(201);
      const signed = parseReceipt(JSON.stringify(ask.body.receipt));
      const { epoch, sequence } = signed.receipt;
      // The daemon built the epoch and died before committing it (the failpoint).
      await exitOf(operator, 30_000);
      operator = undefined;

      // The operator's key commits the epoch with another order at the receipted sequence.
      const forged: OrderAcceptedLeaf[] = [
        { type: "orderAccepted", epoch, sequence, orderHash: `0x${"77".repeat(32)}` as Hex, trader: maker.address.toLowerCase() as Hex, receivedAt: 1n },
        { type: "orderAccepted", epoch, sequence: sequence + 1n, orderHash: `0x${"88".repeat(32)}` as Hex, trader: maker.address.toLowerCase() as Hex, receivedAt: 2n },
      ];
      const tree = CommitmentTree.fromLeaves(forged);
      const operatorWallet = stack.chain.wallet(stack.chain.keys.operator);
      const dataHash = keccak256(serializeEpochData({ epoch, leaves: forged }));
      const commitTx = await operatorWallet.writeContract({ ...commitment(stack), functionName: "commitEpoch", args: [epoch, tree.root, 2n, dataHash], account: operatorWallet.account!, chain: stack.chain.chain } as never);
      expect((await stack.chain.publicClient.waitForTransactionReceipt({ hash: commitTx })).status).to.equal("success");

      // Anyone holding the receipt proves the fault.
      const reporter = stack.chain.wallet(stack.chain.keys.admin);
      const proveTx = await reporter.writeContract({
        ...commitment(stack),
        functionName: "proveEquivocation",
        args: [epoch, sequence, signed.receipt.orderHash, signed.signature, forged[0].orderHash, forged[0].trader, 1n, tree.proof(0)],
        account: reporter.account!,
        chain: stack.chain.chain,
      } as never);
      expect((await stack.chain.publicClient.waitForTransactionReceipt({ hash: proveTx })).status).to.equal("success");
      const fault = (await stack.chain.publicClient.readContract({ ...commitment(stack), functionName: "equivocationOf", args: [epoch, sequence] })) as { operator: Hex; receiptOrderHash: Hex };
      expect(fault.operator.toLowerCase()).to.equal(signed.operator.toLowerCase());
      expect(fault.receiptOrderHash).to.equal(signed.receipt.orderHash);
      expect(await stack.chain.publicClient.readContract({ ...commitment(stack), functionName: "faultCount" })).to.equal(1n);

      // The daemon, restarted, finds another root for its epoch: it stops its epoch log and says so.
      delete stack.env.HYPERINDEX_FAILPOINT;
      operator = await stack.spawnOperator(file);
      const health = await until("/health reporting the foreign root", 30_000, async () => {
        const r = await get(`${apiUrl(stack)}/health`).catch(() => undefined);
        const chain = r?.body?.checks?.chains?.[0];
        return chain?.epochs?.fault ? chain : undefined;
      });
      expect(health.epochs.fault).to.match(/committed on chain with root/);
      expect(health.ok).to.equal(false);
    });
  });
});
