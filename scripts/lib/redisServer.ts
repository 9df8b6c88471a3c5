/**
 * Real Redis servers for tests, benchmarks and the demo: each call starts its own `redis-server` on a
 * free loopback port with a temporary directory, and stops it (and deletes the directory)
 * afterwards. Nothing here mocks Redis.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import Redis, { Cluster } from "ioredis";

export interface RedisServerOptions {
  /** Enable the append-only file (default true, as the operator runs it). */
  appendonly?: boolean;
  appendfsync?: "always" | "everysec" | "no";
  /** Require this password (AUTH) from clients; the harness uses it too. */
  password?: string;
  /** Extra `--flag value` pairs. */
  extraArgs?: string[];
}

export interface RedisServer {
  port: number;
  url: string;
  dir: string;
  /** Stops the server (SHUTDOWN, so AOF is flushed) and waits for the process to exit. */
  stop(): Promise<void>;
  /** Kills the process without a clean shutdown (simulates a crash). */
  kill(): Promise<void>;
  /** Starts the server again on the same port and directory (reloads AOF/RDB). */
  restart(): Promise<void>;
  /** Stops and removes the data directory. */
  destroy(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      if (address === null || typeof address === "string") return reject(new Error("no port"));
      srv.close(() => resolve(address.port));
    });
  });
}

function redisArgs(port: number, dir: string, options: RedisServerOptions): string[] {
  return [
    "--port", String(port),
    "--bind", "127.0.0.1",
    "--dir", dir,
    "--save", "",
    "--appendonly", options.appendonly === false ? "no" : "yes",
    "--appendfsync", options.appendfsync ?? "everysec",
    "--daemonize", "no",
    "--protected-mode", "no",
    "--loglevel", "warning",
    ...(options.password === undefined ? [] : ["--requirepass", options.password]),
    ...(options.extraArgs ?? []),
  ];
}

async function waitForPing(port: number, child: ChildProcess, password?: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited with code ${child.exitCode}`);
    const client = new Redis({ port, host: "127.0.0.1", password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on("error", () => undefined); // refused while the server starts: expected, retried
    try {
      await client.connect();
      // LOADING errors mean the AOF is still being replayed.
      if ((await client.ping()) === "PONG") {
        client.disconnect();
        return;
      }
    } catch (error) {
      lastError = error;
    }
    client.disconnect();
    await sleep(25);
  }
  throw new Error(`redis-server on port ${port} did not answer: ${String(lastError)}`);
}

function spawnRedis(port: number, dir: string, options: RedisServerOptions): ChildProcess {
  const child = spawn("redis-server", redisArgs(port, dir, options), { stdio: ["ignore", "ignore", "pipe"] });
  child.on("error", (error) => {
    throw new Error(`cannot start redis-server (run scripts/ensure-redis.sh): ${error.message}`);
  });
  return child;
}

async function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => child.once("exit", () => resolve()));
}

export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hyperindex-redis-"));
  let child = spawnRedis(port, dir, options);
  await waitForPing(port, child, options.password);
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const client = new Redis({ port, host: "127.0.0.1", password: options.password, maxRetriesPerRequest: 0, retryStrategy: () => null });
      client.on("error", () => undefined);
      try {
        await client.call("SHUTDOWN");
      } catch {
        // SHUTDOWN closes the connection before answering.
      }
      client.disconnect();
      await waitExit(child);
    },
    async kill() {
      child.kill("SIGKILL");
      await waitExit(child);
    },
    async restart() {
      await server.stop();
      child = spawnRedis(port, dir, options);
      await waitForPing(port, child, options.password);
    },
    async destroy() {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

export interface RedisClusterHandle {
  nodes: RedisServer[];
  seeds: { host: string; port: number }[];
  /** A connected ioredis Cluster client (caller disconnects it). */
  connect(): Cluster;
  destroy(): Promise<void>;
}

/**
 * A 3-master Redis Cluster on loopback (no replicas), slots split evenly; waits until the
 * cluster reports ok on every node.
 */
export async function startRedisCluster(masters = 3): Promise<RedisClusterHandle> {
  const nodes: RedisServer[] = [];
  for (let i = 0; i < masters; i++) {
    nodes.push(
      await startRedis({
        extraArgs: ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000"],
      }),
    );
  }
  const clients = nodes.map((n) => new Redis({ port: n.port, host: "127.0.0.1" }));
  try {
    const per = Math.floor(16384 / masters);
    for (let i = 0; i < masters; i++) {
      const start = i * per;
      const end = i === masters - 1 ? 16383 : start + per - 1;
      const slots = Array.from({ length: end - start + 1 }, (_, k) => start + k);
      await clients[i].call("CLUSTER", "ADDSLOTS", ...slots.map(String));
    }
    for (let i = 1; i < masters; i++) await clients[i].call("CLUSTER", "MEET", "127.0.0.1", String(nodes[0].port));
    const deadline = Date.now() + 20_000;
    for (;;) {
      const infos = await Promise.all(clients.map((c) => c.call("CLUSTER", "INFO") as Promise<string>));
      if (infos.every((info) => info.includes("cluster_state:ok") && info.includes(`cluster_known_nodes:${masters}`))) break;
      if (Date.now() > deadline) throw new Error(`cluster did not converge: ${infos.join(" | ")}`);
      await sleep(100);
    }
  } finally {
    for (const c of clients) c.disconnect();
  }
  const seeds = nodes.map((n) => ({ host: "127.0.0.1", port: n.port }));
  return {
    nodes,
    seeds,
    connect: () => new Cluster(seeds, { redisOptions: { maxRetriesPerRequest: 3 } }),
    async destroy() {
      for (const n of nodes) await n.destroy();
    },
  };
}
