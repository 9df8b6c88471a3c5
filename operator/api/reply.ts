/** Small helpers to answer with the API's JSON shapes. */
import type { FastifyReply } from "fastify";
import { OrderValidationError } from "../orders";
import type { ErrorResponse } from "./errors";

export function sendError(reply: FastifyReply, response: ErrorResponse): FastifyReply {
  if (response.retryAfterSeconds !== undefined) reply.header("retry-after", String(response.retryAfterSeconds));
  return reply.code(response.status).send(response.body);
}

/**
 * The raw body (a Buffer: every content type is read raw, see ../server.ts) as JSON. Refuses
 * with the orders codec's BODY_NOT_JSON, whatever the route, so clients see one code for it.
 */
export function parseJsonBody(raw: unknown): unknown {
  const text = Buffer.isBuffer(raw) ? raw.toString("utf8") : typeof raw === "string" ? raw : "";
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new OrderValidationError("BODY_NOT_JSON", "the body is not valid JSON", { cause: error });
  }
}
