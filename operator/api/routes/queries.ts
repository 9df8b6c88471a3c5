/**
 * GET /v1/book/:market?depth=N      aggregated levels, best first (market by symbol or id)
 * GET /v1/markets                   the configured markets and their status
 * GET /v1/accounts/:trader/balances available / locked / pendingOut / pendingIn per token
 */
import type { FastifyInstance } from "fastify";
import { getBalances, getBook } from "../../matching";
import { getMarketStatus } from "../../markets";
import { decodeAddress } from "../../orders";
import type { ApiContext } from "../context";
import { ApiError } from "../errors";
import { marketView } from "../markets";
import { observeBook } from "../metrics";

export function registerQueryRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Params: { market: string }; Querystring: { depth?: string } }>("/v1/book/:market", async (request, reply) => {
    const market = ctx.markets.resolve(request.params.market);
    if (market === undefined) {
      throw new ApiError("MARKET_NOT_FOUND", `no market ${JSON.stringify(request.params.market.slice(0, 40))}`, {
        details: { market: request.params.market.slice(0, 40), known: ctx.markets.all.map((m) => m.symbol) },
      });
    }
    const depth = parseDepth(request.query.depth, ctx.settings.defaultBookDepth, ctx.settings.maxBookDepth);
    const book = await getBook(ctx.engine, { market: market.id, depth });
    observeBook(ctx.metrics, market, book);
    return reply.send({ market: market.id, symbol: market.symbol, depth, bids: book.bids, asks: book.asks });
  });

  app.get("/v1/markets", async (_request, reply) => {
    const statuses = await Promise.all(ctx.markets.all.map((m) => getMarketStatus({ redis: ctx.redis, logger: ctx.logger }, { marketId: m.id })));
    return reply.send({ markets: ctx.markets.all.map((m, i) => marketView(m, statuses[i])) });
  });

  app.get<{ Params: { trader: string } }>("/v1/accounts/:trader/balances", async (request, reply) => {
    const trader = decodeAddress(request.params.trader, "trader");
    const balances = await getBalances(ctx.engine, { trader });
    return reply.send({ trader, balances });
  });
}

function parseDepth(raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  if (typeof raw !== "string" || !/^[1-9][0-9]{0,5}$/.test(raw) || Number(raw) > max) {
    throw new ApiError("INVALID_QUERY", `depth must be an integer from 1 to ${max}`, { details: { field: "depth", max } });
  }
  return Number(raw);
}
