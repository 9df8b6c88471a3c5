/**
 * Order intake, for one request (one order or a batch): decode and validate each order
 * (../orders: wire shape, domain, expiry, market rules), verify the signatures of those that
 * pass in ONE verifier call, place the verified ones in ONE engine call, and answer one outcome
 * per order, in request order.
 *
 * Nothing is written before the engine: an order refused by decoding, validation or its
 * signature never touches Redis. The engine writes nothing for an order it refuses but the
 * trader's rate bucket (see operator/matching/index.ts).
 */
import { performance } from "node:perf_hooks";
import { BaseError } from "../errors";
import { placeOrders, type PlaceOrderAccepted, type PlaceOrderRequest } from "../matching";
import { intakeSignedOrder, type Hex, type SignedOrder } from "../orders";
import type { ApiContext } from "./context";
import { refusal, toErrorResponse, type ErrorResponse } from "./errors";

export type IntakeOutcome = { ok: true; result: PlaceOrderAccepted } | { ok: false; response: ErrorResponse };

export interface IntakeParams {
  /** Parsed JSON of each signed order, as the client sent it. */
  bodies: readonly unknown[];
  /** When the request arrived: unix ms (committed with the order) and performance.now(). */
  receivedAt: number;
  startedAt: number;
}

interface Pending {
  index: number;
  signed: SignedOrder;
  market: number;
}

export async function intakeOrders(ctx: ApiContext, params: IntakeParams): Promise<IntakeOutcome[]> {
  const outcomes: IntakeOutcome[] = new Array(params.bodies.length);
  const pending: Pending[] = [];

  // ---- decode and validate (pure, in this thread)
  params.bodies.forEach((body, index) => {
    try {
      const signed = intakeSignedOrder({ clock: ctx.clock, markets: ctx.lookup }, { body, rules: ctx.intakeRules });
      // The lookup found the pair, so the market exists.
      const market = ctx.markets.byPair(signed.order.baseToken, signed.order.quoteToken)!;
      pending.push({ index, signed, market: market.id });
    } catch (error) {
      if (!(error instanceof BaseError)) throw error;
      outcomes[index] = { ok: false, response: toErrorResponse(error) };
    }
  });

  // ---- signatures: one verify call for the whole request (a VerifierError fails the request)
  const verdicts = await ctx.verifier.verify(pending.map((p) => ({ order: p.signed.order, signature: p.signed.signature })));
  const requests: PlaceOrderRequest[] = [];
  const placed: number[] = [];
  pending.forEach((p, k) => {
    const v = verdicts[k];
    if (!v.ok) {
      outcomes[p.index] = { ok: false, response: refusal(v.code, v.message, v.orderHash === undefined ? {} : { orderHash: v.orderHash }, 401) };
      return;
    }
    requests.push({ order: p.signed.order, orderHash: v.orderHash, signature: p.signed.signature, market: p.market, receivedAt: params.receivedAt });
    placed.push(p.index);
  });

  // ---- the engine: one call (an EngineError fails the request)
  if (requests.length > 0) {
    const results = await placeOrders(ctx.engine, requests);
    const seconds = (performance.now() - params.startedAt) / 1000;
    results.forEach((r, k) => {
      ctx.metrics.matchSeconds.observe(seconds);
      if (r.status === "accepted") {
        outcomes[placed[k]] = { ok: true, result: r };
      } else {
        outcomes[placed[k]] = { ok: false, response: refusal(r.code, r.message, { ...r.details, orderHash: r.orderHash as Hex }, 422) };
      }
    });
  }

  for (const o of outcomes) {
    ctx.metrics.orders.inc(o.ok ? { result: "accepted", code: "" } : { result: "rejected", code: o.response.body.error.code });
  }
  return outcomes;
}
