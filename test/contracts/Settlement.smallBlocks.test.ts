/**
 * HyperEVM small blocks carry 3,000,000 gas: a settlement batch must fit in one. These tests
 * give the Hardhat network that block gas limit (evm_setBlockGasLimit) for their duration.
 * They also show that EIP-1271 wallets cannot push a batch of honest fills out of the block:
 * the batch's wallet calls are bounded by ERC1271_BATCH_GAS_BUDGET (500,000), so a batch whose
 * honest part leaves that much headroom settles whatever its wallets do.
 */
import { expect } from "chai";
import hre from "hardhat";
import { buildStandardBatch, buildStandardOrders, settleStandardBatch, standardSetup } from "../../scripts/bench/standardMix";
import { DEFAULT_PRICE, ONE_BASE, SkipReason, buildOrder, fundTraders, type SettlementFixture } from "../helpers/settlementFixture";
import { encodeBatch, type Fill } from "../../operator/settlement";
import type { Address, Hex, Order } from "../../operator/orders";
import type { MockERC1271Wallet } from "../../typechain-types";

const SMALL_BLOCK_GAS = 3_000_000;
/** MockERC1271Wallet modes used here. */
const WALLET_APPROVE = 1;
const WALLET_BURN_GAS = 9;
const WALLET_ORDER_AMOUNT = ONE_BASE / 10n;

describe("Settlement in HyperEVM small blocks (3,000,000 gas)", function () {
  let previousLimit: bigint;

  before(async function () {
    const block = await hre.ethers.provider.getBlock("latest");
    previousLimit = block!.gasLimit;
  });

  afterEach(async function () {
    await hre.network.provider.send("evm_setBlockGasLimit", [`0x${previousLimit.toString(16)}`]);
  });

  async function steadyTraders(n: number, label: string) {
    const { fx, pop, nonces } = await standardSetup(n, label, true);
    await hre.network.provider.send("evm_setBlockGasLimit", [`0x${SMALL_BLOCK_GAS.toString(16)}`]);
    return { fx, pop, nonces };
  }

  it("settles a 100-fill standard batch inside one small block", async function () {
    const { fx, pop, nonces } = await steadyTraders(100, "small-block:100");
    const gas = await settleStandardBatch(fx, 2n, buildStandardBatch(fx, pop, nonces, 100, 1000n), SMALL_BLOCK_GAS);
    expect(gas <= BigInt(SMALL_BLOCK_GAS), `${gas} gas`).to.equal(true);
    expect(await fx.settlement.nextBatchId()).to.equal(3n);
  });

  /** Funded EIP-1271 wallets that approve every order (as the operator's off-chain check sees them). */
  async function hostileWallets(fx: SettlementFixture, count: number): Promise<{ wallet: MockERC1271Wallet; address: Address }[]> {
    const factory = await hre.ethers.getContractFactory("MockERC1271Wallet");
    const wallets = [];
    for (let i = 0; i < count; i++) {
      const wallet = await factory.deploy(fx.funder.address, WALLET_APPROVE);
      wallets.push({ wallet, address: (await wallet.getAddress()).toLowerCase() as Address });
    }
    await fundTraders(fx, wallets.map((w) => w.address), ONE_BASE * 100n, DEFAULT_PRICE * 100n);
    return wallets;
  }

  /**
   * The honest standard batch of `honest` fills plus `pairs` fills between wallet orders
   * (`sellers[k % sellers.length]` sells to `buyers[k % buyers.length]`). Simulated first with
   * every wallet approving (all fills settle: the operator's check passes), then each wallet
   * turns to burning all the gas it is given, and the batch is sent with a small block's gas.
   */
  async function settleWithTurncoats(honest: number, label: string, sellers: number, buyers: number, pairs: number) {
    const { fx, pop, nonces } = await standardSetup(honest, label, true);
    const wallets = await hostileWallets(fx, sellers + buyers);
    await hre.network.provider.send("evm_setBlockGasLimit", [`0x${SMALL_BLOCK_GAS.toString(16)}`]);
    const batch = buildStandardOrders(fx, pop, nonces, honest, 1000n);
    const orders: Order[] = [...batch.orders];
    const signatures: Hex[] = [...batch.signatures];
    const fills: Fill[] = [...batch.fills];
    const hostileFillIds = new Set<bigint>();
    let nonce = 1n;
    for (let k = 0; k < pairs; k++) {
      const seller = wallets[k % sellers].address;
      const buyer = wallets[sellers + (k % buyers)].address;
      orders.push(buildOrder(fx, seller, { isBuy: false, amount: WALLET_ORDER_AMOUNT, nonce: nonce++ }));
      orders.push(buildOrder(fx, buyer, { isBuy: true, amount: WALLET_ORDER_AMOUNT, nonce: nonce++ }));
      signatures.push("0x01", "0x02");
      const fillId = 5000n + BigInt(k);
      hostileFillIds.add(fillId);
      fills.push({ fillId, makerIndex: orders.length - 2, takerIndex: orders.length - 1, baseAmount: WALLET_ORDER_AMOUNT, makerFeeBps: 0, takerFeeBps: 0 });
    }
    const encoded = encodeBatch(orders, signatures, fills);
    const settlement = fx.settlement.connect(fx.operator);
    const args = [2n, encoded.orders, encoded.signatures, encoded.fills] as const;
    expect(await settlement.settleBatch.staticCall(...args, { gasLimit: SMALL_BLOCK_GAS })).to.equal(BigInt(honest + pairs));

    for (const w of wallets) await w.wallet.setMode(WALLET_BURN_GAS, { gasLimit: 100_000 });
    const receipt = await (await settlement.settleBatch(...args, { gasLimit: SMALL_BLOCK_GAS })).wait();
    const events = receipt!.logs.map((log) => fx.settlement.interface.parseLog(log)).filter((e) => e !== null);
    const settled = events.filter((e) => e.name === "Filled").map((e) => (e.args.getValue("fill") as bigint) >> 192n);
    const skipped = events.filter((e) => e.name === "FillSkipped").map((e) => ({ fillId: e.args.fillId as bigint, reason: Number(e.args.reason) }));
    return { fx, receipt: receipt!, settled, skipped, hostileFillIds };
  }

  it("settles every honest fill inside one small block when wallets that passed the off-chain check turn to burning gas, skipping theirs", async function () {
    const { fx, receipt, settled, skipped, hostileFillIds } = await settleWithTurncoats(60, "small-block:turncoats", 4, 4, 12);
    expect(receipt.gasUsed <= BigInt(SMALL_BLOCK_GAS), `${receipt.gasUsed} gas`).to.equal(true);
    expect(settled).to.have.length(60);
    expect(settled.every((id) => !hostileFillIds.has(id))).to.equal(true);
    expect(skipped.map((s) => s.fillId).sort()).to.deep.equal([...hostileFillIds].sort());
    // At most two wallets were asked (the budget is two calls' worth); every other wallet order
    // was skipped for the budget, not judged.
    const reasons = skipped.map((s) => s.reason);
    expect(reasons.filter((r) => r === SkipReason.BadSignature).length).to.be.at.most(2);
    expect(reasons.every((r) => r === SkipReason.BadSignature || r === SkipReason.SignatureBudgetExhausted)).to.equal(true);
    expect(await fx.settlement.nextBatchId()).to.equal(3n);
  });

  it("settles every honest fill inside one small block when one wallet with many orders burns gas", async function () {
    const { receipt, settled, skipped, hostileFillIds } = await settleWithTurncoats(60, "small-block:one-turncoat", 1, 1, 16);
    expect(receipt.gasUsed <= BigInt(SMALL_BLOCK_GAS), `${receipt.gasUsed} gas`).to.equal(true);
    expect(settled).to.have.length(60);
    expect(skipped).to.have.length(hostileFillIds.size);
  });

  it("cannot fit a 150-fill batch: the node refuses it, so the operator must split batches", async function () {
    const { fx, pop, nonces } = await steadyTraders(150, "small-block:150");
    const batch = buildStandardBatch(fx, pop, nonces, 150, 1000n);
    const estimate = await fx.settlement.connect(fx.operator).settleBatch.estimateGas(2n, batch.orders, batch.signatures, batch.fills, { gasLimit: 30_000_000 }).catch((e: Error) => e);
    // Either the estimate exceeds the block, or the node refuses to estimate above its limit.
    if (typeof estimate === "bigint") expect(estimate).to.be.greaterThan(BigInt(SMALL_BLOCK_GAS));
    let settled = false;
    try {
      await settleStandardBatch(fx, 2n, batch, SMALL_BLOCK_GAS);
      settled = true;
    } catch {
      // out of gas within the small block's 3,000,000: expected
    }
    expect(settled, "a 150-fill batch settled within 3,000,000 gas").to.equal(false);
    expect(await fx.settlement.nextBatchId()).to.equal(2n);
  });
});
