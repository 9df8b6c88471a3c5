/**
 * The on-chain proof of an equivocation: OrderbookCommitment.proveEquivocation with the
 * operator's signed receipt and the committed leaf that contradicts it. Built from the ABI in
 * the artifact, checked with eth_call before it is shown (the contract's own verdict), and
 * sent only when asked (--submit), signed with a key the caller names by environment variable.
 */
import { createWalletClient, custom, encodeFunctionData, type Hex as ViemHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { OrderAcceptedLeaf, SignedOrderReceipt } from "../../operator/commitment";
import type { Address, Hex } from "../../operator/orders";
import { hasFunction } from "./artifact";
import { revertOf, type CommitmentContract } from "./chain";
import { AuditError } from "./errors";

export interface EquivocationProof {
  to: Address;
  functionName: "proveEquivocation";
  /** In the contract's order: epoch, sequence, receiptOrderHash, signature, committedOrderHash, committedTrader, committedReceivedAt, proof. */
  args: readonly unknown[];
  data: Hex;
}

/** What eth_call said of the proof at the pinned block: accepted, or the contract's error. */
export type Simulation = { accepted: true } | { accepted: false; error: string };

export interface Submission {
  txHash: Hex;
  status: "success" | "reverted";
  blockNumber: bigint;
  from: Address;
}

/** The call, or undefined when this contract has no proveEquivocation (deployed before it existed). */
export function buildEquivocationProof(c: CommitmentContract, signed: SignedOrderReceipt, committed: OrderAcceptedLeaf, proof: readonly Hex[]): EquivocationProof | undefined {
  if (!hasFunction(c.abi, "proveEquivocation")) return undefined;
  const args = [signed.receipt.epoch, signed.receipt.sequence, signed.receipt.orderHash, signed.signature, committed.orderHash, committed.trader, committed.receivedAt, [...proof]] as const;
  const data = encodeFunctionData({ abi: c.abi, functionName: "proveEquivocation", args }) as Hex;
  return { to: c.address, functionName: "proveEquivocation", args, data };
}

/** eth_call of the proof at the pinned block, from nobody in particular. */
export async function simulateEquivocationProof(c: CommitmentContract, call: EquivocationProof): Promise<Simulation> {
  try {
    await c.chain.call("eth_call proveEquivocation", () =>
      c.chain.client.simulateContract({ address: call.to, abi: c.abi, functionName: call.functionName, args: call.args as unknown[], blockNumber: c.chain.blockNumber }),
    );
    return { accepted: true };
  } catch (error) {
    if (error instanceof AuditError) throw error;
    return { accepted: false, error: describeRevert(error) };
  }
}

/**
 * Sends the proof, signed with `privateKey`, and waits for its receipt (bounded). The key never
 * appears in any message.
 */
export async function submitEquivocationProof(c: CommitmentContract, call: EquivocationProof, privateKey: Hex, timeoutMs: number): Promise<Submission> {
  let account;
  try {
    account = privateKeyToAccount(privateKey as ViemHex);
  } catch {
    throw new AuditError("USAGE", "the private key given for --submit is not a secp256k1 private key (0x + 64 hex digits; value not shown)");
  }
  const chain = c.chain;
  const wallet = createWalletClient({
    account,
    chain: chain.client.chain,
    // Through the auditor's budgeted, retried RPC client.
    transport: custom({ request: (args) => chain.client.request(args as never) }),
  });
  let txHash: Hex;
  try {
    txHash = (await chain.call("eth_sendRawTransaction", () =>
      wallet.writeContract({ address: call.to, abi: c.abi, functionName: call.functionName, args: call.args as unknown[], account, chain: chain.client.chain }),
    )) as Hex;
  } catch (error) {
    if (error instanceof AuditError) throw error;
    throw new AuditError("SUBMIT_FAILED", `the proof was not sent: ${describeRevert(error)}`, { cause: error });
  }
  const receipt = await chain.call("eth_getTransactionReceipt", () =>
    chain.client.waitForTransactionReceipt({ hash: txHash as ViemHex, pollingInterval: 1_000, timeout: timeoutMs }),
  );
  return { txHash, status: receipt.status, blockNumber: receipt.blockNumber, from: account.address.toLowerCase() as Address };
}

function describeRevert(error: unknown): string {
  const revert = revertOf(error);
  if (revert !== undefined) return `${revert.errorName}(${revert.args.map(String).join(", ")})`;
  const short = (error as { shortMessage?: unknown }).shortMessage;
  return typeof short === "string" ? short : error instanceof Error ? error.message.split("\n")[0]! : String(error);
}
