/**
 * What the fault tests of issue 9 share: traders funded on the stack's chain in a few blocks,
 * matched pairs placed over HTTP, waits, the operator as a child process that a failpoint may
 * kill, and node controls (mining on and off).
 *
 * No mocks: the operator, anvil and Redis are the real ones the stack starts (scripts/lib/stack.ts).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import pino from "pino";
import { parseEther, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createLogger, type Logger } from "../../../operator/log";
import { keccak256, type Address } from "../../../operator/orders";
import { DemoTrader, get, type ApiReply } from "../../../scripts/demo/trader";
import { ERC20_ARTIFACT, SETTLEMENT_ARTIFACT } from "../../../scripts/lib/localChain";
import { TICK, USDC, WETH, type OperatorProcess, type Stack } from "../../../scripts/lib/stack";

export const MID = 2_000n * USDC;
export { TICK, USDC, WETH };

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every 100 ms until it returns something other than undefined / false. */
export async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** The operator's API address of the stack (its port is fixed in the stack's environment). */
export function apiUrl(stack: Stack): string {
  return `http://127.0.0.1:${stack.env.HYPERINDEX_HTTP_PORT}`;
}

export function market(stack: Stack): { baseToken: Address; quoteToken: Address } {
  return { baseToken: stack.chain.wethAddress as Address, quoteToken: stack.chain.usdcAddress as Address };
}

/**
 * Traders with their deposits on chain, in three rounds of blocks (gas and mints from the
 * admin, approvals, deposits), each sender numbering its own transactions. The operator
 * credits the deposits from the chain's events (waitCredited).
 */
export async function fundTraders(stack: Stack, tag: string, names: readonly string[], amounts: { weth: bigint; usdc: bigint }): Promise<DemoTrader[]> {
  const d = stack.chain;
  const keys = names.map((n) => keccak256(Buffer.from(`faults:${tag}:${n}`)));
  const hexKeys = keys.map((k) => `0x${k.toString("hex")}` as Hex);
  const erc20 = ERC20_ARTIFACT().abi;
  const wait = async (hashes: Hex[]): Promise<void> => {
    const receipts = await Promise.all(hashes.map((hash) => d.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 100, timeout: 60_000 })));
    const failed = receipts.find((r) => r.status !== "success");
    if (failed !== undefined) throw new Error(`funding transaction ${failed.transactionHash} reverted`);
  };
  const admin = d.wallet(d.keys.admin);
  let adminNonce = await d.publicClient.getTransactionCount({ address: admin.account!.address, blockTag: "pending" });
  const round1: Hex[] = [];
  for (const key of hexKeys) {
    const to = privateKeyToAccount(key).address;
    round1.push(await admin.sendTransaction({ to, value: parseEther("1"), nonce: adminNonce++, account: admin.account!, chain: d.chain }));
    for (const [token, amount] of [
      [d.wethAddress, amounts.weth],
      [d.usdcAddress, amounts.usdc],
    ] as const) {
      round1.push(await admin.writeContract({ address: token, abi: erc20, functionName: "mint", args: [to, amount], nonce: adminNonce++, account: admin.account!, chain: d.chain }));
    }
  }
  await wait(round1);
  await Promise.all(
    hexKeys.map(async (key) => {
      const wallet = d.wallet(key);
      let nonce = await d.publicClient.getTransactionCount({ address: wallet.account!.address, blockTag: "pending" });
      const approvals: Hex[] = [];
      for (const [token, amount] of [
        [d.wethAddress, amounts.weth],
        [d.usdcAddress, amounts.usdc],
      ] as const) {
        approvals.push(await wallet.writeContract({ address: token, abi: erc20, functionName: "approve", args: [d.settlementAddress, amount], nonce: nonce++, account: wallet.account!, chain: d.chain }));
      }
      await wait(approvals);
      const deposits: Hex[] = [];
      for (const [token, amount] of [
        [d.wethAddress, amounts.weth],
        [d.usdcAddress, amounts.usdc],
      ] as const) {
        deposits.push(
          await wallet.writeContract({ address: d.settlementAddress, abi: SETTLEMENT_ARTIFACT().abi, functionName: "deposit", args: [token, amount], nonce: nonce++, account: wallet.account!, chain: d.chain }),
        );
      }
      await wait(deposits);
    }),
  );
  const domain = { chainId: BigInt(d.chainId), verifyingContract: d.settlementAddress };
  return names.map((n, i) => new DemoTrader(n, keys[i], apiUrl(stack), domain));
}

/** Waits until the operator's ledger shows `amounts` available for every trader (the watcher credited the deposits). */
export async function waitCredited(stack: Stack, traders: readonly DemoTrader[], amounts: { weth: bigint; usdc: bigint }, ms = 20_000): Promise<void> {
  for (const t of traders) {
    await until(`${t.name}'s deposits credited`, ms, async () => {
      const { body } = await get(`${apiUrl(stack)}/v1/accounts/${t.address}/balances`).catch(() => ({ body: undefined }));
      const b = body?.chains?.[0]?.balances ?? {};
      return BigInt(b[stack.chain.wethAddress]?.available ?? 0) === amounts.weth && BigInt(b[stack.chain.usdcAddress]?.available ?? 0) === amounts.usdc;
    });
  }
}

/**
 * The maker sells `lots` x 0.001 WETH at MID + 5 ticks (a resting ask), the taker buys it with
 * a crossing bid: one fill. Returns its fill id, from the engine's reply.
 */
export async function matchPair(stack: Stack, maker: DemoTrader, taker: DemoTrader, amount: bigint = WETH / 10n): Promise<bigint> {
  const m = market(stack);
  const ask = await maker.place([maker.order({ ...m, isBuy: false, price: MID + 5n * TICK, amount })]);
  expect(ask.status, `the ask: ${JSON.stringify(ask.body)}`).to.equal(201);
  const bid = await taker.place([taker.order({ ...m, isBuy: true, price: MID + 50n * TICK, amount, flags: 0 })]);
  expect(bid.status, `the bid: ${JSON.stringify(bid.body)}`).to.equal(201);
  expect(bid.body.state, `the bid: ${JSON.stringify(bid.body)}`).to.equal("filled");
  return fillIdsOf(bid)[0];
}

export function fillIdsOf(reply: ApiReply): bigint[] {
  const fills = (reply.body?.fills ?? []) as { fillId: string }[];
  expect(fills.length, `fills in ${JSON.stringify(reply.body)}`).to.be.greaterThan(0);
  return fills.map((f) => BigInt(f.fillId));
}

/** Node controls: anvil mines one block a second; a test stops and resumes it around a step. */
export const mining = {
  stop: (stack: Stack) => stack.node.rpc("evm_setIntervalMining", [0]),
  resume: (stack: Stack) => stack.node.rpc("evm_setIntervalMining", [1]),
};

/** A log file per operator process (kept under the OS temp directory, printed on failure). */
export function logFile(name: string): string {
  const dir = path.join(os.tmpdir(), "hyperindex-faults");
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, `${name}-${process.pid}-${Date.now()}.log`);
}

/** A logger for an operator in this process, writing JSON lines to `logFile(name)` (TEST_LOG_LEVEL, default info). */
export function fileLogger(name: string): { logger: Logger; file: string } {
  const file = logFile(name);
  return { logger: createLogger({ level: process.env.TEST_LOG_LEVEL ?? "info", destination: pino.destination({ dest: file, sync: true }) }), file };
}

/** The last `lines` lines of a log file (to explain a failure). */
export function tail(file: string, lines = 40): string {
  try {
    return fs.readFileSync(file, "utf8").trim().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** Waits until the child process is gone; resolves with the signal that ended it (a failpoint: SIGKILL). */
export async function exitOf(op: OperatorProcess, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const child = op.child;
  if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the operator (pid ${child.pid}) did not exit within ${ms} ms`)), ms);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}
