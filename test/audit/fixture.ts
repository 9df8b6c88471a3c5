/**
 * Shared by the auditor's tests: a real local chain (anvil) with OrderbookCommitment deployed,
 * epochs committed the way the operator commits them (leaves -> epoch data file ->
 * commitEpoch with the root, leaf count and data hash of the file's bytes), operator-signed
 * receipts, and the auditor run as a person runs it: `ts-node --transpile-only scripts/audit.ts`
 * in a child process, judged by its output and exit code.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Hex as ViemHex } from "viem";
import {
  arrivalSequence,
  issueReceipt,
  serializeReceipt,
  writeEpochDataFile,
  type CommitmentLeaf,
  type EpochCommitment,
  type FillLeaf,
  type OrderAcceptedLeaf,
} from "../../operator/commitment";
import type { Address, Hex } from "../../operator/orders";
import { startAnvil, type AnvilNode } from "../../scripts/lib/anvil";
import { COMMITMENT_ARTIFACT, deployLocal, type LocalDeployment } from "../../scripts/lib/localChain";

const REPO = path.join(__dirname, "../..");
const TS_NODE = require.resolve("ts-node/dist/bin.js");

export interface AuditRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the auditor's CLI and waits for it (killed after `timeoutMs`). */
export function runAudit(args: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<AuditRun> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TS_NODE, "--transpile-only", "scripts/audit.ts", ...args], {
      cwd: REPO,
      env: { ...process.env, HYPERINDEX_RPC_URL: "", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += String(d)));
    child.stderr.on("data", (d) => (stderr += String(d)));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 90_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** The --json result of a run (its one stdout line). */
export function jsonOf(run: AuditRun): Record<string, unknown> {
  return JSON.parse(run.stdout.trim()) as Record<string, unknown>;
}

/** The value of a `  label   value` line of the human output. */
export function fieldOf(stdout: string, label: string): string | undefined {
  const line = stdout.split("\n").find((l) => l.startsWith(`  ${label}  `));
  return line?.slice(label.length + 2).trim();
}

export const randomHash = (): Hex => `0x${randomBytes(32).toString("hex")}`;
const randomAddress = (): Address => `0x${randomBytes(20).toString("hex")}`;

/** Market 1's arrival sequence `n` (what a receipt and a leaf carry). */
export const seq = (n: number): bigint => arrivalSequence(1, BigInt(n));

export function orderLeaf(epoch: bigint, sequence: bigint, orderHash: Hex = randomHash()): OrderAcceptedLeaf {
  return { type: "orderAccepted", epoch, sequence, orderHash, trader: randomAddress(), receivedAt: 1_767_225_600_000n + sequence % 1_000_000n };
}

export function fillLeaf(epoch: bigint, fillId: bigint): FillLeaf {
  return { type: "fill", epoch, fillId, makerHash: randomHash(), takerHash: randomHash(), price: 3_000_000_000n, amount: 10n ** 17n, batchId: fillId };
}

export interface AuditChain {
  node: AnvilNode;
  d: LocalDeployment;
  /** Where the operator publishes epoch data files. */
  dir: string;
  /** The global options every run takes. */
  args: string[];
  stop(): Promise<void>;
}

export async function startAuditChain(): Promise<AuditChain> {
  // Automine: a commit is mined at once (the auditor reads at the head).
  const node = await startAnvil({ chainId: 31337, blockTime: 0 });
  try {
    const d = await deployLocal(node.url);
    const dir = await mkdtemp(path.join(tmpdir(), "hx-audit-"));
    return {
      node,
      d,
      dir,
      args: ["--rpc", node.url, "--commitment", d.commitmentAddress, "--chain-id", String(d.chainId), "--rpc-per-minute", "100000", "--timeout", "5000"],
      stop: () => node.stop(),
    };
  } catch (error) {
    await node.stop();
    throw error;
  }
}

/** Writes the epoch data file into `dir` (as the operator does) and returns what to commit. */
export async function publishEpoch(dir: string, epoch: bigint, leaves: readonly CommitmentLeaf[]): Promise<EpochCommitment & { path: string }> {
  return writeEpochDataFile(dir, { epoch, leaves });
}

/** commitEpoch from the operator's key, as the operator commits a published file. */
export async function commitEpoch(c: AuditChain, commitment: EpochCommitment): Promise<Hex> {
  const operator = c.d.wallet(c.d.keys.operator);
  const hash = await operator.writeContract({
    address: c.d.commitmentAddress,
    abi: COMMITMENT_ARTIFACT().abi,
    functionName: "commitEpoch",
    args: [commitment.epoch, commitment.root, commitment.leafCount, commitment.dataHash],
    account: operator.account!,
    chain: c.d.chain,
  });
  const receipt = await c.d.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 50 });
  if (receipt.status !== "success") throw new Error(`commitEpoch ${commitment.epoch} reverted`);
  return hash;
}

/** Publishes and commits an epoch. */
export async function publishAndCommit(c: AuditChain, epoch: bigint, leaves: readonly CommitmentLeaf[]): Promise<EpochCommitment & { path: string; tx: Hex }> {
  const published = await publishEpoch(c.dir, epoch, leaves);
  return { ...published, tx: await commitEpoch(c, published) };
}

/** A receipt file signed with `key` (default: the operator's) for (epoch, sequence, orderHash). */
export async function writeReceipt(c: AuditChain, receipt: { epoch: bigint; sequence: bigint; orderHash: Hex }, key: Hex = c.d.keys.operator): Promise<string> {
  const signed = issueReceipt(key, { chainId: BigInt(c.d.chainId), verifyingContract: c.d.commitmentAddress }, receipt);
  const file = path.join(c.dir, `receipt-${receipt.epoch}-${receipt.sequence}-${receipt.orderHash.slice(2, 10)}.json`);
  await writeFile(file, serializeReceipt(signed));
  return file;
}

export async function snapshot(c: AuditChain): Promise<ViemHex> {
  return c.node.rpc<ViemHex>("evm_snapshot", []);
}

export async function revert(c: AuditChain, id: ViemHex): Promise<void> {
  await c.node.rpc("evm_revert", [id]);
}
