/**
 * buildApi: the HTTP + WebSocket API as a fastify instance, not listening. The daemon calls
 * `app.listen({ host, port })` and, on SIGTERM, `closeApi(app)` (before stopping the verifier
 * pool, the engine and Redis, which the API uses until then).
 *
 * Shutdown, closeApi: (1) the API keeps listening but answers every new request 503
 * SERVICE_UNAVAILABLE with `Connection: close` (a client never meets a closed connection
 * without a reply), while the requests in flight finish, up to `shutdownDrainMs`, and at least
 * `shutdownLingerMs` (so clients holding keep-alive sockets learn of it); (2) the WebSocket
 * ticker stops (after its running tick), every WebSocket is closed with 1001 going away
 * (destroyed if it has not answered within wsCloseGraceMs), and the listener closes.
 *
 * Slow clients: a request whose headers are not in within `headersTimeoutMs`, or that is not
 * complete within `requestTimeoutMs`, is answered 408 and its connection closed (Node's http
 * server timeouts, checked every second); an idle keep-alive connection closes after
 * `keepAliveTimeoutMs`.
 *
 * Bodies (./body.ts): at most maxBodyBytes; an oversize one is drained (up to
 * clientLimits.maxBodyDrainBytes) before the 413, so the client reads it. Abuse
 * (./clientLimits.ts): requests per client address, WebSocket connections per address and
 * messages per connection are limited.
 *
 * Routes and codes: ./README.md.
 */
import http from "node:http";
import websocket from "@fastify/websocket";
import Fastify, { LogController, type FastifyInstance } from "fastify";
import { componentLogger } from "../log";
import { rawBodyParser } from "./body";
import { registerProofRoutes } from "./routes/proofs";
import { registerHttpRateLimit } from "./clientLimits";
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
    // Node checks its header and request timeouts every connectionsCheckingInterval (30 s by
    // default): a slow client would hold its socket that long past the timeout.
    serverFactory: (handler) =>
      http.createServer(
        {
          headersTimeout: settings.headersTimeoutMs,
          requestTimeout: settings.requestTimeoutMs,
          keepAliveTimeout: settings.keepAliveTimeoutMs,
          connectionsCheckingInterval: Math.min(1_000, settings.headersTimeoutMs),
        },
        handler,
      ),
  }) as unknown as FastifyInstance;
  let closing = false;
  // HTTP requests in flight (WebSocket upgrades are not: their connections are closed apart).
  let inFlight = 0;
  let idle: (() => void) | undefined;
  const counted = new WeakSet<object>();
  const requestDone = (request: object): void => {
    if (!counted.delete(request)) return;
    inFlight--;
    if (inFlight === 0) idle?.();
  };

  // Every body is read raw, whatever its content type, and parsed by the routes with the
  // orders codec's rules: malformed JSON is BODY_NOT_JSON in our format, never fastify's.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", rawBodyParser({ maxBytes: config.limits.maxBodyBytes, drainBytes: ctx.clientLimits.maxBodyDrainBytes }));
  app.setReplySerializer((payload) => toJson(payload));

  app.setErrorHandler((error, request, reply) => {
    const response = toErrorResponse(error, config.limits.maxBodyBytes);
    if (response.status >= 500) logger.error({ err: error, route: request.routeOptions.url }, "request failed");
    return sendError(reply, response);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, { status: 404, body: errorBody("ROUTE_NOT_FOUND", `no route ${request.method} ${request.url.split("?")[0].slice(0, 100)}`) }),
  );
  app.addHook("onRequest", async (request, reply) => {
    if (request.headers.upgrade === undefined) {
      counted.add(request);
      inFlight++;
    }
    if (!closing) return;
    reply.header("connection", "close");
    return sendError(reply, { status: 503, body: errorBody("SERVICE_UNAVAILABLE", "the server is shutting down; retry on another instance") });
  });
  app.addHook("onRequestAbort", async (request) => requestDone(request));
  app.addHook("onResponse", async (request, reply) => {
    requestDone(request);
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

  /** Step 1 of the shutdown: see the header. */
  const drain = async (): Promise<void> => {
    closing = true;
    const started = Date.now();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, settings.shutdownDrainMs);
      idle = () => {
        clearTimeout(timer);
        resolve();
      };
      if (inFlight === 0) idle();
    });
    const linger = settings.shutdownLingerMs - (Date.now() - started);
    if (linger > 0) await new Promise((resolve) => setTimeout(resolve, linger));
    if (inFlight > 0) logger.warn({ inFlight, drainMs: settings.shutdownDrainMs }, "closing with requests still in flight");
  };
  app.decorate("hyperindexDrain", drain);

  app.register(websocket, {
    options: { maxPayload: settings.wsMaxMessageBytes },
    async preClose() {
      closing = true;
      await ticker.stop();
      await hub.closeAll(WS_CLOSE.GOING_AWAY, "server shutting down");
      app.websocketServer.close();
    },
  });
  // Before the routes: it hooks every route added after it.
  registerHttpRateLimit(app, { metrics: ctx.metrics }, ctx.clientLimits);
  app.register(async (instance) => {
    registerOrderRoutes(instance, ctx);
    registerCancelRoute(instance, ctx);
    registerQueryRoutes(instance, ctx);
    registerOpsRoutes(instance, ctx);
    registerWsRoute(instance, { ctx, hub, ticker });
    registerProofRoutes(instance, ctx);
  });
  app.addHook("onReady", async () => ticker.start());
  // Also when the app closes without having listened (preClose still runs; this is a backstop).
  app.addHook("onClose", async () => ticker.stop());
  return app;
}

/** Graceful shutdown: see the header. Idempotent. */
export async function closeApi(app: FastifyInstance): Promise<void> {
  const drain = (app as unknown as { hyperindexDrain?: () => Promise<void>; hyperindexClosing?: Promise<void> });
  drain.hyperindexClosing ??= (async () => {
    if (drain.hyperindexDrain !== undefined && app.server.listening) await drain.hyperindexDrain();
    await app.close();
  })();
  await drain.hyperindexClosing;
}
