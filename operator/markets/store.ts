/**
 * Market metadata in Redis: registration (refusing a changed configuration for an existing
 * id, since resting orders were validated against the old one) and the halt switch.
 */
import type { Logger } from "../log";
import type { RedisClient } from "../redis/client";
import { marketConfigJson } from "./config";
import { MarketConfigError } from "./errors";
import { marketKeys } from "./keys";
import type { Market, MarketStatus } from "./types";

export interface MarketStoreDeps {
  redis: RedisClient;
  logger: Logger;
}

/**
 * Writes the market's configuration if the id is new; if the id exists, its stored
 * configuration must be identical. New markets start active; an existing status is kept.
 */
export async function registerMarket(deps: MarketStoreDeps, market: Market): Promise<void> {
  const key = marketKeys.meta(market.id);
  const json = marketConfigJson(market);
  await deps.redis.hsetnx(key, "config", json);
  await deps.redis.hsetnx(key, "status", "active");
  const stored = await deps.redis.hget(key, "config");
  if (stored !== json) {
    throw new MarketConfigError("MARKET_CONFIG_CHANGED", `market ${market.id} is registered with another configuration`, {
      details: { id: market.id, stored, configured: json },
    });
  }
}

/** Stops intake of new orders in the market (cancels still work). */
export async function haltMarket(deps: MarketStoreDeps, params: { marketId: number; reason: string }): Promise<void> {
  await deps.redis.hset(marketKeys.meta(params.marketId), "status", "halted", "reason", params.reason);
  deps.logger.warn({ market: params.marketId, reason: params.reason }, "market halted");
}

export async function resumeMarket(deps: MarketStoreDeps, params: { marketId: number }): Promise<void> {
  const key = marketKeys.meta(params.marketId);
  await deps.redis.multi().hset(key, "status", "active").hdel(key, "reason").exec();
  deps.logger.info({ market: params.marketId }, "market resumed");
}

export async function getMarketStatus(deps: MarketStoreDeps, params: { marketId: number }): Promise<{ status: MarketStatus; reason: string } | undefined> {
  const [status, reason] = await deps.redis.hmget(marketKeys.meta(params.marketId), "status", "reason");
  if (status !== "active" && status !== "halted") return undefined;
  return { status, reason: reason ?? "" };
}
