/**
 * How many fills go into a batch: a gas model measured on the chain itself.
 *
 * A batch costs a fixed part (the transaction, the batch's bookkeeping) plus about the same
 * per fill, though the per-fill part varies with the mix (orders new to the contract store
 * their state, orders already on chain do not; a trader's first trade warms its balances).
 * The model keeps a moving average of the per-fill gas the node reports, by simulation
 * (eth_estimateGas) and by receipts, and sizes the next batch from it; the simulation of the
 * batch itself then has the last word (./settler.ts shrinks a batch the node says is too big).
 *
 * The starting figure is bench:gas's per-fill gas of a 100-fill batch of new orders from
 * traders that traded before (28,906 gas), rounded up: the first batches are sized a little
 * small rather than too big.
 *
 * An EIP-1271 wallet order not filled on chain yet may make its batch spend up to the
 * contract's ERC1271_BATCH_GAS_BUDGET (500,000) more than the simulation saw (a wallet can
 * change its behaviour between simulation and execution), plus about 3,000 per wallet order
 * for the call itself: the gas limit keeps that headroom (ISettlement.settleBatch).
 */
export const BATCH_OVERHEAD_GAS = 60_000;
export const INITIAL_GAS_PER_FILL = 30_000;
export const ERC1271_BATCH_GAS_BUDGET = 500_000n;
export const ERC1271_CALL_OVERHEAD_GAS = 3_000n;
/**
 * The gas limit over the simulated gas: state can move a little between simulation and
 * inclusion (a fill skipped costs less, not more; a balance another transaction touched first
 * costs a little less). A block holds one batch, so every point of margin is a point of
 * throughput lost: bench:settlement measured gas used equal to the simulation (mean ratio 1.000).
 */
export const GAS_LIMIT_MARGIN_BPS = 100n;
export const GAS_LIMIT_MARGIN_FIXED = 10_000n;
/** Calldata above this is refused by common mempools (128 KiB transactions): batches stay under it. */
export const MAX_CALLDATA_BYTES = 120_000;

export interface GasModel {
  /** Per-fill gas, moving average of what the node measured. */
  perFill: number;
  /** Fills that fit `budget` gas by the model. */
  fillsFor(budget: number): number;
  /** Learns from a measurement (simulation or receipt) of a batch of `fills` fills. */
  observe(gas: bigint, fills: number): void;
  /** The gas limit a batch simulated at `estimate` with `walletOrders` new wallet orders should get (uncapped). */
  required(estimate: bigint, walletOrders: number): bigint;
  /** `required`, capped at `budget`. */
  gasLimit(estimate: bigint, walletOrders: number, budget: bigint): bigint;
}

export function createGasModel(initialPerFill = INITIAL_GAS_PER_FILL): GasModel {
  let perFill = initialPerFill;
  return {
    get perFill() {
      return perFill;
    },
    fillsFor(budget) {
      // What the simulation may come to, once the gas limit's margins are added, is the budget.
      const simulated = (budget - Number(GAS_LIMIT_MARGIN_FIXED)) / (1 + Number(GAS_LIMIT_MARGIN_BPS) / 10_000);
      // 2% under the average: the per-fill cost varies with the mix, and a batch the simulation
      // finds too big costs another simulation.
      return Math.max(1, Math.floor((simulated - BATCH_OVERHEAD_GAS) / (perFill * 1.02)));
    },
    observe(gas, fills) {
      if (fills <= 0) return;
      // One odd batch (a mix of new traders, a big maker's first fill) moves the average by 10% at most.
      const measured = Math.min(perFill * 1.1, Math.max(perFill * 0.9, Math.max(1_000, (Number(gas) - BATCH_OVERHEAD_GAS) / fills)));
      // Small batches say little about the per-fill cost (the overhead dominates): weigh by size.
      const weight = Math.min(0.5, fills / 100);
      perFill = perFill * (1 - weight) + measured * weight;
    },
    required: requiredGas,
    gasLimit(estimate, walletOrders, budget) {
      const limit = requiredGas(estimate, walletOrders);
      return limit < budget ? limit : budget;
    },
  };
}

export function walletHeadroom(walletOrders: number): bigint {
  return walletOrders > 0 ? ERC1271_BATCH_GAS_BUDGET + ERC1271_CALL_OVERHEAD_GAS * BigInt(walletOrders) : 0n;
}

function requiredGas(estimate: bigint, walletOrders: number): bigint {
  return estimate + (estimate * GAS_LIMIT_MARGIN_BPS) / 10_000n + GAS_LIMIT_MARGIN_FIXED + walletHeadroom(walletOrders);
}
