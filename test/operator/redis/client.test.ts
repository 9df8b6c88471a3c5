import { expect } from "chai";
import { createLogger } from "../../../operator/log";
import { createRedisClient, waitReady } from "../../../operator/redis";
import { startRedis, type RedisServer } from "../../helpers/redis";

describe("operator/redis client", function () {
  let server: RedisServer;
  const logger = createLogger({ level: "silent" });

  before(async function () {
    server = await startRedis({ password: "s3cret-pass" });
  });
  after(async function () {
    await server?.destroy();
  });

  it("authenticates with the configured password", async function () {
    const client = createRedisClient({ logger }, { url: server.url, password: "s3cret-pass" });
    try {
      await waitReady(client);
      expect(await client.ping()).to.equal("PONG");
    } finally {
      client.disconnect();
    }
  });

  it("is refused by a server that requires a password it was not given", async function () {
    const client = createRedisClient({ logger }, { url: server.url }, { maxRetriesPerRequest: 0 });
    try {
      const error = await client.ping().then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.message).to.match(/NOAUTH/);
    } finally {
      client.disconnect();
    }
  });
});
