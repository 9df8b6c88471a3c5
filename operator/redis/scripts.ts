/**
 * Lua scripts: assembled from their files, addressed by SHA1, loaded with SCRIPT LOAD on
 * every master at start, run with EVALSHA, and reloaded when a node answers NOSCRIPT (after a
 * restart or a failover the script cache is empty).
 *
 * Every script starts with the `#!lua` shebang. On Redis Cluster that makes the server refuse
 * (with "Script attempted to access keys that do not hash to the same slot") any access to a
 * key outside the slot of the declared keys, including keys a script builds itself, so a test
 * run against a cluster proves the one-slot-per-script rule instead of trusting it.
 *
 * Calls are batched: many EVALSHA go out in one pipeline per node (grouped by slot owner on a
 * cluster), so a batch of orders costs one round trip per stage, not one per order.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { Cluster, Pipeline } from "ioredis";
import type Redis from "ioredis";
import type { Logger } from "../log";
import { isCluster, masterNodes, waitReady, type RedisClient } from "./client";
import { evalshaCommands, type ScriptArg } from "./resp";
import { RedisError } from "./errors";
import { keySlot, sameSlot } from "./slot";

/** Local aliases every script starts with (see lua/prelude.lua). */
const LUA_PRELUDE = fs.readFileSync(path.join(__dirname, "lua", "prelude.lua"), "utf8");

export interface LuaScript {
  name: string;
  /** The exact text sent to Redis (shebang, shared helpers, script). */
  source: string;
  /** SHA1 of `source`: the EVALSHA handle. */
  sha: string;
  /** Read-only scripts are flagged `no-writes` (runnable on replicas, never block writes). */
  readOnly: boolean;
}

export interface DefineScriptParams {
  name: string;
  /** The script file's text; it opens with its KEYS / ARGV / returns comment block. */
  body: string;
  /** Shared Lua helpers, prepended in order (e.g. the bigint helpers). */
  libs?: string[];
  readOnly?: boolean;
}

export function defineScript(params: DefineScriptParams): LuaScript {
  const shebang = params.readOnly ? "#!lua flags=no-writes" : "#!lua";
  const source = [shebang, LUA_PRELUDE, ...(params.libs ?? []), params.body].join("\n");
  return {
    name: params.name,
    source,
    sha: createHash("sha1").update(source).digest("hex"),
    readOnly: params.readOnly ?? false,
  };
}

/** Reads a .lua file next to the module that defines the script. */
export function readLuaFile(dir: string, file: string): string {
  return fs.readFileSync(path.join(dir, file), "utf8");
}

export interface ScriptCall {
  script: LuaScript;
  keys: readonly string[];
  /** Strings, numbers, or parts whose concatenation is the argument (./resp.ts). */
  args: readonly ScriptArg[];
}

export type ScriptResult = { ok: true; value: unknown } | { ok: false; error: Error };

export interface ScriptRunnerOptions {
  /** Check in TypeScript that the declared keys of every call share one slot (tests). */
  assertSingleSlot?: boolean;
}

const MAX_NOSCRIPT_RETRIES = 3;

export class ScriptRunner {
  private readonly scripts = new Map<string, LuaScript>();
  private reloading: Promise<void> | undefined;

  constructor(
    private readonly deps: { redis: RedisClient; logger: Logger },
    scripts: readonly LuaScript[],
    private readonly options: ScriptRunnerOptions = {},
  ) {
    this.register(scripts);
  }

  /** Adds scripts (idempotent); call `load` again to push them to the servers. */
  register(scripts: readonly LuaScript[]): void {
    for (const script of scripts) this.scripts.set(script.sha, script);
  }

  /** SCRIPT LOAD of every registered script on every master; checks the returned SHAs. */
  async load(): Promise<void> {
    // A cluster client must know its nodes; a single-node client queues (or fails) by itself.
    if (isCluster(this.deps.redis) && this.deps.redis.status !== "ready") await waitReady(this.deps.redis);
    const nodes = masterNodes(this.deps.redis);
    await Promise.all(
      nodes.map(async (node) => {
        const pipeline = node.pipeline();
        const scripts = [...this.scripts.values()];
        for (const script of scripts) pipeline.script("LOAD", script.source);
        const results = (await pipeline.exec()) ?? [];
        results.forEach(([error, sha], i) => {
          if (error) throw error;
          if (sha !== scripts[i].sha) {
            throw new RedisError("REDIS_SCRIPT_MISMATCH", `script ${scripts[i].name}: server SHA ${String(sha)} differs`, { details: { script: scripts[i].name } });
          }
        });
      }),
    );
    this.deps.logger.debug({ scripts: this.scripts.size, nodes: nodes.length }, "lua scripts loaded");
  }

  /** One call; throws the script's error reply. */
  async call(call: ScriptCall): Promise<unknown> {
    const [result] = await this.batch([call]);
    if (!result.ok) throw result.error;
    return result.value;
  }

  /**
   * Runs the calls in as few round trips as possible: one pipeline per node. Results are in
   * call order. Calls that hit NOSCRIPT are retried after a reload; other errors (a script's
   * error reply) are returned per call. A failed connection rejects the whole batch.
   */
  async batch(calls: readonly ScriptCall[]): Promise<ScriptResult[]> {
    // A script first seen here is registered, so a NOSCRIPT reload includes it.
    for (const call of calls) if (!this.scripts.has(call.script.sha)) this.scripts.set(call.script.sha, call.script);
    const results: ScriptResult[] = new Array(calls.length);
    let pending = calls.map((_, i) => i);
    for (let attempt = 0; pending.length > 0; attempt++) {
      const round = await this.runOnce(pending.map((i) => calls[i]));
      // A script's error reply is that call's result; anything else (connection closed,
      // retries exhausted) means Redis is unreachable: the whole batch fails.
      const broken = round.find((r) => !r.ok && !isReplyError(r.error));
      if (broken && !broken.ok) throw broken.error;
      const retry: number[] = [];
      round.forEach((result, j) => {
        const index = pending[j];
        if (!result.ok && result.error.message.startsWith("NOSCRIPT") && attempt < MAX_NOSCRIPT_RETRIES) retry.push(index);
        else results[index] = result;
      });
      if (retry.length > 0) await this.reload();
      pending = retry;
    }
    return results;
  }

  private async reload(): Promise<void> {
    // Many calls may see NOSCRIPT at once after a restart: reload once for all of them.
    if (!this.reloading) {
      this.deps.logger.warn("redis answered NOSCRIPT: reloading lua scripts");
      this.reloading = this.load().finally(() => {
        this.reloading = undefined;
      });
    }
    await this.reloading;
  }

  private async runOnce(calls: readonly ScriptCall[]): Promise<ScriptResult[]> {
    if (this.options.assertSingleSlot) {
      for (const call of calls) {
        if (!sameSlot(call.keys)) {
          throw new RedisError("REDIS_CROSS_SLOT", `script ${call.script.name} called with keys in several slots: ${call.keys.join(" ")}`, { details: { script: call.script.name } });
        }
      }
    }
    const redis = this.deps.redis;
    if (!isCluster(redis)) return execPipeline(redis, calls);
    if (redis.slots.length === 0) await waitReady(redis);
    // Group by the node set serving each slot: ioredis sends a pipeline to one node only.
    const groups = new Map<string, number[]>();
    calls.forEach((call, i) => {
      const slot = call.keys.length > 0 ? keySlot(call.keys[0]) : 0;
      const owner = (redis as Cluster).slots[slot]?.join(",") ?? `slot:${slot}`;
      const group = groups.get(owner);
      if (group) group.push(i);
      else groups.set(owner, [i]);
    });
    const results: ScriptResult[] = new Array(calls.length);
    await Promise.all(
      [...groups.values()].map(async (indexes) => {
        const groupResults = await execPipeline(redis, indexes.map((i) => calls[i]));
        groupResults.forEach((result, j) => (results[indexes[j]] = result));
      }),
    );
    return results;
  }
}

/** A Redis error reply (what a script's redis.error_reply or a failed command answers). */
export function isReplyError(error: Error): boolean {
  return error.name === "ReplyError";
}

async function execPipeline(redis: Redis | Cluster, calls: readonly ScriptCall[]): Promise<ScriptResult[]> {
  if (calls.length === 0) return [];
  // redis.pipeline() is typed as a ChainableCommander; it is a Pipeline (sendCommand).
  const pipeline = redis.pipeline() as unknown as Pipeline;
  // Pre-encoded commands (./resp.ts): the same EVALSHA, written to the wire at a fraction of
  // ioredis's cost.
  const commands = evalshaCommands(calls.map((c) => ({ sha: c.script.sha, keys: c.keys, args: c.args })));
  for (const command of commands) pipeline.sendCommand(command);
  const raw = (await pipeline.exec()) ?? [];
  return raw.map(([error, value]) => (error ? { ok: false as const, error } : { ok: true as const, value }));
}
