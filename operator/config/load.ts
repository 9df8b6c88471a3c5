/**
 * Parses the environment into the operator's typed, frozen configuration, once, at start.
 * Nothing else in the operator reads process.env: main.ts calls `loadConfig(process.env)` and
 * hands the result (or parts of it) to each component.
 */
import type { FailpointName } from "../failpoints";
import fs from "node:fs";
import os from "node:os";
import type { ZodIssue } from "zod";
import { z } from "zod";
import { parseMarketList } from "../markets/config";
import type { Market } from "../markets/types";
import type { Address, Hex, OrderDomain } from "../orders/types";
import { redactUrl } from "../log";
import { parseChainList, type ChainEntry } from "./chains";
import { ConfigError, type ConfigIssue } from "./errors";
import { CONFIG_VARIABLES, envSchema, privateKey, type AppendFsyncPolicy, type LogLevel, type ParsedEnv } from "./schema";
import type { Secret } from "./secret";

/** `timeoutMs`: the start fails if Redis is not ready and answering within it. */
export type RedisConfig =
  | { mode: "single"; url: string; password?: Secret<string>; appendfsync: AppendFsyncPolicy; timeoutMs: number }
  | { mode: "cluster"; nodes: readonly { host: string; port: number }[]; password?: Secret<string>; appendfsync: AppendFsyncPolicy; timeoutMs: number };

/** Token bucket: `burst` tokens at most, `perSecond` added each second; one token per order. */
export interface RateLimit {
  burst: number;
  perSecond: number;
}

/** One chain the operator serves (./chains.ts). */
export interface ChainConfig {
  chainId: number;
  /** For logs and metrics; default "chain-<id>". */
  name: string;
  rpcUrl: string;
  settlementAddress: Address;
  commitmentAddress: Address;
  /** The EIP-712 domain orders of this chain's markets are signed for: this chain's Settlement. */
  orderDomain: OrderDomain;
  /** The key that signs this chain's settlement and commitment transactions. Read it with `.reveal()`, only where it signs. */
  operatorPrivateKey: Secret<Hex>;
  /** The variable the key was read from (for error messages; never the key). */
  operatorKeyVariable: string;
  /** Blocks on top of a log's block before the chain watcher applies it. */
  confirmations: number;
  /** Gas one settlement transaction may use (a HyperEVM small block is 3,000,000). */
  settlementGasBudget: number;
  /** RPC requests the operator sends the chain per minute at most (the public HyperEVM RPC allows about 100). */
  rpcRequestsPerMinute: number;
  /** Blocks per eth_getLogs request at most (the public HyperEVM RPC serves 50). */
  logRangeBlocks: number;
  /** How often the chain watcher polls the chain's head (no WebSocket on the public HyperEVM RPC). */
  pollIntervalMs: number;
  /** Transactions of the operator's signer in flight at once (the HyperEVM mempool takes the next 8 nonces of a sender). */
  maxInFlightTxs: number;
  /** A transaction not mined after this long is replaced with higher fees. */
  txStuckAfterMs: number;
  /** How much a replacement raises both fees, in basis points (at least 1250: nodes require a 12.5% bump). */
  feeBumpBps: number;
  /** The longest a matched fill waits for its settlement batch to fill up before the batch is sent anyway. */
  batchMaxWaitMs: number;
  /** The block the chain watcher starts from on its first start; undefined: the head then. */
  startBlock?: number;
  /** Where each value was configured, to name it in errors: a variable, or an entry's field. */
  sources: { chainId: string; rpcUrl: string; settlementAddress: string; commitmentAddress: string };
}

/** Limits per client address and per WebSocket connection, against abuse (operator/api). */
export interface ClientLimits {
  /** HTTP requests per client address per window, every route (WebSocket upgrades included). */
  httpRequestsPerIp: number;
  httpWindowMs: number;
  /** Open WebSocket connections per client address. */
  wsConnectionsPerIp: number;
  /** Messages one WebSocket connection may send per second. */
  wsMessagesPerSecond: number;
  /** Loopback clients (127.0.0.0/8, ::1) are exempt from the per-address limits. */
  exemptLoopback: boolean;
  /** An oversize request body is read and discarded up to this many bytes before the 413 answer. */
  maxBodyDrainBytes: number;
}

export interface OperatorConfig {
  redis: RedisConfig;
  /** Every chain served, ascending chain id; each market names one of them. */
  chains: readonly ChainConfig[];
  http: {
    host: string;
    port: number;
    /** Slow clients: headers not in by then, or a request not complete by then, get 408. */
    headersTimeoutMs: number;
    requestTimeoutMs: number;
    /** On SIGTERM: how long requests in flight may take to finish (new ones get 503). */
    shutdownDrainMs: number;
  };
  /** Validated markets (operator/markets), each on one of `chains`. */
  markets: readonly Market[];
  limits: {
    maxBodyBytes: number;
    maxOrdersPerRequest: number;
    /** Per account (a trader on one chain). */
    placeRateLimit: RateLimit;
    /** Per account. */
    cancelRateLimit: RateLimit;
    maxOpenOrdersPerTrader: number;
    /** Latest accepted order expiry, in seconds from now. */
    maxExpirySeconds: bigint;
  };
  clientLimits: ClientLimits;
  verifier: { poolSize: number; erc1271TimeoutMs: number };
  /** Background loops of the daemon (operator/tasks). */
  tasks: { sweepIntervalMs: number; journalTrimIntervalMs: number };
  /**
   * Run each chain's watcher, signer and settler in this process (HYPERINDEX_CHAIN_SERVICES,
   * default true). Exactly one process per chain must: set false on any other operator process
   * sharing the Redis (an API and matching process only).
   */
  chainServices: boolean;
  /**
   * Epoch commitments (operator/commitment): an epoch closes after `seconds`, or once it holds
   * `maxLeaves` leaves; its data files go to `<dir>/<chainId>/`.
   */
  epochs: { seconds: number; maxLeaves: number; dir: string };
  /** Crash injection for the fault tests (operator/daemon/failpoints.ts); absent in production. */
  failpoint?: { name: FailpointName; after: number };
  /** The journal's retention (operator/journal). */
  journal: { maxLagEntries: number; orderRetentionMs: number };
  /**
   * The balance reconciler (operator/reconciler): a round every `intervalMs`; alert (and halt
   * the affected markets when `halt`) above `driftThreshold` atoms of drift per (chain, token)
   * or on any insolvency; `pairsPerCall` (trader, token) pairs per balancesOf call, each
   * eth_call with `callGas` gas when set.
   */
  reconciler: {
    intervalMs: number;
    driftThreshold: bigint;
    halt: boolean;
    webhookUrl?: string;
    webhookTimeoutMs: number;
    pairsPerCall: number;
    callGas?: bigint;
  };
  logLevel: LogLevel;
}

export interface LoadConfigOptions {
  /** Reads HYPERINDEX_MARKETS_FILE and HYPERINDEX_CHAINS_FILE. Default fs.readFileSync(path, "utf8"). */
  readFile?: (path: string) => string;
  /** Default verifier pool size. Default os.availableParallelism(). */
  cpuCount?: number;
}

const PREFIX = "HYPERINDEX_";
const SHORTHAND = ["HYPERINDEX_RPC_URL", "HYPERINDEX_CHAIN_ID", "HYPERINDEX_SETTLEMENT_ADDRESS", "HYPERINDEX_COMMITMENT_ADDRESS"] as const;
const DEFAULT_KEY_VARIABLE = "HYPERINDEX_OPERATOR_PRIVATE_KEY";

/**
 * Parses `env` (pass process.env) or throws a ConfigError naming every bad variable.
 * Unknown HYPERINDEX_* variables are errors too: a typo must not silently fall back to a
 * default (a variable a chain entry names as its operatorKeyVariable is known).
 */
export function loadConfig(env: Record<string, string | undefined>, options: LoadConfigOptions = {}): OperatorConfig {
  const issues: ConfigIssue[] = [];
  const known = new Set(CONFIG_VARIABLES);
  const ours: Record<string, string | undefined> = {};
  const candidates: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(PREFIX)) continue;
    if (known.has(name)) ours[name] = value;
    else candidates.push(name);
  }

  const parsed = envSchema({ cpuCount: options.cpuCount ?? os.availableParallelism() }).safeParse(ours);
  if (!parsed.success) issues.push(...parsed.error.issues.map(envIssue));
  // Chains and markets are checked even when other variables are wrong, so one start reports everything.
  const chainEntries = loadChains(ours, options, issues);
  const keyVariables = new Set((chainEntries ?? []).map((c) => c.operatorKeyVariable).filter((v): v is string => v !== undefined));
  for (const name of candidates) {
    if (!keyVariables.has(name)) issues.push({ variable: name, message: `unknown variable${suggest(name, CONFIG_VARIABLES)}` });
  }
  const chains = parsed.success && chainEntries !== undefined ? resolveChains(chainEntries, parsed.data, env, issues) : undefined;
  const markets = loadJsonList(
    "HYPERINDEX_MARKETS",
    nonEmpty(ours.HYPERINDEX_MARKETS),
    nonEmpty(ours.HYPERINDEX_MARKETS_FILE),
    options,
    issues,
    (json) => {
      const r = parseMarketList(json, { chainIds: (chainEntries ?? []).map((c) => c.chainId).sort((a, b) => a - b) });
      return r.ok ? { ok: true, value: r.markets } : { ok: false, issues: r.issues };
    },
    chainEntries === undefined,
  );
  const redis = parsed.success ? redisConfig(parsed.data, issues) : undefined;
  if (issues.length > 0 || !parsed.success || markets === undefined || redis === undefined || chains === undefined) {
    throw new ConfigError(issues);
  }

  const e = parsed.data;
  const config: OperatorConfig = {
    redis,
    chains,
    http: {
      host: e.HYPERINDEX_HTTP_HOST,
      port: e.HYPERINDEX_HTTP_PORT,
      headersTimeoutMs: e.HYPERINDEX_HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.HYPERINDEX_HTTP_REQUEST_TIMEOUT_MS,
      shutdownDrainMs: e.HYPERINDEX_SHUTDOWN_DRAIN_MS,
    },
    markets,
    limits: {
      maxBodyBytes: e.HYPERINDEX_MAX_BODY_BYTES,
      maxOrdersPerRequest: e.HYPERINDEX_MAX_ORDERS_PER_REQUEST,
      placeRateLimit: { burst: e.HYPERINDEX_RATE_LIMIT_PLACE_BURST, perSecond: e.HYPERINDEX_RATE_LIMIT_PLACE_PER_SECOND },
      cancelRateLimit: { burst: e.HYPERINDEX_RATE_LIMIT_CANCEL_BURST, perSecond: e.HYPERINDEX_RATE_LIMIT_CANCEL_PER_SECOND },
      maxOpenOrdersPerTrader: e.HYPERINDEX_MAX_OPEN_ORDERS_PER_TRADER,
      maxExpirySeconds: BigInt(e.HYPERINDEX_MAX_EXPIRY_SECONDS),
    },
    clientLimits: {
      httpRequestsPerIp: e.HYPERINDEX_HTTP_RATE_LIMIT_PER_IP,
      httpWindowMs: e.HYPERINDEX_HTTP_RATE_LIMIT_WINDOW_MS,
      wsConnectionsPerIp: e.HYPERINDEX_WS_MAX_CONNECTIONS_PER_IP,
      wsMessagesPerSecond: e.HYPERINDEX_WS_MAX_MESSAGES_PER_SECOND,
      exemptLoopback: e.HYPERINDEX_CLIENT_LIMITS_EXEMPT_LOOPBACK,
      maxBodyDrainBytes: e.HYPERINDEX_MAX_BODY_DRAIN_BYTES,
    },
    verifier: { poolSize: e.HYPERINDEX_VERIFIER_POOL_SIZE, erc1271TimeoutMs: e.HYPERINDEX_ERC1271_TIMEOUT_MS },
    tasks: { sweepIntervalMs: e.HYPERINDEX_SWEEP_INTERVAL_MS, journalTrimIntervalMs: e.HYPERINDEX_JOURNAL_TRIM_INTERVAL_MS },
    chainServices: e.HYPERINDEX_CHAIN_SERVICES,
    epochs: { seconds: e.HYPERINDEX_EPOCH_SECONDS, maxLeaves: e.HYPERINDEX_EPOCH_MAX_LEAVES, dir: e.HYPERINDEX_EPOCH_DIR },
    ...(e.HYPERINDEX_FAILPOINT === undefined ? {} : { failpoint: { name: e.HYPERINDEX_FAILPOINT, after: e.HYPERINDEX_FAILPOINT_AFTER } }),
    journal: { maxLagEntries: e.HYPERINDEX_JOURNAL_MAX_LAG, orderRetentionMs: e.HYPERINDEX_ORDER_RETENTION_SECONDS * 1000 },
    reconciler: {
      intervalMs: e.HYPERINDEX_RECONCILE_INTERVAL_MS,
      driftThreshold: e.HYPERINDEX_RECONCILE_DRIFT_THRESHOLD,
      halt: e.HYPERINDEX_RECONCILE_HALT,
      ...(e.HYPERINDEX_RECONCILE_WEBHOOK_URL === undefined ? {} : { webhookUrl: e.HYPERINDEX_RECONCILE_WEBHOOK_URL }),
      webhookTimeoutMs: e.HYPERINDEX_RECONCILE_WEBHOOK_TIMEOUT_MS,
      pairsPerCall: e.HYPERINDEX_RECONCILE_PAIRS_PER_CALL,
      ...(e.HYPERINDEX_RECONCILE_CALL_GAS === undefined ? {} : { callGas: e.HYPERINDEX_RECONCILE_CALL_GAS }),
    },
    logLevel: e.HYPERINDEX_LOG_LEVEL,
  };
  return deepFreeze(config);
}

/** The chain of `chainId` in the configuration (it must be there). */
export function chainOf(config: Pick<OperatorConfig, "chains">, chainId: number): ChainConfig {
  const chain = config.chains.find((c) => c.chainId === chainId);
  if (chain === undefined) throw new ConfigError([{ variable: "HYPERINDEX_CHAINS", message: `chain ${chainId} is not configured` }]);
  return chain;
}

/** The chain entries: from HYPERINDEX_CHAINS(_FILE), or the one-chain shorthand. */
function loadChains(ours: Record<string, string | undefined>, options: LoadConfigOptions, issues: ConfigIssue[]): ChainEntry[] | undefined {
  const inline = nonEmpty(ours.HYPERINDEX_CHAINS);
  const file = nonEmpty(ours.HYPERINDEX_CHAINS_FILE);
  const shorthand = SHORTHAND.filter((name) => nonEmpty(ours[name]) !== undefined);
  if (inline !== undefined || file !== undefined) {
    if (shorthand.length > 0) {
      issues.push({
        variable: shorthand[0],
        message: `set either HYPERINDEX_CHAINS${file !== undefined ? "_FILE" : ""} or the one-chain variables (${SHORTHAND.join(", ")}), not both`,
      });
      return undefined;
    }
    const source = file === undefined ? "HYPERINDEX_CHAINS" : `HYPERINDEX_CHAINS_FILE (${file})`;
    return loadJsonList("HYPERINDEX_CHAINS", inline, file, options, issues, (json) => {
      const r = parseChainList(json);
      return r.ok ? { ok: true, value: r.chains.map((c, i) => ({ ...c, source: `${source}[${i}]` })) } : { ok: false, issues: r.issues };
    });
  }
  // The shorthand: every variable is required (their formats are checked by the schema).
  const missing = SHORTHAND.filter((name) => nonEmpty(ours[name]) === undefined);
  for (const name of missing) {
    issues.push({ variable: name, message: "required, but not set (or describe the chains in HYPERINDEX_CHAINS / HYPERINDEX_CHAINS_FILE)" });
  }
  if (missing.length > 0) return undefined;
  // The chain id as the schema reads it (a bad one is reported by the schema: nothing to check the markets against).
  const raw = nonEmpty(ours.HYPERINDEX_CHAIN_ID) as string;
  if (!/^[1-9][0-9]{0,15}$/.test(raw) || !Number.isSafeInteger(Number(raw))) return undefined;
  // The other values come from the parsed environment (resolveChains).
  return [{ chainId: Number(raw), rpcUrl: "", settlementAddress: "0x" as Address, commitmentAddress: "0x" as Address, shorthand: true } as ChainEntry];
}

/** Chain entries with their keys read and defaults applied. */
function resolveChains(entries: readonly ChainEntry[], e: ParsedEnv, env: Record<string, string | undefined>, issues: ConfigIssue[]): ChainConfig[] | undefined {
  const fromShorthand = entries.length === 1 && (entries[0] as ChainEntry & { shorthand?: boolean }).shorthand === true;
  const list: ChainEntry[] = fromShorthand
    ? [
        {
          chainId: e.HYPERINDEX_CHAIN_ID as number,
          rpcUrl: e.HYPERINDEX_RPC_URL as string,
          settlementAddress: e.HYPERINDEX_SETTLEMENT_ADDRESS as Address,
          commitmentAddress: e.HYPERINDEX_COMMITMENT_ADDRESS as Address,
        },
      ]
    : [...entries];
  const out: ChainConfig[] = [];
  const before = issues.length;
  list.forEach((c, i) => {
    const variable = c.operatorKeyVariable ?? DEFAULT_KEY_VARIABLE;
    const where = fromShorthand ? variable : `${variable} (operator key of HYPERINDEX_CHAINS[${i}], chain ${c.chainId})`;
    let key: Secret<Hex> | undefined;
    if (variable === DEFAULT_KEY_VARIABLE) {
      key = e.HYPERINDEX_OPERATOR_PRIVATE_KEY;
      if (key === undefined) issues.push({ variable: where, message: "required, but not set" });
    } else {
      const raw = nonEmpty(env[variable]);
      if (raw === undefined) {
        issues.push({ variable: where, message: "required, but not set" });
      } else {
        const checked = z.string().transform(privateKey).safeParse(raw);
        if (checked.success) key = checked.data;
        else issues.push({ variable: where, message: checked.error.issues[0].message });
      }
    }
    if (key === undefined) return;
    const at = (field: string) => `${(c as ChainEntry & { source?: string }).source ?? "HYPERINDEX_CHAINS"}.${field}`;
    out.push({
      chainId: c.chainId,
      name: c.name ?? `chain-${c.chainId}`,
      rpcUrl: c.rpcUrl,
      settlementAddress: c.settlementAddress,
      commitmentAddress: c.commitmentAddress,
      orderDomain: { chainId: BigInt(c.chainId), verifyingContract: c.settlementAddress },
      operatorPrivateKey: key,
      operatorKeyVariable: variable,
      confirmations: c.confirmations ?? e.HYPERINDEX_CONFIRMATIONS,
      settlementGasBudget: c.settlementGasBudget ?? e.HYPERINDEX_SETTLEMENT_GAS_BUDGET,
      rpcRequestsPerMinute: c.rpcRequestsPerMinute ?? e.HYPERINDEX_RPC_REQUESTS_PER_MINUTE,
      logRangeBlocks: c.logRangeBlocks ?? e.HYPERINDEX_LOG_RANGE_BLOCKS,
      pollIntervalMs: c.pollIntervalMs ?? e.HYPERINDEX_CHAIN_POLL_INTERVAL_MS,
      maxInFlightTxs: c.maxInFlightTxs ?? e.HYPERINDEX_MAX_IN_FLIGHT_TXS,
      txStuckAfterMs: c.txStuckAfterMs ?? e.HYPERINDEX_TX_STUCK_AFTER_MS,
      feeBumpBps: c.feeBumpBps ?? e.HYPERINDEX_FEE_BUMP_BPS,
      batchMaxWaitMs: c.batchMaxWaitMs ?? e.HYPERINDEX_BATCH_MAX_WAIT_MS,
      startBlock: c.startBlock ?? (fromShorthand ? e.HYPERINDEX_START_BLOCK : undefined),
      sources: fromShorthand
        ? { chainId: "HYPERINDEX_CHAIN_ID", rpcUrl: "HYPERINDEX_RPC_URL", settlementAddress: "HYPERINDEX_SETTLEMENT_ADDRESS", commitmentAddress: "HYPERINDEX_COMMITMENT_ADDRESS" }
        : { chainId: at("chainId"), rpcUrl: at("rpcUrl"), settlementAddress: at("settlementAddress"), commitmentAddress: at("commitmentAddress") },
    });
  });
  if (issues.length > before) return undefined;
  return out.sort((a, b) => a.chainId - b.chainId);
}

/**
 * The configuration as it may be logged: the private key and passwords replaced, credentials
 * and key-like path segments or query values stripped from URLs. (The Secret fields already
 * print as "[redacted]"; this also covers URLs, which are plain strings.)
 */
export function redactedConfig(config: OperatorConfig): Record<string, unknown> {
  const redis =
    config.redis.mode === "single"
      ? { ...config.redis, url: redactSecretUrl(config.redis.url), password: config.redis.password && "[redacted]" }
      : { ...config.redis, password: config.redis.password && "[redacted]" };
  return {
    ...config,
    redis,
    chains: config.chains.map((c) => ({
      ...c,
      rpcUrl: redactSecretUrl(c.rpcUrl),
      orderDomain: { ...c.orderDomain, chainId: c.orderDomain.chainId.toString() },
      operatorPrivateKey: "[redacted]",
    })),
    markets: config.markets.map((m) => ({
      ...m,
      tickSize: m.tickSize.toString(),
      lotSize: m.lotSize.toString(),
      scale: m.scale.toString(),
      quotePerLotTick: m.quotePerLotTick.toString(),
    })),
    limits: { ...config.limits, maxExpirySeconds: config.limits.maxExpirySeconds.toString() },
    reconciler: {
      ...config.reconciler,
      driftThreshold: config.reconciler.driftThreshold.toString(),
      ...(config.reconciler.webhookUrl === undefined ? {} : { webhookUrl: redactSecretUrl(config.reconciler.webhookUrl) }),
      ...(config.reconciler.callGas === undefined ? {} : { callGas: config.reconciler.callGas.toString() }),
    },
  };
}

/**
 * ../log's redactUrl (user:password) plus what RPC providers use for API keys: a path segment
 * that looks like a token (16+ characters of letters, digits, "-" or "_", with a digit) and
 * every query value.
 */
export function redactSecretUrl(raw: string): string {
  const stripped = redactUrl(raw);
  let url: URL;
  try {
    url = new URL(stripped);
  } catch {
    return stripped;
  }
  url.pathname = url.pathname
    .split("/")
    .map((segment) => (/^(?=.*[0-9])[A-Za-z0-9_-]{16,}$/.test(segment) ? "redacted" : segment))
    .join("/");
  for (const key of [...url.searchParams.keys()]) url.searchParams.set(key, "redacted");
  return url.toString();
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === "" ? undefined : value;
}

/**
 * A JSON list from `<name>` (inline) or `<name>_FILE` (a path), exactly one of the two, checked
 * by `parse`; its issues are reported with their JSON path. `optional`: neither set is fine.
 */
function loadJsonList<T>(
  name: string,
  inline: string | undefined,
  file: string | undefined,
  options: LoadConfigOptions,
  issues: ConfigIssue[],
  parse: (json: unknown) => { ok: true; value: T } | { ok: false; issues: { path: (string | number)[]; message: string }[] },
  skip = false,
): T | undefined {
  if (inline !== undefined && file !== undefined) {
    issues.push({ variable: name, message: `set either ${name} or ${name}_FILE, not both` });
    return undefined;
  }
  if (inline === undefined && file === undefined) {
    issues.push({ variable: name, message: `required, but not set (or set ${name}_FILE to a JSON file)` });
    return undefined;
  }
  const source = file === undefined ? name : `${name}_FILE (${file})`;
  let text: string;
  if (file !== undefined) {
    try {
      text = (options.readFile ?? ((p: string) => fs.readFileSync(p, "utf8")))(file);
    } catch (error) {
      issues.push({ variable: `${name}_FILE`, message: `cannot read ${file}: ${(error as Error).message}` });
      return undefined;
    }
  } else {
    text = inline as string;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    issues.push({ variable: source, message: `expected JSON, got a parse error: ${(error as Error).message}` });
    return undefined;
  }
  // The markets name chains: when the chains are broken, their chain ids cannot be checked.
  if (skip) return undefined;
  const result = parse(json);
  if (!result.ok) {
    issues.push(...result.issues.map((i) => ({ variable: `${source}${jsonPath(i.path)}`, message: i.message })));
    return undefined;
  }
  return result.value;
}

function redisConfig(e: ParsedEnv, issues: ConfigIssue[]): RedisConfig | undefined {
  const password = e.HYPERINDEX_REDIS_PASSWORD;
  const appendfsync = e.HYPERINDEX_REDIS_APPENDFSYNC;
  const timeoutMs = e.HYPERINDEX_REDIS_TIMEOUT_MS;
  if (e.HYPERINDEX_REDIS_CLUSTER_NODES !== undefined) {
    if (e.HYPERINDEX_REDIS_URL !== undefined) {
      issues.push({
        variable: "HYPERINDEX_REDIS_URL",
        message: "set either HYPERINDEX_REDIS_URL (one node) or HYPERINDEX_REDIS_CLUSTER_NODES (cluster), not both",
      });
      return undefined;
    }
    return { mode: "cluster", nodes: e.HYPERINDEX_REDIS_CLUSTER_NODES, password, appendfsync, timeoutMs };
  }
  const url = e.HYPERINDEX_REDIS_URL ?? "redis://127.0.0.1:6379";
  if (password !== undefined && new URL(url).password !== "") {
    issues.push({
      variable: "HYPERINDEX_REDIS_PASSWORD",
      message: "HYPERINDEX_REDIS_URL already has a password; give it in one place only",
    });
    return undefined;
  }
  return { mode: "single", url, password, appendfsync, timeoutMs };
}

function envIssue(i: ZodIssue): ConfigIssue {
  const [name, ...rest] = i.path;
  return { variable: `${String(name ?? "(environment)")}${jsonPath(rest)}`, message: i.message };
}

function jsonPath(path: readonly (string | number)[]): string {
  return path.map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`)).join("");
}

/** " (did you mean X?)" for a close known name, else "". */
function suggest(name: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best !== undefined && bestDistance <= 3 ? ` (did you mean ${best}?)` : "";
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value as Record<string, unknown>)) deepFreeze(child);
  }
  return value;
}
