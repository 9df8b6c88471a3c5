/**
 * The one place chain clients and contract bindings are built: one viem public client per
 * configured chain (HTTP polling; the public HyperEVM RPC has no WebSocket), with the
 * Settlement and OrderbookCommitment addresses of that chain, and the start-up check that the
 * RPC serves the configured chain and both contracts answer there.
 *
 * Each chain's client is its budgeted RPC client (./rpc.ts: request budget, retries with
 * backoff, circuit breaker), shared by everything that talks to that chain: the start-up
 * check, the verifier's EIP-1271 calls, the chain watcher, the signer and the settler, so the
 * chain's request budget is one budget.
 */
import { createPublicClient, http, type PublicClient } from "viem";
import type { Registry } from "../metrics";
import { createChainRpc, type ChainRpc } from "./rpc";
import type { ChainConfig } from "../config";
import { redactSecretUrl } from "../config";
import type { Logger } from "../log";
import type { Address } from "../orders/types";
import { commitmentAbi, settlementAbi } from "./abi";
import { ChainError } from "./errors";

export interface ChainClient {
  chainId: number;
  name: string;
  config: ChainConfig;
  client: PublicClient;
  /** The budgeted RPC client behind `client` (absent when a test gave its own client). */
  rpc?: ChainRpc;
  settlement: { address: Address; abi: typeof settlementAbi };
  commitment: { address: Address; abi: typeof commitmentAbi };
}

/** What the start-up check learned of a chain. */
export interface ChainInfo {
  /** Settlement's fee recipient: the ledger credits that chain's fees to it. */
  feeAccount: Address;
  /** OrderbookCommitment's latest committed epoch. */
  latestEpoch: bigint;
}

/**
 * One client per chain. `clients` overrides the client of a chain (tests pass Hardhat's);
 * otherwise the chain's budgeted RPC client (with `deps`), or, without deps, a plain HTTP
 * client with a bounded timeout and viem's own retries (one-off tools).
 */
export function createChainClients(
  chains: readonly ChainConfig[],
  clients: ReadonlyMap<number, PublicClient> = new Map(),
  deps?: { logger: Logger; metrics?: Registry },
): Map<number, ChainClient> {
  const out = new Map<number, ChainClient>();
  for (const c of chains) {
    const given = clients.get(c.chainId);
    const rpc = given === undefined && deps !== undefined ? createChainRpc(deps, { chainId: c.chainId, name: c.name, rpcUrl: c.rpcUrl, requestsPerMinute: c.rpcRequestsPerMinute }) : undefined;
    const client = given ?? rpc?.client ?? (createPublicClient({ transport: http(c.rpcUrl, { retryCount: 2, timeout: 10_000 }) }) as PublicClient);
    out.set(c.chainId, {
      chainId: c.chainId,
      name: c.name,
      config: c,
      client,
      rpc,
      settlement: { address: c.settlementAddress, abi: settlementAbi },
      commitment: { address: c.commitmentAddress, abi: commitmentAbi },
    });
  }
  return out;
}

/**
 * Checks that the RPC serves the configured chain and that Settlement and OrderbookCommitment
 * answer at their addresses; reads the fee account. Throws a ChainError naming the variable
 * or entry at fault (never the RPC URL's credentials).
 */
export async function checkChain(deps: { logger: Logger }, chain: ChainClient): Promise<ChainInfo> {
  const src = chain.config.sources;
  const where = `chain ${chain.chainId} (${chain.name}, RPC ${redactSecretUrl(chain.config.rpcUrl)})`;
  let served: number;
  try {
    served = await chain.client.getChainId();
  } catch (error) {
    throw new ChainError("CHAIN_UNREACHABLE", `${src.rpcUrl}: ${where} does not answer eth_chainId (${firstLine(error)})`, {
      cause: error,
      details: { chainId: chain.chainId, variable: src.rpcUrl },
    });
  }
  if (served !== chain.chainId) {
    throw new ChainError("CHAIN_ID_MISMATCH", `${src.chainId}: ${where} serves chain ${served}, not ${chain.chainId}`, {
      details: { chainId: chain.chainId, served, variable: src.chainId },
    });
  }
  let feeAccount: Address;
  try {
    feeAccount = ((await chain.client.readContract({ ...chain.settlement, functionName: "feeRecipient" })) as string).toLowerCase() as Address;
  } catch (error) {
    deps.logger.error({ err: error, chainId: chain.chainId, settlement: chain.settlement.address }, "cannot read the Settlement contract");
    throw new ChainError("CHAIN_CONTRACT_MISSING", `${src.settlementAddress}: no Settlement contract answers at ${chain.settlement.address} on ${where} (${firstLine(error)})`, {
      cause: error,
      details: { chainId: chain.chainId, settlement: chain.settlement.address, variable: src.settlementAddress },
    });
  }
  let latestEpoch: bigint;
  try {
    latestEpoch = (await chain.client.readContract({ ...chain.commitment, functionName: "latestEpoch" })) as bigint;
  } catch (error) {
    deps.logger.error({ err: error, chainId: chain.chainId, commitment: chain.commitment.address }, "cannot read the OrderbookCommitment contract");
    throw new ChainError("CHAIN_CONTRACT_MISSING", `${src.commitmentAddress}: no OrderbookCommitment contract answers at ${chain.commitment.address} on ${where} (${firstLine(error)})`, {
      cause: error,
      details: { chainId: chain.chainId, commitment: chain.commitment.address, variable: src.commitmentAddress },
    });
  }
  return { feeAccount, latestEpoch };
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0].slice(0, 200);
}
