/**
 * EIP-1271 smart-wallet orders against a real chain: the in-process Hardhat network, read
 * through a viem public client on `custom(hre.network.provider)`, and MockERC1271Wallet.
 */
import hre from "hardhat";
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { createPublicClient, custom, http, type PublicClient } from "viem";
import { createLogger } from "../../../operator/log";
import {
  OrderHasher,
  type Address,
  type Hex,
  type Order,
  type OrderDomain,
  type VerifyResult,
} from "../../../operator/orders";
import { createVerifierPool, type Erc1271Client, type VerifierPool } from "../../../operator/orders/verifier";
import { order, sign, traders } from "./fixture";

const logger = createLogger({ level: "silent" });

/** MockERC1271Wallet.Mode */
const Mode = {
  Owner: 0,
  Approve: 1,
  Refuse: 2,
  ReturnNoData: 3,
  Revert: 4,
  ReturnGarbage: 5,
  ReturnDirtyMagic: 6,
  ReturnShortMagic: 7,
  ReturnLongMagic: 8,
  BurnGas: 9,
} as const;
type ModeName = keyof typeof Mode;

const owner = traders[0];
const stranger = traders[1];

interface ChainFixture {
  chainId: bigint;
  domain: OrderDomain;
  wallets: Record<ModeName, Address>;
}

async function deployWallets(): Promise<ChainFixture> {
  const factory = await hre.ethers.getContractFactory("MockERC1271Wallet");
  const wallets = {} as Record<ModeName, Address>;
  for (const name of Object.keys(Mode) as ModeName[]) {
    const wallet = await factory.deploy(owner.address, Mode[name]);
    wallets[name] = (await wallet.getAddress()).toLowerCase() as Address;
  }
  const chainId = (await hre.ethers.provider.getNetwork()).chainId;
  // Any address works as the domain's contract here: the wallets only check their owner's signature.
  const domain: OrderDomain = { chainId, verifyingContract: "0x5fbdb2315678afecb367f032d93f642f64180aa3" };
  return { chainId, domain, wallets };
}

type Request = { method: string; params?: unknown[] | object };

/** A viem client on the Hardhat provider; `around` can delay or count requests on their way. */
function hardhatClient(around?: (request: Request, next: () => Promise<unknown>) => Promise<unknown>): PublicClient {
  const provider = hre.network.provider;
  // No retries: Hardhat reports a revert as -32603, which viem would otherwise retry with backoff.
  const transport = custom(
    { request: (request: Request) => (around ? around(request, () => provider.request(request)) : provider.request(request)) },
    { retryCount: 0 },
  );
  return createPublicClient({ transport }) as PublicClient;
}

function walletOrder(fx: ChainFixture, mode: ModeName, fields: Partial<Order> = {}): Order {
  return order(owner, { trader: fx.wallets[mode], ...fields });
}

function expectCode(result: VerifyResult, code: string): void {
  expect(result.ok, JSON.stringify(result)).to.equal(false);
  if (!result.ok) expect(result.code).to.equal(code);
}

describe("operator/orders verifier: EIP-1271 smart wallets (Hardhat node)", function () {
  let fx: ChainFixture;
  let pool: VerifierPool;
  let hasher: OrderHasher;

  beforeEach(async () => {
    fx = await loadFixture(deployWallets);
    hasher = new OrderHasher(fx.domain);
  });

  afterEach(async () => {
    await pool?.close();
  });

  /** `null`: no chain client at all. */
  async function startPool(chain: Erc1271Client | null = hardhatClient(), erc1271TimeoutMs = 5_000): Promise<VerifierPool> {
    pool = createVerifierPool({ logger, chain: chain ?? undefined }, { domain: fx.domain, size: 1, erc1271TimeoutMs });
    await pool.ready();
    return pool;
  }

  it("accepts an order of a wallet whose owner signed it (ECDSA fails, then isValidSignature says yes)", async () => {
    await startPool();
    const o = walletOrder(fx, "Owner");
    const [result] = await pool.verify([{ order: o, signature: sign(owner, o, fx.domain) }]);
    expect(result).to.deep.equal({ ok: true, orderHash: hasher.hash(o), scheme: "erc1271" });
  });

  it("refuses an order of that wallet signed by someone else (wrong magic)", async () => {
    await startPool();
    const o = walletOrder(fx, "Owner");
    const [result] = await pool.verify([{ order: o, signature: sign(stranger, o, fx.domain) }]);
    expectCode(result, "ERC1271_BAD_MAGIC");
    if (!result.ok) expect(result.orderHash).to.equal(hasher.hash(o));
  });

  it("passes signatures of any length to the wallet", async () => {
    await startPool();
    const o = walletOrder(fx, "Approve");
    const results = await pool.verify([
      { order: o, signature: "0x01" },
      { order: o, signature: `0x${"ab".repeat(300)}` },
      { order: o, signature: `0x${"00".repeat(65)}` },
    ]);
    for (const r of results) expect(r).to.deep.include({ ok: true, scheme: "erc1271" });
  });

  for (const [mode, code] of [
    ["Refuse", "ERC1271_BAD_MAGIC"],
    ["ReturnGarbage", "ERC1271_BAD_MAGIC"],
    ["ReturnDirtyMagic", "ERC1271_BAD_MAGIC"],
    ["ReturnNoData", "ERC1271_NO_DATA"],
    ["ReturnShortMagic", "ERC1271_NO_DATA"],
    ["Revert", "ERC1271_REVERTED"],
    ["BurnGas", "ERC1271_REVERTED"],
  ] as const) {
    it(`refuses a wallet that does ${mode} with ${code}`, async () => {
      await startPool();
      const o = walletOrder(fx, mode);
      const [result] = await pool.verify([{ order: o, signature: sign(owner, o, fx.domain) }]);
      expectCode(result, code);
    });
  }

  it("accepts the magic word followed by extra data, as the contract does", async () => {
    await startPool();
    const o = walletOrder(fx, "ReturnLongMagic");
    const [result] = await pool.verify([{ order: o, signature: "0x1234" }]);
    expect(result).to.deep.include({ ok: true, scheme: "erc1271" });
  });

  it("keeps the ECDSA verdict for a trader without code", async () => {
    await startPool();
    const o = order(stranger);
    const [mismatch, highS, malformed] = await pool.verify([
      { order: o, signature: sign(owner, o, fx.domain) },
      { order: o, signature: highSOf(sign(stranger, o, fx.domain)) },
      { order: o, signature: "0x0102" },
    ]);
    expectCode(mismatch, "SIGNER_MISMATCH");
    expectCode(highS, "SIGNATURE_HIGH_S");
    expectCode(malformed, "SIGNATURE_MALFORMED");
  });

  it("never calls the chain for a valid ECDSA signature, and looks an EOA's code up once", async () => {
    const seen: string[] = [];
    await startPool(hardhatClient((request, next) => (seen.push(request.method), next())));
    const good = order(stranger);
    await pool.verify([{ order: good, signature: sign(stranger, good, fx.domain) }]);
    expect(seen).to.deep.equal([]);
    const bad = Array.from({ length: 5 }, (_, i) => order(stranger, { nonce: BigInt(i) }));
    const results = await pool.verify(bad.map((o) => ({ order: o, signature: sign(owner, o, fx.domain) })));
    for (const r of results) expectCode(r, "SIGNER_MISMATCH");
    expect(seen).to.deep.equal(["eth_getCode"]);
  });

  it("calls the wallet from the Settlement address with the contract's gas cap", async () => {
    const calls: unknown[] = [];
    await startPool(hardhatClient((request, next) => (request.method === "eth_call" && calls.push(request.params), next())));
    const o = walletOrder(fx, "Owner");
    await pool.verify([{ order: o, signature: sign(owner, o, fx.domain) }]);
    expect(calls).to.have.length(1);
    const [tx] = calls[0] as [{ from: string; to: string; gas: Hex }];
    expect(tx.from.toLowerCase()).to.equal(fx.domain.verifyingContract);
    expect(tx.to.toLowerCase()).to.equal(fx.wallets.Owner);
    // 21,000 + calldata + 250,000 (SignatureLib.ERC1271_GAS_LIMIT)
    expect(BigInt(tx.gas) - 271_000n).to.be.within(1n, 16n * 260n);
  });

  it("keeps at most erc1271Concurrency RPC requests in flight", async () => {
    let inFlight = 0;
    let most = 0;
    const counting = hardhatClient(async (request, next) => {
      most = Math.max(most, ++inFlight);
      try {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return await next();
      } finally {
        inFlight--;
      }
    });
    pool = createVerifierPool({ logger, chain: counting }, { domain: fx.domain, size: 1, erc1271Concurrency: 3 });
    const requests = Array.from({ length: 20 }, (_, i) => {
      const o = walletOrder(fx, "Owner", { nonce: BigInt(i) });
      return { order: o, signature: sign(owner, o, fx.domain) };
    });
    const results = await pool.verify(requests);
    for (const r of results) expect(r).to.deep.include({ ok: true, scheme: "erc1271" });
    expect(most).to.equal(3);
  });

  it("gives up on a wallet call slower than the timeout with ERC1271_TIMEOUT", async () => {
    const slow = hardhatClient(async (request, next) => {
      if (request.method === "eth_call") await new Promise((resolve) => setTimeout(resolve, 5_000));
      return next();
    });
    await startPool(slow, 100);
    const o = walletOrder(fx, "Owner");
    const started = Date.now();
    const [result] = await pool.verify([{ order: o, signature: sign(owner, o, fx.domain) }]);
    expectCode(result, "ERC1271_TIMEOUT");
    expect(Date.now() - started).to.be.below(4_000); // answered long before the 5 s the wallet call takes
  });

  it("reports ERC1271_UNAVAILABLE when the RPC cannot be reached", async () => {
    const unreachable = createPublicClient({ transport: http("http://127.0.0.1:1", { retryCount: 0 }) }) as PublicClient;
    await startPool(unreachable);
    const o = walletOrder(fx, "Owner");
    const [result] = await pool.verify([{ order: o, signature: sign(owner, o, fx.domain) }]);
    expectCode(result, "ERC1271_UNAVAILABLE");
  });

  it("reports ERC1271_UNAVAILABLE when the wallet call fails at the RPC, and never logs the RPC URL", async () => {
    const secretUrl = "http://127.0.0.1:1/v2/k3yk3yk3y0123456789abcdef";
    const dead = http(secretUrl, { retryCount: 0 })({});
    const provider = hre.network.provider;
    const client = createPublicClient({
      transport: custom(
        { request: (r: Request) => (r.method === "eth_call" ? dead.request(r as never) : provider.request(r)) },
        { retryCount: 0 },
      ),
    }) as PublicClient;
    const lines: string[] = [];
    const capturing = createLogger({ level: "debug", destination: { write: (line: string) => lines.push(line) } });
    pool = createVerifierPool({ logger: capturing, chain: client }, { domain: fx.domain, size: 1 });
    const o = walletOrder(fx, "Owner");
    const [result] = await pool.verify([{ order: o, signature: sign(owner, o, fx.domain) }]);
    expectCode(result, "ERC1271_UNAVAILABLE");
    const logs = lines.join("\n");
    expect(logs).to.contain("EIP-1271 call failed at the RPC");
    expect(logs).to.not.contain("k3yk3yk3y");
  });

  it("without a chain client, verifies ECDSA only", async () => {
    await startPool(null);
    const o = walletOrder(fx, "Approve");
    const [result] = await pool.verify([{ order: o, signature: sign(owner, o, fx.domain) }]);
    expectCode(result, "SIGNER_MISMATCH");
  });

  it("checks each chain's wallets with that chain's client, from that chain's Settlement, and gives the ECDSA verdict on a chain without one", async () => {
    // Chain B is the same Hardhat node under another chain id and Settlement: the wallets
    // check only their owner's signature of the digest, so the domain is the test's to pick.
    const chainB: OrderDomain = { chainId: 998n, verifyingContract: "0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0" };
    const chainC: OrderDomain = { chainId: 997n, verifyingContract: "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512" };
    const callsOn = { a: [] as string[], b: [] as string[] };
    const recording = (calls: string[]) =>
      hardhatClient((request, next) => {
        if (request.method === "eth_call") calls.push((request.params as [{ from: string }])[0].from.toLowerCase());
        return next();
      });
    pool = createVerifierPool(
      { logger, chains: new Map([[fx.chainId, recording(callsOn.a)], [chainB.chainId, recording(callsOn.b)]]) },
      { domains: [fx.domain, chainB, chainC], size: 1 },
    );
    const o = walletOrder(fx, "Owner");
    const results = await pool.verify([
      { order: o, signature: sign(owner, o, fx.domain), chainId: fx.chainId },
      { order: o, signature: sign(owner, o, chainB), chainId: chainB.chainId },
      { order: o, signature: sign(owner, o, chainC), chainId: chainC.chainId },
      { order: o, signature: sign(owner, o, fx.domain), chainId: chainB.chainId },
    ]);
    expect(results[0]).to.deep.equal({ ok: true, orderHash: hasher.hash(o), scheme: "erc1271" });
    expect(results[1]).to.deep.equal({ ok: true, orderHash: new OrderHasher(chainB).hash(o), scheme: "erc1271" });
    expectCode(results[2], "SIGNER_MISMATCH"); // no client for chain C: ECDSA only
    if (!results[2].ok) expect(results[2].orderHash).to.equal(new OrderHasher(chainC).hash(o));
    expectCode(results[3], "ERC1271_BAD_MAGIC"); // signed for A, checked as B: the wallet sees B's digest
    expect(callsOn.a).to.deep.equal([fx.domain.verifyingContract]);
    expect(callsOn.b).to.deep.equal([chainB.verifyingContract, chainB.verifyingContract]);
  });

  it("returns mixed EOA and wallet results in request order", async () => {
    await startPool();
    const requests = Array.from({ length: 12 }, (_, i) => {
      const modes: ModeName[] = ["Owner", "Revert", "ReturnNoData"];
      if (i % 2 === 0) {
        const o = order(stranger, { nonce: BigInt(i) });
        return { order: o, signature: sign(stranger, o, fx.domain), expect: "ecdsa" };
      }
      const mode = modes[(i >> 1) % 3];
      const o = walletOrder(fx, mode, { nonce: BigInt(i) });
      return { order: o, signature: sign(owner, o, fx.domain), expect: { Owner: "erc1271", Revert: "ERC1271_REVERTED", ReturnNoData: "ERC1271_NO_DATA" }[mode as "Owner"] };
    });
    const results = await pool.verify(requests);
    results.forEach((r, i) => {
      expect(r.ok ? r.scheme : r.code, `request ${i}`).to.equal(requests[i].expect);
      expect(r.ok ? r.orderHash : r.orderHash).to.equal(hasher.hash(requests[i].order));
    });
  });
});

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

function highSOf(signature: Hex): Hex {
  const b = Buffer.from(signature.slice(2), "hex");
  const s = BigInt(`0x${b.subarray(32, 64).toString("hex")}`);
  Buffer.from((SECP256K1_N - s).toString(16).padStart(64, "0"), "hex").copy(b, 32);
  b[64] = b[64] === 27 ? 28 : 27;
  return `0x${b.toString("hex")}`;
}
