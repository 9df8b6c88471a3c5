/**
 * POST /v1/orders   one signed order { order, signature, domain? }  -> 201 the engine's result
 *                   or a batch { orders: [...] }                      -> 200 { results: [...] }
 * GET  /v1/orders/:hash                                               -> 200 the order, 404
 */
import { performance } from "node:perf_hooks";
import type { FastifyInstance } from "fastify";
import { getOrder } from "../../matching";
import { OrderValidationError, type Hex } from "../../orders";
import type { ApiContext } from "../context";
import { ApiError } from "../errors";
import { intakeOrders, type IntakeOutcome } from "../intake";
import { parseJsonBody, sendError } from "../reply";

const HASH_RE = /^0x[0-9a-fA-F]{64}$/;

export function registerOrderRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post("/v1/orders", async (request, reply) => {
    const receivedAt = ctx.clock.now();
    const startedAt = performance.now();
    const body = parseJsonBody(request.body);
    const batch = batchOf(body, ctx.config.limits.maxOrdersPerRequest);
    if (batch === undefined) {
      const [outcome] = await intakeOrders(ctx, { bodies: [body], receivedAt, startedAt });
      if (outcome.ok === "unknown") return reply.code(202).send({ status: "unknown", orderHash: outcome.orderHash, message: outcome.message });
      if (!outcome.ok) return sendError(reply, outcome.response);
      return reply.code(201).send(outcome.result);
    }
    const outcomes = await intakeOrders(ctx, { bodies: batch, receivedAt, startedAt });
    return reply.code(200).send({ results: outcomes.map(batchItem) });
  });

  app.get<{ Params: { hash: string } }>("/v1/orders/:hash", async (request, reply) => {
    const { hash } = request.params;
    if (!HASH_RE.test(hash)) throw new ApiError("INVALID_ORDER_HASH", "expected an order hash: 0x followed by 64 hex digits", { details: { hash: hash.slice(0, 80) } });
    const order = await getOrder(ctx.engine, { orderHash: hash.toLowerCase() as Hex });
    if (order === null) return sendError(reply, { status: 404, body: { error: { code: "ORDER_NOT_FOUND", message: "no such order", details: { orderHash: hash.toLowerCase() } } } });
    const market = ctx.markets.byId(order.market);
    return reply.send({ ...order, symbol: market?.symbol, side: order.isBuy ? "buy" : "sell" });
  });
}

/** The orders of a batch body, or undefined if the body is one order. */
function batchOf(body: unknown, max: number): unknown[] | undefined {
  if (typeof body !== "object" || body === null || Array.isArray(body) || !Object.prototype.hasOwnProperty.call(body, "orders")) return undefined;
  const obj = body as Record<string, unknown>;
  const extra = Object.keys(obj).find((k) => k !== "orders");
  if (extra !== undefined) {
    throw new OrderValidationError("FIELD_UNKNOWN", `unknown field ${JSON.stringify(extra.slice(0, 80))}; a batch is { "orders": [...] }`, { details: { field: extra.slice(0, 80) } });
  }
  if (!Array.isArray(obj.orders) || obj.orders.length === 0) {
    throw new OrderValidationError("INVALID_FIELD", "orders must be a non-empty array of signed orders", { details: { field: "orders" } });
  }
  if (obj.orders.length > max) {
    throw new ApiError("TOO_MANY_ORDERS", `at most ${max} orders per request`, { details: { max, got: obj.orders.length } });
  }
  return obj.orders;
}

function batchItem(outcome: IntakeOutcome): Record<string, unknown> {
  if (outcome.ok === "unknown") return { status: "unknown", httpStatus: 202, orderHash: outcome.orderHash, message: outcome.message };
  if (outcome.ok) return { ...outcome.result };
  return { status: "rejected", httpStatus: outcome.response.status, error: outcome.response.body.error };
}
