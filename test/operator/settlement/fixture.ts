/**
 * Shared pieces of the settlement tests: traders with real keys, orders signed the way a
 * wallet signs them (EIP-712 in the local Settlement's domain), the chain's settlement events
 * read back from the node, and a poll-until helper. Nothing here stands in for Redis or the
 * chain.
 */
import type { PublicClient } from "viem";
import { decodeChainLogs, type ChainEvent } from "../../../operator/chain/events";
import { OrderHasher, keccak256, privateKeyToAddress, signDigest, type Address, type Hex, type Order } from "../../../operator/orders";
import type { LocalDeployment } from "../../../scripts/lib/localChain";

export const WETH = 10n ** 18n;
export const USDC = 10n ** 6n;
/** 2,000 USDC per WETH, in quote atoms per 10^18 base atoms (a multiple of the stack's tick). */
export const PRICE = 2_000n * USDC;

export interface TestTrader {
  name: string;
  key: Hex;
  address: Address;
  /** Nonces count up from 1. */
  nonce: bigint;
}

export function testTrader(name: string): TestTrader {
  const key = keccak256(Buffer.from(`hyperindex:settlement-test:${name}`));
  return { name, key: `0x${key.toString("hex")}` as Hex, address: privateKeyToAddress(key), nonce: 0n };
}

export interface SignedTestOrder {
  order: Order;
  signature: Hex;
  orderHash: Hex;
}

/** An order of `trader` on the chain's WETH-USDC pair, signed with the trader's key. */
export function signOrder(chain: LocalDeployment, trader: TestTrader, fields: { isBuy: boolean; price: bigint; amount: bigint } & Partial<Order>): SignedTestOrder {
  trader.nonce += 1n;
  const order: Order = {
    trader: trader.address,
    baseToken: chain.wethAddress,
    quoteToken: chain.usdcAddress,
    nonce: trader.nonce,
    expiry: BigInt(Math.floor(Date.now() / 1000) + 3600),
    maxMakerFeeBps: 10,
    maxTakerFeeBps: 30,
    flags: 0,
    ...fields,
  };
  const digest = new OrderHasher({ chainId: BigInt(chain.chainId), verifyingContract: chain.settlementAddress }).digest(order);
  return { order, signature: signDigest(Buffer.from(trader.key.slice(2), "hex"), digest), orderHash: `0x${digest.toString("hex")}` as Hex };
}

/** Every event of the local Settlement from `fromBlock` to the head, decoded as the chain watcher decodes them. */
export async function settlementEvents(chain: LocalDeployment, client: PublicClient = chain.publicClient, fromBlock = chain.deployBlock): Promise<ChainEvent[]> {
  const logs = await client.getLogs({ address: chain.settlementAddress, fromBlock, toBlock: "latest" });
  return decodeChainLogs({ chainId: chain.chainId, settlementAddress: chain.settlementAddress, commitmentAddress: chain.commitmentAddress }, logs as never);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns something other than undefined / false / null. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined | false | null> | T | undefined | false | null, timeoutMs = 15_000): Promise<T> {
  const started = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false && value !== null) return value as T;
    } catch (error) {
      last = error;
    }
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await sleep(25);
  }
}
