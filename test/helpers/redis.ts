/** Real Redis servers for tests: see scripts/lib/redisServer.ts (shared with the demo and benchmarks). */
export * from "../../scripts/lib/redisServer";
