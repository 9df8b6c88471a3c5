/**
 * Signed cancels of a smart-wallet trader (EIP-1271) against a real chain: the in-process
 * Hardhat network read through a viem client, and MockERC1271Wallet owned by ALICE.
 */
import hre from "hardhat";
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { createPublicClient, custom, type PublicClient } from "viem";
import { getOrder, placeOrders } from "../../../operator/matching";
import type { Address } from "../../../operator/orders";
import type { Trader } from "../../helpers/settlementFixture";
import { request as engineRequest } from "../matching/fixtures";
import {
  ALICE,
  BOB,
  cancelBody,
  fund,
  makeCancel,
  post,
  quietDump,
  reset,
  teardown,
  useApiSuite,
} from "./fixture";

const MODE_OWNER = 0;

async function deployWallet(): Promise<Address> {
  const wallet = await (await hre.ethers.getContractFactory("MockERC1271Wallet")).deploy(ALICE.address, MODE_OWNER);
  return (await wallet.getAddress()).toLowerCase() as Address;
}

function hardhatClient(): PublicClient {
  const provider = hre.network.provider;
  // No retries: Hardhat reports a revert as -32603, which viem would otherwise retry.
  return createPublicClient({ transport: custom({ request: (r: { method: string; params?: unknown }) => provider.request(r as never) }, { retryCount: 0 }) }) as PublicClient;
}

describe("operator/api POST /v1/cancel by a smart wallet (EIP-1271, Hardhat node)", function () {
  const h = useApiSuite();
  let wallet: Address;
  let walletTrader: Trader;

  beforeEach(async () => {
    wallet = await loadFixture(deployWallet);
    walletTrader = { address: wallet, privateKey: Buffer.alloc(32) };
  });
  afterEach(async () => teardown(h));

  async function walletOrder(): Promise<`0x${string}`> {
    await fund(h.engine, wallet);
    // The wallet's order is placed straight through the engine: order signatures of wallets are the verifier's tests.
    const [placed] = await placeOrders(h.engine, [engineRequest({ trader: wallet, isBuy: true, ticks: 100_000, lots: 1 })]);
    if (placed.status !== "accepted") throw new Error(placed.code);
    return placed.orderHash;
  }

  it("accepts a cancel the wallet's owner signed (ECDSA fails, isValidSignature says yes)", async () => {
    await reset(h, { deps: { chain: hardhatClient() } });
    const orderHash = await walletOrder();
    const res = await post(h, "/v1/cancel", cancelBody(makeCancel(h, walletTrader, { orderHashes: [orderHash] }), ALICE));
    expect(res.statusCode, res.body).to.equal(200);
    expect(res.json()).to.deep.include({ status: "cancelled", orderHash });
    expect((await getOrder(h.engine, { orderHash }))?.state).to.equal("cancelled");
  });

  it("refuses a cancel of the wallet signed by someone else: 401 ERC1271_BAD_MAGIC, Redis unchanged", async () => {
    await reset(h, { deps: { chain: hardhatClient() } });
    const orderHash = await walletOrder();
    const before = await quietDump(h);
    const res = await post(h, "/v1/cancel", cancelBody(makeCancel(h, walletTrader, { orderHashes: [orderHash] }), BOB));
    expect([res.statusCode, res.json().error.code]).to.deep.equal([401, "ERC1271_BAD_MAGIC"]);
    expect(await quietDump(h)).to.deep.equal(before);
  });

  it("without a chain client, only ECDSA cancels verify: 401 SIGNER_MISMATCH for the wallet", async () => {
    await reset(h);
    const orderHash = await walletOrder();
    const res = await post(h, "/v1/cancel", cancelBody(makeCancel(h, walletTrader, { orderHashes: [orderHash] }), ALICE));
    expect([res.statusCode, res.json().error.code]).to.deep.equal([401, "SIGNER_MISMATCH"]);
  });
});
