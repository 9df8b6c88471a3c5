/**
 * GET /v1/book/:market?depth=N      aggregated levels, best first (market by symbol or id)
 * GET /v1/markets                   the configured markets, their chain, limits and status
 * GET /v1/accounts/:trader/balances?chainId=N
 *                                   per chain served (or the one asked): available / locked /
 *                                   pendingOut / pendingIn per token of that chain's markets
 */
import type { FastifyInstance } from "fastify";
import { getBalances } from "../../ledger";
import { getBook } from "../../matching";
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
    return reply.send({
      markets: ctx.markets.all.map((m, i) => marketView(m, ctx.chains.get(m.chainId)?.domain.verifyingContract, statuses[i])),
    });
  });

  app.get<{ Params: { trader: string }; Querystring: { chainId?: string } }>("/v1/accounts/:trader/balances", async (request, reply) => {
    const trader = decodeAddress(request.params.trader, "trader");
    const chainIds = parseChainId(request.query.chainId, ctx.markets.chainIds);
    const chains = await Promise.all(
      chainIds.map(async (chainId) => ({ chainId, balances: await getBalances(ctx, { chainId, trader, tokens: ctx.markets.tokens(chainId) }) })),
    );
    return reply.send({ trader, chains });
  });
}

function parseChainId(raw: string | undefined, served: readonly number[]): readonly number[] {
  if (raw === undefined) return served;
  const id = /^[1-9][0-9]{0,15}$/.test(raw) ? Number(raw) : NaN;
  if (!served.includes(id)) {
    throw new ApiError("INVALID_QUERY", `chainId must be one of the chains served: ${served.join(", ")}`, { details: { field: "chainId", chains: served } });
  }
  return [id];
}

function parseDepth(raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  if (typeof raw !== "string" || !/^[1-9][0-9]{0,5}$/.test(raw) || Number(raw) > max) {
    throw new ApiError("INVALID_QUERY", `depth must be an integer from 1 to ${max}`, { details: { field: "depth", max } });
  }
  return Number(raw);
}
