/**
 * The daemon's start-up under broken environments: each failure ends the start within its
 * timeout, with a message naming the variable at fault and (for Redis) the address; nothing
 * hangs, nothing is left running.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import hre from "hardhat";
import { createPublicClient, custom, type PublicClient } from "viem";
import { loadConfig, type OperatorConfig } from "../../../operator/config";
import { startOperator } from "../../../operator/daemon/start";
import { createLogger } from "../../../operator/log";
import { createRegistry } from "../../../operator/metrics";
import { freePort, startRedis, type RedisServer } from "../../helpers/redis";

const KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const A1 = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
const A2 = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512";
/** An address with no code on any test chain. */
const NO_CODE = "0x1111111111111111111111111111111111111111";
const MARKETS = JSON.stringify([
  {
    id: 1,
    symbol: "WETH-USDC",
    baseToken: "0x00000000000000000000000000000000000000e1",
    quoteToken: "0x00000000000000000000000000000000000000c2",
    baseDecimals: 18,
    tickSize: "10000",
    lotSize: "1000000000000000",
    minLots: 1,
    makerFeeBps: 2,
    takerFeeBps: 5,
  },
]);

let httpPort = 8080;

function env(extra: Record<string, string>): Record<string, string> {
  return {
    HYPERINDEX_RPC_URL: "http://127.0.0.1:9",
    HYPERINDEX_CHAIN_ID: "31337",
    HYPERINDEX_SETTLEMENT_ADDRESS: A1,
    HYPERINDEX_COMMITMENT_ADDRESS: A2,
    HYPERINDEX_OPERATOR_PRIVATE_KEY: KEY,
    HYPERINDEX_MARKETS: MARKETS,
    HYPERINDEX_HTTP_PORT: String(httpPort),
    HYPERINDEX_LOG_LEVEL: "silent",
    HYPERINDEX_VERIFIER_POOL_SIZE: "1",
    ...extra,
  };
}

/** A TCP server that accepts connections and never answers: a Redis that hangs. */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

async function startFailure(config: OperatorConfig): Promise<{ error: Error; ms: number }> {
  const started = Date.now();
  try {
    const operator = await startOperator({ logger: createLogger({ level: "silent" }), metrics: createRegistry() }, config);
    await operator.stop();
  } catch (error) {
    return { error: error as Error, ms: Date.now() - started };
  }
  return expect.fail("expected the start to fail");
}

describe("operator start-up in broken environments", function () {
  this.timeout(60_000);
  before(async () => {
    httpPort = await freePort();
  });

  it("fails within HYPERINDEX_REDIS_TIMEOUT_MS on a Redis that accepts connections but never answers, naming the variable and the address", async () => {
    const hung = await silentServer();
    try {
      const { error, ms } = await startFailure(loadConfig(env({ HYPERINDEX_REDIS_URL: `redis://127.0.0.1:${hung.port}`, HYPERINDEX_REDIS_TIMEOUT_MS: "1000" })));
      expect(error.message).to.contain("HYPERINDEX_REDIS_URL").and.contain(`127.0.0.1:${hung.port}`);
      expect(ms).to.be.lessThan(5_000);
    } finally {
      await hung.close();
    }
  });

  it("fails naming HYPERINDEX_REDIS_URL and the address when nothing listens there", async () => {
    const port = await freePort();
    const { error, ms } = await startFailure(loadConfig(env({ HYPERINDEX_REDIS_URL: `redis://127.0.0.1:${port}`, HYPERINDEX_REDIS_TIMEOUT_MS: "1000" })));
    expect(error.message).to.match(new RegExp(`^HYPERINDEX_REDIS_URL: redis at 127\\.0\\.0\\.1:${port} not ready after 1000 ms`));
    expect(ms).to.be.lessThan(5_000);
  });

  describe("with Redis up", () => {
    let redis: RedisServer;
    before(async () => {
      redis = await startRedis();
    });
    after(async () => redis?.destroy());

    it("fails naming HYPERINDEX_RPC_URL when the RPC refuses connections (credentials in it never shown)", async () => {
      const port = await freePort();
      const { error } = await startFailure(
        loadConfig(env({ HYPERINDEX_REDIS_URL: redis.url, HYPERINDEX_RPC_URL: `http://user:s3cret@127.0.0.1:${port}/key/a1b2c3d4e5f6a7b8c9d0` })),
      );
      expect(error.message).to.match(/^HYPERINDEX_RPC_URL: chain 31337/);
      expect(error.message).to.not.contain("s3cret").and.not.contain("a1b2c3d4e5f6a7b8c9d0");
    });

    it("checks the OrderbookCommitment address at start like the Settlement address, naming the variable", async () => {
      await hre.deployments.fixture(["HyperIndex"]);
      const settlement = (await hre.deployments.get("Settlement")).address.toLowerCase();
      const client = createPublicClient({ transport: custom(hre.network.provider) }) as PublicClient;
      const chainId = Number((await hre.ethers.provider.getNetwork()).chainId);
      const config = loadConfig(
        env({ HYPERINDEX_REDIS_URL: redis.url, HYPERINDEX_CHAIN_ID: String(chainId), HYPERINDEX_SETTLEMENT_ADDRESS: settlement, HYPERINDEX_COMMITMENT_ADDRESS: settlement }),
      );
      const started = Date.now();
      let error: Error | undefined;
      try {
        const operator = await startOperator({ logger: createLogger({ level: "silent" }), metrics: createRegistry(), chainClients: new Map([[chainId, client]]) }, config);
        await operator.stop();
      } catch (e) {
        error = e as Error;
      }
      expect(error?.message).to.match(/^HYPERINDEX_COMMITMENT_ADDRESS: no OrderbookCommitment contract answers at /);
      expect(Date.now() - started).to.be.lessThan(30_000);
      // The Settlement address is checked the same way.
      const wrongSettlement = loadConfig(env({ HYPERINDEX_REDIS_URL: redis.url, HYPERINDEX_CHAIN_ID: String(chainId), HYPERINDEX_SETTLEMENT_ADDRESS: NO_CODE }));
      let other: Error | undefined;
      try {
        const operator = await startOperator({ logger: createLogger({ level: "silent" }), metrics: createRegistry(), chainClients: new Map([[chainId, client]]) }, wrongSettlement);
        await operator.stop();
      } catch (e) {
        other = e as Error;
      }
      expect(other?.message).to.match(/^HYPERINDEX_SETTLEMENT_ADDRESS: no Settlement contract answers at /);
    });

    it("fails naming HYPERINDEX_CHAIN_ID when the RPC serves another chain", async () => {
      const client = createPublicClient({ transport: custom(hre.network.provider) }) as PublicClient;
      const { error } = await startFailure(loadConfig(env({ HYPERINDEX_REDIS_URL: redis.url, HYPERINDEX_CHAIN_ID: "999" })));
      expect(error).to.not.equal(undefined);
      let mismatch: Error | undefined;
      try {
        await startOperator(
          { logger: createLogger({ level: "silent" }), metrics: createRegistry(), chainClients: new Map([[999, client]]) },
          loadConfig(env({ HYPERINDEX_REDIS_URL: redis.url, HYPERINDEX_CHAIN_ID: "999" })),
        );
      } catch (e) {
        mismatch = e as Error;
      }
      expect(mismatch?.message).to.match(/^HYPERINDEX_CHAIN_ID: chain 999 .* serves chain 31337, not 999/);
    });
  });

  it("the daemon exits with code 1 and a plain message instead of hanging on a Redis that never answers", async () => {
    const hung = await silentServer();
    try {
      const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(__dirname, "../../../operator/main.ts")], {
        env: { ...process.env, ...env({ HYPERINDEX_REDIS_URL: `redis://127.0.0.1:${hung.port}`, HYPERINDEX_REDIS_TIMEOUT_MS: "1000", HYPERINDEX_LOG_LEVEL: "fatal" }) },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += String(d)));
      child.stdout.resume();
      const code = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => {
          child.kill("SIGKILL");
          resolve(null);
        }, 40_000);
        child.once("exit", (c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
      expect(code, stderr).to.equal(1);
      expect(stderr).to.contain("operator failed to start: HYPERINDEX_REDIS_URL: redis at 127.0.0.1:");
    } finally {
      await hung.close();
    }
  });
});
