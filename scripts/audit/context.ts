/**
 * What every command works with, built once from the global options: the chain (checked to be
 * the one asked for, reads pinned to one block), OrderbookCommitment bound at its address
 * (from --commitment, from the receipt being checked, or from the API), the API client when
 * --api is given, and the output.
 */
import type { Logger } from "../../operator/log";
import { decodeAddress, type Address } from "../../operator/orders";
import { createApiClient, type ApiClient } from "./api";
import { loadCommitmentAbi } from "./artifact";
import { bindCommitment, connectChain, type AuditChain, type CommitmentContract } from "./chain";
import { AuditError } from "./errors";
import type { Output } from "./output";

export interface GlobalOptions {
  /** JSON-RPC URL (--rpc, or HYPERINDEX_RPC_URL read by the entry point). */
  rpc?: string;
  commitment?: Address;
  chainId?: number;
  api?: string;
  json: boolean;
  /** Per-request timeout of the RPC and the API, ms. */
  timeoutMs: number;
  rpcPerMinute: number;
  /** Where to start looking for EpochCommitted logs (the commit transaction). */
  fromBlock: bigint;
}

export interface AuditContext {
  options: GlobalOptions;
  chain: AuditChain;
  commitment: CommitmentContract;
  api?: ApiClient;
  out: Output;
}

export interface ContextDeps {
  logger: Logger;
  out: Output;
}

/**
 * Connects and binds. `commitmentHint`: an address the input itself names (a receipt's
 * verifying contract), used when --commitment is not given and refused when it differs.
 */
export async function openContext(deps: ContextDeps, options: GlobalOptions, commitmentHint?: Address): Promise<AuditContext> {
  if (options.rpc === undefined || options.rpc === "") {
    throw new AuditError("USAGE", "no RPC: give --rpc URL or set HYPERINDEX_RPC_URL");
  }
  if (options.commitment !== undefined && commitmentHint !== undefined && options.commitment !== commitmentHint) {
    throw new AuditError("INVALID_INPUT", `the receipt is for OrderbookCommitment ${commitmentHint}, not ${options.commitment} (--commitment)`, {
      details: { receipt: commitmentHint, option: options.commitment },
    });
  }
  const abi = loadCommitmentAbi();
  const chain = await connectChain({ logger: deps.logger }, { rpcUrl: options.rpc, chainId: options.chainId, timeoutMs: options.timeoutMs, requestsPerMinute: options.rpcPerMinute });
  try {
    const api = options.api === undefined ? undefined : createApiClient({ url: options.api, chainId: chain.chainId, timeoutMs: options.timeoutMs });
    const address = options.commitment ?? commitmentHint ?? (await commitmentFromApi(api));
    const commitment = await bindCommitment(chain, address, abi);
    return { options, chain, commitment, api, out: deps.out };
  } catch (error) {
    await chain.close();
    throw error;
  }
}

export async function closeContext(ctx: AuditContext): Promise<void> {
  await ctx.chain.close();
}

/** The OrderbookCommitment address the API names (GET /v1/epochs/latest: `commitment`). */
async function commitmentFromApi(api: ApiClient | undefined): Promise<Address> {
  if (api === undefined) throw new AuditError("USAGE", "no OrderbookCommitment address: give --commitment ADDRESS, or --api URL to ask the operator");
  const body = (await api.getJson("/v1/epochs/latest")) as { commitment?: unknown } | null;
  try {
    return decodeAddress(body?.commitment, "commitment");
  } catch {
    throw new AuditError("API_ERROR", `the API at ${api.safeUrl} did not name the OrderbookCommitment (GET /v1/epochs/latest has no valid "commitment"): give --commitment`, {
      details: { api: api.safeUrl },
    });
  }
}
