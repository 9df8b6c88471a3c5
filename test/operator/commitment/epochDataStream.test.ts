/**
 * The epoch data file a chunk at a time: the streaming encoder and decoder against the
 * whole-file forms, and files of thousands of leaves written (in this thread and in a worker
 * thread) and read back to the same commitment.
 */
import { expect } from "chai";
import fc from "fast-check";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CommitmentError,
  CommitmentTree,
  EpochDataDecoder,
  EpochDataEncoder,
  epochDataHash,
  leafDigest,
  parseEpochData,
  readEpochCommitment,
  readEpochDataFile,
  serializeEpochData,
  writeEpochDataFile,
  writeEpochDataFileInWorker,
  type CommitmentLeaf,
} from "../../../operator/commitment";
import type { Hex } from "../../../operator/orders";
import { arbEpochLeaves, vectors } from "./fixture";

const arbEpoch = fc
  .bigInt({ min: 1n, max: (1n << 64n) - 1n })
  .chain((epoch) => arbEpochLeaves(epoch, 40).map((leaves) => ({ epoch, leaves })));

/** Cut points that split `length` bytes into chunks of any size, one byte included. */
const arbCuts = (length: number) => fc.uniqueArray(fc.integer({ min: 1, max: Math.max(1, length - 1) }), { maxLength: 12 });

function chunksOf(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [0, ...[...cuts].filter((c) => c < bytes.length).sort((a, b) => a - b), bytes.length];
  return points.slice(1).map((end, i) => bytes.subarray(points[i], end));
}

function decode(chunks: readonly Buffer[], keepLeaves = false) {
  const decoder = new EpochDataDecoder({ keepLeaves });
  for (const chunk of chunks) decoder.push(chunk);
  return decoder.finish();
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(CommitmentError);
    return (error as CommitmentError).code;
  }
  return expect.fail("expected a CommitmentError");
}

async function rejectionCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(CommitmentError);
    return (error as CommitmentError).code;
  }
  return expect.fail("expected a CommitmentError");
}

/** `count` leaves of `epoch`, two orders for each fill, as the operator would log them. */
function* syntheticLeaves(epoch: bigint, count: number): Generator<CommitmentLeaf> {
  const hex = (n: number, chars: number) => `0x${n.toString(16).padStart(chars, "0")}` as Hex;
  for (let i = 0; i < count; i++) {
    yield i % 3 === 2
      ? { type: "fill", epoch, fillId: BigInt(i), makerHash: hex(i * 7 + 1, 64), takerHash: hex(i * 13 + 5, 64), price: 2_000_000_000n + BigInt(i), amount: 10n ** 17n * BigInt(1 + (i % 100)), batchId: BigInt(i >> 6) }
      : { type: "orderAccepted", epoch, sequence: BigInt(i), orderHash: hex(i * 31 + 3, 64), trader: hex(i % 500, 40), receivedAt: 1_735_689_600_000n + BigInt(i) };
  }
}

async function* slowly<T>(items: Iterable<T>): AsyncGenerator<T> {
  let i = 0;
  for (const item of items) {
    if (++i % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
    yield item;
  }
}

describe("epoch data file, a chunk at a time", () => {
  it("writes the whole-file bytes whatever the chunking, with their data hash and the leaf digests", () => {
    fc.assert(
      fc.property(arbEpoch, fc.array(fc.boolean(), { maxLength: 40 }), ({ epoch, leaves }, takes) => {
        const encoder = new EpochDataEncoder(epoch);
        const chunks: Buffer[] = [];
        leaves.forEach((leaf, i) => {
          encoder.add(leaf);
          if (takes[i]) chunks.push(encoder.take());
        });
        const { tail, summary } = encoder.finish();
        const bytes = Buffer.concat([...chunks, tail]);
        expect(bytes.equals(serializeEpochData({ epoch, leaves }))).to.equal(true);
        expect(summary.dataHash).to.equal(epochDataHash(bytes));
        expect(summary.byteLength).to.equal(bytes.length);
        expect(summary.leafCount).to.equal(leaves.length);
        expect(summary.leafDigests.equals(Buffer.concat(leaves.map(leafDigest)))).to.equal(true);
      }),
      { numRuns: 60 }
    );
  });

  it("reads a file cut anywhere into chunks exactly as in one piece", () => {
    const arbCase = arbEpoch.chain((data) => {
      const bytes = serializeEpochData(data);
      return fc.record({ bytes: fc.constant(bytes), cuts: arbCuts(bytes.length) });
    });
    fc.assert(
      fc.property(arbCase, ({ bytes, cuts }) => {
        const whole = parseEpochData(bytes);
        const read = decode(chunksOf(bytes, cuts), true);
        expect(read.epoch).to.equal(whole.epoch);
        expect(read.leaves).to.deep.equal(whole.leaves);
        expect(read.dataHash).to.equal(epochDataHash(bytes));
        expect(read.byteLength).to.equal(bytes.length);
        expect(read.leafDigests.equals(Buffer.concat(whole.leaves.map(leafDigest)))).to.equal(true);
      }),
      { numRuns: 60 }
    );
  });

  it("rejects a file that is not the writer's bytes wherever the chunks cut it, as the whole-file reader does", () => {
    const file = vectors.epoch.dataFile;
    const bad = [
      JSON.stringify(JSON.parse(file), null, 1) + "\n",
      file.trimEnd(),
      file + "\n",
      file.replace("]}\n", ",]}\n"),
      file.replace('"epoch":"1","leaves"', '"epoch":"01","leaves"'),
      file.replace('"epoch":"1","leaves"', '"epoch":"","leaves"'),
      file.replace('{"format":"hyperindex-epoch"', '{"format": "hyperindex-epoch"'),
      file.replace("},{", "} ,{"),
      file.replace('"type":"orderAccepted","epoch":"1"', '"epoch":"1","type":"orderAccepted"'),
      file.replace(/"orderHash":"0x([0-9a-f]+)"/, (_, hex: string) => `"orderHash":"0x${hex.toUpperCase()}"`),
      file.slice(0, 40),
      "",
    ];
    bad.forEach((variant, i) => expect(variant).to.not.equal(file, `variant ${i} changes nothing`));
    const arbCase = fc.record({ index: fc.nat({ max: bad.length - 1 }), cuts: arbCuts(file.length) });
    fc.assert(
      fc.property(arbCase, ({ index, cuts }) => {
        const bytes = Buffer.from(bad[index]!, "utf8");
        expect(codeOf(() => parseEpochData(bytes))).to.equal("INVALID_EPOCH_DATA", `variant ${index}`);
        expect(codeOf(() => decode(chunksOf(bytes, cuts)))).to.equal("INVALID_EPOCH_DATA", `variant ${index}`);
      }),
      { numRuns: 150 }
    );
  });

  it("gives up on a leaf that never closes after a bounded read, not at the end of the file", () => {
    const decoder = new EpochDataDecoder();
    decoder.push(Buffer.from('{"format":"hyperindex-epoch","version":1,"epoch":"1","leaves":[{"type":"fill"'));
    expect(codeOf(() => decoder.push(Buffer.alloc(4_096, 0x20)))).to.equal("INVALID_EPOCH_DATA");
  });

  describe("on disk, thousands of leaves", function () {
    this.timeout(120_000); // the worker thread compiles its TypeScript under ts-node
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), "hyperindex-epochs-"));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("writes a file whose bytes, read back a chunk at a time, rebuild the same root, count and data hash", async () => {
      const epoch = 12n;
      const leaves = [...syntheticLeaves(epoch, 5_003)];
      const written = await writeEpochDataFile(dir, { epoch, leaves: slowly(leaves) }); // tree built in a worker (>= 4,096)
      const bytes = await readFile(written.path);
      expect(bytes.equals(serializeEpochData({ epoch, leaves }))).to.equal(true);
      const expectedTree = CommitmentTree.fromLeaves(leaves);
      expect(written.root).to.equal(expectedTree.root);
      expect(written.leafCount).to.equal(5_003n);
      expect(written.dataHash).to.equal(epochDataHash(bytes));
      expect(written.byteLength).to.equal(bytes.length);

      const read = await readEpochCommitment(written.path);
      expect({ ...read, tree: undefined }).to.deep.equal({ ...written, tree: undefined });
      for (const i of [0, 2_500, 5_002]) expect(read.tree.proof(i)).to.deep.equal(expectedTree.proof(i));
      const whole = await readEpochDataFile(written.path);
      expect(whole.commitment).to.deep.equal({ epoch, root: written.root, leafCount: 5_003n, dataHash: written.dataHash });
      expect(whole.data.leaves.length).to.equal(5_003);
    });

    it("writes the same file and commitment in a worker thread, leaves handed over in batches", async () => {
      const epoch = 3n;
      const leaves = [...syntheticLeaves(epoch, 3_500)];
      const inWorker = await writeEpochDataFileInWorker(dir, { epoch, leaves: slowly(leaves) });
      const bytes = await readFile(inWorker.path);
      expect(bytes.equals(serializeEpochData({ epoch, leaves }))).to.equal(true);
      const expectedTree = CommitmentTree.fromLeaves(leaves);
      expect(inWorker).to.deep.include({ epoch, root: expectedTree.root, leafCount: 3_500n, dataHash: epochDataHash(bytes), byteLength: bytes.length });
      for (const i of [0, 1_234, 3_499]) expect(inWorker.tree.proof(i)).to.deep.equal(expectedTree.proof(i));

      // A restarted operator writing the same epoch again: a no-op; other leaves: refused.
      const again = await writeEpochDataFileInWorker(dir, { epoch, leaves });
      expect(again.root).to.equal(inWorker.root);
      expect(await rejectionCode(writeEpochDataFileInWorker(dir, { epoch, leaves: leaves.slice(1) }))).to.equal("INVALID_EPOCH_DATA");
      expect(await readdir(dir)).to.deep.equal(["epoch-000000000003.json"]);
      expect((await readFile(inWorker.path)).equals(bytes)).to.equal(true);
    });

    it("passes a worker's refusal of a leaf back as the same CommitmentError, and leaves no file behind", async () => {
      const epoch = 4n;
      const leaves = [...syntheticLeaves(epoch, 3_000)];
      const outOfRange = leaves.map((leaf, i) => (i === 2_102 && leaf.type === "fill" ? { ...leaf, batchId: 1n << 64n } : leaf));
      expect(outOfRange[2_102]).to.not.deep.equal(leaves[2_102]);
      expect(await rejectionCode(writeEpochDataFileInWorker(dir, { epoch, leaves: outOfRange }))).to.equal("INVALID_LEAF");
      const stray = leaves.map((leaf, i) => (i === 10 ? { ...leaf, epoch: 5n } : leaf));
      expect(await rejectionCode(writeEpochDataFileInWorker(dir, { epoch, leaves: stray }))).to.equal("INVALID_EPOCH_DATA");
      expect(await rejectionCode(writeEpochDataFileInWorker(dir, { epoch, leaves: [] }))).to.equal("EMPTY_EPOCH");
      expect(await rejectionCode(writeEpochDataFile(dir, { epoch, leaves: outOfRange }))).to.equal("INVALID_LEAF");
      expect(await readdir(dir)).to.deep.equal([]);
    });
  });
});
