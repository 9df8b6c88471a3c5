/** Real Redis servers for tests: see scripts/lib/redisServer.ts (shared with the demo and benchmarks). */
import Redis from "ioredis";
import { startRedis, type RedisServer, type RedisServerOptions } from "../../scripts/lib/redisServer";

export * from "../../scripts/lib/redisServer";

export interface UseRedisServerOptions extends RedisServerOptions {
  /** FLUSHALL before each test (default true); false when the suite resets Redis itself. */
  flushBeforeEach?: boolean;
}

/** What useRedisServer gives a suite; read it inside hooks and tests (set by the `before` hook). */
export interface RedisServerHandle {
  readonly server: RedisServer;
  /** An ioredis client of the server. */
  readonly redis: Redis;
}

/**
 * Registers the mocha hooks of a suite that runs against its own Redis: `before` starts a
 * server and connects a client, `after` disconnects and destroys the server, `beforeEach`
 * empties it (unless `flushBeforeEach` is false). Call it in a `describe`, before the suite's
 * own hooks, which then run after these (`before`, `beforeEach`) and see an empty server.
 */
export function useRedisServer(options: UseRedisServerOptions = {}): RedisServerHandle {
  const { flushBeforeEach = true, ...serverOptions } = options;
  let server: RedisServer | undefined;
  let redis: Redis | undefined;
  before(async () => {
    server = await startRedis(serverOptions);
    redis = new Redis(server.url);
  });
  after(async () => {
    redis?.disconnect();
    await server?.destroy();
  });
  if (flushBeforeEach) beforeEach(async () => void (await redis!.flushall()));
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("useRedisServer: the server starts in the suite's before hook; read it in hooks and tests");
    return value;
  };
  return {
    get server() {
      return started(server);
    },
    get redis() {
      return started(redis);
    },
  };
}
