/**
 * npm run audit -- check-receipt, against a real chain: the operator signs receipts as it
 * accepts orders, then commits epochs that keep them, leave an order out (omission), put it
 * at another sequence, or put another order at its sequence (equivocation, proven on-chain
 * with the call the auditor prints).
 */
import { expect } from "chai";
import type { Hex as ViemHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { CommitmentLeaf, OrderAcceptedLeaf } from "../../operator/commitment";
import { TEST_KEYS } from "../../scripts/lib/anvil";
import { COMMITMENT_ARTIFACT } from "../../scripts/lib/localChain";
import { fieldOf, fillLeaf, jsonOf, orderLeaf, publishAndCommit, publishEpoch, randomHash, revert, runAudit, seq, snapshot, startAuditChain, writeReceipt, type AuditChain } from "./fixture";

describe("audit check-receipt", function () {
  this.timeout(180_000);
  let c: AuditChain;
  let kept: OrderAcceptedLeaf;
  let omittedReceipt: string;
  let keptReceipt: string;
  let equivocated: OrderAcceptedLeaf;
  let equivocationReceipt: string;
  let resequencedReceipt: string;
  let pendingReceipt: string;
  const receiptOrder = randomHash();

  before(async () => {
    c = await startAuditChain();
    // Epoch 1 keeps every receipt.
    const epoch1: CommitmentLeaf[] = [orderLeaf(1n, seq(1)), orderLeaf(1n, seq(2)), fillLeaf(1n, 1n), orderLeaf(1n, seq(3)), orderLeaf(1n, seq(4))];
    kept = epoch1[1] as OrderAcceptedLeaf;
    await publishAndCommit(c, 1n, epoch1);
    keptReceipt = await writeReceipt(c, { epoch: 1n, sequence: kept.sequence, orderHash: kept.orderHash });
    // Epoch 2: the operator receipted an order as sequence 7, then committed the epoch without it.
    const omitted = randomHash();
    omittedReceipt = await writeReceipt(c, { epoch: 2n, sequence: seq(7), orderHash: omitted });
    await publishAndCommit(c, 2n, [orderLeaf(2n, seq(5)), orderLeaf(2n, seq(6)), orderLeaf(2n, seq(8)), fillLeaf(2n, 2n)]);
    // Epoch 3: sequence 10 was receipted for one order and committed with another; the order of
    // sequence 11 was receipted as sequence 12.
    const epoch3: CommitmentLeaf[] = [orderLeaf(3n, seq(9)), orderLeaf(3n, seq(10)), orderLeaf(3n, seq(11)), fillLeaf(3n, 3n)];
    equivocated = epoch3[1] as OrderAcceptedLeaf;
    equivocationReceipt = await writeReceipt(c, { epoch: 3n, sequence: seq(10), orderHash: receiptOrder });
    resequencedReceipt = await writeReceipt(c, { epoch: 3n, sequence: seq(12), orderHash: (epoch3[2] as OrderAcceptedLeaf).orderHash });
    await publishAndCommit(c, 3n, epoch3);
    // Epoch 4: receipted and published, not committed.
    pendingReceipt = await writeReceipt(c, { epoch: 4n, sequence: seq(13), orderHash: randomHash() });
    await publishEpoch(c.dir, 4n, [orderLeaf(4n, seq(13))]);
  });

  after(async () => {
    await c?.stop();
  });

  const commitment = () => ({ address: c.d.commitmentAddress, abi: COMMITMENT_ARTIFACT().abi });
  const faultCount = () => c.d.publicClient.readContract({ ...commitment(), functionName: "faultCount" }) as Promise<bigint>;

  it("finds a receipted order where the receipt says, and verifies it on-chain: INCLUDED, exit 0", async () => {
    const run = await runAudit([...c.args, "check-receipt", keptReceipt, "--dir", c.dir]);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.match(/^INCLUDED: the operator kept its receipt: order 0x[0-9a-f]{64} is in epoch 1 at sequence \d+ \(verifyOrder returned true\)/);
    expect(fieldOf(run.stdout, "leaf index")).to.equal("1 of 5");
    expect(fieldOf(run.stdout, "signed by")).to.match(/\(the operator; the signature holds\)$/);
  });

  it("reports an order receipted and left out of its committed epoch: OMISSION with the evidence, exit 4", async () => {
    const run = await runAudit([...c.args, "check-receipt", omittedReceipt, "--dir", c.dir]);
    expect(run.code, run.stderr).to.equal(4);
    expect(run.stdout).to.match(/^OMISSION: the operator receipted order 0x[0-9a-f]{64} as \(epoch 2, sequence \d+\) and committed epoch 2 without it/);
    for (const label of ["receipt", "signed by", "epoch root", "data hash", "leaf count", "commit tx"]) expect(fieldOf(run.stdout, label), label).to.be.a("string");
    expect(fieldOf(run.stdout, "leaf count")).to.equal("4");
  });

  it("reports a receipted order committed at another sequence: RESEQUENCED, exit 4", async () => {
    const run = await runAudit([...c.args, "--json", "check-receipt", resequencedReceipt, "--dir", c.dir]);
    expect(run.code, run.stderr).to.equal(4);
    const out = jsonOf(run);
    expect(out.verdict).to.equal("resequenced");
    expect((out.committedLeaf as { sequence: string }).sequence).to.equal(seq(11).toString());
  });

  it("reports another order at the receipted sequence: EQUIVOCATION, and the printed call is accepted on-chain", async () => {
    const run = await runAudit([...c.args, "--json", "check-receipt", equivocationReceipt, "--dir", c.dir]);
    expect(run.code, run.stderr).to.equal(4);
    const out = jsonOf(run);
    expect(out.verdict).to.equal("equivocation");
    expect(out.simulation).to.deep.equal({ accepted: true });
    expect((out.committedLeaf as { orderHash: string }).orderHash).to.equal(equivocated.orderHash);
    const call = out.proveEquivocation as { to: ViemHex; data: ViemHex };
    expect(call.to).to.equal(c.d.commitmentAddress);

    const id = await snapshot(c);
    try {
      // Anyone may send it: here an account that is neither operator nor admin.
      const reporter = c.d.wallet(TEST_KEYS[4]);
      const hash = await reporter.sendTransaction({ to: call.to, data: call.data, account: reporter.account!, chain: c.d.chain });
      const receipt = await c.d.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 });
      expect(receipt.status).to.equal("success");
      const record = (await c.d.publicClient.readContract({ ...commitment(), functionName: "equivocationOf", args: [3n, seq(10)] })) as {
        operator: string;
        reporter: string;
        receiptOrderHash: string;
        committedOrderHash: string;
      };
      expect(record.operator.toLowerCase()).to.equal(privateKeyToAccount(c.d.keys.operator).address.toLowerCase());
      expect(record.reporter.toLowerCase()).to.equal(reporter.account!.address.toLowerCase());
      expect(record.receiptOrderHash).to.equal(receiptOrder);
      expect(record.committedOrderHash).to.equal(equivocated.orderHash);
      expect(await faultCount()).to.equal(1n);
    } finally {
      await revert(c, id);
    }
  });

  it("sends the equivocation proof itself with --submit, and then sees it already proven", async () => {
    const id = await snapshot(c);
    try {
      const env = { HX_AUDIT_REPORTER_KEY: TEST_KEYS[5] };
      const run = await runAudit([...c.args, "check-receipt", equivocationReceipt, "--dir", c.dir, "--submit", "--private-key-env", "HX_AUDIT_REPORTER_KEY"], { env });
      expect(run.code, run.stderr).to.equal(4);
      expect(run.stdout).to.match(/^EQUIVOCATION: /);
      expect(run.stdout).to.match(/\nSUBMITTED: proof accepted in transaction 0x[0-9a-f]{64} \(block \d+, from 0x[0-9a-f]{40}\)/);
      expect(run.stdout + run.stderr).not.to.contain(TEST_KEYS[5].slice(2));
      expect(await faultCount()).to.equal(1n);

      // Asked again, it sees the fault recorded and sends nothing the contract would refuse.
      const again = await runAudit([...c.args, "check-receipt", equivocationReceipt, "--dir", c.dir, "--submit", "--private-key-env", "HX_AUDIT_REPORTER_KEY"], { env });
      expect(again.code).to.equal(4);
      expect(fieldOf(again.stdout, "already proven")).to.match(/^yes, by 0x[0-9a-f]{40} at \d+/);
      expect(fieldOf(again.stdout, "simulated")).to.match(/^the contract refuses it: CommitmentEquivocationAlreadyProven\(3, \d+\)$/);
      expect(again.stdout).to.contain("SUBMISSION FAILED: not sent: the contract refuses it (CommitmentEquivocationAlreadyProven(3, ");
      expect(await faultCount()).to.equal(1n);
    } finally {
      await revert(c, id);
    }
  });

  it("says the receipt's epoch is not committed yet: exit 3", async () => {
    const run = await runAudit([...c.args, "check-receipt", pendingReceipt, "--dir", c.dir]);
    expect(run.code, run.stderr).to.equal(3);
    expect(run.stdout).to.match(/^NOT COMMITTED YET: epoch 4 is not committed on chain 31337 \(latest committed: 3\); the receipt is validly signed/);
  });

  it("takes the contract from the receipt when --commitment is not given", async () => {
    const run = await runAudit(["--rpc", c.node.url, "--rpc-per-minute", "100000", "check-receipt", keptReceipt, "--dir", c.dir]);
    expect(run.code, run.stderr).to.equal(0);
  });

  it("refuses a receipt signed by an address that has never been the operator: INVALID RECEIPT, exit 1", async () => {
    const forged = await writeReceipt(c, { epoch: 3n, sequence: seq(10), orderHash: randomHash() }, TEST_KEYS[4]);
    const run = await runAudit([...c.args, "check-receipt", forged, "--dir", c.dir]);
    expect(run.code, run.stderr).to.equal(1);
    expect(run.stdout).to.match(/^INVALID RECEIPT: it is signed by 0x[0-9a-f]{40}, which is not and has never been the operator/);
  });

  it("refuses a receipt whose signature does not match its operator, without asking the chain: exit 1", async () => {
    const { readFile, writeFile } = await import("node:fs/promises");
    const wire = JSON.parse(await readFile(keptReceipt, "utf8")) as Record<string, string>;
    wire.orderHash = randomHash();
    const tampered = keptReceipt.replace(/\.json$/, "-tampered.json");
    await writeFile(tampered, JSON.stringify(wire));
    const run = await runAudit(["check-receipt", tampered]);
    expect(run.code).to.equal(1);
    expect(run.stdout).to.match(/^INVALID RECEIPT: .*RECEIPT_SIGNER_MISMATCH/);
  });
});
