/**
 * An order's or a fill's leaf and Merkle proof, from one of two places; what is done with it
 * afterwards (verifyOrder / verifyFill on-chain) is the same:
 *
 *   the API     GET /v1/proofs/orders/:hash, GET /v1/proofs/fills/:id (untrusted: the contract judges)
 *   an epoch file  the leaf found by order hash or fill id, its proof rebuilt from all leaves
 *
 * The API's answer (operator/api/routes/proofs.ts; integers as decimal strings, like the
 * epoch data file):
 *
 *   { "kind": "order", "chainId": 999, "commitment": "0x..", "epoch": "7", "status": "committed",
 *     "committed": true, "leaf": {"type":"orderAccepted","epoch":"7","sequence":"41",...},
 *     "leafIndex": 12, "leafHash": "0x..", "proof": ["0x..", ...], "root": "0x..", "commitTx": "0x.." }
 *
 * `leaf` and `proof` are null while the epoch is open or not built yet (`committed` false).
 * Nothing in it is trusted: the contract judges the leaf and proof, and an answer for another
 * contract than the one being audited is refused.
 */
import { CommitmentError, encodeLeaf, type CommitmentLeaf, type FillLeaf, type OrderAcceptedLeaf } from "../../operator/commitment";
import { decodeAddress, decodeUintString, UINT256_MAX, UINT64_MAX, type Address, type Hex } from "../../operator/orders";
import type { ApiClient } from "./api";
import { decodeEpochFile, type DecodedEpoch } from "./epochCheck";
import { AuditError } from "./errors";

export type LeafKind = "order" | "fill";

export interface LeafProof<L extends CommitmentLeaf = CommitmentLeaf> {
  leaf: L;
  proof: Hex[];
  /** Position in the epoch's tree, when known. */
  leafIndex?: number;
  /** The commit transaction, when the source says. */
  commitTx?: Hex;
  /** Where the proof came from, for people. */
  from: string;
}

const BYTES32_RE = /^0x[0-9a-fA-F]{64}$/;

/** The leaf and proof of order `orderHash` (kind "order") or fill `fillId` (kind "fill") from the API. */
export async function proofFromApi(api: ApiClient, kind: LeafKind, key: string, commitment: Address): Promise<LeafProof> {
  const path = kind === "order" ? `/v1/proofs/orders/${key}` : `/v1/proofs/fills/${key}`;
  let body: unknown;
  try {
    body = await api.getJson(path);
  } catch (error) {
    if (error instanceof AuditError && error.code === "NOT_FOUND") {
      throw new AuditError("NOT_FOUND", `unknown ${kind === "order" ? "order hash" : "fill id"} ${key}: the API at ${api.safeUrl} has no proof of it (${error.message})`, {
        details: { ...error.details, [kind === "order" ? "orderHash" : "fillId"]: key },
      });
    }
    throw error;
  }
  const proof = decodeApiProof(body, kind, key, api.safeUrl, commitment);
  const matches = kind === "order" ? (proof.leaf as OrderAcceptedLeaf).orderHash === key.toLowerCase() : (proof.leaf as FillLeaf).fillId.toString() === key;
  if (!matches) {
    throw new AuditError("API_ERROR", `the API at ${api.safeUrl} answered with the proof of another ${kind} than ${key}`, { details: { asked: key } });
  }
  return proof;
}

/** The leaf and proof of order `orderHash` or fill `fillId` in a decoded epoch data file (with its leaves). */
export function proofFromEpochFile(decoded: DecodedEpoch, kind: LeafKind, key: string, from: string): LeafProof {
  const leaves = decoded.leaves ?? [];
  const index = leaves.findIndex((leaf) =>
    kind === "order" ? leaf.type === "orderAccepted" && leaf.orderHash.toLowerCase() === key.toLowerCase() : leaf.type === "fill" && leaf.fillId.toString() === key,
  );
  if (index < 0) {
    throw new AuditError("NOT_FOUND", `unknown ${kind === "order" ? "order hash" : "fill id"} ${key}: epoch ${decoded.epoch} (${from}) has no leaf for it`, {
      details: { epoch: decoded.epoch, [kind === "order" ? "orderHash" : "fillId"]: key },
    });
  }
  return { leaf: leaves[index]!, proof: decoded.tree.proof(index), leafIndex: index, from };
}

/** Decodes an epoch data file given for a proof, with its leaves; a file that does not decode is bad input here. */
export async function decodeEpochFileForProof(bytes: Buffer, from: string): Promise<DecodedEpoch> {
  try {
    return await decodeEpochFile(bytes, { keepLeaves: true });
  } catch (error) {
    if (!(error instanceof CommitmentError)) throw error;
    throw new AuditError("INVALID_INPUT", `the epoch data file ${from} does not parse: ${error.message}`, { details: { from, ...error.details }, cause: error });
  }
}

// ------------------------------------------------------------------ the API's answer

function decodeApiProof(body: unknown, kind: LeafKind, key: string, from: string, commitment: Address): LeafProof {
  const bad = (message: string): AuditError => new AuditError("API_ERROR", `the API's proof is malformed: ${message}`, { details: { api: from } });
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw bad("not a JSON object");
  const record = body as Record<string, unknown>;
  const what = `${kind === "order" ? "order" : "fill"} ${key}`;
  if (typeof record.commitment === "string" && record.commitment.toLowerCase() !== commitment.toLowerCase()) {
    throw new AuditError("INVALID_INPUT", `the API at ${from} serves OrderbookCommitment ${record.commitment.toLowerCase()}, not ${commitment} (--commitment)`, {
      details: { api: record.commitment, asked: commitment },
    });
  }
  if (record.leaf === null || record.proof === null) {
    if (record.committed === false) {
      throw new AuditError("EPOCH_NOT_COMMITTED", `${what} is in epoch ${String(record.epoch)}, which is not committed yet (the API says: ${String(record.status)}): try again later`, {
        details: { epoch: record.epoch, status: record.status },
      });
    }
    throw new AuditError("NOT_FOUND", `the API has no leaf for ${what} in committed epoch ${String(record.epoch)}: check the epoch's data file (rebuild-epoch, verify-${kind} --epoch N --api)`, {
      details: { epoch: record.epoch },
    });
  }
  const raw = record.leaf;
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw bad("leaf is not an object");
  let leaf: CommitmentLeaf;
  try {
    leaf = kind === "order" ? decodeOrderLeaf(raw as Record<string, unknown>) : decodeFillLeaf(raw as Record<string, unknown>);
    encodeLeaf(leaf); // every field within its Solidity type
  } catch (error) {
    throw bad((error as Error).message);
  }
  if (!Array.isArray(record.proof) || !record.proof.every((p) => typeof p === "string" && BYTES32_RE.test(p))) {
    throw bad("proof is not a list of 32-byte hex strings");
  }
  const leafIndex = record.leafIndex;
  if (leafIndex !== undefined && leafIndex !== null && !(Number.isSafeInteger(leafIndex) && (leafIndex as number) >= 0)) {
    throw bad("leafIndex is not a whole number");
  }
  const commitTx = record.commitTx;
  if (commitTx !== undefined && commitTx !== null && !(typeof commitTx === "string" && BYTES32_RE.test(commitTx))) throw bad("commitTx is not a transaction hash");
  return {
    leaf,
    proof: (record.proof as string[]).map((p) => p.toLowerCase() as Hex),
    ...(typeof leafIndex === "number" ? { leafIndex } : {}),
    ...(typeof commitTx === "string" ? { commitTx: commitTx.toLowerCase() as Hex } : {}),
    from: `API ${from}`,
  };
}

const u64 = (value: unknown, field: string): bigint => decodeUintString(value, field, UINT64_MAX, "uint64");
const u256 = (value: unknown, field: string): bigint => decodeUintString(value, field, UINT256_MAX, "uint256");

function bytes32(value: unknown, field: string): Hex {
  if (typeof value !== "string" || !BYTES32_RE.test(value)) throw new Error(`${field} is not 32 bytes of hex`);
  return value.toLowerCase() as Hex;
}

function decodeOrderLeaf(raw: Record<string, unknown>): OrderAcceptedLeaf {
  if (raw.type !== "orderAccepted") throw new Error(`leaf type is ${String(raw.type)}, not orderAccepted`);
  return {
    type: "orderAccepted",
    epoch: u64(raw.epoch, "epoch"),
    sequence: u64(raw.sequence, "sequence"),
    orderHash: bytes32(raw.orderHash, "orderHash"),
    trader: decodeAddress(raw.trader, "trader"),
    receivedAt: u64(raw.receivedAt, "receivedAt"),
  };
}

function decodeFillLeaf(raw: Record<string, unknown>): FillLeaf {
  if (raw.type !== "fill") throw new Error(`leaf type is ${String(raw.type)}, not fill`);
  return {
    type: "fill",
    epoch: u64(raw.epoch, "epoch"),
    fillId: u64(raw.fillId, "fillId"),
    makerHash: bytes32(raw.makerHash, "makerHash"),
    takerHash: bytes32(raw.takerHash, "takerHash"),
    price: u256(raw.price, "price"),
    amount: u256(raw.amount, "amount"),
    batchId: u64(raw.batchId, "batchId"),
  };
}
