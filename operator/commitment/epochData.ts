/**
 * The epoch data file: what the operator publishes for each committed epoch so that anyone
 * can fetch it, check it against the on-chain `dataHash`, and rebuild the on-chain `root`.
 *
 * Format (JSON, UTF-8, no whitespace, keys in this order, one trailing newline):
 *
 *     {"format":"hyperindex-epoch","version":1,"epoch":"7","leaves":[LEAF, ...]}
 *
 * Leaves are in tree order (the operator's arrival order). Each LEAF lists its `type` then
 * exactly the fields its hash covers, in the contract's order, including its own `epoch`
 * (which must equal the file's). Integers are decimal strings (they exceed 2^53); hex is
 * lowercase. For example:
 *
 *     {"type":"orderAccepted","epoch":"7","sequence":"41","orderHash":"0x..","trader":"0x..","receivedAt":"1735689600123"}
 *     {"type":"fill","epoch":"7","fillId":"9","makerHash":"0x..","takerHash":"0x..","price":"..","amount":"..","batchId":"3"}
 *
 * `dataHash` is keccak256 over the file's exact bytes, so an auditor hashes what it
 * fetched, never a re-serialization. The form is canonical: the writer is deterministic
 * and the reader accepts only the writer's bytes, so one epoch has exactly one file.
 * An epoch without leaves has no file (it cannot be committed).
 *
 * A file of a million leaves is ~240 MB. Writer and reader therefore work a leaf at a time
 * (EpochDataEncoder, EpochDataDecoder): bytes in chunks, keccak updated as they pass, and the
 * leaf digests (the tree's layer 0) collected in one flat buffer. Measured at 1e6 leaves, the
 * whole-file way (JSON.stringify / JSON.parse of every leaf, then a re-serialization to check
 * the form) peaked at 1.8 GB RSS to write and 2.0 GB to read; the reader here never holds more
 * than one leaf object unless asked to return them (parseEpochData).
 */
import createKeccakHash from "keccak";
import { keccak256, type Hex } from "../orders";
import { CommitmentError } from "./errors";
import { encodeLeaf, type CommitmentLeaf, type LeafType } from "./leaves";
import { NODE_BYTES, ownedBuffer } from "./proofLayers";
import { CommitmentTree } from "./tree";

export const EPOCH_DATA_FORMAT = "hyperindex-epoch";
export const EPOCH_DATA_VERSION = 1;

export interface EpochData {
  epoch: bigint;
  /** In arrival order: the order of the tree's leaves. */
  leaves: readonly CommitmentLeaf[];
}

/** The arguments of OrderbookCommitment.commitEpoch, and what an auditor compares with epochOf. */
export interface EpochCommitment {
  epoch: bigint;
  root: Hex;
  leafCount: bigint;
  dataHash: Hex;
}

/** What one pass over a file's bytes gives, written or read, without keeping its leaves. */
export interface EpochDataSummary {
  epoch: bigint;
  leafCount: number;
  /** keccak256 of the file's bytes. */
  dataHash: Hex;
  byteLength: number;
  /** The double-hashed leaves, 32 bytes each, in file order: the tree's layer 0 (an owned buffer). */
  leafDigests: Buffer;
}

/** Field names after `type`, in the contract's order; `true` marks an integer (decimal string). */
const FIELDS: { readonly [T in LeafType]: readonly (readonly [string, boolean])[] } = {
  orderAccepted: [
    ["epoch", true],
    ["sequence", true],
    ["orderHash", false],
    ["trader", false],
    ["receivedAt", true],
  ],
  fill: [
    ["epoch", true],
    ["fillId", true],
    ["makerHash", false],
    ["takerHash", false],
    ["price", true],
    ["amount", true],
    ["batchId", true],
  ],
};
const DECIMAL_RE = /^(0|[1-9][0-9]*)$/;
const HEX_RE = /^0x[0-9a-fA-F]+$/;
const HEADER_START = `{"format":"${EPOCH_DATA_FORMAT}","version":${EPOCH_DATA_VERSION},"epoch":"`;
const HEADER_END = `","leaves":[`;
const TRAILER = "]}\n";
/** Longest canonical header (a uint64 epoch has 20 digits) and leaf (a fill of 2^256-1 price and amount). */
const MAX_HEADER_BYTES = HEADER_START.length + 20 + HEADER_END.length;
const MAX_LEAF_BYTES = 512;

function bad(message: string, details: Record<string, unknown> = {}): CommitmentError {
  return new CommitmentError("INVALID_EPOCH_DATA", message, { details });
}

/**
 * The leaf's digest, after checking what the tree and the contract need: each field in range
 * (INVALID_LEAF) and the leaf in the file's epoch.
 */
function checkedDigest(leaf: CommitmentLeaf, epoch: bigint, index: number): Buffer {
  const digest = keccak256(keccak256(encodeLeaf(leaf))); // throws INVALID_LEAF for a field out of range
  if (leaf.epoch !== epoch) {
    throw bad("a leaf belongs to another epoch", { index, leafEpoch: leaf.epoch.toString(), epoch: epoch.toString() });
  }
  return digest;
}

/**
 * The canonical JSON of a leaf that passed encodeLeaf: what JSON.stringify gives for
 * {type, ...fields} in FIELDS order, built directly (every value is ASCII digits or hex, so
 * nothing needs escaping).
 */
function leafRecord(leaf: CommitmentLeaf): string {
  const fields = leaf as unknown as Record<string, bigint | string>;
  let out = `{"type":"${leaf.type}"`;
  for (const [name, isInteger] of FIELDS[leaf.type]) {
    out += `,"${name}":"${isInteger ? (fields[name] as bigint).toString() : (fields[name] as string).toLowerCase()}"`;
  }
  return out + "}";
}

/** One flat buffer of 32-byte digests that grows by doubling; `take` trims it to an owned buffer. */
class DigestList {
  private buf: Buffer;
  count = 0;

  constructor(expected: number) {
    this.buf = ownedBuffer(Math.max(expected, 1_024) * NODE_BYTES);
  }

  push(digest: Buffer): void {
    if ((this.count + 1) * NODE_BYTES > this.buf.length) {
      const bigger = ownedBuffer(this.buf.length * 2);
      this.buf.copy(bigger);
      this.buf = bigger;
    }
    digest.copy(this.buf, this.count++ * NODE_BYTES);
  }

  take(): Buffer {
    if (this.buf.length === this.count * NODE_BYTES) return this.buf;
    const exact = ownedBuffer(this.count * NODE_BYTES);
    this.buf.copy(exact, 0, 0, exact.length);
    return exact;
  }
}

/**
 * Writes an epoch data file a leaf at a time: `add` each leaf in order, `take` the bytes so
 * far whenever convenient (pendingBytes says how many), then `finish` for the last bytes and
 * the summary. Throws like serializeEpochData, at the leaf that fails.
 */
export class EpochDataEncoder {
  private readonly hash = createKeccakHash("keccak256");
  private readonly digests: DigestList;
  private parts: string[] = [];
  private pending = 0;
  private written = 0;
  private finished = false;

  /** `expectedLeaves`: a capacity hint for the digest buffer. */
  constructor(readonly epoch: bigint, expectedLeaves = 0) {
    this.digests = new DigestList(expectedLeaves);
    this.append(`${HEADER_START}${epoch.toString()}${HEADER_END}`);
  }

  get leafCount(): number {
    return this.digests.count;
  }

  /** Bytes encoded and not yet taken. */
  get pendingBytes(): number {
    return this.pending;
  }

  add(leaf: CommitmentLeaf): void {
    if (this.finished) throw new TypeError("EpochDataEncoder: add after finish");
    this.digests.push(checkedDigest(leaf, this.epoch, this.digests.count));
    this.append(this.digests.count === 1 ? leafRecord(leaf) : `,${leafRecord(leaf)}`);
  }

  /** The bytes encoded since the last take (possibly empty). */
  take(): Buffer {
    const bytes = Buffer.from(this.parts.join(""), "latin1"); // the canonical form is ASCII
    this.hash.update(bytes);
    this.written += bytes.length;
    this.parts = [];
    this.pending = 0;
    return bytes;
  }

  /** The file's last bytes (to write after everything taken) and what the file commits to. */
  finish(): { tail: Buffer; summary: EpochDataSummary } {
    if (this.digests.count === 0) throw new CommitmentError("EMPTY_EPOCH", "an epoch without leaves has no data file");
    this.finished = true;
    this.append(TRAILER);
    const tail = this.take();
    const summary: EpochDataSummary = {
      epoch: this.epoch,
      leafCount: this.digests.count,
      dataHash: `0x${this.hash.digest().toString("hex")}`,
      byteLength: this.written,
      leafDigests: this.digests.take(),
    };
    return { tail, summary };
  }

  private append(text: string): void {
    this.parts.push(text);
    this.pending += text.length;
  }
}

function parseInteger(value: unknown, where: Record<string, unknown>): bigint {
  if (typeof value !== "string" || !DECIMAL_RE.test(value)) throw bad("expected a decimal string", where);
  return BigInt(value);
}

function parseLeaf(raw: unknown, index: number): CommitmentLeaf {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw bad("a leaf is not an object", { index });
  const record = raw as Record<string, unknown>;
  const type = record.type;
  if (type !== "orderAccepted" && type !== "fill") throw bad("unknown leaf type", { index, type });
  const fields = FIELDS[type];
  // Exactly the hashed fields: an extra key would be data the root does not commit to.
  if (Object.keys(record).length !== fields.length + 1) throw bad("a leaf has unexpected keys", { index });
  const leaf: Record<string, unknown> = { type };
  for (const [name, isInteger] of fields) {
    const value = record[name];
    if (isInteger) leaf[name] = parseInteger(value, { index, field: name });
    else if (typeof value === "string" && HEX_RE.test(value)) leaf[name] = value;
    else throw bad("expected a hex string", { index, field: name });
  }
  return leaf as unknown as CommitmentLeaf;
}

const BRACE_CLOSE = 0x7d; // "}"
type DecoderPhase = "header" | "firstLeaf" | "leaf" | "afterLeaf" | "nextLeaf" | "trailer" | "done";

/**
 * Reads an epoch data file from its bytes in chunks of any size (`push` each, then `finish`),
 * checking as it goes that they are exactly what EpochDataEncoder writes: the fixed header,
 * leaves separated by commas, the trailer. Each leaf is cut at its first "}" (a canonical
 * leaf holds none inside), parsed, checked (fields, range, epoch) and compared with its
 * canonical form, so a file is accepted exactly when the writer could have produced it.
 * Throws CommitmentError (INVALID_EPOCH_DATA, INVALID_LEAF, EMPTY_EPOCH) at the first
 * problem, in file order.
 */
export class EpochDataDecoder {
  private readonly hash = createKeccakHash("keccak256");
  private readonly digests = new DigestList(0);
  private readonly leaves: CommitmentLeaf[] | undefined;
  private pending: Buffer = Buffer.alloc(0);
  private pos = 0;
  private consumed = 0; // bytes before `pending`
  private phase: DecoderPhase = "header";
  private epoch = 0n;

  /** `keepLeaves`: also return the leaf objects (parseEpochData); off, only digests are kept. */
  constructor(options: { keepLeaves?: boolean } = {}) {
    this.leaves = options.keepLeaves ? [] : undefined;
  }

  push(chunk: Buffer): void {
    this.hash.update(chunk);
    const rest = this.pending.length - this.pos;
    this.consumed += this.pos;
    this.pending = rest === 0 ? chunk : Buffer.concat([this.pending.subarray(this.pos), chunk]);
    this.pos = 0;
    while (this.step());
  }

  finish(): EpochDataSummary & { leaves?: CommitmentLeaf[] } {
    if (this.phase !== "done") throw bad("the epoch data file is not in canonical form: it ends early", this.at());
    return {
      epoch: this.epoch,
      leafCount: this.digests.count,
      dataHash: `0x${this.hash.digest().toString("hex")}`,
      byteLength: this.consumed + this.pending.length,
      leafDigests: this.digests.take(),
      ...(this.leaves === undefined ? {} : { leaves: this.leaves }),
    };
  }

  /** Parses one element if its bytes are all here; false to wait for more. */
  private step(): boolean {
    const buf = this.pending;
    if (this.pos >= buf.length) return false;
    switch (this.phase) {
      case "header": {
        const window = buf.subarray(this.pos, this.pos + MAX_HEADER_BYTES);
        const end = window.indexOf(HEADER_END, 0, "latin1");
        const seen = window.toString("latin1", 0, end < 0 ? window.length : end);
        // Until the header's end arrives, what is here must be the start of a header.
        const digits = /^[0-9]*/.exec(seen.slice(HEADER_START.length))![0];
        const afterDigits = seen.slice(HEADER_START.length + digits.length);
        const fits = seen.startsWith(HEADER_START) ? HEADER_END.startsWith(afterDigits) : end < 0 && HEADER_START.startsWith(seen);
        if (!fits || (end >= 0 && afterDigits !== "") || (end < 0 && window.length === MAX_HEADER_BYTES)) {
          throw bad("the epoch data file is not in canonical form: not its header", this.at());
        }
        if (end < 0) return false;
        this.epoch = parseInteger(digits, { field: "epoch" });
        this.pos += end + HEADER_END.length;
        this.phase = "firstLeaf";
        return true;
      }
      case "firstLeaf":
      case "nextLeaf":
        if (buf[this.pos] === 0x5d /* ] */ && this.phase === "firstLeaf") {
          throw new CommitmentError("EMPTY_EPOCH", "an epoch without leaves has no data file");
        }
        if (buf[this.pos] !== 0x7b /* { */) throw bad("the epoch data file is not in canonical form: expected a leaf", this.at());
        this.phase = "leaf";
        return true;
      case "leaf": {
        const end = buf.indexOf(BRACE_CLOSE, this.pos);
        if (end < 0) {
          if (buf.length - this.pos > MAX_LEAF_BYTES) throw bad("the epoch data file is not in canonical form: a leaf too long", this.at());
          return false;
        }
        this.readLeaf(buf.toString("latin1", this.pos, end + 1));
        this.pos = end + 1;
        this.phase = "afterLeaf";
        return true;
      }
      case "afterLeaf":
        if (buf[this.pos] === 0x2c /* , */) this.phase = "nextLeaf";
        else if (buf[this.pos] === 0x5d /* ] */) this.phase = "trailer";
        else throw bad("the epoch data file is not in canonical form: expected , or ]", this.at());
        this.pos += 1;
        return true;
      case "trailer": {
        const rest = TRAILER.slice(1);
        if (buf.length - this.pos < rest.length) {
          if (!rest.startsWith(buf.toString("latin1", this.pos))) throw bad("the epoch data file is not in canonical form: after the leaves", this.at());
          return false;
        }
        if (buf.toString("latin1", this.pos, this.pos + rest.length) !== rest) {
          throw bad("the epoch data file is not in canonical form: after the leaves", this.at());
        }
        this.pos += rest.length;
        this.phase = "done";
        return true;
      }
      case "done":
        throw bad("the epoch data file is not in canonical form: bytes after its end", this.at());
    }
  }

  private readLeaf(record: string): void {
    const index = this.digests.count;
    let raw: unknown;
    try {
      raw = JSON.parse(record);
    } catch (cause) {
      throw new CommitmentError("INVALID_EPOCH_DATA", "a leaf of the epoch data file is not JSON", { cause, details: { index } });
    }
    const leaf = parseLeaf(raw, index);
    const digest = checkedDigest(leaf, this.epoch, index);
    // Only the writer's exact bytes: no parser may read the file differently (duplicate keys,
    // key order, number forms, hex case).
    if (leafRecord(leaf) !== record) throw bad("the epoch data file is not in canonical form", { index });
    this.digests.push(digest);
    this.leaves?.push(leaf);
  }

  private at(): Record<string, unknown> {
    return { offset: this.consumed + this.pos, leafIndex: this.digests.count };
  }
}

/** The exact bytes of the epoch data file. Throws for an empty epoch or an invalid leaf. */
export function serializeEpochData(data: EpochData): Buffer {
  if (data.leaves.length === 0) throw new CommitmentError("EMPTY_EPOCH", "an epoch without leaves has no data file");
  const encoder = new EpochDataEncoder(data.epoch, data.leaves.length);
  const chunks: Buffer[] = [];
  for (const leaf of data.leaves) {
    encoder.add(leaf);
    if (encoder.pendingBytes >= 1 << 20) chunks.push(encoder.take());
  }
  chunks.push(encoder.take(), encoder.finish().tail);
  return Buffer.concat(chunks);
}

/** Parses and validates an epoch data file. Throws CommitmentError (INVALID_EPOCH_DATA, INVALID_LEAF, EMPTY_EPOCH). */
export function parseEpochData(bytes: Buffer | string): EpochData {
  const decoder = new EpochDataDecoder({ keepLeaves: true });
  decoder.push(typeof bytes === "string" ? Buffer.from(bytes, "utf8") : bytes);
  const { epoch, leaves } = decoder.finish();
  return { epoch, leaves: leaves! };
}

/** keccak256 of the file's bytes: the `dataHash` committed on-chain. */
export function epochDataHash(bytes: Buffer | string): Hex {
  return `0x${keccak256(typeof bytes === "string" ? Buffer.from(bytes, "utf8") : bytes).toString("hex")}`;
}

/** The root of the epoch's tree, rebuilt from its leaves in file order. */
export function rebuildRoot(data: EpochData): Hex {
  return CommitmentTree.fromLeaves(data.leaves).root;
}

/**
 * Everything commitEpoch takes, from the file's bytes: the operator calls it on the bytes it
 * publishes, an auditor on the bytes it fetched, and compares the result with epochOf. Keeps
 * no leaf objects; builds the tree here (for a large file from disk without blocking, see
 * ./epochFile readEpochCommitment).
 */
export function epochCommitment(bytes: Buffer | string): EpochCommitment {
  const decoder = new EpochDataDecoder();
  decoder.push(typeof bytes === "string" ? Buffer.from(bytes, "utf8") : bytes);
  const summary = decoder.finish();
  return {
    epoch: summary.epoch,
    root: CommitmentTree.fromLeafDigests(summary.leafDigests).root,
    leafCount: BigInt(summary.leafCount),
    dataHash: summary.dataHash,
  };
}
