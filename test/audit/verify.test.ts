/**
 * npm run audit -- verify-order / verify-fill, against a real chain: proofs rebuilt from the
 * operator's epoch data file and judged by OrderbookCommitment on-chain; and the ways a run
 * cannot judge (unknown hash, epoch not committed, wrong chain, nothing listening).
 */
import { expect } from "chai";
import { copyFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { epochDataFileName, type CommitmentLeaf, type OrderAcceptedLeaf } from "../../operator/commitment";
import { freePort } from "../../scripts/lib/redisServer";
import { fieldOf, fillLeaf, jsonOf, orderLeaf, publishAndCommit, publishEpoch, randomHash, runAudit, seq, startAuditChain, type AuditChain } from "./fixture";

describe("audit verify-order / verify-fill", function () {
  this.timeout(180_000);
  let c: AuditChain;
  let epoch1: CommitmentLeaf[];
  let commitTx: string;
  let file1: string;
  let file2: string;
  let epoch2: OrderAcceptedLeaf[];

  before(async () => {
    c = await startAuditChain();
    epoch1 = [orderLeaf(1n, seq(1)), orderLeaf(1n, seq(2)), fillLeaf(1n, 7n), orderLeaf(1n, seq(3)), orderLeaf(1n, seq(4)), fillLeaf(1n, 8n), orderLeaf(1n, seq(5))];
    const committed = await publishAndCommit(c, 1n, epoch1);
    commitTx = committed.tx;
    file1 = committed.path;
    // Epoch 2 is published but not committed (yet).
    epoch2 = [orderLeaf(2n, seq(6)), orderLeaf(2n, seq(7))];
    file2 = (await publishEpoch(c.dir, 2n, epoch2)).path;
  });

  after(async () => {
    await c?.stop();
  });

  it("verifies an order on-chain with the proof rebuilt from the epoch file, and says where and when", async () => {
    const order = epoch1[3] as OrderAcceptedLeaf;
    const run = await runAudit([...c.args, "verify-order", order.orderHash, "--file", file1, "--epoch", "1"]);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.match(/^VERIFIED: order 0x[0-9a-f]{64} is in epoch 1/);
    expect(fieldOf(run.stdout, "sequence")).to.equal(order.sequence.toString());
    expect(fieldOf(run.stdout, "leaf index")).to.equal("3 of 7");
    expect(fieldOf(run.stdout, "commit tx")).to.match(new RegExp(`^${commitTx} \\(block \\d+\\)$`));
    expect(fieldOf(run.stdout, "file data hash")).to.equal("matches the commitment");
    expect(fieldOf(run.stdout, "read at block")).to.match(/^\d+$/);
  });

  it("verifies a fill the same way, and prints one JSON object with --json", async () => {
    const run = await runAudit([...c.args, "--json", "verify-fill", "8", "--dir", c.dir, "--epoch", "1"]);
    expect(run.code, run.stderr).to.equal(0);
    const out = jsonOf(run);
    expect(out).to.include({ command: "verify-fill", verdict: "verified", epoch: "1", leafIndex: 5, commitTx, dataHashMatches: true });
    expect((out.leaf as { fillId: string }).fillId).to.equal("8");
    expect(out.blockNumber).to.match(/^\d+$/);
  });

  it("refuses an order hash the epoch file does not hold: exit 2, and says which", async () => {
    const unknown = randomHash();
    const run = await runAudit([...c.args, "verify-order", unknown, "--file", file1]);
    expect(run.code).to.equal(2);
    expect(run.stderr).to.contain(`unknown order hash ${unknown}`);
    expect(run.stdout).to.equal("");
  });

  it("says an epoch is not committed yet (the contract's CommitmentEpochNotCommitted): exit 3", async () => {
    // The file of epoch 2 exists; its order's proof cannot be judged before the commit.
    const run = await runAudit([...c.args, "--json", "verify-order", epoch2[0]!.orderHash, "--file", file2]);
    expect(run.code, run.stderr).to.equal(3);
    const out = jsonOf(run);
    expect(out.verdict).to.equal("error");
    expect(out.error).to.deep.include({ code: "EPOCH_NOT_COMMITTED" });
    expect(run.stderr).to.contain("epoch 2 is not committed yet");
    expect(run.stderr).to.contain("latest committed epoch: 1");
  });

  it("refuses a file of another epoch than --epoch", async () => {
    const copy = path.join(await mkdtemp(path.join(tmpdir(), "hx-audit-")), epochDataFileName(3n));
    await copyFile(file1, copy);
    const run = await runAudit([...c.args, "verify-order", (epoch1[0] as OrderAcceptedLeaf).orderHash, "--file", copy, "--epoch", "3"]);
    expect(run.code).to.equal(2);
    expect(run.stderr).to.contain("is the data file of epoch 1, not of epoch 3");
  });

  it("stops with a clear error when the RPC serves another chain than --chain-id: exit 2", async () => {
    const args = [...c.args];
    args[args.indexOf("--chain-id") + 1] = "999";
    const run = await runAudit([...args, "verify-order", (epoch1[0] as OrderAcceptedLeaf).orderHash, "--file", file1]);
    expect(run.code).to.equal(2);
    expect(run.stderr).to.contain(`wrong chain: the RPC at ${new URL(c.node.url).toString()} serves chain 31337, not chain 999 (--chain-id)`);
  });

  it("gives up on an RPC nobody answers within a few seconds: 'RPC unreachable', exit 5", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const run = await runAudit(["--rpc", url, "--commitment", c.d.commitmentAddress, "verify-order", randomHash(), "--file", file1]);
    expect(run.code).to.equal(5);
    expect(run.stderr).to.contain(`RPC unreachable at ${url}/`);
    expect(run.stderr).to.contain("ECONNREFUSED");
    // ts-node's start-up (a few seconds on this machine) plus at most ~2 s of retries.
    expect(run.ms).to.be.below(20_000);
  });

  it("gives up on an API nobody answers: 'API unreachable', exit 5", async () => {
    const api = `http://127.0.0.1:${await freePort()}`;
    const run = await runAudit(["--rpc", c.node.url, "--api", api, "verify-order", randomHash()]);
    expect(run.code).to.equal(5);
    expect(run.stderr).to.contain(`API unreachable at ${api}`);
  });

  it("asks for a proof source or the contract when neither is given: exit 2", async () => {
    const noSource = await runAudit([...c.args, "verify-order", randomHash()]);
    expect(noSource.code).to.equal(2);
    expect(noSource.stderr).to.contain("no proof source");
    const noContract = await runAudit(["--rpc", c.node.url, "verify-order", randomHash(), "--file", file1]);
    expect(noContract.code).to.equal(2);
    expect(noContract.stderr).to.contain("no OrderbookCommitment address");
  });
});

