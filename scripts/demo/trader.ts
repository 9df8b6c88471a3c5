/**
 * A demo trader: holds its key, signs orders and cancels the way a wallet would (EIP-712 in
 * the Settlement domain), and talks to the operator only over its public HTTP API.
 */
import {
  CancelHasher,
  OrderHasher,
  ZERO_ADDRESS,
  encodeSignedCancel,
  encodeSignedOrder,
  privateKeyToAddress,
  signDigest,
  signSubscribe,
  type Address,
  type Hex,
  type Order,
  type OrderDomain,
} from "../../operator/orders";

export interface ApiReply {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  ms: number;
}

export class DemoTrader {
  readonly address: Address;
  private nonce: bigint;
  private readonly orders: OrderHasher;
  private readonly cancels: CancelHasher;

  constructor(
    readonly name: string,
    private readonly privateKey: Buffer,
    readonly apiUrl: string,
    readonly domain: OrderDomain,
    /** Nonces count up from here (a wallet resuming where it left off). */
    lastNonce = 0n,
  ) {
    this.nonce = lastNonce;
    this.address = privateKeyToAddress(privateKey);
    this.orders = new OrderHasher(domain);
    this.cancels = new CancelHasher(domain);
  }

  get keyHex(): Hex {
    return `0x${this.privateKey.toString("hex")}`;
  }

  order(fields: Pick<Order, "baseToken" | "quoteToken" | "isBuy" | "price" | "amount"> & Partial<Order>): Order {
    this.nonce += 1n;
    return {
      trader: this.address,
      nonce: this.nonce,
      expiry: BigInt(Math.floor(Date.now() / 1000) + 3600),
      maxMakerFeeBps: 10,
      maxTakerFeeBps: 30,
      flags: 0,
      ...fields,
    };
  }

  sign(order: Order): { order: Order; signature: Hex; orderHash: Hex } {
    const digest = this.orders.digest(order);
    return { order, signature: signDigest(this.privateKey, digest), orderHash: `0x${digest.toString("hex")}` };
  }

  /** The signed subscription to this trader's private WebSocket channel, orders:<trader> (10 minutes at most). */
  subscribeAuth(seconds = 300) {
    return signSubscribe(this.privateKey, { domain: this.domain, trader: this.address, expiry: BigInt(Math.floor(Date.now() / 1000) + seconds) });
  }

  /** POST /v1/orders with one order or a batch. */
  async place(orders: Order[]): Promise<ApiReply> {
    const signed = orders.map((o) => encodeSignedOrder(this.sign(o)));
    return post(`${this.apiUrl}/v1/orders`, signed.length === 1 ? signed[0] : { orders: signed });
  }

  /** POST /v1/cancel for some orders, or (orderHashes empty + market tokens) all of a market. */
  async cancel(params: { orderHashes: Hex[] } | { baseToken: Address; quoteToken: Address }): Promise<ApiReply> {
    const all = !("orderHashes" in params);
    const cancel = {
      trader: this.address,
      orderHashes: all ? [] : params.orderHashes,
      baseToken: all ? params.baseToken : ZERO_ADDRESS,
      quoteToken: all ? params.quoteToken : ZERO_ADDRESS,
      all,
      expiry: BigInt(Math.floor(Date.now() / 1000) + 60),
      salt: BigInt(Date.now()) * 1000n + this.nonce,
    };
    const signature = signDigest(this.privateKey, this.cancels.digest(cancel));
    return post(`${this.apiUrl}/v1/cancel`, encodeSignedCancel({ cancel, signature }));
  }
}

export async function post(url: string, body: unknown): Promise<ApiReply> {
  const started = performance.now();
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const json = await response.json();
  return { status: response.status, body: json, ms: performance.now() - started };
}

export async function get(url: string): Promise<ApiReply> {
  const started = performance.now();
  const response = await fetch(url);
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // /metrics is plain text
  }
  return { status: response.status, body, ms: performance.now() - started };
}
