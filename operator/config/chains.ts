/**
 * The chains the operator serves: HYPERINDEX_CHAINS (JSON) or HYPERINDEX_CHAINS_FILE, or the
 * one-chain shorthand (HYPERINDEX_RPC_URL, HYPERINDEX_CHAIN_ID, HYPERINDEX_SETTLEMENT_ADDRESS,
 * HYPERINDEX_COMMITMENT_ADDRESS). One entry per chain:
 *
 *   [{ "chainId": 999, "name": "hyperevm", "rpcUrl": "https://rpc.hyperliquid.xyz/evm",
 *      "settlementAddress": "0x…", "commitmentAddress": "0x…",
 *      "operatorKeyVariable": "HYPERINDEX_OPERATOR_PRIVATE_KEY_999",   (optional)
 *      "confirmations": 2, "settlementGasBudget": 2700000,               (optional, and the
 *      "rpcRequestsPerMinute": 100, "logRangeBlocks": 50, ...,           tunables of
 *      "startBlock": 123 }]                                             CHAIN_TUNABLES)
 *
 * The operator key of a chain is read from the variable the entry names, or from
 * HYPERINDEX_OPERATOR_PRIVATE_KEY (one key for every chain); a key is never written in the
 * file itself.
 */
import { z } from "zod";
import { addressSchema, show } from "../markets/config";
import type { Address } from "../orders/types";

/** HyperEVM small blocks carry 3,000,000 gas: a batch that fits one, with a 10% margin. */
export const DEFAULT_SETTLEMENT_GAS_BUDGET = 2_700_000;
/** Blocks on top of a log's block before the chain watcher applies it. */
export const DEFAULT_CONFIRMATIONS = 2;
export const MAX_CONFIRMATIONS = 1_000;
/** HyperEVM big blocks carry 30,000,000 gas: no transaction can use more. */
export const MAX_SETTLEMENT_GAS_BUDGET = 30_000_000;
export const MIN_SETTLEMENT_GAS_BUDGET = 100_000;

function custom(ctx: z.RefinementCtx, message: string): never {
  ctx.addIssue({ code: z.ZodIssueCode.custom, message });
  return z.NEVER;
}

const integer = (min: number, max: number) =>
  z.unknown().transform((value, ctx): number => {
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      return custom(ctx, `expected an integer from ${min} to ${max}, got ${show(value)}`);
    }
    return value;
  });

export const RPC_PROTOCOLS = ["http", "https", "ws", "wss"] as const;

/** A URL of one of `protocols`; never echoes the value (it may carry credentials). */
export function urlCheck(protocols: readonly string[]) {
  return (v: string, ctx: z.RefinementCtx): string => {
    let parsed: URL;
    try {
      parsed = new URL(v);
    } catch {
      return custom(ctx, `expected a ${protocols.join(" or ")} URL, got something that does not parse as a URL`);
    }
    const scheme = parsed.protocol.replace(/:$/, "");
    if (!protocols.includes(scheme)) return custom(ctx, `expected a ${protocols.join(" or ")} URL, got a ${scheme}: URL`);
    return v;
  };
}

const chainSchema = z
  .object({
    chainId: integer(1, Number.MAX_SAFE_INTEGER),
    name: z
      .unknown()
      .transform((value, ctx): string =>
        typeof value === "string" && /^[a-z0-9][a-z0-9-]{0,31}$/.test(value) ? value : custom(ctx, `expected a name of a-z 0-9 - (1-32 characters), got ${show(value)}`),
      )
      .optional(),
    rpcUrl: z.unknown().transform((value, ctx): string => (typeof value === "string" ? urlCheck(RPC_PROTOCOLS)(value, ctx) : custom(ctx, `expected a URL, got ${show(value)}`))),
    settlementAddress: addressSchema("a contract address"),
    commitmentAddress: addressSchema("a contract address"),
    operatorKeyVariable: z
      .unknown()
      .transform((value, ctx): string =>
        typeof value === "string" && /^[A-Z_][A-Z0-9_]{0,63}$/.test(value) ? value : custom(ctx, `expected an environment variable name (A-Z 0-9 _), got ${show(value)}`),
      )
      .optional(),
    confirmations: integer(0, MAX_CONFIRMATIONS).optional(),
    settlementGasBudget: integer(MIN_SETTLEMENT_GAS_BUDGET, MAX_SETTLEMENT_GAS_BUDGET).optional(),
    rpcRequestsPerMinute: integer(1, 1000000).optional(),
    logRangeBlocks: integer(1, 100000).optional(),
    pollIntervalMs: integer(50, 600000).optional(),
    maxInFlightTxs: integer(1, 64).optional(),
    txStuckAfterMs: integer(1000, 3600000).optional(),
    feeBumpBps: integer(1250, 100000).optional(),
    batchMaxWaitMs: integer(0, 600000).optional(),
    /** The block the chain watcher starts from on its first start (default: the head then). */
    startBlock: integer(0, Number.MAX_SAFE_INTEGER).optional(),
  })
  .strict();

/** One chain entry as written (before the key is read and defaults applied). */
export interface ChainEntry {
  chainId: number;
  name?: string;
  rpcUrl: string;
  settlementAddress: Address;
  commitmentAddress: Address;
  operatorKeyVariable?: string;
  confirmations?: number;
  settlementGasBudget?: number;
  rpcRequestsPerMinute?: number;
  logRangeBlocks?: number;
  pollIntervalMs?: number;
  maxInFlightTxs?: number;
  txStuckAfterMs?: number;
  feeBumpBps?: number;
  batchMaxWaitMs?: number;
  startBlock?: number;
}

/** A chain's tunables: the entry's field, the variable that gives every chain its default, and the bounds. */
export const CHAIN_TUNABLES = [
  { field: "rpcRequestsPerMinute", variable: "HYPERINDEX_RPC_REQUESTS_PER_MINUTE", fallback: 100, min: 1, max: 1000000 },
  { field: "logRangeBlocks", variable: "HYPERINDEX_LOG_RANGE_BLOCKS", fallback: 50, min: 1, max: 100000 },
  // With one block a second a poll with news costs ~4 requests: every 5 s, the watcher and the
  // signer's tracking take about half of the public RPC's 100 requests a minute.
  { field: "pollIntervalMs", variable: "HYPERINDEX_CHAIN_POLL_INTERVAL_MS", fallback: 5000, min: 50, max: 600000 },
  { field: "maxInFlightTxs", variable: "HYPERINDEX_MAX_IN_FLIGHT_TXS", fallback: 8, min: 1, max: 64 },
  { field: "txStuckAfterMs", variable: "HYPERINDEX_TX_STUCK_AFTER_MS", fallback: 15000, min: 1000, max: 3600000 },
  { field: "feeBumpBps", variable: "HYPERINDEX_FEE_BUMP_BPS", fallback: 1500, min: 1250, max: 100000 },
  { field: "batchMaxWaitMs", variable: "HYPERINDEX_BATCH_MAX_WAIT_MS", fallback: 1000, min: 0, max: 600000 },
] as const;

export type ChainTunable = (typeof CHAIN_TUNABLES)[number]["field"];

export interface ChainIssue {
  path: (string | number)[];
  message: string;
}

/** Validates the chains list: each entry, and chain ids and names unique. */
export function parseChainList(json: unknown): { ok: true; chains: ChainEntry[] } | { ok: false; issues: ChainIssue[] } {
  if (!Array.isArray(json)) return { ok: false, issues: [{ path: [], message: "expected a JSON array of chains" }] };
  if (json.length === 0) return { ok: false, issues: [{ path: [], message: "expected at least one chain" }] };
  const issues: ChainIssue[] = [];
  const chains: ChainEntry[] = [];
  const ids = new Map<number, number>();
  const names = new Map<string, number>();
  json.forEach((entry, i) => {
    const parsed = chainSchema.safeParse(entry);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) issues.push({ path: [i, ...issue.path], message: issue.message });
      return;
    }
    const c = parsed.data as ChainEntry;
    const name = c.name ?? `chain-${c.chainId}`;
    if (ids.has(c.chainId)) issues.push({ path: [i, "chainId"], message: `chain ${c.chainId} is listed twice (also [${ids.get(c.chainId)}])` });
    else ids.set(c.chainId, i);
    if (names.has(name)) issues.push({ path: [i, "name"], message: `name ${name} is used twice (also [${names.get(name)}])` });
    else names.set(name, i);
    chains.push(c);
  });
  return issues.length > 0 ? { ok: false, issues } : { ok: true, chains };
}
