/**
 * GET /health    200 { status: "ok", checks } when Redis answers a PING and at least one
 *                verifier worker runs; 503 UNHEALTHY otherwise (details.checks says which).
 *                `checks.tasks` lists the background loops (iterations, consecutive failures,
 *                last error, backoff): informational, it does not change the status.
 *                `checks.chains`: per chain, its RPC client (circuit breaker, budget, errors),
 *                chain watcher (head, lag in blocks, reorgs), signer (nonces, in flight, stuck)
 *                and settler (queue, open batches, pause); a chain with a problem (breaker
 *                open, a loop failing, transactions stuck) makes the status "degraded" (still
 *                200: orders are accepted and matched; settlement waits), `problems` says what.
 * GET /metrics   the registry in the Prometheus text format.
 */
import type { FastifyInstance } from "fastify";
import type { ApiContext } from "../context";
import { ApiError, errorBody } from "../errors";

export function registerOpsRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get("/health", async (_request, reply) => {
    const [redis, verifier] = await Promise.all([pingRedis(ctx), Promise.resolve(verifierCheck(ctx))]);
    const chains = ctx.chainHealth === undefined ? undefined : await chainChecks(ctx);
    const checks = { redis, verifier, ...(ctx.tasks === undefined ? {} : { tasks: ctx.tasks.status() }), ...(chains === undefined ? {} : { chains }) };
    if (redis.ok && verifier.ok) return reply.send({ status: chains === undefined || chains.every((c) => c.ok) ? "ok" : "degraded", checks });
    return reply.code(503).send(errorBody("UNHEALTHY", "a dependency of the API is down", { checks }));
  });

  app.get("/metrics", async (_request, reply) => {
    return reply.type(ctx.registry.contentType).send(await ctx.registry.metrics());
  });
}

async function chainChecks(ctx: ApiContext): Promise<{ chainId: number; ok: boolean; problems: string[] }[]> {
  try {
    return await ctx.chainHealth!.status();
  } catch (error) {
    return [{ chainId: 0, ok: false, problems: [`chain status unavailable: ${(error as Error).message}`] }];
  }
}

async function pingRedis(ctx: ApiContext): Promise<{ ok: boolean; error?: string }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ApiError("UNHEALTHY", `no answer within ${ctx.settings.healthTimeoutMs} ms`)), ctx.settings.healthTimeoutMs);
  });
  try {
    const pong = await Promise.race([ctx.redis.ping(), timeout]);
    return pong === "PONG" ? { ok: true } : { ok: false, error: `unexpected reply ${String(pong).slice(0, 40)}` };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

function verifierCheck(ctx: ApiContext): { ok: boolean; workers: number; readyWorkers: number; queuedOrders: number } {
  const s = ctx.verifier.stats();
  return { ok: s.readyWorkers > 0, workers: s.workers, readyWorkers: s.readyWorkers, queuedOrders: s.queuedOrders };
}
