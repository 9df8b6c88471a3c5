/**
 * The simulation of a batch before it is sent: eth_estimateGas against the pending state (the
 * batches still in flight included, where the node supports it), read as one of:
 *
 *   ok           the gas the batch needs
 *   outOfGas     it needs more than the node lets an estimate use (the block's gas limit)
 *   outOfOrder   SettlementBatchOutOfOrder(expected, got): the node's state is not at this
 *                batch yet (batches in flight it cannot see), or is past it
 *   paused       SettlementPaused(until)
 *   reverted     any other revert: the batch itself is wrong (unsorted, mismatched...)
 * A transport failure (node down, timeout) is thrown: the settler's loop backs off.
 */
import { BaseError as ViemBaseError, decodeErrorResult, type Hex } from "viem";
import type { Address } from "../orders";
import { settleBatchAbi } from "./abi";

export type Simulation =
  | { kind: "ok"; gas: bigint }
  | { kind: "outOfGas" }
  | { kind: "outOfOrder"; expected: bigint; got: bigint }
  | { kind: "paused"; until: bigint }
  | { kind: "reverted"; reason: string };

export interface SimulationClient {
  estimateGas(args: { account: Address; to: Address; data: Hex; blockTag?: "pending" | "latest" }): Promise<bigint>;
}

export async function simulateBatch(client: SimulationClient, params: { from: Address; to: Address; data: Hex }): Promise<Simulation> {
  try {
    const gas = await client.estimateGas({ account: params.from, to: params.to, data: params.data, blockTag: "pending" });
    return { kind: "ok", gas };
  } catch (error) {
    const revert = revertOf(error);
    if (revert === undefined) {
      if (isOutOfGas(error)) return { kind: "outOfGas" };
      throw error;
    }
    if (revert.data === undefined && /out of gas|gas required exceeds/i.test(revert.message)) return { kind: "outOfGas" };
    if (revert.data !== undefined) {
      try {
        const decoded = decodeErrorResult({ abi: settleBatchAbi, data: revert.data });
        if (decoded.errorName === "SettlementBatchOutOfOrder") {
          const [expected, got] = decoded.args as readonly [bigint, bigint];
          return { kind: "outOfOrder", expected, got };
        }
        if (decoded.errorName === "SettlementPaused") return { kind: "paused", until: (decoded.args as readonly [bigint])[0] };
        return { kind: "reverted", reason: decoded.errorName };
      } catch {
        return { kind: "reverted", reason: `revert data ${revert.data.slice(0, 10)}` };
      }
    }
    return { kind: "reverted", reason: revert.message };
  }
}

/**
 * The revert of an execution error (its data when the node gave it), or undefined for any other
 * failure. viem wraps EVERY failure of eth_estimateGas / eth_call in EstimateGasExecutionError /
 * CallExecutionError, a node that cannot be reached included: those wrappers say nothing about a
 * revert. Only the node's answer does (ExecutionRevertedError, revert data, "revert" in its
 * message); anything else is thrown to the settler's loop, which backs off and tries again,
 * instead of leaving fills out of settlement because the RPC was down.
 */
export function revertOf(error: unknown): { data?: Hex; message: string } | undefined {
  if (!(error instanceof ViemBaseError)) return undefined;
  let data: Hex | undefined;
  let reverted = false;
  error.walk((e) => {
    const name = (e as { name?: string }).name;
    if (name === "ExecutionRevertedError" || name === "ContractFunctionRevertedError") reverted = true;
    const d = (e as { data?: unknown }).data;
    if (typeof d === "string" && d.startsWith("0x") && d.length >= 10) data = d as Hex;
    else if (d !== null && typeof d === "object" && typeof (d as { data?: unknown }).data === "string") data = (d as { data: Hex }).data;
    return false;
  });
  const message = error.shortMessage || error.message;
  if (!reverted && data === undefined && !/revert/i.test(message)) return undefined;
  return { data, message: message.split("\n")[0] };
}

/** "gas required exceeds allowance", "out of gas": the estimate hit its cap. */
function isOutOfGas(error: unknown): boolean {
  return error instanceof ViemBaseError && /out of gas|gas required exceeds/i.test(`${error.shortMessage} ${error.details ?? ""}`);
}
