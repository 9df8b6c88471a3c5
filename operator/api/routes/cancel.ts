/**
 * POST /v1/cancel: an EIP-712 signed cancel (../../orders/cancel.ts) of one order, several, or
 * all of the trader's orders in a market.
 *
 *   decode, find the chain (the domain the client gives, the market's for a cancel-all, the
 *   only one served otherwise) and validate (400/422) -> signature in that chain's domain
 *   (401; 503 if an EIP-1271 RPC fails)
 *   -> replay memory, SET NX in Redis (409 CANCEL_REPLAYED) -> engine cancelOrders
 *
 * One order hash: 200 { status: "cancelled", ... } or that order's refusal as the response
 * (NOT_ORDER_OWNER 403, ORDER_NOT_FOUND 404, ORDER_NOT_OPEN 409), like a single order.
 * Several, or all: 200 { cancelHash, results: [...] } (cancel-all lists what it cancelled).
 * A cancel concerns one chain: orders on another chain are not found (ORDER_NOT_FOUND).
 * A request the engine refuses as a whole (RATE_LIMITED 429, MARKET_UNKNOWN 422) or fails on
 * (503) is forgotten by the replay memory: the same signed cancel may be sent again. One it
 * processed stays remembered even if it cancelled nothing: replayed later, it could cancel an
 * order placed since.
 */
import type { FastifyInstance } from "fastify";
import { resolveDomainChain, resolveOrderMarket } from "../../markets";
import { cancelOrders, type CancelRequest, type CancelResult } from "../../matching";
import { CancelValidationError, ZERO_ADDRESS, decodeSignedCancel, validateCancel, type Hex } from "../../orders";
import { verifyCancelSignature } from "../cancelSignature";
import { forgetCancel, rememberCancel, REPLAY_MARGIN_MS } from "../cancelReplay";
import type { ApiContext } from "../context";
import { refusal } from "../errors";
import { parseJsonBody, sendError } from "../reply";

export function registerCancelRoute(app: FastifyInstance, ctx: ApiContext): void {
  app.post("/v1/cancel", async (request, reply) => {
    const decoded = decodeSignedCancel(parseJsonBody(request.body));
    const d = decoded.cancel;
    const names = d.all && d.baseToken !== ZERO_ADDRESS && d.quoteToken !== ZERO_ADDRESS;
    // A cancel-all without its market's tokens is malformed on any chain: say so first.
    if (d.all && !names) {
      throw new CancelValidationError("CANCEL_INVALID", "a cancel-all names its market's base and quote tokens", { details: { field: "cancel.baseToken" } });
    }
    const market = names ? resolveOrderMarket(ctx.lookup, { order: d, domain: decoded.domain }) : undefined;
    const chain = ctx.chains.get(market?.chainId ?? resolveDomainChain(ctx.lookup, { domain: decoded.domain }))!;
    const signed = validateCancel({ clock: ctx.clock }, { signed: decoded, rules: chain.cancelRules });
    const c = signed.cancel;
    const engineRequest: CancelRequest = market !== undefined ? { trader: c.trader, market: market.id, all: true } : { trader: c.trader, orderHashes: c.orderHashes, chainId: chain.chainId };

    const digest = chain.cancelHasher.digest(c);
    const cancelHash = `0x${digest.toString("hex")}` as Hex;
    const verdict = await verifyCancelSignature(
      { erc1271: chain.erc1271, erc1271TimeoutMs: ctx.config.verifier?.erc1271TimeoutMs },
      { digest, trader: c.trader, signature: signed.signature },
    );
    if (!verdict.ok) return refuse(reply, ctx, verdict.code, verdict.message, { cancelHash }, 401);

    const ttlMs = Number(c.expiry) * 1000 - ctx.clock.now() + REPLAY_MARGIN_MS;
    if (!(await rememberCancel(ctx, { trader: c.trader, digest: cancelHash, ttlMs }))) {
      throw new CancelValidationError("CANCEL_REPLAYED", "this signed cancel was already received; sign a new one (another salt)", { details: { cancelHash } });
    }
    let result;
    try {
      result = await cancelOrders(ctx.engine, engineRequest);
    } catch (error) {
      await forgetCancel(ctx, { trader: c.trader, digest: cancelHash }).catch(() => undefined);
      throw error;
    }
    if (result.status === "rejected") {
      await forgetCancel(ctx, { trader: c.trader, digest: cancelHash });
      return refuse(reply, ctx, result.code, result.message, { ...result.details, cancelHash }, 422);
    }

    ctx.metrics.cancels.inc({ result: "done", code: "" });
    if (!c.all && result.results.length === 1) {
      const only = result.results[0];
      if (only.status === "cancelled") return reply.code(200).send({ ...only, cancelHash });
      return sendError(reply, refusal(only.code, only.message, { ...only.details, orderHash: only.orderHash, cancelHash }, 422));
    }
    return reply.code(200).send({ cancelHash, results: result.results.map(item) });
  });
}

function refuse(reply: Parameters<typeof sendError>[0], ctx: ApiContext, code: string, message: string, details: Record<string, unknown>, fallback: number) {
  ctx.metrics.cancels.inc({ result: "rejected", code });
  return sendError(reply, refusal(code, message, details, fallback));
}

function item(r: CancelResult): Record<string, unknown> {
  if (r.status === "cancelled") return { ...r };
  const response = refusal(r.code, r.message, r.details, 422);
  return { orderHash: r.orderHash, status: "rejected", httpStatus: response.status, error: response.body.error };
}
