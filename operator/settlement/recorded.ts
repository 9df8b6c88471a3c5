/**
 * Orders the chain has recorded (a confirmed Filled event named them), so that later batches
 * send them without a signature (the contract checks an order's signature only the first time
 * it settles: ISettlement.settleBatch). In memory, bounded (least recently used out): after a
 * restart, or once forgotten, an order simply goes with its signature again.
 */
import type { Hex } from "../orders";

export class RecordedOrders {
  private readonly set = new Map<Hex, true>();

  constructor(private readonly capacity: number) {}

  has(orderHash: Hex): boolean {
    return this.set.has(orderHash);
  }

  add(orderHash: Hex): void {
    this.set.delete(orderHash);
    this.set.set(orderHash, true);
    if (this.set.size > this.capacity) {
      const oldest = this.set.keys().next().value as Hex;
      this.set.delete(oldest);
    }
  }

  get size(): number {
    return this.set.size;
  }
}
