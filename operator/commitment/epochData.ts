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
 */
import { keccak256, type Hex } from "../orders";
import { CommitmentError } from "./errors";
import { encodeLeaf, type CommitmentLeaf, type LeafType } from "./leaves";
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

function bad(message: string, details: Record<string, unknown> = {}): CommitmentError {
  return new CommitmentError("INVALID_EPOCH_DATA", message, { details });
}

/** Checks what the tree and the contract need: leaves exist, each is well-formed, all in `epoch`. */
function checkEpochData(data: EpochData): void {
  if (data.leaves.length === 0) throw new CommitmentError("EMPTY_EPOCH", "an epoch without leaves has no data file");
  data.leaves.forEach((leaf, index) => {
    encodeLeaf(leaf); // throws INVALID_LEAF for a field out of range
    if (leaf.epoch !== data.epoch) {
      throw bad("a leaf belongs to another epoch", {
        index,
        leafEpoch: leaf.epoch.toString(),
        epoch: data.epoch.toString(),
      });
    }
  });
}

/** The exact bytes of the epoch data file. Throws for an empty epoch or an invalid leaf. */
export function serializeEpochData(data: EpochData): Buffer {
  checkEpochData(data);
  const leaves = data.leaves.map((leaf) => {
    const record: Record<string, string> = { type: leaf.type };
    const fields = leaf as unknown as Record<string, bigint | string>;
    for (const [name, isInteger] of FIELDS[leaf.type]) {
      record[name] = isInteger ? (fields[name] as bigint).toString() : (fields[name] as string).toLowerCase();
    }
    return record;
  });
  const file = { format: EPOCH_DATA_FORMAT, version: EPOCH_DATA_VERSION, epoch: data.epoch.toString(), leaves };
  return Buffer.from(JSON.stringify(file) + "\n", "utf8");
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

/** Parses and validates an epoch data file. Throws CommitmentError (INVALID_EPOCH_DATA, INVALID_LEAF, EMPTY_EPOCH). */
export function parseEpochData(bytes: Buffer | string): EpochData {
  const text = typeof bytes === "string" ? bytes : bytes.toString("utf8");
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new CommitmentError("INVALID_EPOCH_DATA", "the epoch data file is not JSON", { cause });
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw bad("the epoch data file is not an object");
  const file = raw as Record<string, unknown>;
  if (file.format !== EPOCH_DATA_FORMAT) throw bad("not an epoch data file", { format: file.format });
  if (file.version !== EPOCH_DATA_VERSION) throw bad("unsupported epoch data version", { version: file.version });
  if (Object.keys(file).length !== 4) throw bad("the epoch data file has unexpected keys");
  if (!Array.isArray(file.leaves)) throw bad("leaves is not an array");
  const data: EpochData = { epoch: parseInteger(file.epoch, { field: "epoch" }), leaves: file.leaves.map(parseLeaf) };
  // Only the writer's exact bytes are accepted: one epoch has one file, and no parser can
  // read it differently (duplicate keys, key order, number forms, hex case).
  if (serializeEpochData(data).toString("utf8") !== text) throw bad("the epoch data file is not in canonical form");
  return data;
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
 * publishes, an auditor on the bytes it fetched, and compares the result with epochOf.
 */
export function epochCommitment(bytes: Buffer | string): EpochCommitment {
  const data = parseEpochData(bytes);
  return {
    epoch: data.epoch,
    root: rebuildRoot(data),
    leafCount: BigInt(data.leaves.length),
    dataHash: epochDataHash(bytes),
  };
}
