/**
 * The auditor's view of one chain: the operator's budgeted RPC client (operator/chain: request
 * budget, retries with backoff on node failures, bounded per-attempt timeout, API keys kept out
 * of errors), checked to serve the chain asked for, and the OrderbookCommitment bound to it.
 *
 * Every read is pinned to one block, read once at connection: what the tool prints was true
 * at that block, and several reads never mix two states of the contract.
 *
 * A node that gives no answer after the retries is RPC_UNREACHABLE ("RPC unreachable at URL");
 * the node's own answers (a revert) come back as they are, decoded by `revertOf`.
 */
import {
  BaseError as ViemBaseError,
  ContractFunctionRevertedError,
  HttpRequestError,
  RpcRequestError,
  TimeoutError,
  type Abi,
  type PublicClient,
} from "viem";
import { createChainRpc, describeRpcError, isBreakerOpen, isNodeFailure, type ChainRpc, type RetryPolicy } from "../../operator/chain";
import { redactSecretUrl } from "../../operator/config";
import type { Logger } from "../../operator/log";
import type { Address, Hex } from "../../operator/orders";
import { AuditError } from "./errors";

export interface RpcOptions {
  /** May carry an API key: printed only redacted. */
  rpcUrl: string;
  /** The chain the auditor means; the RPC's eth_chainId must be this. Default: whatever the RPC serves. */
  chainId?: number;
  /** Per-attempt HTTP timeout, ms. */
  timeoutMs: number;
  /** Request budget (the public HyperEVM RPC allows about 100 a minute). */
  requestsPerMinute: number;
  retry?: RetryPolicy;
}

export const DEFAULT_RPC_RETRY: RetryPolicy = { attempts: 4, initialMs: 250, maxMs: 2_000 };

/** What OrderbookCommitment.epochOf returns. */
export interface OnChainEpoch {
  root: Hex;
  dataHash: Hex;
  leafCount: bigint;
  committedAt: bigint;
}

export interface AuditChain {
  chainId: number;
  /** The RPC URL, safe to print. */
  safeUrl: string;
  client: PublicClient;
  rpc: ChainRpc;
  /** Block every read is pinned to. */
  blockNumber: bigint;
  /** Runs an RPC request; a node that does not answer becomes RPC_UNREACHABLE. */
  call<T>(what: string, request: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface CommitmentContract {
  chain: AuditChain;
  address: Address;
  abi: Abi;
  /** A view of the contract at the pinned block. Reverts come back as viem errors (see revertOf). */
  read<T>(functionName: string, args?: readonly unknown[]): Promise<T>;
}

/** Connects to the RPC, checks its chain id, and pins the block. */
export async function connectChain(deps: { logger: Logger }, options: RpcOptions): Promise<AuditChain> {
  const safeUrl = redactSecretUrl(options.rpcUrl);
  const open = (chainId: number): ChainRpc =>
    createChainRpc(
      { logger: deps.logger },
      {
        chainId,
        name: "audit",
        rpcUrl: options.rpcUrl,
        requestsPerMinute: options.requestsPerMinute,
        timeoutMs: options.timeoutMs,
        retry: options.retry ?? DEFAULT_RPC_RETRY,
        // Opens only past the retries of one request: a tool run either gets its answer or stops.
        breaker: { failureThreshold: (options.retry ?? DEFAULT_RPC_RETRY).attempts + 1, resetMs: 30_000 },
      },
    );
  const call = <T>(what: string, request: () => Promise<T>): Promise<T> => guarded(safeUrl, what, request);

  let rpc = open(options.chainId ?? 0);
  try {
    const served = await call("eth_chainId", () => rpc.client.getChainId());
    if (options.chainId !== undefined && served !== options.chainId) {
      throw new AuditError("CHAIN_MISMATCH", `wrong chain: the RPC at ${safeUrl} serves chain ${served}, not chain ${options.chainId} (--chain-id)`, {
        details: { expected: options.chainId, served },
      });
    }
    if (options.chainId === undefined) {
      // The budgeted client labels its chain; reopen it with the id the RPC serves (transactions are signed for it).
      await rpc.close();
      rpc = open(served);
    }
    const blockNumber = await call("eth_blockNumber", () => rpc.client.getBlockNumber());
    const live = rpc;
    return { chainId: served, safeUrl, client: live.client, rpc: live, blockNumber, call, close: () => live.close() };
  } catch (error) {
    await rpc.close();
    throw error;
  }
}

/** Binds OrderbookCommitment at `address`, after checking there is a contract there. */
export async function bindCommitment(chain: AuditChain, address: Address, abi: Abi): Promise<CommitmentContract> {
  const code = await chain.call("eth_getCode", () => chain.client.getCode({ address, blockNumber: chain.blockNumber }));
  if (code === undefined || code === "0x") {
    throw new AuditError("NO_CONTRACT", `no contract at ${address} on chain ${chain.chainId} (block ${chain.blockNumber}): check --commitment`, {
      details: { address, chainId: chain.chainId },
    });
  }
  return {
    chain,
    address,
    abi,
    read: <T>(functionName: string, args: readonly unknown[] = []) =>
      chain.call(functionName, () =>
        chain.client.readContract({ address, abi, functionName, args, blockNumber: chain.blockNumber }) as Promise<T>,
      ),
  };
}

export async function latestEpoch(c: CommitmentContract): Promise<bigint> {
  return c.read<bigint>("latestEpoch");
}

export async function epochOf(c: CommitmentContract, epoch: bigint): Promise<OnChainEpoch> {
  const e = await c.read<OnChainEpoch>("epochOf", [epoch]);
  return { root: e.root, dataHash: e.dataHash, leafCount: BigInt(e.leafCount), committedAt: BigInt(e.committedAt) };
}

export const ZERO_HASH: Hex = `0x${"0".repeat(64)}`;

export function isCommitted(e: OnChainEpoch): boolean {
  return e.root.toLowerCase() !== ZERO_HASH;
}

/** The "not committed yet" error, with the latest committed epoch for context. */
export function notCommitted(c: CommitmentContract, epoch: bigint, latest: bigint): AuditError {
  return new AuditError(
    "EPOCH_NOT_COMMITTED",
    `epoch ${epoch} is not committed yet on chain ${c.chain.chainId} (latest committed epoch: ${latest === 0n ? "none" : latest}, block ${c.chain.blockNumber}): try again later`,
    { details: { epoch, latestEpoch: latest, blockNumber: c.chain.blockNumber } },
  );
}

/** The transaction that committed `epoch`, from its EpochCommitted log; undefined when the node will not say. */
export async function findCommitTx(c: CommitmentContract, epoch: bigint, fromBlock: bigint): Promise<{ hash: Hex; blockNumber: bigint } | undefined> {
  try {
    const logs = await c.chain.client.getContractEvents({
      address: c.address,
      abi: c.abi,
      eventName: "EpochCommitted",
      args: { epoch },
      fromBlock,
      toBlock: c.chain.blockNumber,
    });
    const log = logs[0];
    if (log === undefined || log.transactionHash === null || log.blockNumber === null) return undefined;
    return { hash: log.transactionHash, blockNumber: log.blockNumber };
  } catch {
    // Public RPCs cap log ranges: the commit transaction is a courtesy, not part of the verdict.
    return undefined;
  }
}

/** The custom error a contract call reverted with (name and arguments), if it reverted with one. */
export function revertOf(error: unknown): { errorName: string; args: readonly unknown[] } | undefined {
  if (!(error instanceof ViemBaseError)) return undefined;
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
  const data = reverted?.data;
  if (data?.errorName === undefined) return undefined;
  return { errorName: data.errorName, args: data.args ?? [] };
}

async function guarded<T>(safeUrl: string, what: string, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    if (error instanceof AuditError) throw error;
    if (isUnreachable(error)) {
      throw new AuditError("RPC_UNREACHABLE", `RPC unreachable at ${safeUrl}: ${what} got no answer after several tries (${describeFailure(error)})`, {
        details: { rpc: safeUrl, request: what },
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * Whether the node gave no usable answer (after the retries): no HTTP answer, a timeout, an
 * HTTP error status, a rate limit, or the breaker open. viem wraps the transport's error in the
 * action's (a readContract's ContractFunctionExecutionError), so the cause chain is walked; a
 * revert or a call that returned no data is the node's answer, not a failure.
 */
function isUnreachable(error: unknown): boolean {
  if (isBreakerOpen(error)) return true;
  let e: unknown = error;
  for (let depth = 0; depth < 8 && e !== undefined && e !== null; depth++) {
    // No JSON-RPC answer at all (refused, timed out, any HTTP error status): nothing usable there.
    if (e instanceof HttpRequestError || e instanceof TimeoutError) return true;
    if (e instanceof RpcRequestError) return isNodeFailure("eth_call", e);
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** viem's short description, with the system's reason when there is one ("fetch failed: ECONNREFUSED"). */
function describeFailure(error: unknown): string {
  let e: unknown = error;
  for (let depth = 0; depth < 10 && e !== undefined && e !== null; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^E[A-Z_]+$/.test(code)) return `${describeRpcError(error)}: ${code}`;
    e = (e as { cause?: unknown }).cause;
  }
  return describeRpcError(error);
}
