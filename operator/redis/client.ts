/**
 * One factory for the operator's Redis connection: a single node (`url`) or a Redis Cluster
 * (`cluster` seeds). Everything above this file takes a `RedisClient` and works with both.
 *
 * Reconnection: ioredis reconnects with backoff and, by default, resends commands that were
 * written but not answered when the connection dropped. Every script of the operator is
 * idempotent under such a replay (see the script headers), which is what makes a Redis
 * restart survivable without losing or doubling anything.
 */
import Redis, { Cluster, type ClusterNode } from "ioredis";
import { redactUrl, type Logger } from "../log";
import { RedisError } from "./errors";

export type RedisClient = Redis | Cluster;

/** One node by URL, or a cluster by seed nodes; `password` (a secret, never logged) for AUTH. */
export type RedisConnectionOptions =
  | { url: string; cluster?: undefined; password?: string }
  | { cluster: { host: string; port: number }[]; url?: undefined; password?: string };

export interface CreateRedisOptions {
  /**
   * How many reconnection attempts a command waits through before it fails (ioredis
   * maxRetriesPerRequest). The default rides out a restart of a few seconds.
   */
  maxRetriesPerRequest?: number;
  /** Upper bound of the reconnection backoff, milliseconds. */
  maxBackoffMs?: number;
}

export function createRedisClient(
  deps: { logger: Logger },
  connection: RedisConnectionOptions,
  options: CreateRedisOptions = {},
): RedisClient {
  const maxBackoff = options.maxBackoffMs ?? 1_000;
  const retryStrategy = (times: number): number => Math.min(50 * times, maxBackoff);
  const common = {
    maxRetriesPerRequest: options.maxRetriesPerRequest ?? 40,
    retryStrategy,
    enableAutoPipelining: false,
    ...(connection.password === undefined ? {} : { password: connection.password }),
  };
  let client: RedisClient;
  if (connection.cluster) {
    client = new Cluster(connection.cluster as ClusterNode[], {
      redisOptions: common,
      clusterRetryStrategy: retryStrategy,
      enableOfflineQueue: true,
    });
    deps.logger.info({ seeds: connection.cluster.length }, "redis cluster client created");
  } else {
    client = new Redis(connection.url, common);
    deps.logger.info({ url: redactUrl(connection.url) }, "redis client created");
  }
  let lastErrorLog = 0;
  client.on("error", (error: Error) => {
    // Connection errors repeat on every retry: log at most once a second.
    const now = Date.now();
    if (now - lastErrorLog > 1_000) {
      lastErrorLog = now;
      deps.logger.warn({ err: error.message }, "redis connection error");
    }
  });
  return client;
}

export function isCluster(client: RedisClient): client is Cluster {
  return (client as Cluster).isCluster === true;
}

/** The nodes scripts must be loaded on: every master of a cluster, or the one node. */
export function masterNodes(client: RedisClient): Redis[] {
  return isCluster(client) ? client.nodes("master") : [client];
}

/** Where the client connects, for messages (host:port of the node or of the cluster seeds; never a password). */
export function describeRedis(client: RedisClient): string {
  if (isCluster(client)) {
    const seeds = (client as unknown as { startupNodes: (ClusterNode | string | number)[] }).startupNodes;
    return `cluster ${seeds.map((n) => (typeof n === "object" ? `${n.host ?? "?"}:${n.port ?? "?"}` : String(n))).join(",")}`;
  }
  return `${client.options.host}:${client.options.port}`;
}

/**
 * Closes the client: QUIT (pending replies are awaited) for at most `timeoutMs`, then the
 * socket is dropped. A Redis that never answers must not hold a shutdown forever.
 */
export async function closeRedis(client: RedisClient, timeoutMs = 2_000): Promise<void> {
  if (client.status === "end") return;
  let timer: NodeJS.Timeout | undefined;
  const quit = client.status === "ready" ? client.quit().then(() => undefined, () => undefined) : Promise.resolve();
  await Promise.race([quit, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  clearTimeout(timer);
  client.disconnect();
}

/** Resolves once the client can route commands (cluster slots known); else a RedisError REDIS_NOT_READY naming the address. */
export async function waitReady(client: RedisClient, timeoutMs = 10_000): Promise<void> {
  if (client.status === "ready") return;
  if (client.status === "wait") await client.connect().catch(() => undefined);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new RedisError("REDIS_NOT_READY", `redis at ${describeRedis(client)} not ready after ${timeoutMs} ms`, { details: { address: describeRedis(client), timeoutMs } })),
      timeoutMs,
    );
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    if (client.status === "ready") return done();
    client.once("ready", done);
  });
}
