/**
 * The one schema over the environment: every HYPERINDEX_* variable, its default and its
 * check. `loadConfig` (./load) parses it once at start. Each variable's documentation lives
 * in ./README.md; a test keeps the two lists identical.
 *
 * An empty value counts as unset (a `NAME=` line in an env file). Numbers are written in
 * plain decimal; nothing is guessed or coerced.
 */
import { FAILPOINTS } from "../failpoints";
import { z } from "zod";
import secp256k1 from "secp256k1";
import { show } from "../markets/config";
import { toChecksumAddress } from "../orders/codec";
import type { Address, Hex } from "../orders/types";
import { DEFAULT_CONFIRMATIONS, DEFAULT_SETTLEMENT_GAS_BUDGET, MAX_CONFIRMATIONS, MAX_SETTLEMENT_GAS_BUDGET, MIN_SETTLEMENT_GAS_BUDGET, urlCheck } from "./chains";
import { Secret } from "./secret";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const APPENDFSYNC_POLICIES = ["always", "everysec", "no"] as const;
export type AppendFsyncPolicy = (typeof APPENDFSYNC_POLICIES)[number];

/** Default per-trader limits (also what the engine benchmark runs with, to measure their cost). */
export const DEFAULT_LIMITS = {
  placeRateLimit: { burst: 200, perSecond: 100 },
  cancelRateLimit: { burst: 400, perSecond: 200 },
  maxOpenOrdersPerTrader: 1_000,
} as const;

/**
 * Default limits per client address and per WebSocket connection (operator/api). Loopback
 * clients are exempt from the per-address ones, so the engine benchmark (thousands of requests
 * a second from 127.0.0.1) and a reverse proxy on the same host are never limited.
 */
export const DEFAULT_CLIENT_LIMITS = {
  httpRequestsPerIp: 1_000,
  httpWindowMs: 1_000,
  wsConnectionsPerIp: 50,
  wsMessagesPerSecond: 100,
  exemptLoopback: true,
  maxBodyDrainBytes: 1_048_576,
} as const;

type Raw = string | undefined;

function issue(ctx: z.RefinementCtx, message: string): never {
  ctx.addIssue({ code: z.ZodIssueCode.custom, message });
  return z.NEVER;
}

const raw = z
  .string({ invalid_type_error: "expected a string" })
  .optional()
  .transform((v) => (v === "" ? undefined : v));

/** A variable with a default (itself a valid value of the variable's type). */
function withDefault<T>(fallback: T, parse: (value: string, ctx: z.RefinementCtx) => T) {
  return raw.transform((v, ctx): T => (v === undefined ? fallback : parse(v, ctx)));
}

function optional<T>(parse: (value: string, ctx: z.RefinementCtx) => T) {
  return raw.transform((v, ctx): T | undefined => (v === undefined ? undefined : parse(v, ctx)));
}

/** Integer in [min, max]; `what` names the expectation, e.g. "a positive integer". */
function integer(what: string, min: number, max: number) {
  return (v: string, ctx: z.RefinementCtx): number => {
    if (!/^(?:0|[1-9][0-9]{0,15})$/.test(v)) return issue(ctx, `expected ${what}, got ${show(v)}`);
    const n = Number(v);
    if (n < min || n > max) return issue(ctx, `expected ${what}, got ${show(v)}`);
    return n;
  };
}

const positiveInt = (max = Number.MAX_SAFE_INTEGER) => integer("a positive integer", 1, max);

function boolean(v: string, ctx: z.RefinementCtx): boolean {
  return v === "true" ? true : v === "false" ? false : issue(ctx, `expected true or false, got ${show(v)}`);
}

function oneOf<T extends string>(values: readonly T[]) {
  return (v: string, ctx: z.RefinementCtx): T =>
    (values as readonly string[]).includes(v) ? (v as T) : issue(ctx, `expected one of ${values.join(", ")}, got ${show(v)}`);
}

function address(v: string, ctx: z.RefinementCtx): Address {
  if (!/^0x[0-9a-fA-F]{40}$/.test(v)) return issue(ctx, `expected an address (0x + 40 hex digits), got ${show(v)}`);
  const lower = v.toLowerCase() as Address;
  const body = v.slice(2);
  if (body !== body.toLowerCase() && body !== body.toUpperCase() && toChecksumAddress(lower) !== v) {
    return issue(ctx, `wrong EIP-55 checksum: ${v}`);
  }
  if (/^0x0{40}$/.test(lower)) return issue(ctx, "expected a contract address, got the zero address");
  return lower;
}

// The value may carry credentials: urlCheck says what is wrong without echoing it.
const url = urlCheck;

/** "host:port,host:port" (IPv6 as [::1]:7000). */
function hostPorts(v: string, ctx: z.RefinementCtx): { host: string; port: number }[] {
  const nodes: { host: string; port: number }[] = [];
  for (const entry of v.split(",")) {
    const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/.exec(entry.trim());
    const port = match === null ? NaN : Number(match[2]);
    if (match === null || port < 1 || port > 65_535) {
      return issue(ctx, `expected a comma-separated list of host:port, got ${show(entry)}`);
    }
    nodes.push({ host: match[1].replace(/^\[|\]$/g, ""), port });
  }
  return nodes;
}

export function privateKey(v: string, ctx: z.RefinementCtx): Secret<Hex> {
  // Never echo the value, not even part of it.
  if (!/^0x[0-9a-fA-F]{64}$/.test(v)) return issue(ctx, "expected 0x followed by 64 hex digits (value not shown: secret)");
  if (!secp256k1.privateKeyVerify(Buffer.from(v.slice(2), "hex"))) {
    return issue(ctx, "not a valid secp256k1 private key: zero or not below the curve order (value not shown: secret)");
  }
  return new Secret(v.toLowerCase() as Hex);
}

function secretString(v: string): Secret<string> {
  return new Secret(v);
}

/**
 * Every variable, with its default. Defaults that depend on the machine (the core count) are
 * resolved by ./load, which passes them in.
 */
export function envSchema(machine: { cpuCount: number }) {
  return z.object({
    // Redis
    HYPERINDEX_REDIS_URL: optional(url(["redis", "rediss"])),
    HYPERINDEX_REDIS_CLUSTER_NODES: optional(hostPorts),
    HYPERINDEX_REDIS_PASSWORD: optional(secretString),
    HYPERINDEX_REDIS_APPENDFSYNC: withDefault<AppendFsyncPolicy>("everysec", oneOf(APPENDFSYNC_POLICIES)),
    HYPERINDEX_REDIS_TIMEOUT_MS: withDefault(10_000, positiveInt(600_000)),
    // Chains: HYPERINDEX_CHAINS or HYPERINDEX_CHAINS_FILE (JSON, ./chains.ts), or the one-chain
    // shorthand below (checked in ./load, which also parses the JSON).
    HYPERINDEX_CHAINS: optional((v) => v),
    HYPERINDEX_CHAINS_FILE: optional((v) => v),
    HYPERINDEX_RPC_URL: optional(url(["http", "https", "ws", "wss"])),
    HYPERINDEX_CHAIN_ID: optional(positiveInt()),
    HYPERINDEX_SETTLEMENT_ADDRESS: optional(address),
    HYPERINDEX_COMMITMENT_ADDRESS: optional(address),
    /** Every chain's operator key unless its entry names another variable. */
    HYPERINDEX_OPERATOR_PRIVATE_KEY: optional(privateKey),
    /** Defaults of every chain (an entry of HYPERINDEX_CHAINS may set its own). */
    HYPERINDEX_CONFIRMATIONS: withDefault(DEFAULT_CONFIRMATIONS, integer(`an integer from 0 to ${MAX_CONFIRMATIONS}`, 0, MAX_CONFIRMATIONS)),
    HYPERINDEX_RPC_REQUESTS_PER_MINUTE: withDefault(100, integer("an integer from 1 to 1000000", 1, 1000000)),
    HYPERINDEX_LOG_RANGE_BLOCKS: withDefault(50, integer("an integer from 1 to 100000", 1, 100000)),
    HYPERINDEX_CHAIN_POLL_INTERVAL_MS: withDefault(1000, integer("an integer from 50 to 600000", 50, 600000)),
    HYPERINDEX_MAX_IN_FLIGHT_TXS: withDefault(8, integer("an integer from 1 to 64", 1, 64)),
    HYPERINDEX_TX_STUCK_AFTER_MS: withDefault(15000, integer("an integer from 1000 to 3600000", 1000, 3600000)),
    HYPERINDEX_FEE_BUMP_BPS: withDefault(1500, integer("an integer from 1250 to 100000", 1250, 100000)),
    HYPERINDEX_BATCH_MAX_WAIT_MS: withDefault(1000, integer("an integer from 0 to 600000", 0, 600000)),
    HYPERINDEX_START_BLOCK: optional(integer("a block number", 0, Number.MAX_SAFE_INTEGER)),
    HYPERINDEX_SETTLEMENT_GAS_BUDGET: withDefault(
      DEFAULT_SETTLEMENT_GAS_BUDGET,
      integer(`an integer from ${MIN_SETTLEMENT_GAS_BUDGET} to ${MAX_SETTLEMENT_GAS_BUDGET}`, MIN_SETTLEMENT_GAS_BUDGET, MAX_SETTLEMENT_GAS_BUDGET),
    ),
    // HTTP
    HYPERINDEX_HTTP_HOST: withDefault("127.0.0.1", (v, ctx) =>
      /^[A-Za-z0-9.:-]+$/.test(v) ? v : issue(ctx, `expected a host name or IP address, got ${show(v)}`),
    ),
    HYPERINDEX_HTTP_PORT: withDefault(8080, integer("a port number from 1 to 65535", 1, 65_535)),
    HYPERINDEX_HTTP_HEADERS_TIMEOUT_MS: withDefault(10_000, positiveInt(600_000)),
    HYPERINDEX_HTTP_REQUEST_TIMEOUT_MS: withDefault(30_000, positiveInt(3_600_000)),
    HYPERINDEX_SHUTDOWN_DRAIN_MS: withDefault(10_000, positiveInt(600_000)),
    // Markets: exactly one of the two (checked in ./load, which also parses the JSON).
    HYPERINDEX_MARKETS: optional((v) => v),
    HYPERINDEX_MARKETS_FILE: optional((v) => v),
    // Limits
    HYPERINDEX_MAX_BODY_BYTES: withDefault(131_072, positiveInt(64 * 1024 * 1024)),
    HYPERINDEX_MAX_ORDERS_PER_REQUEST: withDefault(100, positiveInt(10_000)),
    HYPERINDEX_RATE_LIMIT_PLACE_BURST: withDefault(DEFAULT_LIMITS.placeRateLimit.burst, positiveInt()),
    HYPERINDEX_RATE_LIMIT_PLACE_PER_SECOND: withDefault(DEFAULT_LIMITS.placeRateLimit.perSecond, positiveInt()),
    HYPERINDEX_RATE_LIMIT_CANCEL_BURST: withDefault(DEFAULT_LIMITS.cancelRateLimit.burst, positiveInt()),
    HYPERINDEX_RATE_LIMIT_CANCEL_PER_SECOND: withDefault(DEFAULT_LIMITS.cancelRateLimit.perSecond, positiveInt()),
    HYPERINDEX_MAX_OPEN_ORDERS_PER_TRADER: withDefault(DEFAULT_LIMITS.maxOpenOrdersPerTrader, positiveInt()),
    HYPERINDEX_MAX_EXPIRY_SECONDS: withDefault(30 * 86_400, positiveInt()),
    // Limits per client address and WebSocket connection (abuse)
    HYPERINDEX_HTTP_RATE_LIMIT_PER_IP: withDefault(DEFAULT_CLIENT_LIMITS.httpRequestsPerIp, positiveInt()),
    HYPERINDEX_HTTP_RATE_LIMIT_WINDOW_MS: withDefault(DEFAULT_CLIENT_LIMITS.httpWindowMs, positiveInt(3_600_000)),
    HYPERINDEX_WS_MAX_CONNECTIONS_PER_IP: withDefault(DEFAULT_CLIENT_LIMITS.wsConnectionsPerIp, positiveInt()),
    HYPERINDEX_WS_MAX_MESSAGES_PER_SECOND: withDefault(DEFAULT_CLIENT_LIMITS.wsMessagesPerSecond, positiveInt()),
    HYPERINDEX_CLIENT_LIMITS_EXEMPT_LOOPBACK: withDefault<boolean>(DEFAULT_CLIENT_LIMITS.exemptLoopback, boolean),
    HYPERINDEX_CHAIN_SERVICES: withDefault<boolean>(true, boolean),
    HYPERINDEX_FAILPOINT: optional(oneOf(FAILPOINTS)),
    HYPERINDEX_FAILPOINT_AFTER: withDefault(1, integer("an integer from 1 to 1000000", 1, 1_000_000)),
    HYPERINDEX_MAX_BODY_DRAIN_BYTES: withDefault(DEFAULT_CLIENT_LIMITS.maxBodyDrainBytes, positiveInt(1024 * 1024 * 1024)),
    // Verifier
    HYPERINDEX_VERIFIER_POOL_SIZE: withDefault(machine.cpuCount, positiveInt(1_024)),
    HYPERINDEX_ERC1271_TIMEOUT_MS: withDefault(2_000, positiveInt(60_000)),
    // Background work and the journal's retention
    HYPERINDEX_SWEEP_INTERVAL_MS: withDefault(1_000, positiveInt(3_600_000)),
    HYPERINDEX_JOURNAL_TRIM_INTERVAL_MS: withDefault(1_000, positiveInt(3_600_000)),
    HYPERINDEX_JOURNAL_MAX_LAG: withDefault(100_000, positiveInt(100_000_000)),
    HYPERINDEX_ORDER_RETENTION_SECONDS: withDefault(3_600, integer("an integer from 0 to 2592000", 0, 2_592_000)),
    // Epoch commitments (operator/commitment)
    HYPERINDEX_EPOCH_SECONDS: withDefault(60, integer("an integer from 1 to 86400", 1, 86_400)),
    HYPERINDEX_EPOCH_MAX_LEAVES: withDefault(1_000_000, integer("an integer from 1 to 16000000", 1, 16_000_000)),
    HYPERINDEX_EPOCH_DIR: withDefault("data/epochs", (v: string) => v),
    // The balance reconciler (operator/reconciler)
    HYPERINDEX_RECONCILE_INTERVAL_MS: withDefault(60_000, integer("an integer from 1000 to 86400000", 1_000, 86_400_000)),
    HYPERINDEX_RECONCILE_DRIFT_THRESHOLD: withDefault(0n, (v: string, ctx: z.RefinementCtx): bigint =>
      /^(?:0|[1-9][0-9]{0,77})$/.test(v) && BigInt(v) < 2n ** 256n ? BigInt(v) : issue(ctx, `expected token atoms, a decimal integer from 0 to 2^256 - 1, got ${show(v)}`),
    ),
    HYPERINDEX_RECONCILE_HALT: withDefault<boolean>(true, boolean),
    HYPERINDEX_RECONCILE_WEBHOOK_URL: optional(url(["http", "https"])),
    HYPERINDEX_RECONCILE_WEBHOOK_TIMEOUT_MS: withDefault(5_000, integer("an integer from 100 to 60000", 100, 60_000)),
    HYPERINDEX_RECONCILE_PAIRS_PER_CALL: withDefault(5_000, integer("an integer from 1 to 100000", 1, 100_000)),
    HYPERINDEX_RECONCILE_CALL_GAS: optional((v: string, ctx: z.RefinementCtx): bigint =>
      /^[1-9][0-9]{0,11}$/.test(v) ? BigInt(v) : issue(ctx, `expected a gas amount, a positive integer below 10^12, got ${show(v)}`),
    ),
    // Logs
    HYPERINDEX_LOG_LEVEL: withDefault<LogLevel>("info", oneOf(LOG_LEVELS)),
  });
}

export type EnvSchema = ReturnType<typeof envSchema>;
export type ParsedEnv = z.output<EnvSchema>;

/** Every variable the schema knows, for the unknown-variable check and the README test. */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema({ cpuCount: 1 }).shape);
