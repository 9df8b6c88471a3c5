/**
 * The signer's records in Redis (layout: ./signerKeys.ts). Every write goes through one script
 * (./lua/signer_put.lua), fenced by the owner token of the running instance; reads are plain
 * commands on keys of the chain's slot.
 */
import type { Logger } from "../log";
import { isReplyError, ScriptRunner, defineScript, readLuaFile, type RedisClient } from "../redis";
import { SignerError } from "./signerErrors";
import type { SignerKeys } from "./signerKeys";
import { decodeRecord, encodeRecord, type TxRecord } from "./signerRecord";

export const SIGNER_PUT_SCRIPT = defineScript({ name: "signer.put", body: readLuaFile(`${__dirname}/lua`, "signer_put.lua") });

export type NewResult = { ok: true } | { ok: false; holder: number };

export interface SignerStore {
  /** Takes ownership (fencing out any other instance); returns the recorded next nonce. */
  own(): Promise<number>;
  /** Raises the recorded next nonce to at least `nonce`; returns it. */
  raiseNext(nonce: number): Promise<number>;
  /**
   * Records a new transaction and moves "next" past it, unless the purpose is already carried
   * (then nothing is written and the holder's nonce is returned). `takeOverFrom`: the nonce of a
   * failed record of the same purpose, whose purpose this one takes over.
   */
  create(record: TxRecord, takeOverFrom?: number): Promise<NewResult>;
  update(record: TxRecord): Promise<void>;
  /** Writes the final record (confirmed / failed), drops it from the in-flight set, starts its expiry. */
  finish(record: TxRecord): Promise<void>;
  /** Every record in flight (sent or mined), by nonce. */
  inFlight(): Promise<TxRecord[]>;
  read(nonce: number): Promise<TxRecord | undefined>;
  /** The nonce carrying `purpose`, if any. */
  holder(purpose: string): Promise<number | undefined>;
}

export function createSignerStore(deps: { redis: RedisClient; logger: Logger }, params: { keys: SignerKeys; owner: string; keepSeconds: number }): SignerStore {
  const { redis } = deps;
  const { keys, owner } = params;
  const scripts = new ScriptRunner(deps, [SIGNER_PUT_SCRIPT]);

  async function put(callKeys: string[], args: (string | number)[]): Promise<string[]> {
    try {
      return (await scripts.call({ script: SIGNER_PUT_SCRIPT, keys: callKeys, args: args.map(String) })) as string[];
    } catch (error) {
      if (error instanceof Error && isReplyError(error) && error.message.startsWith("SIGNER_FENCED")) {
        throw new SignerError("SIGNER_FENCED", "another signer instance took over this chain and key: this one stops", { cause: error });
      }
      throw error;
    }
  }

  const recordKeys = (r: TxRecord): string[] => [keys.state, keys.inflight, keys.tx(r.nonce), keys.purpose(r.purpose)];
  const recordArgs = (mode: string, r: TxRecord, last: string | number = ""): (string | number)[] => [mode, owner, r.nonce, r.purpose, r.status, encodeRecord(r), last];

  async function read(nonce: number): Promise<TxRecord | undefined> {
    const text = await redis.hget(keys.tx(nonce), "rec");
    return text === null ? undefined : decodeRecord(text, keys.tx(nonce));
  }

  return {
    async own() {
      await scripts.load();
      const [, next] = await put([keys.state], ["own", owner]);
      return Number(next);
    },
    async raiseNext(nonce) {
      const [, next] = await put([keys.state], ["next", owner, nonce]);
      return Number(next);
    },
    async create(record, takeOverFrom) {
      const callKeys = recordKeys(record);
      if (takeOverFrom !== undefined) callKeys.push(keys.tx(takeOverFrom));
      const [status, holder] = await put(callKeys, recordArgs("new", record, takeOverFrom ?? ""));
      return status === "ok" ? { ok: true } : { ok: false, holder: Number(holder) };
    },
    async update(record) {
      await put(recordKeys(record), recordArgs("update", record));
    },
    async finish(record) {
      await put(recordKeys(record), recordArgs("final", record, params.keepSeconds));
    },
    async inFlight() {
      const nonces = (await redis.zrange(keys.inflight, 0, -1)).map(Number);
      if (nonces.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const n of nonces) pipeline.hget(keys.tx(n), "rec");
      const replies = (await pipeline.exec()) ?? [];
      const out: TxRecord[] = [];
      replies.forEach(([error, text], i) => {
        if (error) throw error;
        if (text === null) {
          throw new SignerError("SIGNER_BAD_RECORD", `nonce ${nonces[i]} is in flight but has no record`, { details: { key: keys.tx(nonces[i]) } });
        }
        out.push(decodeRecord(text as string, keys.tx(nonces[i])));
      });
      return out.sort((a, b) => a.nonce - b.nonce);
    },
    read,
    async holder(purpose) {
      const nonce = await redis.get(keys.purpose(purpose));
      return nonce === null ? undefined : Number(nonce);
    },
  };
}
