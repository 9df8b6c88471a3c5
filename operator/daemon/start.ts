/**
 * Starts the operator: Redis (AOF checked), the chain client, the verifier pool, the matching
 * engine (which recovers whatever a previous run left in Redis) and the HTTP/WebSocket API.
 * `stop()` shuts down in the reverse order, draining work: no new requests, queued orders
 * finished, workers and Redis closed.
 *
 * Used by operator/main.ts (the daemon), the demo and the end-to-end tests.
 */
import type { FastifyInstance } from "fastify";
import { createPublicClient, http, type PublicClient } from "viem";
import { buildApi } from "../api";
import { settlementAbi } from "../chain/abi";
import { marketsFromConfig, redactedConfig, type OperatorConfig } from "../config";
import { componentLogger, type Logger } from "../log";
import { createEngine, stopEngine, type MatchingEngine } from "../matching";
import type { Registry } from "../metrics";
import { createVerifierPool, type VerifierPool } from "../orders/verifier";
import type { Address } from "../orders";
import { createRedisClient, masterNodes, waitReady, type RedisClient } from "../redis";

export interface OperatorDeps {
  logger: Logger;
  metrics: Registry;
  /** A chain client; built from config.chain.rpcUrl when absent (tests pass Hardhat's). */
  chain?: PublicClient;
}

export interface RunningOperator {
  app: FastifyInstance;
  engine: MatchingEngine;
  verifier: VerifierPool;
  redis: RedisClient;
  chain: PublicClient;
  /** The address the API listens on, e.g. http://127.0.0.1:8080. */
  url: string;
  feeAccount: Address;
  /** Graceful shutdown; idempotent. */
  stop(): Promise<void>;
}

export async function startOperator(deps: OperatorDeps, config: OperatorConfig): Promise<RunningOperator> {
  const logger = componentLogger(deps.logger, "daemon");
  logger.info({ config: redactedConfig(config) }, "starting operator");
  const closers: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const close of closers.reverse()) {
      try {
        await close();
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
    closers.push(async () => void (await redis.quit()));
    await waitReady(redis);
    await ensureAppendOnly(redis, config.redis.appendfsync, logger);

    const chain = deps.chain ?? (createPublicClient({ transport: http(config.chain.rpcUrl, { retryCount: 2, timeout: 10_000 }) }) as PublicClient);
    const feeAccount = await readFeeAccount(chain, config, logger);

    const verifier = createVerifierPool(
      { logger: deps.logger, chain, metrics: deps.metrics },
      { domain: config.orderDomain, size: config.verifier.poolSize, erc1271TimeoutMs: config.verifier.erc1271TimeoutMs },
    );
    closers.push(() => verifier.close());
    await verifier.ready();

    const engine = await createEngine(
      { redis, logger: deps.logger, metrics: deps.metrics },
      {
        markets: marketsFromConfig(config.markets),
        feeAccount,
        rateLimits: {
          place: { capacity: config.limits.placeRateLimit.burst, refillPerSecond: config.limits.placeRateLimit.perSecond },
          cancel: { capacity: config.limits.cancelRateLimit.burst, refillPerSecond: config.limits.cancelRateLimit.perSecond },
        },
        maxOpenOrdersPerTrader: config.limits.maxOpenOrdersPerTrader,
      },
    );
    closers.push(() => stopEngine(engine));

    const app = buildApi(
      { engine, verifier, redis, logger: deps.logger, metrics: deps.metrics, chain },
      { orderDomain: config.orderDomain, markets: config.markets, limits: config.limits, verifier: config.verifier },
    );
    closers.push(() => app.close());
    const url = await app.listen({ host: config.http.host, port: config.http.port });
    logger.info({ url, markets: config.markets.map((m) => m.symbol), feeAccount }, "operator ready");

    let stopping: Promise<void> | undefined;
    return {
      app,
      engine,
      verifier,
      redis,
      chain,
      url,
      feeAccount,
      stop: () => {
        stopping ??= (async () => {
          logger.info("stopping operator");
          await stopAll();
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

/** The Settlement contract's fee recipient: the off-chain ledger credits fees to the same account. */
async function readFeeAccount(chain: PublicClient, config: OperatorConfig, logger: Logger): Promise<Address> {
  const chainId = await chain.getChainId();
  if (chainId !== config.chain.chainId) {
    throw new Error(`HYPERINDEX_RPC_URL serves chain ${chainId}, but HYPERINDEX_CHAIN_ID is ${config.chain.chainId}`);
  }
  try {
    const fee = await chain.readContract({ address: config.chain.settlementAddress, abi: settlementAbi, functionName: "feeRecipient" });
    return fee.toLowerCase() as Address;
  } catch (error) {
    logger.error({ err: error, settlement: config.chain.settlementAddress }, "cannot read the Settlement contract");
    throw new Error(`HYPERINDEX_SETTLEMENT_ADDRESS ${config.chain.settlementAddress}: no Settlement contract answers there (${(error as Error).message.split("\n")[0]})`);
  }
}
