/**
 * A smart-wallet trader (EIP-1271) subscribing to its orders channel against a real chain:
 * the in-process Hardhat network read through a viem client, MockERC1271Wallet owned by ALICE.
 */
import hre from "hardhat";
import { expect } from "chai";
import type { AddressInfo } from "node:net";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { createPublicClient, custom, type PublicClient } from "viem";
import type { Address } from "../../../operator/orders";
import type { Trader } from "../../helpers/settlementFixture";
import { ALICE, BOB, reset, subscribeAuth, teardown, useApiSuite, type StartOptions } from "./fixture";
import { TestClient } from "./wsClient";

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

describe("operator/api WebSocket orders channel of a smart wallet (EIP-1271, Hardhat node)", function () {
  const h = useApiSuite();
  let walletTrader: Trader;
  let client: TestClient | undefined;

  beforeEach(async () => {
    walletTrader = { address: await loadFixture(deployWallet), privateKey: Buffer.alloc(32) };
  });
  afterEach(async () => {
    client?.close();
    await teardown(h);
  });

  async function connect(options: StartOptions): Promise<TestClient> {
    await reset(h, options);
    await h.app.listen({ host: "127.0.0.1", port: 0 });
    client = await TestClient.connect(`ws://127.0.0.1:${(h.app.server.address() as AddressInfo).port}/v1/ws`);
    return client;
  }

  const channel = () => `orders:${walletTrader.address}`;

  it("accepts a subscription the wallet's owner signed (ECDSA fails, isValidSignature says yes)", async () => {
    const c = await connect({ deps: { chain: hardhatClient() } });
    const ack = await c.request({ op: "subscribe", channel: channel(), auth: subscribeAuth(h, walletTrader, { signer: ALICE }) }, 1);
    expect(ack).to.deep.include({ type: "subscribed", channel: channel() });
  });

  it("refuses one signed by someone else: WS_AUTH_INVALID (ERC1271_BAD_MAGIC)", async () => {
    const c = await connect({ deps: { chain: hardhatClient() } });
    const reply = await c.request({ op: "subscribe", channel: channel(), auth: subscribeAuth(h, walletTrader, { signer: BOB }) }, 1);
    expect(reply.error).to.deep.include({ code: "WS_AUTH_INVALID", details: { channel: channel(), reason: "ERC1271_BAD_MAGIC" } });
  });

  it("without a chain client, only ECDSA verifies: WS_AUTH_INVALID (SIGNER_MISMATCH) for the wallet", async () => {
    const c = await connect({});
    const reply = await c.request({ op: "subscribe", channel: channel(), auth: subscribeAuth(h, walletTrader, { signer: ALICE }) }, 1);
    expect(reply.error).to.deep.include({ code: "WS_AUTH_INVALID", details: { channel: channel(), reason: "SIGNER_MISMATCH" } });
  });
});
