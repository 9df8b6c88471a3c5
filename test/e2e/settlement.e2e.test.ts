/**
 * Fills settle on chain: anvil like HyperEVM small blocks, the contracts, Redis, the operator
 * with its chain watcher, signer and settler, and traders that deposit on chain and trade
 * over HTTP. Deposits reach the ledger through the watcher (no admin credit), fills through
 * batches, and at the end every vault equals the ledger with nothing pending.
 */
import { expect } from "chai";
import type { RunningOperator } from "../../operator/daemon/start";
import { createLogger } from "../../operator/log";
import { keccak256, type Address } from "../../operator/orders";
import { DemoTrader, get } from "../../scripts/demo/trader";
import { fundAndDeposit } from "../../scripts/lib/localChain";
import { startStack, TICK, USDC, WETH, type Stack } from "../../scripts/lib/stack";

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

describe("settlement end to end (anvil + Redis + operator + traders)", function () {
  this.timeout(180_000);
  let stack: Stack;
  let operator: RunningOperator;
  let maker: DemoTrader;
  let taker: DemoTrader;
  const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

  before(async function () {
    stack = await startStack();
    const makerKey = keccak256(Buffer.from("settle:maker"));
    const takerKey = keccak256(Buffer.from("settle:taker"));
    for (const key of [makerKey, takerKey]) await fundAndDeposit(stack.chain, `0x${key.toString("hex")}`, { weth: 10n * WETH, usdc: 50_000n * USDC });
    operator = await stack.startOperator({ logger });
    const domain = { chainId: BigInt(stack.chain.chainId), verifyingContract: stack.chain.settlementAddress };
    maker = new DemoTrader("maker", makerKey, operator.url, domain);
    taker = new DemoTrader("taker", takerKey, operator.url, domain);
  });

  after(async function () {
    await operator?.stop();
    await stack?.stop();
  });

  it("credits on-chain deposits through the chain watcher", async function () {
    for (const t of [maker, taker]) {
      await until(`${t.name}'s deposits`, 20_000, async () => {
        const { body } = await get(`${operator.url}/v1/accounts/${t.address}/balances`);
        const b = body.chains?.[0]?.balances ?? {};
        return BigInt(b[stack.chain.wethAddress]?.available ?? 0) === 10n * WETH && BigInt(b[stack.chain.usdcAddress]?.available ?? 0) === 50_000n * USDC;
      });
    }
  });

  it("settles a fill on chain, and then every vault equals the ledger with nothing pending", async function () {
    const base = { baseToken: stack.chain.wethAddress as Address, quoteToken: stack.chain.usdcAddress as Address };
    const ask = await maker.place([maker.order({ ...base, isBuy: false, price: MID + 5n * TICK, amount: 2n * WETH })]);
    expect(ask.status, JSON.stringify(ask.body)).to.equal(201);
    const bid = await taker.place([taker.order({ ...base, isBuy: true, price: MID + 50n * TICK, amount: WETH })]);
    expect(bid.body.state).to.equal("filled");
    const check = await until("settlement", 30_000, async () => {
      const c = await stack.checkVaults([maker.address, taker.address]);
      return c.ok ? c : undefined;
    });
    expect(check.mismatches).to.deep.equal([]);
    const status = operator.chainServices.get(stack.chain.chainId)!.settler.status();
    expect(status.openBatches).to.equal(0);
  });
});
