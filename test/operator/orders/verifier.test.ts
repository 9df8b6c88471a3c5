import { expect } from "chai";
import fc from "fast-check";
import type { Worker } from "node:worker_threads";
import os from "node:os";
import { createLogger } from "../../../operator/log";
import { createRegistry } from "../../../operator/metrics";
import {
  OrderHasher,
  VerifierError,
  recoverSigner,
  type Hex,
  type Order,
  type OrderDomain,
  type VerifyRequest,
  type VerifyResult,
} from "../../../operator/orders";
import {
  EcdsaStatus,
  RESULT_BYTES,
  allocRecords,
  createKeccak256,
  createVerifierPool,
  verifyRecords,
  writeRecord,
  type Erc1271Client,
  type VerifierPool,
} from "../../../operator/orders/verifier";
import { kWorkers } from "../../../operator/orders/verifier/pool";
import { packageKeccak256 } from "../../../operator/orders/keccak";
import { DOMAIN, SETTLEMENT, order, sign, traders } from "./fixture";

const logger = createLogger({ level: "silent" });
const hasher = new OrderHasher(DOMAIN);
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

function workersOf(pool: VerifierPool): Worker[] {
  return (pool as unknown as Record<symbol, () => Worker[]>)[kWorkers]();
}

function request(i: number, fields: Partial<Order> = {}): VerifyRequest {
  const trader = traders[i % traders.length];
  const o = order(trader, { nonce: BigInt(i), ...fields });
  return { order: o, signature: sign(trader, o) };
}

function sigBytes(signature: Hex): Buffer {
  return Buffer.from(signature.slice(2), "hex");
}

function hex(bytes: Buffer): Hex {
  return `0x${bytes.toString("hex")}`;
}

/** The same signature with s' = n - s and the parity flipped: valid math, but high s. */
function highS(signature: Hex): Hex {
  const b = sigBytes(signature);
  const s = BigInt(hex(b.subarray(32, 64)));
  Buffer.from((SECP256K1_N - s).toString(16).padStart(64, "0"), "hex").copy(b, 32);
  b[64] = b[64] === 27 ? 28 : 27;
  return hex(b);
}

/** EIP-2098: r ‖ (yParity << 255 | s). */
function compact(signature: Hex): Hex {
  const b = sigBytes(signature);
  const out = Buffer.from(b.subarray(0, 64));
  if (b[64] === 28) out[32] |= 0x80;
  return hex(out);
}

function expectOk(result: VerifyResult, o: Order): void {
  expect(result, JSON.stringify(result)).to.deep.equal({ ok: true, orderHash: hasher.hash(o), scheme: "ecdsa" });
}

function expectCode(result: VerifyResult, code: string): void {
  expect(result.ok, JSON.stringify(result)).to.equal(false);
  if (!result.ok) expect(result.code).to.equal(code);
}

async function rejection(promise: Promise<unknown>): Promise<VerifierError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(VerifierError);
    return error as VerifierError;
  }
  return expect.fail("expected the promise to reject with a VerifierError");
}

describe("operator/orders verifier pool", function () {
  let pool: VerifierPool;

  before(async () => {
    pool = createVerifierPool({ logger }, { domain: DOMAIN, size: 2 });
    await pool.ready();
  });

  after(async () => {
    await pool.close();
  });

  it("is sized to the machine by default, and closes cleanly while its workers are still starting", async () => {
    const p = createVerifierPool({ logger }, { domain: DOMAIN });
    expect(p.size).to.equal(os.availableParallelism());
    await p.close();
  });

  it("verifies real signatures from several traders and returns each order's EIP-712 hash", async () => {
    const batch = Array.from({ length: 40 }, (_, i) => request(i));
    const results = await pool.verify(batch);
    expect(results).to.have.length(40);
    results.forEach((r, i) => expectOk(r, batch[i].order));
  });

  it("answers an empty batch with no results", async () => {
    expect(await pool.verify([])).to.deep.equal([]);
  });

  it("refuses an order signed for another chain or another Settlement", async () => {
    const trader = traders[0];
    const o = order(trader);
    const results = await pool.verify([
      { order: o, signature: sign(trader, o, { ...DOMAIN, chainId: 998n }) },
      { order: o, signature: sign(trader, o, { ...DOMAIN, verifyingContract: "0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0" }) },
      { order: o, signature: sign(trader, o) },
    ]);
    expectCode(results[0], "SIGNER_MISMATCH");
    expectCode(results[1], "SIGNER_MISMATCH");
    expectOk(results[2], o);
  });

  it("notices a change to every signed field", async () => {
    const trader = traders[1];
    const o = order(trader);
    const signature = sign(trader, o);
    const mutations: Partial<Order>[] = [
      { trader: traders[2].address },
      { baseToken: "0x3333333333333333333333333333333333333333" },
      { quoteToken: "0x3333333333333333333333333333333333333333" },
      { isBuy: !o.isBuy },
      { price: o.price + 1n },
      { amount: o.amount - 1n },
      { nonce: o.nonce + 1n },
      { expiry: o.expiry + 1n },
      { maxMakerFeeBps: o.maxMakerFeeBps + 1 },
      { maxTakerFeeBps: o.maxTakerFeeBps - 1 },
      { flags: 1 },
    ];
    expect(mutations.map((m) => Object.keys(m)[0]).sort()).to.deep.equal(Object.keys(o).sort());
    const results = await pool.verify(mutations.map((m) => ({ order: { ...o, ...m }, signature })));
    results.forEach((r, i) => {
      expectCode(r, "SIGNER_MISMATCH");
      if (!r.ok) expect(r.orderHash).to.equal(hasher.hash({ ...o, ...mutations[i] }));
    });
  });

  it("refuses a high-s signature that would otherwise be valid", async () => {
    const { order: o, signature } = request(3);
    const malleated = highS(signature);
    // The malleated signature is mathematically valid for the same key...
    expect(BigInt(hex(sigBytes(malleated).subarray(32, 64)))).to.be.greaterThan(SECP256K1_N / 2n);
    const results = await pool.verify([{ order: o, signature: malleated }]);
    expectCode(results[0], "SIGNATURE_HIGH_S");
    if (!results[0].ok) expect(results[0].message).to.contain("malleable");
  });

  it("accepts a 64-byte EIP-2098 compact signature of either parity", async () => {
    const batch = Array.from({ length: 16 }, (_, i) => request(100 + i));
    const parities = new Set(batch.map((r) => sigBytes(r.signature)[64]));
    expect([...parities].sort()).to.deep.equal([27, 28]);
    const results = await pool.verify(batch.map((r) => ({ order: r.order, signature: compact(r.signature) })));
    results.forEach((r, i) => expectOk(r, batch[i].order));
  });

  it("refuses malformed signatures with a specific code", async () => {
    const { order: o, signature } = request(7);
    const b = sigBytes(signature);
    const withV = (v: number) => hex(Buffer.concat([b.subarray(0, 64), Buffer.from([v])]));
    const cases: [Hex, string][] = [
      [withV(0), "SIGNATURE_MALFORMED"],
      [withV(1), "SIGNATURE_MALFORMED"],
      [withV(29), "SIGNATURE_MALFORMED"],
      [hex(b.subarray(0, 63)), "SIGNATURE_MALFORMED"],
      [hex(Buffer.concat([b, Buffer.from([0])])), "SIGNATURE_MALFORMED"],
      ["0x01", "SIGNATURE_MALFORMED"],
      [hex(Buffer.concat([Buffer.alloc(32), b.subarray(32)])), "SIGNATURE_INVALID"], // r = 0
      [hex(Buffer.concat([Buffer.alloc(32, 0xff), b.subarray(32)])), "SIGNATURE_INVALID"], // r >= n
      [hex(Buffer.concat([b.subarray(0, 32), Buffer.alloc(32), b.subarray(64)])), "SIGNATURE_INVALID"], // s = 0
      [`0x${"zz".repeat(65)}` as Hex, "SIGNATURE_MALFORMED"], // not hex: only if the codec was skipped
    ];
    const results = await pool.verify(cases.map(([sig]) => ({ order: o, signature: sig })));
    results.forEach((r, i) => expectCode(r, cases[i][1]));
  });

  it("refuses an order that cannot be encoded instead of hashing something nobody signed", async () => {
    const { order: o, signature } = request(8);
    const results = await pool.verify([
      { order: { ...o, flags: 256 }, signature },
      { order: { ...o, trader: "0x1234" }, signature },
      { order: o, signature },
    ]);
    expectCode(results[0], "INVALID_FIELD");
    expectCode(results[1], "INVALID_FIELD");
    expectOk(results[2], o);
  });

  it("agrees with recoverSigner on randomly corrupted signatures", async () => {
    const base = Array.from({ length: 8 }, (_, i) => request(200 + i));
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            which: fc.integer({ min: 0, max: 7 }),
            byte: fc.integer({ min: 0, max: 64 }),
            xor: fc.integer({ min: 0, max: 255 }),
            compact: fc.boolean(),
          }),
          { minLength: 1, maxLength: 20 },
        ),
        async (edits) => {
          const batch = edits.map((e) => {
            const b = sigBytes(base[e.which].signature);
            b[e.byte] ^= e.xor;
            const signature = e.compact ? hex(b.subarray(0, 64)) : hex(b);
            return { order: base[e.which].order, signature };
          });
          const results = await pool.verify(batch);
          results.forEach((r, i) => {
            const check = recoverSigner(hasher.digest(batch[i].order), sigBytes(batch[i].signature));
            const expected = check.ok && check.signer === batch[i].order.trader;
            expect(r.ok, JSON.stringify({ r, check })).to.equal(expected);
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it("returns each of many concurrent batches in order and correct", async () => {
    // Every third order is signed by the wrong trader: results must line up index by index.
    const batches = Array.from({ length: 40 }, (_, b) =>
      Array.from({ length: 1 + ((b * 37) % 60) }, (_, i) => {
        const r = request(1_000 * b + i);
        // request() signs with traders[i % 8] (1000 * b is a multiple of 8); claim another trader.
        return i % 3 === 2 ? { order: { ...r.order, trader: traders[(i + 1) % traders.length].address }, signature: r.signature } : r;
      }),
    );
    const all = await Promise.all(batches.map((batch) => pool.verify(batch)));
    all.forEach((results, b) => {
      expect(results).to.have.length(batches[b].length);
      results.forEach((r, i) => {
        const o = batches[b][i].order;
        if (i % 3 === 2) expectCode(r, "SIGNER_MISMATCH");
        else expectOk(r, o);
      });
    });
  });

  it("sheds load past maxQueuedOrders instead of queueing without bound", async () => {
    const small = createVerifierPool({ logger }, { domain: DOMAIN, size: 1, maxQueuedOrders: 10 });
    try {
      const error = await rejection(small.verify(Array.from({ length: 11 }, (_, i) => request(i))));
      expect(error.code).to.equal("VERIFIER_OVERLOADED");
      expect(error.httpStatus).to.equal(503);
      expect(await small.verify([request(1)])).to.have.length(1);
    } finally {
      await small.close();
    }
  });

  it("counts verdicts in the metrics registry", async () => {
    const registry = createRegistry();
    const p = createVerifierPool({ logger, metrics: registry }, { domain: DOMAIN, size: 1 });
    try {
      const bad = request(2);
      await p.verify([request(1), { order: bad.order, signature: highS(bad.signature) }]);
      const text = await registry.metrics();
      expect(text).to.contain('hyperindex_verifier_orders_total{result="ecdsa"} 1');
      expect(text).to.contain('hyperindex_verifier_orders_total{result="SIGNATURE_HIGH_S"} 1');
    } finally {
      await p.close();
    }
  });

  describe("worker crashes", () => {
    let big: VerifyRequest[];

    before(() => {
      big = Array.from({ length: 2_000 }, (_, i) => request(50_000 + i));
    });

    // A worker is made to crash with a message it does not understand: it throws (an uncaught
    // exception in the worker) and dies. It is never terminate()d mid-batch: node-addon-api
    // makes a native call cut short by termination a fatal error of the whole process.
    const explode = (p: VerifierPool, index: number) => workersOf(p)[index].postMessage({ kind: "explode" });
    const dispatched = () => new Promise((resolve) => setImmediate(resolve));

    it("rejects the verify() call whose orders a crashed worker held with VERIFIER_WORKER_CRASHED, then replaces the worker", async () => {
      const p = createVerifierPool({ logger }, { domain: DOMAIN, size: 1 });
      try {
        await p.ready();
        // Two batches go out at once; the third is sent when the first is answered, so it
        // queues behind the bad message and is in flight when the worker dies.
        const pending = p.verify(big);
        await dispatched();
        expect(p.stats().inFlightBatches).to.equal(2);
        explode(p, 0);
        const error = await rejection(pending);
        expect(error.code).to.equal("VERIFIER_WORKER_CRASHED");
        expect(error.httpStatus).to.equal(503);
        expect(error.message).to.contain("were not verified");
        expect((error.cause as Error).message).to.contain("unexpected message");
        expect(p.stats().crashes).to.equal(1);
        // The replacement serves the next batches.
        const results = await p.verify(big.slice(0, 50));
        results.forEach((r, i) => expectOk(r, big[i].order));
        expect(p.stats()).to.deep.include({ workers: 1, readyWorkers: 1, crashes: 1 });
      } finally {
        await p.close();
      }
    });

    it("fails only the calls with orders on the crashed worker; the others resolve, correct", async () => {
      const p = createVerifierPool({ logger }, { domain: DOMAIN, size: 2, maxOrdersPerMessage: 100 });
      try {
        await p.ready();
        // 200 calls of 10 orders: 4 messages of 100 go out at once (2 per worker), the rest
        // queue. Worker 0 answers its two, then dies on the bad message; what it was sent after
        // answering is lost. Worker 1 never fails.
        const calls = Array.from({ length: 200 }, (_, c) => big.slice(10 * c, 10 * c + 10));
        const pending = calls.map((batch) => p.verify(batch));
        await dispatched();
        explode(p, 0);
        const settled = await Promise.allSettled(pending);
        let fulfilled = 0;
        let rejected = 0;
        settled.forEach((s, c) => {
          if (s.status === "fulfilled") {
            fulfilled++;
            s.value.forEach((r, i) => expectOk(r, calls[c][i].order));
          } else {
            rejected++;
            expect((s.reason as VerifierError).code).to.equal("VERIFIER_WORKER_CRASHED");
          }
        });
        expect(rejected).to.be.greaterThan(0);
        expect(fulfilled).to.be.greaterThan(rejected);
        expect(p.stats().crashes).to.equal(1);
      } finally {
        await p.close();
      }
    });
  });

  describe("close", () => {
    it("completes when the last queued orders are refused before reaching a worker", async () => {
      const p = createVerifierPool({ logger }, { domain: DOMAIN, size: 1 });
      const { order: o, signature } = request(1);
      const pending = p.verify([{ order: { ...o, flags: 256 }, signature }]);
      await p.close();
      const [result] = await pending;
      expectCode(result, "INVALID_FIELD");
    });

    it("finishes queued work, then stops; later calls reject with VERIFIER_CLOSED", async () => {
      const p = createVerifierPool({ logger }, { domain: DOMAIN, size: 2 });
      const batch = Array.from({ length: 2_000 }, (_, i) => request(70_000 + i));
      const pending = p.verify(batch);
      const closed = p.close();
      const results = await pending;
      results.forEach((r, i) => expectOk(r, batch[i].order));
      await closed;
      expect(p.close()).to.equal(closed);
      const error = await rejection(p.verify([request(1)]));
      expect(error.code).to.equal("VERIFIER_CLOSED");
    });
  });
});

describe("operator/orders verifier pool: several domains", function () {
  // Two chains, each with its own Settlement: an order hashes differently in each.
  const CHAIN_A: OrderDomain = { chainId: 31337n, verifyingContract: SETTLEMENT };
  const CHAIN_B: OrderDomain = { chainId: 998n, verifyingContract: "0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0" };
  const hasherA = new OrderHasher(CHAIN_A);
  const hasherB = new OrderHasher(CHAIN_B);
  let pool: VerifierPool;

  before(async () => {
    pool = createVerifierPool({ logger }, { domains: [CHAIN_A, CHAIN_B], size: 2, maxOrdersPerMessage: 16 });
    await pool.ready();
  });

  after(async () => {
    await pool.close();
  });

  /** Order i, signed for and presented as chain A (even i) or B (odd i). */
  function onChain(i: number): VerifyRequest & { domain: OrderDomain } {
    const trader = traders[i % traders.length];
    const domain = i % 2 === 0 ? CHAIN_A : CHAIN_B;
    const o = order(trader, { nonce: BigInt(i) });
    return { order: o, signature: sign(trader, o, domain), chainId: domain.chainId, domain };
  }

  it("verifies orders signed for each chain and returns each order's digest in its own chain's domain", async () => {
    const batch = Array.from({ length: 40 }, (_, i) => onChain(i));
    const results = await pool.verify(batch);
    results.forEach((r, i) => {
      const hasher = batch[i].domain === CHAIN_A ? hasherA : hasherB;
      expect(r, JSON.stringify(r)).to.deep.equal({ ok: true, orderHash: hasher.hash(batch[i].order), scheme: "ecdsa" });
    });
    expect(hasherA.hash(batch[0].order)).to.not.equal(hasherB.hash(batch[0].order));
  });

  it("refuses an order signed for one chain but presented as the other, with the hash of the chain it names", async () => {
    const trader = traders[0];
    const o = order(trader);
    const results = await pool.verify([
      { order: o, signature: sign(trader, o, CHAIN_A), chainId: CHAIN_B.chainId },
      { order: o, signature: sign(trader, o, CHAIN_B), chainId: CHAIN_A.chainId },
    ]);
    expectCode(results[0], "SIGNER_MISMATCH");
    expectCode(results[1], "SIGNER_MISMATCH");
    if (!results[0].ok) expect(results[0].orderHash).to.equal(hasherB.hash(o));
    if (!results[1].ok) expect(results[1].orderHash).to.equal(hasherA.hash(o));
  });

  it("answers DOMAIN_CHAIN_MISMATCH for a chain it does not serve and for an order that names no chain, and verifies the rest", async () => {
    const a = onChain(0);
    const b = onChain(1);
    const results = await pool.verify([
      a,
      { order: a.order, signature: sign(traders[0], a.order, { ...CHAIN_A, chainId: 999n }), chainId: 999n },
      { order: a.order, signature: a.signature },
      b,
    ]);
    expect(results[0]).to.deep.include({ ok: true, orderHash: hasherA.hash(a.order) });
    expect(results[1]).to.deep.equal({ ok: false, code: "DOMAIN_CHAIN_MISMATCH", message: "the order is for chain 999; this verifier serves chains 31337, 998" });
    expect(results[2]).to.deep.equal({ ok: false, code: "DOMAIN_CHAIN_MISMATCH", message: "the order's chain must be named: this verifier serves chains 31337, 998" });
    expect(results[3]).to.deep.include({ ok: true, orderHash: hasherB.hash(b.order) });
  });

  it("answers a batch of only unserved chains without queueing anything for a worker", async () => {
    const registry = createRegistry();
    const p = createVerifierPool({ logger, metrics: registry }, { domains: [CHAIN_A, CHAIN_B], size: 1 });
    try {
      const { order: o, signature } = onChain(0);
      const pending = p.verify([{ order: o, signature, chainId: 1n }, { order: o, signature }]);
      expect(p.stats()).to.deep.include({ queuedOrders: 0, inFlightBatches: 0 });
      const results = await pending;
      results.forEach((r) => expectCode(r, "DOMAIN_CHAIN_MISMATCH"));
      expect(await registry.metrics()).to.contain('hyperindex_verifier_orders_total{result="DOMAIN_CHAIN_MISMATCH"} 2');
    } finally {
      await p.close();
    }
  });

  it("returns many concurrent batches of mixed chains in order and correct", async () => {
    // Every third order is presented as the other chain: results must line up index by index.
    const batches = Array.from({ length: 30 }, (_, b) =>
      Array.from({ length: 1 + ((b * 37) % 50) }, (_, i) => {
        const r = onChain(1_000 * b + i);
        const other = r.domain === CHAIN_A ? CHAIN_B : CHAIN_A;
        return i % 3 === 2 ? { ...r, chainId: other.chainId, domain: other } : r;
      }),
    );
    const all = await Promise.all(batches.map((batch) => pool.verify(batch)));
    all.forEach((results, b) => {
      expect(results).to.have.length(batches[b].length);
      results.forEach((r, i) => {
        const { order: o, domain } = batches[b][i];
        const orderHash = (domain === CHAIN_A ? hasherA : hasherB).hash(o);
        if (i % 3 === 2) expect(r).to.deep.include({ ok: false, code: "SIGNER_MISMATCH", orderHash });
        else expect(r).to.deep.equal({ ok: true, orderHash, scheme: "ecdsa" });
      });
    });
  });

  it("keeps the one-domain shorthand: the chain may be left out, and if named must be that domain's", async () => {
    const p = createVerifierPool({ logger }, { domain: CHAIN_B, size: 1 });
    try {
      const { order: o, signature } = onChain(1);
      const [unnamed, named, other] = await p.verify([
        { order: o, signature },
        { order: o, signature, chainId: CHAIN_B.chainId },
        { order: o, signature, chainId: CHAIN_A.chainId },
      ]);
      expect(unnamed).to.deep.equal({ ok: true, orderHash: hasherB.hash(o), scheme: "ecdsa" });
      expect(named).to.deep.equal(unnamed);
      expect(other).to.deep.equal({ ok: false, code: "DOMAIN_CHAIN_MISMATCH", message: "the order is for chain 31337; this verifier serves chain 998" });
    } finally {
      await p.close();
    }
  });

  it("serves up to 255 domains, each order in its own", async () => {
    const domains = Array.from({ length: 255 }, (_, i): OrderDomain => ({ chainId: BigInt(i + 1), verifyingContract: SETTLEMENT }));
    const p = createVerifierPool({ logger }, { domains, size: 1 });
    try {
      const trader = traders[2];
      const o = order(trader);
      const picks = [domains[0], domains[127], domains[254]];
      const results = await p.verify(picks.map((d) => ({ order: o, signature: sign(trader, o, d), chainId: d.chainId })));
      results.forEach((r, i) => expect(r).to.deep.equal({ ok: true, orderHash: new OrderHasher(picks[i]).hash(o), scheme: "ecdsa" }));
    } finally {
      await p.close();
    }
  });

  it("refuses at creation a domain list that is empty, too long, or names a chain twice, and domains given both ways or not at all", () => {
    const create = (params: unknown) => () => createVerifierPool({ logger }, params as { domain: OrderDomain });
    expect(create({ domains: [] })).to.throw(RangeError, "1 to 255 domains, got 0");
    const many = Array.from({ length: 256 }, (_, i) => ({ chainId: BigInt(i + 1), verifyingContract: SETTLEMENT }));
    expect(create({ domains: many })).to.throw(RangeError, "1 to 255 domains, got 256");
    expect(create({ domains: [CHAIN_A, { ...CHAIN_B, chainId: CHAIN_A.chainId }] })).to.throw(RangeError, "two domains for chain 31337");
    expect(create({ domain: CHAIN_A, domains: [CHAIN_B] })).to.throw(TypeError, "exactly one of `domain` and `domains`");
    expect(create({})).to.throw(TypeError, "exactly one of `domain` and `domains`");
    expect(create({ domains: [{ chainId: 998, verifyingContract: SETTLEMENT }] })).to.throw(TypeError, "must be a bigint");
    expect(create({ domains: [{ chainId: 998n, verifyingContract: "0x1234" }] })).to.throw(RangeError, "not an address");
  });

  it("refuses at creation chain clients that do not fit its domains", () => {
    const client = {} as Erc1271Client;
    const two = { domains: [CHAIN_A, CHAIN_B] };
    expect(() => createVerifierPool({ logger, chain: client }, two)).to.throw(TypeError, "one-domain shorthand");
    expect(() => createVerifierPool({ logger, chains: new Map([[1n, client]]) }, two)).to.throw(RangeError, "chain 1, which has no domain");
    const both = { logger, chain: client, chains: new Map([[CHAIN_A.chainId, client]]) } as unknown as { logger: typeof logger };
    expect(() => createVerifierPool(both, { domain: CHAIN_A })).to.throw(TypeError, "not both");
  });

  it("hashes each record in the domain it names when verifying in-thread, and throws on a domain it lacks", () => {
    const keccak = createKeccak256();
    const batch = Array.from({ length: 6 }, (_, i) => onChain(i));
    const records = allocRecords(batch.length);
    batch.forEach((r, i) => writeRecord(records, i, r.order, r.signature, r.domain === CHAIN_A ? 0 : 1));
    const out = verifyRecords(keccak, [hasherA.separator, hasherB.separator], records, batch.length);
    batch.forEach((r, i) => {
      expect(out[i * RESULT_BYTES]).to.equal(EcdsaStatus.Ok);
      expect(hex(out.subarray(i * RESULT_BYTES + 1, (i + 1) * RESULT_BYTES))).to.equal((r.domain === CHAIN_A ? hasherA : hasherB).hash(r.order));
    });
    expect(() => verifyRecords(keccak, [hasherA.separator], records, batch.length)).to.throw(RangeError, "names domain 1");
    expect(() => writeRecord(records, 0, batch[0].order, batch[0].signature, 255)).to.throw(RangeError);
  });
});

describe("operator/orders verifier native keccak", () => {
  it("hashes exactly like the keccak package, on the native sponge", () => {
    const fast = createKeccak256();
    expect(fast.implementation).to.equal("native-state");
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const data = Buffer.from(bytes);
        expect(fast(data).equals(packageKeccak256(data))).to.equal(true);
      }),
      { numRuns: 500 },
    );
    expect(fast(Buffer.alloc(0)).toString("hex")).to.equal("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  });
});
