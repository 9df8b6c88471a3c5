/**
 * A real local chain for tests, the demo and the benchmarks: anvil (from the npm
 * @foundry-rs/anvil package) on a free port, configured like HyperEVM small blocks by default
 * (Cancun, 3,000,000 gas per block, one block per second), with the public test mnemonic's
 * accounts funded. anvil also offers what the fault tests need: anvil_reorg, evm_mine,
 * evm_increaseTime, anvil_setNextBlockBaseFeePerGas, evm_setAutomine, anvil_dropTransaction.
 *
 *   const node = await startAnvil({ chainId: 31337 });
 *   ... node.url ... await node.rpc("evm_mine", []) ...
 *   await node.stop();
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { freePort } from "./redisServer";

/** The public test mnemonic (Hardhat's and anvil's default): account i's key is derived from it. */
export const TEST_MNEMONIC = "test test test test test test test test test test test junk";

/** Private keys of the first accounts of TEST_MNEMONIC (public, for local chains only). */
export const TEST_KEYS = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
  "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
  "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
] as const;

export interface AnvilOptions {
  chainId?: number;
  /** Seconds between blocks; 0: a block per transaction (automine). Default 1. */
  blockTime?: number;
  /** Gas per block. Default 3,000,000 (a HyperEVM small block). */
  gasLimit?: number;
  /** Initial base fee, wei. Default anvil's (1 gwei, then EIP-1559). */
  baseFee?: bigint;
  /** Extra command-line arguments. */
  args?: string[];
}

export interface AnvilNode {
  url: string;
  port: number;
  chainId: number;
  /** A JSON-RPC call to the node. */
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  /** Kills the node (SIGKILL: a node gone without warning) and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port (a fresh chain: anvil keeps no state), unless `state` was given. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function anvilBin(): string {
  return path.join(path.dirname(require.resolve("@foundry-rs/anvil/package.json")), "bin.mjs");
}

async function rpcCall<T>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
  const body = (await response.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}

export async function startAnvil(options: AnvilOptions = {}): Promise<AnvilNode> {
  const port = await freePort();
  const chainId = options.chainId ?? 31337;
  const url = `http://127.0.0.1:${port}`;
  const args = [
    anvilBin(),
    "--port", String(port),
    "--host", "127.0.0.1",
    "--chain-id", String(chainId),
    "--hardfork", "cancun",
    "--gas-limit", String(options.gasLimit ?? 3_000_000),
    "--mnemonic", TEST_MNEMONIC,
    "--accounts", "10",
    "--silent",
    ...((options.blockTime ?? 1) > 0 ? ["--block-time", String(options.blockTime ?? 1)] : []),
    ...(options.baseFee === undefined ? [] : ["--block-base-fee-per-gas", options.baseFee.toString()]),
    ...(options.args ?? []),
  ];
  let child: ChildProcess;
  const launch = async (): Promise<void> => {
    child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (d) => (stderr += String(d)));
    const started = Date.now();
    for (;;) {
      if (child.exitCode !== null) throw new Error(`anvil exited with ${child.exitCode}: ${stderr.slice(0, 500)}`);
      try {
        await rpcCall(url, "eth_chainId");
        return;
      } catch {
        if (Date.now() - started > 20_000) throw new Error(`anvil did not answer on ${url} within 20 s: ${stderr.slice(0, 500)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };
  const exit = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill(signal);
    await exited;
  };
  await launch();
  return {
    url,
    port,
    chainId,
    rpc: (method, params) => rpcCall(url, method, params ?? []),
    kill: () => exit("SIGKILL"),
    restart: async () => {
      await exit("SIGKILL");
      await launch();
    },
    stop: () => exit("SIGTERM"),
  };
}
