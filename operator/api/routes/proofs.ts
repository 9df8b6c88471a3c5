/**
 * Proofs and epochs (operator/commitment epochLog.ts), per chain (`?chainId=`, optional when
 * one chain is served):
 *
 * GET /v1/proofs/orders/:hash  the order's leaf, proof, epoch and sequence, and whether the
 *                              epoch is committed yet (proof null while the epoch is open)
 * GET /v1/proofs/fills/:id     the same for a fill (id decimal or 0x hex); a fill's leaf exists
 *                              once its settlement is final and its epoch built
 * GET /v1/epochs/latest        the open and last committed epochs
 * GET /v1/epochs/:n            the epoch's header: status, root, dataHash, leafCount, commit tx
 * GET /v1/epochs/:n/data       the epoch data file, byte for byte (its keccak256 is dataHash)
 *
 * Leaves are JSON with integers as decimal strings (the epoch data file's form). An order the
 * engine no longer knows (dropped by retention after it finished) is found in its epoch file
 * with the auditor's tool (`npm run audit -- verify-order HASH --file ...`).
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { EpochLog } from "../../commitment/epochLog";
import type { CommitmentLeaf } from "../../commitment/leaves";
import { epochOfArrival, epochOfFill, getOrder, orderSequence, splitOrderSequence } from "../../matching";
import { bookKeys } from "../../matching/keys";
import type { Hex } from "../../orders";
import type { ApiContext } from "../context";
import { ApiError } from "../errors";

const HASH_RE = /^0x[0-9a-fA-F]{64}$/;
const FILL_ID_RE = /^(0x[0-9a-fA-F]{1,16}|[0-9]{1,20})$/;
const EPOCH_RE = /^[0-9]{1,19}$/;

function leafJson(leaf: CommitmentLeaf | null): Record<string, string> | null {
  if (leaf === null) return null;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(leaf)) out[k] = typeof v === "bigint" ? v.toString() : String(v);
  return out;
}

export function registerProofRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const epochLogOf = (request: FastifyRequest): EpochLog => {
    const logs = ctx.epochs;
    if (logs === undefined || logs.size === 0) throw new ApiError("EPOCHS_UNAVAILABLE", "this process does not run the epoch log (HYPERINDEX_CHAIN_SERVICES=false)");
    const q = (request.query as Record<string, unknown>).chainId;
    if (q === undefined) {
      if (logs.size === 1) return [...logs.values()][0];
      throw new ApiError("INVALID_QUERY", "several chains are served: give ?chainId=", { details: { chains: [...logs.keys()] } });
    }
    const id = Number(q);
    const log = logs.get(id);
    if (log === undefined) throw new ApiError("CHAIN_UNKNOWN", `chain ${String(q).slice(0, 20)} is not served here`, { details: { chains: [...logs.keys()] } });
    return log;
  };

  app.get<{ Params: { hash: string } }>("/v1/proofs/orders/:hash", async (request, reply) => {
    const { hash } = request.params;
    if (!HASH_RE.test(hash)) throw new ApiError("INVALID_ORDER_HASH", "expected an order hash: 0x followed by 64 hex digits", { details: { hash: hash.slice(0, 80) } });
    const log = epochLogOf(request);
    const orderHash = hash.toLowerCase() as Hex;
    const order = await getOrder(ctx.engine, { orderHash });
    if (order === null || order.seq === 0 || order.chainId !== log.chainId) {
      return reply.code(404).send({ error: { code: "ORDER_NOT_FOUND", message: "no such order on this chain (an order dropped by retention after it finished is in its epoch's data file)", details: { orderHash } } });
    }
    const epoch = await epochOfArrival(ctx.redis, order.market, order.seq);
    const sequence = orderSequence(order.market, order.seq);
    const p = await log.proof(epoch, { kind: "order", sequence, orderHash });
    return reply.send({ kind: "order", orderHash, sequence: sequence.toString(), ...p, leaf: leafJson(p.leaf) });
  });

  app.get<{ Params: { id: string } }>("/v1/proofs/fills/:id", async (request, reply) => {
    const { id } = request.params;
    if (!FILL_ID_RE.test(id)) throw new ApiError("INVALID_FILL_ID", "expected a fill id: decimal, or 0x and up to 16 hex digits", { details: { id: id.slice(0, 80) } });
    const fillId = BigInt(id);
    const log = epochLogOf(request);
    const { market, seq: counter } = splitOrderSequence(fillId);
    const m = ctx.markets.byId(market);
    const matched = m === undefined || m.chainId !== log.chainId ? 0 : Number((await ctx.redis.hget(bookKeys(market).state, "fill")) ?? 0);
    if (counter === 0 || counter > matched) throw new ApiError("FILL_NOT_FOUND", "no such fill on this chain", { details: { fillId: fillId.toString() } });
    const epoch = await epochOfFill(ctx.redis, market, counter);
    const p = await log.proof(epoch, { kind: "fill", fillId });
    return reply.send({ kind: "fill", fillId: fillId.toString(), ...p, leaf: leafJson(p.leaf) });
  });

  app.get("/v1/epochs/latest", async (request, reply) => {
    const log = epochLogOf(request);
    const s = await log.status();
    return reply.send({ chainId: log.chainId, commitment: log.commitmentAddress, open: s.open, committed: s.committed, pending: s.pending, fault: s.fault });
  });

  app.get<{ Params: { n: string } }>("/v1/epochs/:n", async (request, reply) => {
    const epoch = epochParam(request.params.n);
    const log = epochLogOf(request);
    const rec = await log.record(epoch);
    if (rec === undefined) throw new ApiError("EPOCH_NOT_FOUND", `epoch ${epoch} is not known here`, { details: { epoch: epoch.toString() } });
    return reply.send({
      chainId: log.chainId,
      commitment: log.commitmentAddress,
      epoch: epoch.toString(),
      status: rec.status,
      committed: rec.status === "committed",
      root: rec.root ?? null,
      dataHash: rec.dataHash ?? null,
      leafCount: rec.leafCount ?? null,
      commitTx: rec.tx ?? null,
      commitBlock: rec.block?.toString() ?? null,
      sealedAt: rec.sealedAt ?? null,
      committedAt: rec.committedAt ?? null,
      data: rec.file === undefined ? null : `/v1/epochs/${epoch}/data?chainId=${log.chainId}`,
    });
  });

  app.get<{ Params: { n: string } }>("/v1/epochs/:n/data", async (request, reply) => {
    const epoch = epochParam(request.params.n);
    const log = epochLogOf(request);
    const path = await log.filePath(epoch);
    const size = path === undefined ? undefined : await stat(path).then((s) => s.size, () => undefined);
    if (path === undefined || size === undefined) throw new ApiError("EPOCH_NOT_FOUND", `epoch ${epoch} has no data file yet (open, or sealed and not built)`, { details: { epoch: epoch.toString() } });
    return reply.header("content-type", "application/json").header("content-length", String(size)).send(createReadStream(path));
  });
}

function epochParam(n: string): bigint {
  if (!EPOCH_RE.test(n) || BigInt(n) === 0n || BigInt(n) >= 2n ** 64n) throw new ApiError("INVALID_EPOCH", "expected an epoch number from 1 to 2^64 - 1", { details: { epoch: n.slice(0, 40) } });
  return BigInt(n);
}
