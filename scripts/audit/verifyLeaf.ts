/**
 * A leaf and its proof, judged by the contract itself: OrderbookCommitment.verifyOrder or
 * verifyFill at the pinned block. An epoch not committed yet reverts
 * CommitmentEpochNotCommitted, which becomes EPOCH_NOT_COMMITTED (exit 3), never "false".
 */
import type { CommitmentLeaf } from "../../operator/commitment";
import type { Hex } from "../../operator/orders";
import { latestEpoch, notCommitted, revertOf, type CommitmentContract } from "./chain";

export async function verifyLeafOnChain(c: CommitmentContract, leaf: CommitmentLeaf, proof: readonly Hex[]): Promise<boolean> {
  try {
    if (leaf.type === "orderAccepted") {
      return await c.read<boolean>("verifyOrder", [leaf.epoch, leaf.sequence, leaf.orderHash, leaf.trader, leaf.receivedAt, proof]);
    }
    return await c.read<boolean>("verifyFill", [leaf.epoch, leaf.fillId, leaf.makerHash, leaf.takerHash, leaf.price, leaf.amount, leaf.batchId, proof]);
  } catch (error) {
    if (revertOf(error)?.errorName === "CommitmentEpochNotCommitted") throw notCommitted(c, leaf.epoch, await latestEpoch(c));
    throw error;
  }
}
