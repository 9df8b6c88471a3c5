/**
 * Starts the operator: Redis (AOF checked, keyspace checked), a client per configured chain
 * (each checked: the RPC serves that chain, Settlement and OrderbookCommitment answer), the
 * verifier pool (one EIP-712 domain per chain), the matching engine (which recovers whatever a
 * previous run left in Redis), the background loops (expiry sweeping, the journal's retention)
 * and the HTTP/WebSocket API. `stop()` shuts down in the reverse order, draining work: no new
 * requests, loops drained, queued orders finished, workers and Redis closed.
 *
 * Used by operator/main.ts (the daemon), the demo and the end-to-end tests.
 */
import type { FastifyInstance } from "fastify";
import type { PublicClient } from "viem";
import { buildApi, closeApi } from "../api";
import { checkChain, createChainClients, type ChainClient } from "../chain";
import { redactedConfig, type OperatorConfig } from "../config";
import { componentLogger, type Logger } from "../log";
import path from "node:path";
import { createEngine, stopEngine, type MatchingEngine } from "../matching";
import type { Registry } from "../metrics";
import { checkKeyspace } from "../migration";
import { createVerifierPool, type Erc1271Client, type VerifierPool } from "../orders/verifier";
import type { Address } from "../orders";
import { closeRedis, createRedisClient, describeRedis, masterNodes, RedisError, waitReady, type RedisClient } from "../redis";
import type { LoopGroup } from "../tasks";
import { createLedger } from "../ledger";
import { createFailpoints } from "../failpoints";
import { startChainServices, type ChainServices } from "./chainServices";
import { createDaemonLoops } from "./loops";
import { createReconciler, reconcilerParamsOf, type Reconciler } from "../reconciler";

/** After the HTTP drain, how long the shutdown waits on an unreachable Redis before cutting the connection. */
const SHUTDOWN_REDIS_GRACE_MS = 5_000;
/** After the cut, how long each remaining shutdown step may still take before it is left behind. */
const SHUTDOWN_ABANDON_MS = 1_000;

export interface OperatorDeps {
  logger: Logger;
  metrics: Registry;
  /** A chain client per chain id; built from each chain's rpcUrl when absent (tests pass Hardhat's). */
  chainClients?: ReadonlyMap<number, PublicClient>;
}

export interface RunningOperator {
  app: FastifyInstance;
  engine: MatchingEngine;
  verifier: VerifierPool;
  redis: RedisClient;
  /** Per chain id. */
  chains: ReadonlyMap<number, ChainClient>;
  /** Each chain's Settlement fee recipient, per chain id. */
  feeAccounts: ReadonlyMap<number, Address>;
  /** The daemon's background loops (sweeping, retention). */
  loops: LoopGroup;
  /** Per chain id: its watcher, signer and settler (empty when HYPERINDEX_CHAIN_SERVICES is false). */
  chainServices: ReadonlyMap<number, ChainServices>;
  /** The balance reconciler (absent when HYPERINDEX_CHAIN_SERVICES is false). */
  reconciler: Reconciler | undefined;
  /** The address the API listens on, e.g. http://127.0.0.1:8080. */
  url: string;
  /** Graceful shutdown; idempotent. */
  stop(): Promise<void>;
}

export async function startOperator(deps: OperatorDeps, config: OperatorConfig): Promise<RunningOperator> {
  const logger = componentLogger(deps.logger, "daemon");
  logger.info({ config: redactedConfig(config) }, "starting operator");
  const closers: (() => Promise<void>)[] = [];
  // Set when the shutdown cut the Redis connection (see stop()).
  let redisCut = false;
  const onRedisCut: (() => void)[] = [];
  const leftBehind = (): Promise<"left-behind"> =>
    new Promise((resolve) => {
      const arm = () => setTimeout(() => resolve("left-behind"), SHUTDOWN_ABANDON_MS).unref();
      if (redisCut) arm();
      else onRedisCut.push(arm);
    });
  const stopAll = async (): Promise<void> => {
    for (const close of closers.reverse()) {
      try {
        // After the Redis connection was cut, a step still waiting on it is left behind (an
        // ioredis client cut while it waits to reconnect never fails its queued commands).
        const outcome = await Promise.race([close(), leftBehind()]);
        if (outcome === "left-behind") logger.warn({ afterMs: SHUTDOWN_ABANDON_MS }, "a shutdown step still waits on the cut Redis connection: going on without it");
      } catch (error) {
        logger.error({ err: error }, "error while stopping");
      }
    }
    closers.length = 0;
  };
  try {
    const password = config.redis.password?.reveal();
    const redis = createRedisClient(
      { logger: deps.logger },
      config.redis.mode === "single" ? { url: config.redis.url, password } : { cluster: [...config.redis.nodes], password },
    );
    closers.push(() => closeRedis(redis));
    await startRedis(redis, config, logger);

    const chains = createChainClients(config.chains, deps.chainClients, { logger: deps.logger, metrics: deps.metrics });
    closers.push(async () => {
      for (const c of chains.values()) await c.rpc?.close();
    });
    const feeAccounts = new Map<number, Address>();
    for (const chain of chains.values()) {
      const info = await checkChain({ logger }, chain);
      feeAccounts.set(chain.chainId, info.feeAccount);
      logger.info({ chainId: chain.chainId, name: chain.name, feeAccount: info.feeAccount, latestEpoch: info.latestEpoch.toString() }, "chain ready");
    }

    const verifier = createVerifierPool(
      { logger: deps.logger, metrics: deps.metrics, chains: new Map([...chains.values()].map((c) => [BigInt(c.chainId), c.client as Erc1271Client])) },
      { domains: config.chains.map((c) => c.orderDomain), size: config.verifier.poolSize, erc1271TimeoutMs: config.verifier.erc1271TimeoutMs },
    );
    closers.push(() => verifier.close());
    await verifier.ready();

    const engine = await createEngine(
      { redis, logger: deps.logger, metrics: deps.metrics },
      {
        markets: config.markets,
        feeAccounts: Object.fromEntries(feeAccounts),
        rateLimits: {
          place: { capacity: config.limits.placeRateLimit.burst, refillPerSecond: config.limits.placeRateLimit.perSecond },
          cancel: { capacity: config.limits.cancelRateLimit.burst, refillPerSecond: config.limits.cancelRateLimit.perSecond },
        },
        maxOpenOrdersPerTrader: config.limits.maxOpenOrdersPerTrader,
      },
    );
    closers.push(() => stopEngine(engine));

    const loops = await createDaemonLoops({ logger: deps.logger, metrics: deps.metrics, redis, engine }, config);
    loops.start();
    closers.push(() => loops.stop());

    // Per chain: signer, settler, watcher (stopped before the engine and Redis close).
    const chainServices = new Map<number, ChainServices>();
    if (config.chainServices) {
      const ledger = await createLedger({ redis, logger: deps.logger });
      const failpoints = createFailpoints(config.failpoint);
      if (config.failpoint !== undefined) logger.warn({ failpoint: config.failpoint }, "HYPERINDEX_FAILPOINT is set: this process kills itself at that point (fault tests only)");
      for (const chain of chains.values()) {
        const services = await startChainServices(
          { redis, logger: deps.logger, metrics: deps.metrics, engine, scripts: ledger.scripts, client: chain.client, rpc: chain.rpc, failpoints },
          {
            chain: chain.config,
            markets: config.markets.filter((m) => m.chainId === chain.chainId),
            feeAccount: feeAccounts.get(chain.chainId)!,
            epochs: { ...config.epochs, dir: path.join(config.epochs.dir, String(chain.chainId)) },
          },
        );
        chainServices.set(chain.chainId, services);
        closers.push(() => services.stop());
      }
    } else {
      logger.warn("HYPERINDEX_CHAIN_SERVICES=false: this process neither watches the chains nor settles; another operator process must");
    }

    // The balance reconciler: with the chain services (it compares at the watcher's applied block).
    let reconciler: Reconciler | undefined;
    if (config.chainServices) {
      reconciler = createReconciler({ redis, logger: deps.logger, metrics: deps.metrics, chains, markets: config.markets, feeAccounts }, reconcilerParamsOf(config));
      reconciler.start();
      const started = reconciler;
      closers.push(() => started.stop());
    }
    const tasks = { status: () => [...loops.status(), ...(reconciler === undefined ? [] : [reconciler.loop.status()])] };

    const app = buildApi(
      {
        engine,
        verifier,
        redis,
        logger: deps.logger,
        metrics: deps.metrics,
        chains: new Map([...chains.values()].map((c) => [c.chainId, c.client as Erc1271Client])),
        tasks,
        chainHealth: { status: () => Promise.all([...chainServices.values()].map((c) => c.status())) },
        epochs: new Map([...chainServices.values()].map((c) => [c.chainId, c.epochs])),
      },
      {
        ...config,
        api: {
          headersTimeoutMs: config.http.headersTimeoutMs,
          requestTimeoutMs: config.http.requestTimeoutMs,
          shutdownDrainMs: config.http.shutdownDrainMs,
        },
      },
    );
    closers.push(() => closeApi(app));
    const url = await app.listen({ host: config.http.host, port: config.http.port });
    logger.info({ url, markets: config.markets.map((m) => m.symbol), chains: config.chains.map((c) => c.chainId) }, "operator ready");

    let stopping: Promise<void> | undefined;
    return {
      app,
      engine,
      verifier,
      redis,
      chains,
      feeAccounts,
      loops,
      chainServices,
      reconciler,
      url,
      stop: () => {
        stopping ??= (async () => {
          logger.info("stopping operator");
          // Redis unreachable while stopping: commands in flight wait out their retries (tens of
          // seconds each). Past the drain time and a margin, the Redis connection is cut: what
          // waits on it fails at once and the rest of the shutdown goes on (nothing accepted is
          // lost: it is in Redis already, or was never acknowledged).
          const deadlineMs = config.http.shutdownDrainMs + SHUTDOWN_REDIS_GRACE_MS;
          const cut = setTimeout(() => {
            logger.warn({ afterMs: deadlineMs }, "shutdown is waiting on Redis: closing the Redis connection now");
            redis.disconnect();
            redisCut = true;
            for (const arm of onRedisCut.splice(0)) arm();
          }, deadlineMs);
          try {
            await stopAll();
          } finally {
            clearTimeout(cut);
          }
          logger.info("operator stopped");
        })();
        return stopping;
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/**
 * Redis ready and answering within HYPERINDEX_REDIS_TIMEOUT_MS (also a Redis that accepts
 * connections but never answers), the append-only file on, and no data of an older layout;
 * else a RedisError naming the variable and the address.
 */
async function startRedis(redis: RedisClient, config: OperatorConfig, logger: Logger): Promise<void> {
  const variable = config.redis.mode === "single" ? "HYPERINDEX_REDIS_URL" : "HYPERINDEX_REDIS_CLUSTER_NODES";
  const timeoutMs = config.redis.timeoutMs;
  const started = Date.now();
  try {
    await waitReady(redis, timeoutMs);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RedisError("REDIS_NOT_READY", `redis at ${describeRedis(redis)} did not answer within ${timeoutMs} ms`)), Math.max(0, timeoutMs - (Date.now() - started)));
    });
    try {
      await Promise.race([(async () => {
        await redis.ping();
        await ensureAppendOnly(redis, config.redis.appendfsync, logger);
      })(), late]);
    } finally {
      clearTimeout(timer);
    }
  } catch (error) {
    if (error instanceof RedisError && error.code === "REDIS_NOT_READY") {
      throw new RedisError("REDIS_NOT_READY", `${variable}: ${error.message} (HYPERINDEX_REDIS_TIMEOUT_MS)`, { cause: error.cause ?? error, details: { ...error.details, variable } });
    }
    throw error;
  }
  await checkKeyspace(redis);
}

/**
 * Accepted orders live in Redis: without the append-only file a Redis restart would lose
 * them. Turns AOF on with the configured fsync policy on every master; a server that refuses
 * CONFIG (managed Redis) is only warned about, since its operator may persist otherwise.
 */
async function ensureAppendOnly(redis: RedisClient, policy: string, logger: Logger): Promise<void> {
  for (const node of masterNodes(redis)) {
    try {
      await node.config("SET", "appendonly", "yes");
      await node.config("SET", "appendfsync", policy);
    } catch (error) {
      logger.warn({ err: error, node: `${node.options.host}:${node.options.port}` }, "could not enable AOF; make sure this Redis persists writes");
    }
  }
}
