/**
 * npm run audit -- rebuild-epoch / audit-epochs, against a real chain with three committed
 * epochs: the operator's files rebuild what it committed; a changed leaf, a re-ordered file
 * (same root, other bytes) and a missing file are each told apart.
 */
import { expect } from "chai";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { epochDataFileName, parseEpochData, serializeEpochData, type CommitmentLeaf, type OrderAcceptedLeaf } from "../../operator/commitment";
import { fillLeaf, jsonOf, orderLeaf, publishAndCommit, runAudit, seq, startAuditChain, type AuditChain } from "./fixture";

/** Rewrites epoch `epoch`'s file in `dir` after `edit` changed its leaves (still a well-formed file). */
async function rewrite(dir: string, epoch: bigint, edit: (leaves: CommitmentLeaf[]) => void): Promise<string> {
  const file = path.join(dir, epochDataFileName(epoch));
  const data = parseEpochData(await readFile(file));
  const leaves = [...data.leaves];
  edit(leaves);
  await writeFile(file, serializeEpochData({ epoch, leaves }));
  return file;
}

describe("audit rebuild-epoch / audit-epochs", function () {
  this.timeout(180_000);
  let c: AuditChain;
  let bad: string;
  let swapped: string;

  before(async () => {
    c = await startAuditChain();
    let n = 0;
    for (const epoch of [1n, 2n, 3n]) {
      const leaves: CommitmentLeaf[] = [];
      for (let i = 0; i < 6; i++) leaves.push(i % 3 === 2 ? fillLeaf(epoch, BigInt(++n)) : orderLeaf(epoch, seq(++n)));
      await publishAndCommit(c, epoch, leaves);
    }
    // Epoch 4 is large enough for operator/commitment to build its tree in a worker thread.
    const big: CommitmentLeaf[] = [];
    for (let i = 0; i < 10_000; i++) big.push(i % 4 === 3 ? fillLeaf(4n, BigInt(++n)) : orderLeaf(4n, seq(++n)));
    await publishAndCommit(c, 4n, big);
    // A copy where the operator's epoch 2 has one leaf changed after the commit, and epoch 3 is missing.
    bad = await mkdtemp(path.join(tmpdir(), "hx-audit-bad-"));
    await cp(c.dir, bad, { recursive: true });
    await rewrite(bad, 2n, (leaves) => {
      const leaf = leaves[1] as OrderAcceptedLeaf;
      leaves[1] = { ...leaf, receivedAt: leaf.receivedAt + 1n };
    });
    await rm(path.join(bad, epochDataFileName(3n)));
    // A copy where epoch 2's first two leaves are swapped: siblings, so the sorted-pair root is the same.
    swapped = await mkdtemp(path.join(tmpdir(), "hx-audit-swapped-"));
    await cp(c.dir, swapped, { recursive: true });
    await rewrite(swapped, 2n, (leaves) => ([leaves[0], leaves[1]] = [leaves[1]!, leaves[0]!]));
  });

  after(async () => {
    await c?.stop();
  });

  it("rebuilds an epoch from the operator's file: data hash, leaf count and root all match, exit 0", async () => {
    const run = await runAudit([...c.args, "rebuild-epoch", "2", "--dir", c.dir]);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.match(/^MATCH: the data file of epoch 2 rebuilds exactly what was committed on chain 31337/);
    for (const check of ["data hash", "epoch number", "leaf count", "Merkle root"]) expect(run.stdout).to.match(new RegExp(`\\n  ${check} .* ok\\n`));
  });

  it("finds a leaf changed after the commit: root and data hash differ, exit 1", async () => {
    const run = await runAudit([...c.args, "--json", "rebuild-epoch", "2", "--file", path.join(bad, epochDataFileName(2n))]);
    expect(run.code, run.stderr).to.equal(1);
    const out = jsonOf(run);
    expect(out.verdict).to.equal("mismatch");
    const ok = Object.fromEntries((out.checks as { check: string; ok: boolean }[]).map((r) => [r.check, r.ok]));
    expect(ok).to.deep.equal({ dataHash: false, epoch: true, leafCount: true, root: false });
  });

  it("finds a file that is not the committed one even when the root still matches (two siblings swapped): exit 1", async () => {
    const run = await runAudit([...c.args, "rebuild-epoch", "2", "--file", path.join(swapped, epochDataFileName(2n))]);
    expect(run.code, run.stderr).to.equal(1);
    expect(run.stdout).to.match(/^MISMATCH: the data file of epoch 2 does not rebuild the commitment \(data hash differs\)/);
    expect(run.stdout).to.match(/\n  data hash .* MISMATCH\n/);
    expect(run.stdout).to.match(/\n  Merkle root .* ok\n/);
  });

  it("rebuilds an epoch of 10,000 leaves (its tree built off the main thread)", async () => {
    const run = await runAudit([...c.args, "--json", "rebuild-epoch", "4", "--dir", c.dir]);
    expect(run.code, run.stderr).to.equal(0);
    expect(jsonOf(run).verdict).to.equal("match");
  });

  it("says an epoch is not committed yet before fetching anything: exit 3", async () => {
    const run = await runAudit([...c.args, "rebuild-epoch", "5", "--dir", c.dir]);
    expect(run.code).to.equal(3);
    expect(run.stderr).to.contain("epoch 5 is not committed yet");
  });

  it("audits every committed epoch from a directory: all ok, exit 0", async () => {
    const run = await runAudit([...c.args, "audit-epochs", "--from", "1", "--dir", c.dir]);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.match(/^OK: all 4 epochs from 1 to 4 rebuild exactly what was committed/);
    expect(run.stdout).to.match(/\n  epochs ok +4\n/);
  });

  it("audits epochs served over HTTP by file name (--base-url), as a bucket would", async () => {
    const server: Server = createServer((req, res) => {
      const name = path.basename(req.url ?? "");
      readFile(path.join(c.dir, name)).then(
        (body) => res.writeHead(200, { "content-type": "application/json" }).end(body),
        () => res.writeHead(404).end(),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as { port: number };
      const run = await runAudit([...c.args, "--json", "audit-epochs", "--from", "2", "--to", "3", "--base-url", `http://127.0.0.1:${port}/epochs`]);
      expect(run.code, run.stderr).to.equal(0);
      expect(jsonOf(run).summary).to.deep.equal({ epochs: 2, ok: 2, mismatched: 0, missing: 0 });
    } finally {
      server.close();
    }
  });

  it("fails the audit when one file was changed and another is missing, and sums it up: exit 1", async () => {
    const run = await runAudit([...c.args, "audit-epochs", "--from", "1", "--to", "3", "--dir", bad]);
    expect(run.code).to.equal(1);
    expect(run.stdout).to.match(/^FAILED: 2 of 3 epochs from 1 to 3 are not ok/);
    expect(run.stdout).to.match(/\n  2 +mismatch +data hash, Merkle root differ\n/);
    expect(run.stdout).to.match(/\n  3 +missing +the data file of epoch 3 is missing/);
    expect(run.stdout).to.match(/\n  epochs ok +1\n  mismatched +1\n  missing files +1\n/);
    // Without a terminal there is no progress bar; each problem is noted on stderr as it is found.
    expect(run.stderr).to.contain("epoch 2: MISMATCH");
  });

  it("refuses a range past the latest committed epoch: exit 3", async () => {
    const run = await runAudit([...c.args, "audit-epochs", "--from", "2", "--to", "5", "--dir", c.dir]);
    expect(run.code).to.equal(3);
    expect(run.stderr).to.contain("epoch 5 is not committed yet");
  });
});
