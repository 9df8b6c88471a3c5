/**
 * Order intake, for one request (one order or a batch): decode and validate each order
 * (../orders: wire shape, sizes, expiry horizon), find its market and so its chain (the pair,
 * and the domain the client says it signed for: ../markets resolveOrderMarket), check it
 * against the market's rules (../markets checkOrderForMarket, the engine's own check, with the
 * same codes), verify the signatures of those that pass in ONE verifier call, each in its
 * market's chain's EIP-712 domain, place the verified ones in ONE engine call, and answer one
 * outcome per order, in request order.
 *
 * Nothing is written before the engine: an order refused by decoding, validation or its
 * signature never touches Redis. The engine writes nothing for an order it refuses but the
 * trader's rate bucket (see operator/matching/index.ts).
 *
 * Every answer says what happened: accepted, refused (not applied), or outcome unknown. The
 * last is when Redis failed after the engine had sent the batch's writes (EngineError
 * ENGINE_OUTCOME_UNKNOWN): the order may have been taken, and then goes live when the engine
 * resynchronises. It is answered `{ status: "unknown", orderHash }` (HTTP 202 for one order),
 * naming the hash to query (GET /v1/orders/:hash: "pending" while it waits in its market's
 * inbox, then its state; 404 once known not taken). A refusal (4xx, or 503 ENGINE_UNAVAILABLE)
 * always means nothing was applied.
 */
import { performance } from "node:perf_hooks";
import { BaseError } from "../errors";
import { checkOrderForMarket, resolveOrderMarket, type Market, type OrderMarketLookup } from "../markets";
import type { WireOrderReceipt } from "../commitment/receipt";
import { EngineError, orderSequence, placeOrders, type PlaceOrderAccepted, type PlaceOrderRequest } from "../matching";
import { OrderValidationError, intakeSignedOrder, type Clock, type Hex, type IntakeRules, type SignedOrder } from "../orders";
import type { ApiContext } from "./context";
import { refusal, toErrorResponse, type ErrorResponse } from "./errors";

/** What the API knows of an order it received. */
export type IntakeOutcome =
  | { ok: true; result: PlaceOrderAccepted & { sequence: string; receipt?: WireOrderReceipt } }
  | { ok: false; response: ErrorResponse }
  | { ok: "unknown"; orderHash: Hex; message: string };

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
  market: Market;
}

/**
 * Every check of an incoming order that needs no signature and no Redis, in order: the wire
 * shape and generic rules (../orders intakeSignedOrder), its market and chain (the pair and the
 * domain it says it was signed for), and the market's rules (the engine's own check, with the
 * same codes). Throws the first OrderValidationError that applies.
 */
export function admitOrder(deps: { clock: Clock; lookup: OrderMarketLookup; rules: IntakeRules }, body: unknown): { signed: SignedOrder; market: Market } {
  const signed = intakeSignedOrder({ clock: deps.clock }, { body, rules: deps.rules });
  const market = resolveOrderMarket(deps.lookup, { order: signed.order, domain: signed.domain });
  const check = checkOrderForMarket(market, signed.order, Math.floor(deps.clock.now() / 1000));
  if (!check.ok) throw new OrderValidationError(check.code === "MARKET_MISMATCH" ? "MARKET_UNKNOWN" : check.code, check.message, { details: check.details });
  return { signed, market };
}

export async function intakeOrders(ctx: ApiContext, params: IntakeParams): Promise<IntakeOutcome[]> {
  const outcomes: IntakeOutcome[] = new Array(params.bodies.length);
  const pending: Pending[] = [];

  // ---- decode, validate, find the market, check its rules (pure, in this thread)
  const admit = { clock: ctx.clock, lookup: ctx.lookup, rules: ctx.intakeRules };
  params.bodies.forEach((body, index) => {
    try {
      const { signed, market } = admitOrder(admit, body);
      pending.push({ index, signed, market });
    } catch (error) {
      if (!(error instanceof BaseError)) throw error;
      outcomes[index] = { ok: false, response: toErrorResponse(error) };
    }
  });

  // ---- signatures: one verify call for the whole request (a VerifierError fails the request)
  const verdicts = await ctx.verifier.verify(pending.map((p) => ({ order: p.signed.order, signature: p.signed.signature, chainId: BigInt(p.market.chainId) })));
  const requests: PlaceOrderRequest[] = [];
  const placed: number[] = [];
  pending.forEach((p, k) => {
    const v = verdicts[k];
    if (!v.ok) {
      outcomes[p.index] = { ok: false, response: refusal(v.code, v.message, v.orderHash === undefined ? {} : { orderHash: v.orderHash }, 401) };
      return;
    }
    requests.push({ order: p.signed.order, orderHash: v.orderHash, signature: p.signed.signature, market: p.market.id, receivedAt: params.receivedAt });
    placed.push(p.index);
  });

  // ---- the engine: one call (an EngineError fails the request)
  if (requests.length > 0) {
    let results;
    try {
      results = await placeOrders(ctx.engine, requests);
    } catch (error) {
      if (!(error instanceof EngineError && error.code === "ENGINE_OUTCOME_UNKNOWN")) throw error;
      const message = "the outcome of this order is not known yet (Redis failed while it was being placed): query GET /v1/orders/<orderHash> before sending anything new for it; resending the same signed order is safe";
      requests.forEach((r, k) => (outcomes[placed[k]] = { ok: "unknown", orderHash: r.orderHash, message }));
      for (const o of outcomes) ctx.metrics.orders.inc(o.ok === true ? { result: "accepted", code: "" } : o.ok === "unknown" ? { result: "unknown", code: "" } : { result: "rejected", code: o.response.body.error.code });
      return outcomes;
    }
    const seconds = (performance.now() - params.startedAt) / 1000;
    results.forEach((r, k) => {
      ctx.metrics.matchSeconds.observe(seconds);
      if (r.status === "accepted") {
        // The operator's signed receipt: (epoch, chain-wide sequence, order hash), what the
        // epoch log commits and an auditor can hold the operator to (operator/commitment).
        const sequence = orderSequence(r.market, r.seq);
        const sign = ctx.chains.get(ctx.markets.byId(r.market)?.chainId ?? -1)?.receipt;
        const receipt = sign === undefined || r.seq === 0 ? undefined : sign({ epoch: BigInt(r.epoch), sequence, orderHash: r.orderHash });
        outcomes[placed[k]] = { ok: true, result: { ...r, sequence: sequence.toString(), ...(receipt !== undefined ? { receipt } : {}) } };
      } else {
        outcomes[placed[k]] = { ok: false, response: refusal(r.code, r.message, { ...r.details, orderHash: r.orderHash as Hex }, 422) };
      }
    });
  }

  for (const o of outcomes) {
    ctx.metrics.orders.inc(o.ok === true ? { result: "accepted", code: "" } : o.ok === "unknown" ? { result: "unknown", code: "" } : { result: "rejected", code: o.response.body.error.code });
  }
  return outcomes;
}
