/**
 * The whole operator as it runs: anvil like HyperEVM small blocks with the deployed contracts, a
 * real Redis, the daemon (startOperator, with its chain watcher, signer and settler) and traders
 * that deposit with their own transactions and otherwise only use its public HTTP API — the
 * same pieces as the demo, with assertions. Deposits reach the ledger through the watcher, and
 * after settlement every vault on chain equals the ledger with nothing pending.
 */
import { expect } from "chai";
import WebSocket from "ws";
import type { RunningOperator } from "../../operator/daemon/start";
import { createLogger } from "../../operator/log";
import { keccak256, type Address } from "../../operator/orders";
import { DemoTrader, get } from "../../scripts/demo/trader";
import { fundAndDepositMany } from "../../scripts/lib/fundTraders";
import { SETTLEMENT_ARTIFACT } from "../../scripts/lib/localChain";
import { startStack, TICK, USDC, WETH, type Stack, type VaultCheck } from "../../scripts/lib/stack";

const MID = 2_000n * USDC;

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("operator end to end (anvil + Redis + daemon + HTTP)", function () {
  this.timeout(180_000);
  let stack: Stack;
  let operator: RunningOperator;
  let maker: DemoTrader;
  let taker: DemoTrader;
  let base: { baseToken: Address; quoteToken: Address };
  const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
  const makerKey = keccak256(Buffer.from("e2e:maker"));
  const takerKey = keccak256(Buffer.from("e2e:taker"));

  before(async function () {
    stack = await startStack({ env: { HYPERINDEX_SWEEP_INTERVAL_MS: "200" } });
    await fundAndDepositMany(stack.chain, [makerKey, takerKey].map((key) => ({ key: `0x${key.toString("hex")}` as const, weth: 10n * WETH, usdc: 50_000n * USDC })));
    operator = await stack.startOperator({ logger });
    const domain = { chainId: BigInt(stack.chain.chainId), verifyingContract: stack.chain.settlementAddress };
    maker = new DemoTrader("maker", makerKey, operator.url, domain);
    taker = new DemoTrader("taker", takerKey, operator.url, domain);
    base = { baseToken: stack.chain.wethAddress, quoteToken: stack.chain.usdcAddress };
    // The chain watcher credits the deposits from their Deposited events.
    for (const t of [maker, taker]) {
      await until(`${t.name}'s deposits`, 20_000, async () => {
        const b = (await get(`${operator.url}/v1/accounts/${t.address}/balances`)).body.chains?.[0]?.balances ?? {};
        return BigInt(b[stack.chain.wethAddress]?.available ?? 0) === 10n * WETH && BigInt(b[stack.chain.usdcAddress]?.available ?? 0) === 50_000n * USDC;
      });
    }
  });

  after(async function () {
    await operator?.stop();
    await stack?.stop();
  });

  /** Waits for settlement to finish; then every vault on chain equals the ledger, nothing pending, no fill unresolved. */
  async function vaultsEqualLedgerAfterSettlement(): Promise<void> {
    let last: VaultCheck | undefined;
    await until("settlement (vault == ledger, nothing pending)", 30_000, async () => {
      last = await stack.checkVaults([maker.address, taker.address]);
      return last.ok;
    }).catch((error: Error) => {
      throw new Error(`${error.message}; last check: ${JSON.stringify(last, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}`);
    });
    expect(last!.mismatches).to.deep.equal([]);
    expect(last!.pending).to.equal(0n);
    expect(last!.unresolvedFills).to.equal(0);
  }

  it("reads the fee account from the Settlement contract", async function () {
    const feeRecipient = (await stack.chain.publicClient.readContract({ address: stack.chain.settlementAddress, abi: SETTLEMENT_ARTIFACT().abi, functionName: "feeRecipient" })) as string;
    expect(operator.feeAccounts.get(stack.chain.chainId)).to.equal(feeRecipient.toLowerCase());
  });

  it("matches a signed order sent over HTTP against a resting one, at the maker's price, and after settlement every vault equals the ledger", async function () {
    const ask = await maker.place([maker.order({ ...base, isBuy: false, price: MID + 5n * TICK, amount: 2n * WETH })]);
    expect(ask.status).to.equal(201);
    expect(ask.body.state).to.equal("open");
    const bid = await taker.place([taker.order({ ...base, isBuy: true, price: MID + 50n * TICK, amount: WETH })]);
    expect(bid.status).to.equal(201);
    expect(bid.body.state).to.equal("filled");
    expect(bid.body.fills).to.have.length(1);
    expect(BigInt(bid.body.fills[0].price)).to.equal(MID + 5n * TICK);
    const book = await get(`${operator.url}/v1/book/WETH-USDC?depth=1`);
    expect(book.body.asks[0]).to.deep.include({ price: (MID + 5n * TICK).toString(), amount: WETH.toString() });
    await vaultsEqualLedgerAfterSettlement();
    // The fill moved the funds on chain: the taker holds the WETH it bought (less its fee, 5 bps).
    const [takerWeth] = (await stack.chain.publicClient.readContract({
      address: stack.chain.settlementAddress,
      abi: SETTLEMENT_ARTIFACT().abi,
      functionName: "balancesOf",
      args: [[taker.address], [stack.chain.wethAddress]],
    })) as bigint[];
    expect(takerWeth).to.equal(10n * WETH + WETH - (WETH * 5n) / 10_000n);
  });

  it("refuses an order signed for another chain with a specific code and changes nothing", async function () {
    const other = new DemoTrader("taker", takerKey, operator.url, { chainId: 999n, verifyingContract: stack.chain.settlementAddress });
    const before = (await get(`${operator.url}/v1/accounts/${taker.address}/balances`)).body;
    const reply = await other.place([other.order({ ...base, isBuy: true, price: MID, amount: WETH })]);
    expect(reply.status).to.equal(401);
    expect(reply.body.error.code).to.equal("SIGNER_MISMATCH");
    expect((await get(`${operator.url}/v1/accounts/${taker.address}/balances`)).body).to.deep.equal(before);
  });

  it("sweeps a resting order once it expires: it leaves the book, its funds unlock, and the WebSocket feed says EXPIRED", async function () {
    const ws = new WebSocket(`${operator.url.replace("http", "ws")}/v1/ws`);
    const updates: { event: string; reason?: string; orderHash: string }[] = [];
    ws.on("message", (data) => {
      const msg = JSON.parse(String(data));
      if (msg.type === "orders") updates.push(...msg.updates);
    });
    await new Promise((resolve) => ws.once("open", resolve));
    ws.send(JSON.stringify({ op: "subscribe", channel: `orders:${maker.address}`, auth: maker.subscribeAuth() }));
    const ack = JSON.parse(String(await new Promise((resolve) => ws.once("message", resolve))));
    expect(ack.type, JSON.stringify(ack)).to.equal("subscribed");
    const lockedOf = async () => BigInt((await get(`${operator.url}/v1/accounts/${maker.address}/balances`)).body.chains[0].balances[stack.chain.usdcAddress].locked);
    const lockedBefore = await lockedOf();
    const expiry = BigInt(Math.floor(Date.now() / 1000) + 2);
    const bid = await maker.place([maker.order({ ...base, isBuy: true, price: MID - 100n * TICK, amount: WETH, expiry })]);
    expect(bid.status, JSON.stringify(bid.body)).to.equal(201);
    expect(bid.body.state).to.equal("open");
    expect((await lockedOf()) > lockedBefore).to.equal(true);
    // The daemon sweeps every 200 ms (HYPERINDEX_SWEEP_INTERVAL_MS): the order is gone soon after its expiry.
    const deadline = Date.now() + 10_000;
    while (!updates.some((u) => u.orderHash === bid.body.orderHash && u.event === "cancelled") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    ws.close();
    expect(updates.find((u) => u.orderHash === bid.body.orderHash && u.event === "cancelled")?.reason).to.equal("EXPIRED");
    expect((await get(`${operator.url}/v1/orders/${bid.body.orderHash}`)).body).to.deep.include({ state: "cancelled", closeReason: "EXPIRED" });
    expect((await get(`${operator.url}/v1/book/WETH-USDC?depth=50`)).body.bids).to.deep.equal([]);
    expect(await lockedOf()).to.equal(lockedBefore);
    const health = (await get(`${operator.url}/health`)).body;
    expect(health.checks.tasks.map((t: { name: string }) => t.name)).to.include.members(["expiry-sweep", "journal-trim"]);
    await vaultsEqualLedgerAfterSettlement();
  });

  it("restarts on the same Redis and continues: the resting order, the book and the balances survive, and the next fill settles", async function () {
    const bookBefore = (await get(`${operator.url}/v1/book/WETH-USDC?depth=5`)).body;
    const balancesBefore = (await get(`${operator.url}/v1/accounts/${maker.address}/balances`)).body;
    await operator.stop();
    operator = await stack.startOperator({ logger });
    expect((await get(`${operator.url}/v1/book/WETH-USDC?depth=5`)).body).to.deep.equal(bookBefore);
    expect((await get(`${operator.url}/v1/accounts/${maker.address}/balances`)).body).to.deep.equal(balancesBefore);
    // ...and keeps matching: the rest of the maker's ask fills, and settles.
    const domain = { chainId: BigInt(stack.chain.chainId), verifyingContract: stack.chain.settlementAddress };
    taker = new DemoTrader("taker", takerKey, operator.url, domain, 100n);
    const reply = await taker.place([taker.order({ ...base, isBuy: true, price: MID + 5n * TICK, amount: WETH })]);
    expect(reply.body.state).to.equal("filled");
    await vaultsEqualLedgerAfterSettlement();
    expect(operator.chainServices.get(stack.chain.chainId)!.settler.status().openBatches).to.equal(0);
  });
});
