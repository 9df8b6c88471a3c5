/**
 * Deploys Settlement with two listed tokens on the in-process Hardhat network and builds
 * signed orders with the operator's own hasher (operator/orders), so every test and the gas
 * benchmark exercise the exact bytes the operator will send.
 */
import hre from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { ContractTransactionResponse } from "ethers";
import type { MockERC20, Settlement } from "../../typechain-types";
import { compareOrders, packFill } from "../../operator/settlement";
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

// =====================================================================================
// Additions for the Settlement test suite (test/contracts/Settlement*.test.ts): fills,
// a settle helper that decodes the batch's events, trader signers, signature encodings.
// =====================================================================================

/** ISettlement.SkipReason, mirrored. Codes are stable: indexers and the operator rely on them. */
export const SkipReason = {
  None: 0,
  FillMalformed: 1,
  BadSignature: 2,
  OrderCancelled: 3,
  NonceBelowMinimum: 4,
  OrderExpired: 5,
  Overfilled: 6,
  MakerUnfunded: 7,
  TakerUnfunded: 8,
  MakerFeeAboveCap: 9,
  TakerFeeAboveCap: 10,
  PricesDoNotCross: 11,
  MarketMismatch: 12,
  InexactAmount: 13,
  TokenNotListed: 14,
  FlagViolation: 15,
  OrderOutOfRange: 16,
  SignatureBudgetExhausted: 17,
  NonceInUse: 18,
} as const;
export type SkipReasonCode = (typeof SkipReason)[keyof typeof SkipReason];

/** secp256k1 group order: s and n - s are the two ECDSA signatures of one (r, digest). */
export const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/**
 * A Filled event, decoded: the order hashes, the packed fill word's fields and quoteAmount.
 * The event carries fee bps, not fee amounts: makerFee / takerFee are floor(received x bps /
 * 10,000) as ISettlement documents, computed here (balances are what tests check them by).
 */
export interface FilledEvent {
  fillId: bigint;
  makerHash: Hex;
  takerHash: Hex;
  baseAmount: bigint;
  quoteAmount: bigint;
  makerFeeBps: number;
  takerFeeBps: number;
  makerFee: bigint;
  takerFee: bigint;
}

/** A FillSkipped event, decoded. */
export interface SkippedFill {
  fillId: bigint;
  reason: number;
}

/** What one settleBatch transaction did, from its events. */
export interface BatchOutcome {
  batchId: bigint;
  /** BatchSettled.settled */
  settled: bigint;
  /** BatchSettled.fills */
  fillCount: bigint;
  filled: FilledEvent[];
  skipped: SkippedFill[];
  gasUsed: bigint;
}

export function makeFill(
  fillId: bigint,
  makerIndex: number,
  takerIndex: number,
  baseAmount: bigint,
  makerFeeBps = 0,
  takerFeeBps = 0,
): FillArgs {
  return { fillId, makerIndex, takerIndex, baseAmount, makerFeeBps, takerFeeBps };
}

// ------------------------------------------------------------------ settleBatch calldata
//
// Tests describe a batch logically: orders in any order, fills pointing at them by index
// (FillArgs). settleBatch takes the orders sorted by (trader, nonce) and each fill packed in
// one uint256 word (layout in ISettlement):
//   fillId << 192 | makerIndex << 176 | takerIndex << 160 | baseAmount << 32 | makerFeeBps << 16 | takerFeeBps
// These helpers sort, remap the indices and pack, independently of operator/settlement (whose
// encoder is tested on its own), and decode the Filled event back.

const UINT128 = (1n << 128n) - 1n;

/** One fill as a packed word (operator/settlement's packer; range-checked). */
export function packFillWord(fill: FillArgs): bigint {
  return packFill(fill);
}

/** settleBatch's order sort: by trader as a number, then by nonce. */
export const compareForSettlement = compareOrders;

/**
 * The (orders, signatures, fills) arguments of settleBatch: orders stably sorted (two equal
 * orders stay adjacent: the contract, not the helper, must refuse them), in-range fill indices
 * remapped, fills packed. `keepOrder` sends the orders as given; mismatched arrays go as given.
 */
export function encodeSettleArgs(
  orders: readonly Order[],
  signatures: readonly Hex[],
  fills: readonly FillArgs[],
  options: { keepOrder?: boolean } = {},
): [Order[], Hex[], bigint[]] {
  const positions = orders.map((_, i) => i);
  const sortable = !options.keepOrder && orders.length === signatures.length;
  if (sortable) positions.sort((i, j) => compareForSettlement(orders[i], orders[j]) || i - j);
  const newIndex = new Array<number>(orders.length);
  positions.forEach((old, now) => (newIndex[old] = now));
  const remap = (i: number) => (i < orders.length ? newIndex[i] : i);
  return [
    positions.map((i) => toSolidityOrder(orders[i])),
    sortable ? positions.map((i) => signatures[i]) : [...signatures],
    fills.map((f) => packFillWord({ ...f, makerIndex: remap(f.makerIndex), takerIndex: remap(f.takerIndex) })),
  ];
}

/** Sends settleBatch without waiting: for `expect(...).to.be.reverted...` checks. */
export function sendSettleBatch(
  fx: SettlementFixture,
  batchId: bigint,
  orders: readonly Order[],
  signatures: readonly Hex[],
  fills: readonly FillArgs[],
  options: { sender?: HardhatEthersSigner; keepOrder?: boolean } = {},
): Promise<ContractTransactionResponse> {
  return fx.settlement
    .connect(options.sender ?? fx.operator)
    .settleBatch(batchId, ...encodeSettleArgs(orders, signatures, fills, options));
}

/** The same call as sendSettleBatch, simulated (eth_call) from the operator. */
export function simulateSettleBatch(
  fx: SettlementFixture,
  batchId: bigint,
  orders: readonly Order[],
  signatures: readonly Hex[],
  fills: readonly FillArgs[],
): Promise<bigint> {
  return fx.settlement.connect(fx.operator).settleBatch.staticCall(batchId, ...encodeSettleArgs(orders, signatures, fills));
}

/**
 * Sends settleBatch (from the operator, with the next batch id unless told otherwise), waits
 * for the receipt and decodes its Filled / FillSkipped / BatchSettled events in log order.
 */
export async function settle(
  fx: SettlementFixture,
  orders: readonly Order[],
  signatures: readonly Hex[],
  fills: readonly FillArgs[],
  options: { batchId?: bigint; sender?: HardhatEthersSigner; keepOrder?: boolean } = {},
): Promise<BatchOutcome> {
  const batchId = options.batchId ?? (await fx.settlement.nextBatchId());
  const tx = await sendSettleBatch(fx, batchId, orders, signatures, fills, options);
  const receipt = await tx.wait();
  if (receipt === null) throw new Error("settleBatch: no receipt");
  const byHash = new Map(orders.map((o) => [fx.hasher.hash(o), o] as [string, Order]));
  const outcome: BatchOutcome = { batchId, settled: -1n, fillCount: -1n, filled: [], skipped: [], gasUsed: receipt.gasUsed };
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== fx.settlementAddress) continue;
    const parsed = fx.settlement.interface.parseLog(log);
    if (parsed === null) continue;
    if (parsed.name === "Filled") {
      const makerHash = (parsed.args.makerHash as string).toLowerCase() as Hex;
      const takerHash = (parsed.args.takerHash as string).toLowerCase() as Hex;
      const quoteAmount = parsed.args.quoteAmount as bigint;
      const word = parsed.args.getValue("fill") as bigint; // not `.fill`: a Result is an Array
      const baseAmount = (word >> 32n) & UINT128;
      const makerFeeBps = Number((word >> 16n) & 0xffffn);
      const takerFeeBps = Number(word & 0xffffn);
      const maker = byHash.get(makerHash);
      if (maker === undefined) throw new Error(`Filled names a maker order not in the batch: ${makerHash}`);
      const [makerReceives, takerReceives] = maker.isBuy ? [baseAmount, quoteAmount] : [quoteAmount, baseAmount];
      outcome.filled.push({
        fillId: word >> 192n,
        makerHash,
        takerHash,
        baseAmount,
        quoteAmount,
        makerFeeBps,
        takerFeeBps,
        makerFee: (makerReceives * BigInt(makerFeeBps)) / 10_000n,
        takerFee: (takerReceives * BigInt(takerFeeBps)) / 10_000n,
      });
    } else if (parsed.name === "FillSkipped") {
      if ((parsed.args.batchId as bigint) !== batchId) throw new Error("FillSkipped carries another batch id");
      outcome.skipped.push({ fillId: parsed.args.fillId as bigint, reason: Number(parsed.args.reason) });
    } else if (parsed.name === "BatchSettled") {
      if ((parsed.args.batchId as bigint) !== batchId) throw new Error("BatchSettled carries another batch id");
      outcome.settled = parsed.args.settled as bigint;
      outcome.fillCount = parsed.args.fills as bigint;
    }
  }
  return outcome;
}

/** A signer for a keyed trader (impersonated and given ETH), for trader-side transactions. */
export async function traderSigner(address: Address): Promise<HardhatEthersSigner> {
  await hre.network.provider.request({ method: "hardhat_impersonateAccount", params: [address] });
  await hre.network.provider.request({ method: "hardhat_setBalance", params: [address, "0x56bc75e2d63100000"] });
  return hre.ethers.getSigner(address);
}

/** Builds and signs an order for `trader` in one step. */
export function signedOrder(
  fx: SettlementFixture,
  trader: Trader,
  fields: Partial<Order> = {},
): { order: Order; signature: Hex } {
  const order = buildOrder(fx, trader.address, fields);
  return { order, signature: signOrder(fx, trader, order) };
}

function splitSignature(signature: Hex): { r: bigint; s: bigint; v: number } {
  const bytes = Buffer.from(signature.slice(2), "hex");
  if (bytes.length !== 65) throw new Error("expected a 65-byte signature");
  return {
    r: BigInt(`0x${bytes.subarray(0, 32).toString("hex")}`),
    s: BigInt(`0x${bytes.subarray(32, 64).toString("hex")}`),
    v: bytes[64],
  };
}

function word(value: bigint): string {
  return value.toString(16).padStart(64, "0");
}

/** EIP-2098 compact form r ‖ (parity << 255 | s) of a 65-byte r ‖ s ‖ v signature. */
export function compactSignature(signature: Hex): Hex {
  const { r, s, v } = splitSignature(signature);
  if (s >> 255n !== 0n) throw new Error("s does not fit the compact form");
  return `0x${word(r)}${word((BigInt(v - 27) << 255n) | s)}`;
}

/** The malleable twin (r, n - s, flipped v): same signer, high s. */
export function highSSignature(signature: Hex): Hex {
  const { r, s, v } = splitSignature(signature);
  return `0x${word(r)}${word(SECP256K1_N - s)}${(v === 27 ? 28 : 27).toString(16)}`;
}

/** Internal vault balance of `account` in `token`. */
export async function vaultBalance(fx: SettlementFixture, account: string, token: string): Promise<bigint> {
  return fx.settlement.balanceOf(account, token);
}

/** Collects orders, signatures and fills for one settleBatch call; fill ids count up. */
export class BatchBuilder {
  readonly orders: Order[] = [];
  readonly signatures: Hex[] = [];
  readonly fills: FillArgs[] = [];

  constructor(
    private readonly fx: SettlementFixture,
    private nextFillId = 1n,
  ) {}

  /** Adds an order with the given signature; returns its index. */
  add(order: Order, signature: Hex): number {
    this.orders.push(order);
    this.signatures.push(signature);
    return this.orders.length - 1;
  }

  /** Builds, signs and adds an order for `trader`; returns its index. */
  signed(trader: Trader, fields: Partial<Order> = {}): number {
    const { order, signature } = signedOrder(this.fx, trader, fields);
    return this.add(order, signature);
  }

  /** Adds a fill; returns its fill id. */
  fill(makerIndex: number, takerIndex: number, baseAmount: bigint, makerFeeBps = 0, takerFeeBps = 0): bigint {
    const fillId = this.nextFillId++;
    this.fills.push(makeFill(fillId, makerIndex, takerIndex, baseAmount, makerFeeBps, takerFeeBps));
    return fillId;
  }

  settle(options: { batchId?: bigint; sender?: HardhatEthersSigner; keepOrder?: boolean } = {}): Promise<BatchOutcome> {
    return settle(this.fx, this.orders, this.signatures, this.fills, options);
  }

  /** Sends without waiting (for revert checks). */
  send(batchId: bigint, options: { sender?: HardhatEthersSigner; keepOrder?: boolean } = {}): Promise<ContractTransactionResponse> {
    return sendSettleBatch(this.fx, batchId, this.orders, this.signatures, this.fills, options);
  }
}
