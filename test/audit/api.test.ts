/**
 * The auditor against a running operator (anvil + Redis + the daemon, scripts/lib/stack.ts):
 * proofs and epoch data files fetched from its API (GET /v1/proofs/..., /v1/epochs/...), the
 * contract's address taken from GET /v1/epochs/latest, every verdict still the chain's. The
 * same commands as the file-based tests; only the fetch differs.
 */
import { expect } from "chai";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { RunningOperator } from "../../operator/daemon/start";
import { get } from "../../scripts/demo/trader";
import { startStack, type Stack } from "../../scripts/lib/stack";
import { waitSettled } from "../e2e/faults/audit";
import { apiUrl, fileLogger, fundTraders, market, MID, tail, TICK, until, USDC, waitCredited, WETH } from "../e2e/faults/harness";
import { fieldOf, jsonOf, randomHash, runAudit } from "./fixture";

const FUNDS = { weth: 10n * WETH, usdc: 50_000n * USDC };

describe("audit against the operator API", function () {
  this.timeout(180_000);
  let stack: Stack;
  let operator: RunningOperator;
  let log = "";
  let args: string[];
  let orderHash: string;
  let fillId: bigint;
  let epoch: bigint;
  let receiptFile: string;

  before(async function () {
    stack = await startStack({ env: { HYPERINDEX_EPOCH_SECONDS: "2", HYPERINDEX_BATCH_MAX_WAIT_MS: "200" } });
    const { logger, file } = fileLogger("audit-api");
    log = file;
    operator = await stack.startOperator({ logger });
    args = ["--rpc", stack.node.url, "--api", apiUrl(stack), "--chain-id", String(stack.chain.chainId), "--rpc-per-minute", "100000", "--timeout", "5000"];

    const [maker, taker] = await fundTraders(stack, "audit-api", ["maker", "taker"], FUNDS);
    await waitCredited(stack, [maker, taker], FUNDS);
    const m = market(stack);
    const ask = await maker.place([maker.order({ ...m, isBuy: false, price: MID + 5n * TICK, amount: WETH / 10n })]);
    expect(ask.status, JSON.stringify(ask.body)).to.equal(201);
    const bid = await taker.place([taker.order({ ...m, isBuy: true, price: MID + 50n * TICK, amount: WETH / 10n, flags: 0 })]);
    expect(bid.status, JSON.stringify(bid.body)).to.equal(201);
    orderHash = ask.body.orderHash;
    fillId = BigInt(bid.body.fills[0].fillId);
    receiptFile = path.join(tmpdir(), `hx-audit-receipt-${orderHash.slice(2, 12)}.json`);
    await writeFile(receiptFile, JSON.stringify(ask.body.receipt));
    epoch = BigInt(ask.body.receipt.epoch);

    await waitSettled(stack, [maker.address, taker.address], 30_000);
    await until("the order's and the fill's epochs committed", 60_000, async () => {
      const order = await get(`${apiUrl(stack)}/v1/proofs/orders/${orderHash}`);
      const fill = await get(`${apiUrl(stack)}/v1/proofs/fills/${fillId}`);
      return order.body?.committed === true && fill.body?.committed === true && fill.body.leaf !== null;
    });
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed") console.log(`--- operator log ${log}:\n${tail(log)}`);
  });

  after(async () => {
    await operator?.stop();
    await stack?.stop();
  });

  it("verifies an order with the API's proof, the contract named by the API: exit 0", async () => {
    const run = await runAudit([...args, "verify-order", orderHash]);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.match(new RegExp(`^VERIFIED: order ${orderHash} is in epoch ${epoch}`));
    expect(fieldOf(run.stdout, "proof")).to.match(/from API http:\/\/127\.0\.0\.1:\d+\/?$/);
    expect(fieldOf(run.stdout, "commit tx")).to.match(/^0x[0-9a-f]{64}/);
  });

  it("verifies a fill with the API's proof: exit 0", async () => {
    const run = await runAudit([...args, "--json", "verify-fill", fillId.toString()]);
    expect(run.code, run.stderr).to.equal(0);
    expect(jsonOf(run).verdict).to.equal("verified");
  });

  it("rebuilds the order's epoch from the data file the API serves: exit 0", async () => {
    const run = await runAudit([...args, "rebuild-epoch", epoch.toString()]);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.match(/^MATCH: /);
  });

  it("audits every committed epoch from the API's files: exit 0", async () => {
    const run = await runAudit([...args, "--json", "audit-epochs", "--from", "1"]);
    expect(run.code, run.stderr).to.equal(0);
    const summary = jsonOf(run).summary as { epochs: number; ok: number };
    expect(summary.ok).to.equal(summary.epochs);
    expect(summary.epochs).to.be.greaterThanOrEqual(Number(epoch));
  });

  it("finds the operator's receipt kept, with the epoch file from the API: INCLUDED, exit 0", async () => {
    const run = await runAudit([...args, "check-receipt", receiptFile]);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.match(/^INCLUDED: /);
  });

  it("says the API does not know an order hash: exit 2", async () => {
    const unknown = randomHash();
    const run = await runAudit([...args, "verify-order", unknown]);
    expect(run.code).to.equal(2);
    expect(run.stderr).to.contain(`unknown order hash ${unknown}`);
  });
});
