/**
 * buildApi: the HTTP + WebSocket API as a fastify instance, not listening. The daemon calls
 * `app.listen({ host, port })` and, on SIGTERM, `closeApi(app)` (before stopping the verifier
 * pool, the engine and Redis, which the API uses until then).
 *
 * Shutdown (preClose): new HTTP requests get 503 SERVICE_UNAVAILABLE, the WebSocket ticker
 * stops (after its running tick), every WebSocket is closed with 1001 going away (destroyed if
 * it has not answered within wsCloseGraceMs), then fastify waits for in-flight requests.
 *
 * Routes and codes: ./README.md.
 */
import websocket from "@fastify/websocket";
import Fastify, { LogController, type FastifyInstance } from "fastify";
import { componentLogger } from "../log";
import { createApiContext } from "./context";
import { errorBody, toErrorResponse } from "./errors";
import { toJson } from "./json";
import { sendError } from "./reply";
import { registerCancelRoute } from "./routes/cancel";
import { registerOpsRoutes } from "./routes/ops";
import { registerOrderRoutes } from "./routes/orders";
import { registerQueryRoutes } from "./routes/queries";
import type { ApiConfig, ApiDeps } from "./types";
import { SubscriptionHub } from "./ws/hub";
import { WS_CLOSE } from "./ws/protocol";
import { registerWsRoute } from "./ws/route";
import { createTicker } from "./ws/ticker";

export function buildApi(deps: ApiDeps, config: ApiConfig): FastifyInstance {
  const logger = componentLogger(deps.logger, "api");
  const ctx = createApiContext(deps, config, logger);
  const { settings } = ctx;
  const app = Fastify({
    loggerInstance: logger,
    // Fastify's per-request info lines are replaced by one debug line in onResponse.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.limits.maxBodyBytes,
    // Answered below in our error format instead.
    return503OnClosing: false,
  }) as unknown as FastifyInstance;
  let closing = false;

  // Every body is read raw, whatever its content type, and parsed by the routes with the
  // orders codec's rules: malformed JSON is BODY_NOT_JSON in our format, never fastify's.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));
  app.setReplySerializer((payload) => toJson(payload));

  app.setErrorHandler((error, request, reply) => {
    const response = toErrorResponse(error, config.limits.maxBodyBytes);
    if (response.status >= 500) logger.error({ err: error, route: request.routeOptions.url }, "request failed");
    return sendError(reply, response);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, { status: 404, body: errorBody("ROUTE_NOT_FOUND", `no route ${request.method} ${request.url.split("?")[0].slice(0, 100)}`) }),
  );
  app.addHook("onRequest", async (_request, reply) => {
    if (!closing) return;
    reply.header("connection", "close");
    return sendError(reply, { status: 503, body: errorBody("SERVICE_UNAVAILABLE", "the server is shutting down; retry on another instance") });
  });
  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "(unmatched)";
    ctx.metrics.requestSeconds.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    logger.debug({ method: request.method, route, status: reply.statusCode, ms: reply.elapsedTime }, "request");
  });

  const hub = new SubscriptionHub(
    { logger, metrics: ctx.metrics },
    { maxBufferedBytes: settings.wsMaxBufferedBytes, maxSubscriptions: settings.wsMaxSubscriptions, closeGraceMs: settings.wsCloseGraceMs },
  );
  const ticker = createTicker(
    { engine: ctx.engine, redis: ctx.redis, hub, markets: ctx.markets, metrics: ctx.metrics, registry: ctx.registry, logger, clock: ctx.clock },
    {
      tickMs: settings.wsTickMs,
      bookDepth: settings.wsBookDepth,
      streamBatch: settings.wsStreamBatch,
      consumerName: settings.wsConsumerName,
      cursorSaveMs: settings.wsCursorSaveMs,
    },
  );

  app.register(websocket, {
    options: { maxPayload: settings.wsMaxMessageBytes },
    async preClose() {
      closing = true;
      await ticker.stop();
      await hub.closeAll(WS_CLOSE.GOING_AWAY, "server shutting down");
      app.websocketServer.close();
    },
  });
  app.register(async (instance) => {
    registerOrderRoutes(instance, ctx);
    registerCancelRoute(instance, ctx);
    registerQueryRoutes(instance, ctx);
    registerOpsRoutes(instance, ctx);
    registerWsRoute(instance, { ctx, hub, ticker });
  });
  app.addHook("onReady", async () => ticker.start());
  // Also when the app closes without having listened (preClose still runs; this is a backstop).
  app.addHook("onClose", async () => ticker.stop());
  return app;
}

/** Graceful shutdown: see the header. Idempotent (fastify's close is). */
export async function closeApi(app: FastifyInstance): Promise<void> {
  await app.close();
}
