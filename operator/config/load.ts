/**
 * Parses the environment into the operator's typed, frozen configuration, once, at start.
 * Nothing else in the operator reads process.env: main.ts calls `loadConfig(process.env)` and
 * hands the result (or parts of it) to each component.
 */
import fs from "node:fs";
import os from "node:os";
import type { ZodIssue } from "zod";
import type { Address, Hex, OrderDomain } from "../orders/types";
import { redactUrl } from "../log";
import { ConfigError, type ConfigIssue } from "./errors";
import { marketListSchema, type MarketSettings } from "./markets";
import { CONFIG_VARIABLES, envSchema, type AppendFsyncPolicy, type LogLevel, type ParsedEnv } from "./schema";
import type { Secret } from "./secret";

export type RedisConfig =
  | { mode: "single"; url: string; password?: Secret<string>; appendfsync: AppendFsyncPolicy }
  | { mode: "cluster"; nodes: readonly { host: string; port: number }[]; password?: Secret<string>; appendfsync: AppendFsyncPolicy };

/** Token bucket: `burst` tokens at most, `perSecond` added each second; one token per order. */
export interface RateLimit {
  burst: number;
  perSecond: number;
}

export interface OperatorConfig {
  redis: RedisConfig;
  chain: {
    rpcUrl: string;
    chainId: number;
    settlementAddress: Address;
    commitmentAddress: Address;
  };
  /** EIP-712 domain orders are signed for: this chain's Settlement. */
  orderDomain: OrderDomain;
  /** The settlement signer's key. Read it with `.reveal()`, only where it signs. */
  operatorPrivateKey: Secret<Hex>;
  http: { host: string; port: number };
  /** Shaped as operator/markets' MarketConfig; see ./toMarkets for Market objects. */
  markets: readonly MarketSettings[];
  limits: {
    maxBodyBytes: number;
    maxOrdersPerRequest: number;
    /** Per trader. */
    placeRateLimit: RateLimit;
    /** Per trader. */
    cancelRateLimit: RateLimit;
    maxOpenOrdersPerTrader: number;
    /** Latest accepted order expiry, in seconds from now. */
    maxExpirySeconds: bigint;
  };
  verifier: { poolSize: number; erc1271TimeoutMs: number };
  logLevel: LogLevel;
}

export interface LoadConfigOptions {
  /** Reads HYPERINDEX_MARKETS_FILE. Default fs.readFileSync(path, "utf8"). */
  readFile?: (path: string) => string;
  /** Default verifier pool size. Default os.availableParallelism(). */
  cpuCount?: number;
}

const PREFIX = "HYPERINDEX_";

/**
 * Parses `env` (pass process.env) or throws a ConfigError naming every bad variable.
 * Unknown HYPERINDEX_* variables are errors too: a typo must not silently fall back to a default.
 */
export function loadConfig(env: Record<string, string | undefined>, options: LoadConfigOptions = {}): OperatorConfig {
  const issues: ConfigIssue[] = [];
  const known = new Set(CONFIG_VARIABLES);
  const ours: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(PREFIX)) continue;
    if (known.has(name)) ours[name] = value;
    else issues.push({ variable: name, message: `unknown variable${suggest(name, CONFIG_VARIABLES)}` });
  }

  const parsed = envSchema({ cpuCount: options.cpuCount ?? os.availableParallelism() }).safeParse(ours);
  if (!parsed.success) issues.push(...parsed.error.issues.map(envIssue));
  // Markets are checked even when other variables are wrong, so one start reports everything.
  const markets = loadMarkets(nonEmpty(ours.HYPERINDEX_MARKETS), nonEmpty(ours.HYPERINDEX_MARKETS_FILE), options, issues);
  const redis = parsed.success ? redisConfig(parsed.data, issues) : undefined;
  if (issues.length > 0 || !parsed.success || markets === undefined || redis === undefined) {
    throw new ConfigError(issues);
  }

  const e = parsed.data;
  const config: OperatorConfig = {
    redis,
    chain: {
      rpcUrl: e.HYPERINDEX_RPC_URL,
      chainId: e.HYPERINDEX_CHAIN_ID,
      settlementAddress: e.HYPERINDEX_SETTLEMENT_ADDRESS,
      commitmentAddress: e.HYPERINDEX_COMMITMENT_ADDRESS,
    },
    orderDomain: { chainId: BigInt(e.HYPERINDEX_CHAIN_ID), verifyingContract: e.HYPERINDEX_SETTLEMENT_ADDRESS },
    operatorPrivateKey: e.HYPERINDEX_OPERATOR_PRIVATE_KEY,
    http: { host: e.HYPERINDEX_HTTP_HOST, port: e.HYPERINDEX_HTTP_PORT },
    markets,
    limits: {
      maxBodyBytes: e.HYPERINDEX_MAX_BODY_BYTES,
      maxOrdersPerRequest: e.HYPERINDEX_MAX_ORDERS_PER_REQUEST,
      placeRateLimit: { burst: e.HYPERINDEX_RATE_LIMIT_PLACE_BURST, perSecond: e.HYPERINDEX_RATE_LIMIT_PLACE_PER_SECOND },
      cancelRateLimit: { burst: e.HYPERINDEX_RATE_LIMIT_CANCEL_BURST, perSecond: e.HYPERINDEX_RATE_LIMIT_CANCEL_PER_SECOND },
      maxOpenOrdersPerTrader: e.HYPERINDEX_MAX_OPEN_ORDERS_PER_TRADER,
      maxExpirySeconds: BigInt(e.HYPERINDEX_MAX_EXPIRY_SECONDS),
    },
    verifier: { poolSize: e.HYPERINDEX_VERIFIER_POOL_SIZE, erc1271TimeoutMs: e.HYPERINDEX_ERC1271_TIMEOUT_MS },
    logLevel: e.HYPERINDEX_LOG_LEVEL,
  };
  return deepFreeze(config);
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
    chain: { ...config.chain, rpcUrl: redactSecretUrl(config.chain.rpcUrl) },
    orderDomain: { ...config.orderDomain, chainId: config.orderDomain.chainId.toString() },
    operatorPrivateKey: "[redacted]",
    markets: config.markets.map((m) => ({ ...m, tickSize: m.tickSize.toString(), lotSize: m.lotSize.toString() })),
    limits: { ...config.limits, maxExpirySeconds: config.limits.maxExpirySeconds.toString() },
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

function loadMarkets(
  inline: string | undefined,
  file: string | undefined,
  options: LoadConfigOptions,
  issues: ConfigIssue[],
): MarketSettings[] | undefined {
  if (inline !== undefined && file !== undefined) {
    issues.push({ variable: "HYPERINDEX_MARKETS", message: "set either HYPERINDEX_MARKETS or HYPERINDEX_MARKETS_FILE, not both" });
    return undefined;
  }
  if (inline === undefined && file === undefined) {
    issues.push({ variable: "HYPERINDEX_MARKETS", message: "required, but not set (or set HYPERINDEX_MARKETS_FILE to a JSON file)" });
    return undefined;
  }
  const source = file === undefined ? "HYPERINDEX_MARKETS" : `HYPERINDEX_MARKETS_FILE (${file})`;
  let text: string;
  if (file !== undefined) {
    try {
      text = (options.readFile ?? ((p: string) => fs.readFileSync(p, "utf8")))(file);
    } catch (error) {
      issues.push({ variable: "HYPERINDEX_MARKETS_FILE", message: `cannot read ${file}: ${(error as Error).message}` });
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
  const parsed = marketListSchema.safeParse(json);
  if (!parsed.success) {
    issues.push(...parsed.error.issues.map((i) => ({ variable: `${source}${jsonPath(i.path)}`, message: i.message })));
    return undefined;
  }
  return parsed.data as MarketSettings[];
}

function redisConfig(e: ParsedEnv, issues: ConfigIssue[]): RedisConfig | undefined {
  const password = e.HYPERINDEX_REDIS_PASSWORD;
  const appendfsync = e.HYPERINDEX_REDIS_APPENDFSYNC;
  if (e.HYPERINDEX_REDIS_CLUSTER_NODES !== undefined) {
    if (e.HYPERINDEX_REDIS_URL !== undefined) {
      issues.push({
        variable: "HYPERINDEX_REDIS_URL",
        message: "set either HYPERINDEX_REDIS_URL (one node) or HYPERINDEX_REDIS_CLUSTER_NODES (cluster), not both",
      });
      return undefined;
    }
    return { mode: "cluster", nodes: e.HYPERINDEX_REDIS_CLUSTER_NODES, password, appendfsync };
  }
  const url = e.HYPERINDEX_REDIS_URL ?? "redis://127.0.0.1:6379";
  if (password !== undefined && new URL(url).password !== "") {
    issues.push({
      variable: "HYPERINDEX_REDIS_PASSWORD",
      message: "HYPERINDEX_REDIS_URL already has a password; give it in one place only",
    });
    return undefined;
  }
  return { mode: "single", url, password, appendfsync };
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
