import { expect } from "chai";
import type { AddressInfo } from "node:net";
import { closeApi, WS_CLOSE } from "../../../operator/api";
import { placeOrders } from "../../../operator/matching";
import type { WireSubscribeAuth } from "../../../operator/orders";
import { request as engineRequest } from "../matching/fixtures";
import {
  ALICE,
  BOB,
  CAROL,
  DOMAIN,
  ETH_USDC,
  cancelBody,
  get,
  makeCancel,
  place,
  post,
  reset,
  signedBody,
  subscribeAuth,
  teardown,
  useApiSuite,
  type StartOptions,
} from "./fixture";
import { TestClient, sleep, type Message } from "./wsClient";

const TICK = ETH_USDC.tickSize;
const LOT = ETH_USDC.lotSize;
const level = (ticks: number, lots: number) => ({ price: (BigInt(ticks) * TICK).toString(), amount: (BigInt(lots) * LOT).toString() });

describe("operator/api WebSocket /v1/ws", function () {
  const h = useApiSuite();
  const clients: TestClient[] = [];
  let url: string;

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await teardown(h);
  });

  async function start(options: StartOptions = {}): Promise<void> {
    await reset(h, options);
    await h.app.listen({ host: "127.0.0.1", port: 0 });
    url = `ws://127.0.0.1:${(h.app.server.address() as AddressInfo).port}/v1/ws`;
  }

  async function connect(): Promise<TestClient> {
    const c = await TestClient.connect(url);
    clients.push(c);
    return c;
  }

  async function subscribe(c: TestClient, channel: string, auth?: WireSubscribeAuth): Promise<Message> {
    const ack = await c.request({ op: "subscribe", channel, ...(auth === undefined ? {} : { auth }) }, `sub:${channel}`);
    expect(ack.type, JSON.stringify(ack)).to.equal("subscribed");
    return ack;
  }

  /** No two messages of a channel in the same tick. */
  function expectOnePerTick(messages: Message[]): void {
    const ticks = messages.map((m) => m.tick);
    expect(new Set(ticks).size, `ticks ${ticks.join(",")}`).to.equal(ticks.length);
  }

  it("streams book snapshots (at most one per tick, only on change) and the trades of crossing orders", async () => {
    await start();
    const c = await connect();
    expect((await subscribe(c, "book:weth-usdc")).channel).to.equal("book:WETH-USDC");
    expect((await subscribe(c, "trades:1")).channel).to.equal("trades:WETH-USDC");
    const first = await c.waitFor((m) => m.type === "book");
    expect(first).to.deep.include({ channel: "book:WETH-USDC", market: 1, symbol: "WETH-USDC", bids: [], asks: [] });

    const ask1 = await place(h, ALICE, { isBuy: false, ticks: 101_000, lots: 3 });
    const ask2 = await place(h, ALICE, { isBuy: false, ticks: 102_000, lots: 2 });
    // A burst in one request: several book changes, still at most one message per tick.
    const burst = await post(h, "/v1/orders", { orders: [90_000, 90_001, 90_002].map((t) => signedBody(h, BOB, { isBuy: true, ticks: t, lots: 1 })) });
    expect(burst.statusCode).to.equal(200);
    const taker = await place(h, BOB, { isBuy: true, ticks: 102_000, lots: 4 });
    expect(taker.fills).to.have.length(2);

    const final = { bids: [level(90_002, 1), level(90_001, 1), level(90_000, 1)], asks: [level(102_000, 1)] };
    await c.waitFor((m) => m.type === "book" && JSON.stringify([m.bids, m.asks]) === JSON.stringify([final.bids, final.asks]));
    const rest = await get(h, "/v1/book/1?depth=20");
    expect({ bids: rest.json().bids, asks: rest.json().asks }).to.deep.equal(final);

    const trades = await c.waitFor((m) => m.type === "trades");
    expect(trades).to.deep.include({ channel: "trades:WETH-USDC", market: 1, symbol: "WETH-USDC" });
    expect(trades.trades.map((t: any) => [t.price, t.amount, t.takerIsBuy, t.maker, t.taker, t.makerHash, t.takerHash])).to.deep.equal([
      [level(101_000, 3).price, level(101_000, 3).amount, true, ALICE.address, BOB.address, ask1.orderHash, taker.orderHash],
      [level(102_000, 1).price, level(102_000, 1).amount, true, ALICE.address, BOB.address, ask2.orderHash, taker.orderHash],
    ]);
    expect(trades.trades[0].fillId).to.equal(taker.fills[0].fillId);
    expect(trades.trades[0].quoteAmount).to.equal((3n * 101_000n * ETH_USDC.quotePerLotTick).toString());

    // Nothing changes for several ticks: no new book message.
    const seen = c.of("book").length;
    await sleep(300);
    expect(c.of("book").length).to.equal(seen);
    expectOnePerTick(c.of("book", "book:WETH-USDC"));
    expectOnePerTick(c.of("trades", "trades:WETH-USDC"));
    expect(c.of("book").length).to.be.lessThan(8);
    const metrics = (await get(h, "/metrics")).body;
    expect(metrics).to.include("hyperindex_api_ws_connections 1");
    expect(metrics).to.match(/hyperindex_api_ws_messages_total\{type="book"\} \d+/);
  });

  it("gives fills one shape over HTTP and WebSocket, fees and time included; a trader's fill updates say the fee it paid", async () => {
    await start();
    const watcher = await connect();
    const alice = await connect();
    const bob = await connect();
    await subscribe(watcher, "trades:1");
    await subscribe(alice, `orders:${ALICE.address}`, subscribeAuth(h, ALICE));
    await subscribe(bob, `orders:${BOB.address}`, subscribeAuth(h, BOB));

    const ask = await place(h, ALICE, { isBuy: false, ticks: 101_000, lots: 3 });
    const taker = await place(h, BOB, { isBuy: true, ticks: 101_000, lots: 2 });
    const [fill] = taker.fills;
    const FIELDS = ["fillId", "market", "makerHash", "takerHash", "maker", "taker", "takerIsBuy", "price", "amount", "quoteAmount", "makerFeeBps", "takerFeeBps", "makerFee", "takerFee", "ts"];
    expect(Object.keys(fill).sort()).to.deep.equal([...FIELDS].sort());
    // Bob buys 2 lots at 101,000 ticks: Alice (maker, seller) pays 10 bps of the quote, Bob (taker, buyer) 30 bps of the base.
    const quote = 2n * 101_000n * ETH_USDC.quotePerLotTick;
    expect(fill).to.deep.include({
      makerHash: ask.orderHash,
      takerHash: taker.orderHash,
      takerIsBuy: true,
      quoteAmount: quote.toString(),
      makerFeeBps: 10,
      takerFeeBps: 30,
      makerFee: ((quote * 10n) / 10_000n).toString(),
      takerFee: ((2n * LOT * 30n) / 10_000n).toString(),
      ts: h.clock.now(),
    });

    const trades = await watcher.waitFor((m) => m.type === "trades");
    expect(trades.trades).to.deep.equal([fill]);

    const fillOf = async (c: TestClient) => (await c.waitFor((m) => m.type === "orders" && m.updates.some((u: any) => u.event === "fill"))).updates.find((u: any) => u.event === "fill");
    expect(await fillOf(alice)).to.deep.include({ role: "maker", side: "sell", fillId: fill.fillId, quoteAmount: fill.quoteAmount, fee: fill.makerFee, feeBps: 10, feeToken: ETH_USDC.quoteToken, ts: fill.ts });
    expect(await fillOf(bob)).to.deep.include({ role: "taker", side: "buy", fillId: fill.fillId, quoteAmount: fill.quoteAmount, fee: fill.takerFee, feeBps: 30, feeToken: ETH_USDC.baseToken, ts: fill.ts });
  });

  it("sends a trader its order updates: accepted, partially filled, filled, cancelled", async () => {
    await start();
    const alice = await connect();
    const bob = await connect();
    const checksummed = ALICE.address.toUpperCase().replace("0X", "0x");
    expect((await subscribe(alice, `orders:${checksummed}`, subscribeAuth(h, ALICE))).channel).to.equal(`orders:${ALICE.address}`);
    await subscribe(bob, `orders:${BOB.address}`, subscribeAuth(h, BOB));

    const ask = await place(h, ALICE, { isBuy: false, ticks: 101_000, lots: 3 });
    const accepted = await alice.waitFor((m) => m.type === "orders" && m.updates.some((u: any) => u.event === "accepted"));
    expect(accepted.updates[0]).to.deep.include({ event: "accepted", orderHash: ask.orderHash, market: 1, symbol: "WETH-USDC", side: "sell", price: level(101_000, 3).price, amount: level(101_000, 3).amount, state: "open", seq: ask.seq });

    const bid = await place(h, BOB, { isBuy: true, ticks: 101_000, lots: 1 });
    const fill = await alice.waitFor((m) => m.type === "orders" && m.updates.some((u: any) => u.event === "fill"));
    expect(fill.updates.find((u: any) => u.event === "fill")).to.deep.include({
      orderHash: ask.orderHash,
      role: "maker",
      status: "partially_filled",
      side: "sell",
      fillId: bid.fills[0].fillId,
      amount: (1n * LOT).toString(),
      remainingAmount: (2n * LOT).toString(),
      state: "open",
    });
    const bobs = await bob.waitFor((m) => m.type === "orders" && m.updates.some((u: any) => u.event === "fill"));
    expect(bobs.updates.map((u: any) => [u.event, u.orderHash])).to.deep.equal([
      ["accepted", bid.orderHash],
      ["fill", bid.orderHash],
    ]);
    expect(bobs.updates[1]).to.deep.include({ role: "taker", status: "filled", side: "buy", state: "filled", remainingAmount: "0" });

    expect((await post(h, "/v1/cancel", cancelBody(makeCancel(h, ALICE, { orderHashes: [ask.orderHash] }), ALICE))).statusCode).to.equal(200);
    const cancelled = await alice.waitFor((m) => m.type === "orders" && m.updates.some((u: any) => u.event === "cancelled"));
    expect(cancelled.updates[0]).to.deep.include({ event: "cancelled", orderHash: ask.orderHash, reason: "CANCELLED", remainingAmount: (2n * LOT).toString(), state: "cancelled" });
    // Bob's channel never carried Alice's orders, nor the reverse.
    expect(bob.of("orders").flatMap((m) => m.updates).every((u: any) => u.orderHash === bid.orderHash)).to.equal(true);
    expect(alice.of("orders").flatMap((m) => m.updates).every((u: any) => u.orderHash === ask.orderHash)).to.equal(true);
  });

  /** The code of the error answering `message` (sent with `id`). */
  async function errorOf(c: TestClient, message: Record<string, unknown>, id: number): Promise<Message> {
    const reply = await c.request(message, id);
    expect(reply.type, JSON.stringify(reply)).to.equal("error");
    return reply.error;
  }

  it("refuses a stranger the orders of another trader: without proof, with its own signature, or one made for another domain, and keeps the connection open", async () => {
    await start();
    const stranger = await connect();
    const channel = `orders:${ALICE.address}`;
    expect((await errorOf(stranger, { op: "subscribe", channel }, 1)).code).to.equal("WS_AUTH_REQUIRED");
    const forged = subscribeAuth(h, ALICE, { signer: CAROL });
    expect(await errorOf(stranger, { op: "subscribe", channel, auth: forged }, 2)).to.deep.include({ code: "WS_AUTH_INVALID", details: { channel, reason: "SIGNER_MISMATCH" } });
    // Alice's own signature, for a Settlement this operator does not serve, named or not.
    const foreign = { chainId: DOMAIN.chainId, verifyingContract: "0x00000000000000000000000000000000000000ff" as const };
    expect((await errorOf(stranger, { op: "subscribe", channel, auth: subscribeAuth(h, ALICE, { domain: foreign }) }, 3)).code).to.equal("WS_AUTH_INVALID");
    expect((await errorOf(stranger, { op: "subscribe", channel, auth: subscribeAuth(h, ALICE, { domain: foreign, nameDomain: false }) }, 4)).code).to.equal("WS_AUTH_INVALID");
    // A valid signature for Bob's channel does not open Alice's.
    const bobs = subscribeAuth(h, BOB);
    expect((await errorOf(stranger, { op: "subscribe", channel, auth: bobs }, 5)).code).to.equal("WS_AUTH_INVALID");
    // Malformed auth, or auth on a public channel: WS_BAD_MESSAGE.
    expect((await errorOf(stranger, { op: "subscribe", channel, auth: { ...forged, signature: "0x12z" } }, 6)).code).to.equal("WS_BAD_MESSAGE");
    expect((await errorOf(stranger, { op: "subscribe", channel, auth: { ...forged, extra: 1 } }, 7)).code).to.equal("WS_BAD_MESSAGE");
    expect((await errorOf(stranger, { op: "subscribe", channel: "book:1", auth: forged }, 8)).code).to.equal("WS_BAD_MESSAGE");

    // The connection is still open, subscribed to nothing of Alice's: her order reaches her, not the stranger.
    const alice = await connect();
    await subscribe(alice, channel, subscribeAuth(h, ALICE, { nameDomain: false }));
    expect((await stranger.request({ op: "ping" }, 9)).type).to.equal("pong");
    const ask = await place(h, ALICE, { isBuy: false, ticks: 101_000, lots: 1 });
    await alice.waitFor((m) => m.type === "orders" && m.updates.some((u: any) => u.orderHash === ask.orderHash));
    await sleep(200);
    expect(stranger.of("orders")).to.deep.equal([]);
  });

  it("refuses an expired subscription signature, also one replayed after it served, and one beyond the 10-minute horizon", async () => {
    await start();
    const first = await connect();
    const channel = `orders:${ALICE.address}`;
    const auth = subscribeAuth(h, ALICE, { ttl: 60 });
    await subscribe(first, channel, auth);
    h.clock.advance(60_000);
    const replay = await connect();
    expect(await errorOf(replay, { op: "subscribe", channel, auth }, 1)).to.deep.include({ code: "WS_AUTH_EXPIRED" });
    expect((await errorOf(replay, { op: "subscribe", channel, auth: subscribeAuth(h, ALICE, { ttl: 601 }) }, 2)).code).to.equal("WS_AUTH_EXPIRY_TOO_FAR");
    expect((await replay.request({ op: "subscribe", channel, auth: subscribeAuth(h, ALICE, { ttl: 600 }) }, 3)).type).to.equal("subscribed");
  });

  it("answers bad messages with clear error codes and keeps the connection open", async () => {
    await start({ api: { wsMaxSubscriptions: 2 } });
    const c = await connect();
    const errorOf = async (message: unknown, id: number): Promise<string> => {
      c.send(typeof message === "string" ? message : { ...(message as object), id });
      const reply = await c.waitFor((m) => m.type === "error" && (m.id === id || typeof message === "string"), 2_000, c.messages.length);
      return reply.error.code;
    };
    expect(await errorOf("not json", 1)).to.equal("WS_BAD_JSON");
    expect(await errorOf({ op: "subscribe" }, 2)).to.equal("WS_BAD_MESSAGE");
    expect(await errorOf({ op: "listen", channel: "book:1" }, 3)).to.equal("WS_UNKNOWN_OP");
    expect(await errorOf({ op: "subscribe", channel: "candles:1" }, 4)).to.equal("WS_UNKNOWN_CHANNEL");
    expect(await errorOf({ op: "subscribe", channel: "book:DOGE-USDC" }, 5)).to.equal("MARKET_NOT_FOUND");
    expect(await errorOf({ op: "subscribe", channel: "orders:0x12" }, 6)).to.equal("ADDRESS_INVALID");
    expect(await errorOf({ op: "subscribe", channel: "book:1", extra: true }, 7)).to.equal("WS_BAD_MESSAGE");
    expect(await errorOf({ op: "unsubscribe", channel: "book:1" }, 8)).to.equal("WS_NOT_SUBSCRIBED");
    await subscribe(c, "book:1");
    await subscribe(c, "trades:1");
    expect(await errorOf({ op: "subscribe", channel: "book:2" }, 9)).to.equal("WS_TOO_MANY_SUBSCRIPTIONS");
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect((await c.waitFor((m) => m.type === "error" && m.error.code === "WS_BAD_MESSAGE" && m.id === undefined)).error.message).to.match(/binary/);
    expect((await c.request({ op: "unsubscribe", channel: "trades:WETH-USDC" }, 10)).type).to.equal("unsubscribed");
    expect((await c.request({ op: "ping" }, 11)).type).to.equal("pong");

    const plain = await get(h, "/v1/ws");
    expect([plain.statusCode, plain.json().error.code]).to.deep.equal([426, "UPGRADE_REQUIRED"]);

    c.send("x".repeat(5_000)); // above wsMaxMessageBytes
    expect((await c.closed).code).to.equal(WS_CLOSE.MESSAGE_TOO_BIG);
  });

  it("disconnects a slow consumer with 4001 once its unsent data passes the bound, and keeps serving the others", async () => {
    await start({ api: { wsTickMs: 5, wsBookDepth: 1000, wsMaxBufferedBytes: 256 * 1024, wsCloseGraceMs: 30_000 } });
    // A deep book: each snapshot is ~50 kB.
    await placeOrders(h.engine, Array.from({ length: 1000 }, (_, i) => engineRequest({ trader: ALICE.address, isBuy: true, ticks: 1_000 + i, lots: 1 })));
    const slow = await connect();
    const fast = await connect();
    await subscribe(slow, "book:1");
    await subscribe(fast, "book:1");
    await slow.waitFor((m) => m.type === "book");
    (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();

    const dropped = async (): Promise<boolean> => /hyperindex_api_ws_slow_consumer_disconnects_total 1/.test((await get(h, "/metrics")).body);
    let ticks = 2_000;
    const deadline = Date.now() + 60_000;
    while (!(await dropped())) {
      if (Date.now() > deadline) throw new Error("the slow consumer was never disconnected");
      await placeOrders(h.engine, [engineRequest({ trader: ALICE.address, isBuy: true, ticks: ticks++, lots: 1 })]);
      await sleep(6);
    }
    const fastSeen = fast.of("book").length;
    await placeOrders(h.engine, [engineRequest({ trader: ALICE.address, isBuy: true, ticks: ticks++, lots: 1 })]);
    await fast.waitFor(() => fast.of("book").length > fastSeen);

    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await slow.closed).to.deep.equal({ code: WS_CLOSE.SLOW_CONSUMER, reason: "slow consumer" });
    expect(fast.ws.readyState).to.equal(fast.ws.OPEN);
  });

  it("closes every WebSocket with 1001 going away on shutdown", async () => {
    await start();
    const c = await connect();
    await subscribe(c, "book:1");
    await closeApi(h.app);
    expect((await c.closed).code).to.equal(WS_CLOSE.GOING_AWAY);
  });
});
