/**
 * The HTTP part of the engine benchmark: the API server (operator/api) in front of the same
 * pipeline, driven by concurrent keep-alive clients posting batches of orders.
 */
import type { Logger } from "../../operator/log";
import type { RedisServer } from "../lib/redisServer";
import type { BenchTrader, SignedBenchOrder } from "./engineWorkload";

export interface HttpBenchParams {
  server: RedisServer;
  traders: readonly BenchTrader[];
  orders: readonly SignedBenchOrder[];
  logger: Logger;
  freshPipeline: (server: RedisServer, traders: readonly BenchTrader[]) => Promise<unknown>;
  closePipeline: (p: never) => Promise<void>;
}

/** Not measured until operator/api exists. */
export async function measureHttp(_params: HttpBenchParams): Promise<{ ordersPerSec: number; note: string }> {
  return { ordersPerSec: 0, note: "NOT MEASURED: operator/api not wired into the benchmark yet" };
}
