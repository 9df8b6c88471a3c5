/**
 * The HTTP + WebSocket API: order intake, signed cancels, queries, health and metrics, and
 * the /v1/ws streams. Routes, statuses, codes and the WebSocket protocol: ./README.md.
 *
 *   const app = buildApi({ engine, verifier, redis, logger, metrics, clock?, chain? }, config);
 *   await app.listen({ host: config.http.host, port: config.http.port });
 *   ...
 *   await closeApi(app);   // then close the verifier pool, stop the engine, quit Redis
 */
export { buildApi, closeApi } from "./server";
export { DEFAULT_API_SETTINGS, type ApiConfig, type ApiDeps, type ApiSettings } from "./types";
export { API_ERROR_HTTP_STATUS, ENGINE_CODE_HTTP_STATUS, ApiError, statusOfCode, type ApiErrorCode, type ErrorBody } from "./errors";
export { CANCEL_KEYSPACE, cancelReplayKey } from "./cancelReplay";
export { WS_CLOSE, WS_ERROR_CODES, type WsErrorCode } from "./ws/protocol";
