/**
 * Deploys Settlement with two listed tokens on the in-process Hardhat network and builds
 * signed orders with the operator's own hasher (operator/orders), so every test and the gas
 * benchmark exercise the exact bytes the operator will send.
 */
import hre from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { MockERC20, Settlement } from "../../typechain-types";
import {
  OrderFlags,
  OrderHasher,
  keccak256,
  privateKeyToAddress,
  signDigest,
  type Address,
  type Hex,
  type Order,
} from "../../operator/orders";

export const WITHDRAWAL_DELAY = 3600n;
export const OPERATOR_ROTATION_DELAY = 2n * 86400n;
export const ADMIN_TRANSFER_DELAY = 3n * 86400n;
export const BASE_DECIMALS = 18;
export const QUOTE_DECIMALS = 6;
/** 2,000 quote units per base unit. */
export const DEFAULT_PRICE = 2_000n * 10n ** BigInt(QUOTE_DECIMALS);
export const ONE_BASE = 10n ** BigInt(BASE_DECIMALS);

/** A trader whose private key we hold (so we sign with the native signer, like a wallet would). */
export interface Trader {
  address: Address;
  privateKey: Buffer;
}

export interface SettlementFixture {
  settlement: Settlement;
  settlementAddress: Address;
  base: MockERC20;
  quote: MockERC20;
  baseAddress: Address;
  quoteAddress: Address;
  admin: HardhatEthersSigner;
  operator: HardhatEthersSigner;
  guardian: HardhatEthersSigner;
  feeRecipient: HardhatEthersSigner;
  funder: HardhatEthersSigner;
  others: HardhatEthersSigner[];
  hasher: OrderHasher;
  chainId: bigint;
}

export async function deploySettlementFixture(): Promise<SettlementFixture> {
  const { ethers } = hre;
  const [admin, operator, guardian, feeRecipient, funder, ...others] = await ethers.getSigners();
  const settlement = await (await ethers.getContractFactory("Settlement")).deploy(
    admin.address,
    ADMIN_TRANSFER_DELAY,
    operator.address,
    OPERATOR_ROTATION_DELAY,
    guardian.address,
    feeRecipient.address,
    WITHDRAWAL_DELAY,
  );
  const tokenFactory = await ethers.getContractFactory("MockERC20");
  const base = await tokenFactory.deploy("Base", "BASE", BASE_DECIMALS);
  const quote = await tokenFactory.deploy("Quote", "QUOTE", QUOTE_DECIMALS);
  const settlementAddress = (await settlement.getAddress()).toLowerCase() as Address;
  const baseAddress = (await base.getAddress()).toLowerCase() as Address;
  const quoteAddress = (await quote.getAddress()).toLowerCase() as Address;
  await settlement.connect(admin).listToken(baseAddress);
  await settlement.connect(admin).listToken(quoteAddress);
  const chainId = (await ethers.provider.getNetwork()).chainId;
  return {
    settlement,
    settlementAddress,
    base,
    quote,
    baseAddress,
    quoteAddress,
    admin,
    operator,
    guardian,
    feeRecipient,
    funder,
    others,
    hasher: new OrderHasher({ chainId, verifyingContract: settlementAddress }),
    chainId,
  };
}

/** Deterministic traders from a seed label; the same label always yields the same keys. */
export function makeTraders(label: string, count: number): Trader[] {
  return Array.from({ length: count }, (_, i) => {
    const privateKey = keccak256(Buffer.from(`${label}:${i}`, "utf8"));
    return { address: privateKeyToAddress(privateKey), privateKey };
  });
}

/** Mints to the funder and credits each trader's vault through depositFor (traders need no ETH). */
export async function fundTraders(
  fx: SettlementFixture,
  traders: readonly Address[],
  baseAmount: bigint,
  quoteAmount: bigint,
): Promise<void> {
  const n = BigInt(traders.length);
  const settlement = fx.settlement.connect(fx.funder);
  if (baseAmount > 0n) {
    await fx.base.mint(fx.funder.address, baseAmount * n);
    await fx.base.connect(fx.funder).approve(fx.settlementAddress, baseAmount * n);
  }
  if (quoteAmount > 0n) {
    await fx.quote.mint(fx.funder.address, quoteAmount * n);
    await fx.quote.connect(fx.funder).approve(fx.settlementAddress, quoteAmount * n);
  }
  for (const trader of traders) {
    if (baseAmount > 0n) await settlement.depositFor(trader, fx.baseAddress, baseAmount);
    if (quoteAmount > 0n) await settlement.depositFor(trader, fx.quoteAddress, quoteAmount);
  }
}

let nonceCounter = 1n;
/** A fresh nonce, unique within this process. */
export function nextNonce(): bigint {
  return nonceCounter++;
}

export function buildOrder(fx: SettlementFixture, trader: Address, fields: Partial<Order> = {}): Order {
  return {
    trader,
    baseToken: fx.baseAddress,
    quoteToken: fx.quoteAddress,
    isBuy: true,
    price: DEFAULT_PRICE,
    amount: ONE_BASE,
    nonce: nextNonce(),
    expiry: 4_000_000_000n,
    maxMakerFeeBps: 10,
    maxTakerFeeBps: 30,
    flags: OrderFlags.None,
    ...fields,
  };
}

export function signOrder(fx: SettlementFixture, trader: Trader, order: Order): Hex {
  return signDigest(trader.privateKey, fx.hasher.digest(order));
}

/** The tuple shape typechain expects for an Order argument. */
export function toSolidityOrder(order: Order) {
  return { ...order };
}

export interface FillArgs {
  fillId: bigint;
  makerIndex: number;
  takerIndex: number;
  baseAmount: bigint;
  makerFeeBps: number;
  takerFeeBps: number;
}
