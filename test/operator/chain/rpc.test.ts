/**
 * The budgeted, retried, breaker-guarded chain RPC (operator/chain/rpc.ts) against a real anvil,
 * with a TCP proxy in front of it to take the RPC away and bring it back.
 */
import { expect } from "chai";
import { HttpRequestError, parseEther, RpcRequestError, TimeoutError, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { settlementAbi } from "../../../operator/chain/abi";
import { createChainRpc, type ChainRpc, type ChainRpcParams } from "../../../operator/chain/rpc";
import { chainErrorOf, isNodeFailure } from "../../../operator/chain/rpcErrors";
import { createLogger } from "../../../operator/log";
import { createRegistry, type Registry } from "../../../operator/metrics";
import { startAnvil, TEST_KEYS, type AnvilNode } from "../../../scripts/lib/anvil";
import { deployLocal, type LocalDeployment } from "../../../scripts/lib/localChain";
import { startTcpProxy, type TcpProxy } from "../../../scripts/lib/tcpProxy";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function metricValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const match = metric?.values.find((v) => Object.entries(labels).every(([k, value]) => String((v.labels as Record<string, unknown>)[k]) === value));
  return match?.value ?? 0;
}

describe("operator/chain rpc: the budgeted chain client", function () {
  this.timeout(90_000);
  let node: AnvilNode;
  let d: LocalDeployment;
  let proxy: TcpProxy;
  const open: ChainRpc[] = [];
  let logs: { msg: string; level: string; at?: string; chainId?: number }[];
  let registry: Registry;

  const logger = () => createLogger({ level: "debug", destination: { write: (line: string) => void logs.push(JSON.parse(line)) } });
  const rpcOf = (overrides: Partial<ChainRpcParams> = {}): ChainRpc => {
    const rpc = createChainRpc(
      { logger: logger(), metrics: registry },
      { chainId: node.chainId, name: "local", rpcUrl: node.url, requestsPerMinute: 60_000, timeoutMs: 2_000, ...overrides },
    );
    open.push(rpc);
    return rpc;
  };

  before(async function () {
    node = await startAnvil({ blockTime: 0 });
    d = await deployLocal(node.url);
    proxy = await startTcpProxy(node.port);
  });
  after(async function () {
    await proxy?.close();
    await node?.stop();
  });
  beforeEach(function () {
    logs = [];
    registry = createRegistry();
  });
  afterEach(async function () {
    proxy.restore();
    await Promise.all(open.splice(0).map((rpc) => rpc.close()));
  });

  it("serves reads through the budget and counts them", async function () {
    const rpc = rpcOf({ requestsPerMinute: 100 });
    expect(await rpc.client.getChainId()).to.equal(node.chainId);
    expect(await rpc.client.getBlockNumber()).to.be.a("bigint");
    const fee = await rpc.client.readContract({ address: d.settlementAddress, abi: settlementAbi, functionName: "feeRecipient" });
    expect(fee.toLowerCase()).to.equal(d.feeRecipient);
    const status = await rpc.status();
    expect(status).to.include({ chainId: node.chainId, breaker: "closed", requests: 3, failures: 0, retries: 0, consecutiveFailures: 0, budget: 97, queued: 0 });
    expect(await metricValue(registry, "hyperindex_rpc_requests_total", { chain: String(node.chainId), method: "eth_call", result: "ok" })).to.equal(1);
    expect(await metricValue(registry, "hyperindex_rpc_breaker_open", { chain: String(node.chainId) })).to.equal(0);
  });

  it("spreads a burst over the minute's budget: at 600 a minute, ten requests leave about 100 ms apart, in order", async function () {
    const rpc = rpcOf({ requestsPerMinute: 600, maxConcurrent: 10 });
    const started = Date.now();
    const done: number[] = [];
    // Raw requests: viem's getBlockNumber would share one request among concurrent callers.
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        rpc.client.request({ method: "eth_blockNumber" }).then(() => {
          done.push(i);
        }),
      ),
    );
    const elapsed = Date.now() - started;
    // Nine gaps of 100 ms at least between the first and the last start (a burst would take a few ms).
    expect(elapsed).to.be.at.least(850);
    expect(done).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect((await rpc.status()).budget).to.equal(590);
  });

  it("holds a request beyond the minute's budget in the queue instead of sending it", async function () {
    // 2 a minute: the first request leaves at once, the second only 30 s later (its slot:
    // spent from the budget, not sent yet).
    const rpc = rpcOf({ requestsPerMinute: 2 });
    await rpc.client.getBlockNumber();
    let second = false;
    const pending = rpc.client.getBlockNumber().then(
      () => (second = true),
      (error: unknown) => error,
    );
    await sleep(500);
    expect(second).to.equal(false);
    const status = await rpc.status();
    expect(status).to.include({ requests: 1, budget: 0, queued: 1 });
    await rpc.close(); // drops the waiting request: it fails at once, unsent and not retried
    const dropped = await pending;
    expect(second).to.equal(false);
    expect(chainErrorOf(dropped)?.code).to.equal("CHAIN_UNAVAILABLE");
    expect((await rpc.status()).requests).to.equal(1);
  });

  it("retries a cut RPC, opens the breaker (failing fast with CHAIN_UNAVAILABLE), half-opens after resetMs and closes once the RPC answers", async function () {
    const rpc = rpcOf({ rpcUrl: proxy.url, retry: { attempts: 3, initialMs: 20, maxMs: 40 }, breaker: { failureThreshold: 3, resetMs: 700 } });
    const chain = String(node.chainId);
    expect(await rpc.client.getBlockNumber()).to.be.a("bigint");
    proxy.cut();

    // Three attempts (two retries), three failures in a row: the breaker opens.
    const first = await rpc.client.getBlockNumber().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(first, "the outage surfaces").to.be.instanceOf(Error);
    let status = await rpc.status();
    expect(status).to.include({ breaker: "open", requests: 4, failures: 3, retries: 2, consecutiveFailures: 3 });
    expect(status.lastError).to.match(/^eth_blockNumber: HttpRequestError/);
    expect(logs.filter((l) => l.at === "rpc").map((l) => l.msg)).to.include.members([
      "retrying eth_blockNumber in up to 20 ms (attempt 2/3)",
      "retrying eth_blockNumber in up to 40 ms (attempt 3/3)",
    ]);
    expect(logs.some((l) => l.level === "error" && /circuit breaker open after 3 failures in a row/.test(l.msg))).to.equal(true);
    expect(await metricValue(registry, "hyperindex_rpc_breaker_open", { chain })).to.equal(1);
    expect(await metricValue(registry, "hyperindex_rpc_retries_total", { chain, method: "eth_blockNumber" })).to.equal(2);

    // Open: fails at once, without a request and without retries.
    const t0 = Date.now();
    const fast = await rpc.client.getBlockNumber().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(Date.now() - t0).to.be.below(100);
    expect(chainErrorOf(fast)?.code).to.equal("CHAIN_UNAVAILABLE");
    status = await rpc.status();
    expect(status).to.include({ requests: 4, retries: 2 });
    expect(await metricValue(registry, "hyperindex_rpc_requests_total", { chain, method: "eth_blockNumber", result: "rejected" })).to.equal(1);

    // Back, and resetMs later half-open: the next request probes, succeeds, and closes it.
    proxy.restore();
    await sleep(800);
    expect((await rpc.status()).breaker).to.equal("half-open");
    expect(await metricValue(registry, "hyperindex_rpc_breaker_open", { chain })).to.equal(0.5);
    expect(await rpc.client.getBlockNumber()).to.be.a("bigint");
    status = await rpc.status();
    expect(status).to.include({ breaker: "closed", consecutiveFailures: 0, requests: 5 });
    expect(await metricValue(registry, "hyperindex_rpc_breaker_open", { chain })).to.equal(0);
    expect(logs.some((l) => /recovered: circuit breaker closed/.test(l.msg))).to.equal(true);
  });

  it("opens again when the half-open probe fails", async function () {
    const rpc = rpcOf({ rpcUrl: proxy.url, retry: { attempts: 2, initialMs: 10, maxMs: 10 }, breaker: { failureThreshold: 2, resetMs: 300 } });
    proxy.cut();
    await rpc.client.getBlockNumber().catch(() => undefined);
    expect((await rpc.status()).breaker).to.equal("open");
    await sleep(400);
    expect((await rpc.status()).breaker).to.equal("half-open");
    await rpc.client.getBlockNumber().catch(() => undefined);
    const status = await rpc.status();
    // The probe was one attempt: a failure while half-open reopens at once, and the retry meets an open breaker.
    expect(status).to.include({ breaker: "open", requests: 3, failures: 3 });
  });

  it("keeps an API key in the RPC URL out of its errors, status and logs", async function () {
    const key = "k3y0123456789abcdefXYZ";
    const rpc = rpcOf({ rpcUrl: `${proxy.url}/v2/${key}?apikey=${key}`, retry: { attempts: 2, initialMs: 10, maxMs: 10 } });
    proxy.cut();
    const error = await rpc.client.getBlockNumber().then(
      () => undefined,
      (e: unknown) => e as Error & { url?: string },
    );
    expect(error?.message).to.include("redacted");
    const everything = JSON.stringify({ message: error?.message, stack: error?.stack, url: error?.url, status: await rpc.status(), logs });
    expect(everything).to.not.include(key);
  });

  it("does not retry a revert: an eth_call to a reverting view is sent once, and the breaker counts it as an answer", async function () {
    const rpc = rpcOf({ breaker: { failureThreshold: 1, resetMs: 60_000 } });
    const error = await rpc.client
      .readContract({ address: d.settlementAddress, abi: settlementAbi, functionName: "balancesOf", args: [[d.feeRecipient], []] })
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    expect(error?.name).to.equal("ContractFunctionExecutionError");
    expect(error?.message).to.match(/revert/i);
    const status = await rpc.status();
    expect(status).to.include({ breaker: "closed", requests: 1, failures: 0, retries: 0 });
    expect(await metricValue(registry, "hyperindex_rpc_requests_total", { chain: String(node.chainId), method: "eth_call", result: "answer" })).to.equal(1);
  });

  it("carries eth_sendRawTransaction, and surfaces the node's refusal of a resent transaction instead of retrying it", async function () {
    const rpc = rpcOf();
    const account = privateKeyToAccount(TEST_KEYS[4] as Hex);
    const nonce = await rpc.client.getTransactionCount({ address: account.address });
    const fees = await rpc.client.estimateFeesPerGas();
    const raw = await account.signTransaction({
      chainId: node.chainId,
      type: "eip1559",
      to: account.address,
      value: parseEther("0.001"),
      nonce,
      gas: 21_000n,
      maxFeePerGas: fees.maxFeePerGas * 2n,
      maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
    });
    const hash = await rpc.client.sendRawTransaction({ serializedTransaction: raw });
    expect((await rpc.client.waitForTransactionReceipt({ hash, pollingInterval: 50 })).status).to.equal("success");
    const before = await rpc.status();
    const again = await rpc.client.sendRawTransaction({ serializedTransaction: raw }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(again?.message).to.match(/nonce too low|already known|already imported/i);
    const after = await rpc.status();
    expect(after.requests - before.requests).to.equal(1);
    expect(after.retries).to.equal(before.retries);
  });
});

describe("operator/chain rpcErrors: which failures are the node's and which are its answers", function () {
  const body = { method: "x", params: [] };
  const rpcError = (code: number, message: string) => new RpcRequestError({ body, error: { code, message }, url: "http://node" });

  it("retries what never got an answer: network errors, timeouts, HTTP 429 and 5xx", function () {
    expect(isNodeFailure("eth_getLogs", new HttpRequestError({ url: "http://node", details: "fetch failed" }))).to.equal(true);
    expect(isNodeFailure("eth_getLogs", new TimeoutError({ body, url: "http://node" }))).to.equal(true);
    for (const status of [429, 500, 502, 503, 504]) expect(isNodeFailure("eth_getLogs", new HttpRequestError({ url: "http://node", status })), `HTTP ${status}`).to.equal(true);
    expect(isNodeFailure("eth_getLogs", new HttpRequestError({ url: "http://node", status: 400 }))).to.equal(false);
  });

  it("retries JSON-RPC rate limits and internal errors, but not reverts, bad params or pool refusals", function () {
    expect(isNodeFailure("eth_getLogs", rpcError(-32005, "limit exceeded"))).to.equal(true);
    expect(isNodeFailure("eth_getLogs", rpcError(-32000, "rate limited, try again later"))).to.equal(true);
    expect(isNodeFailure("eth_blockNumber", rpcError(-32603, "internal error"))).to.equal(true);
    expect(isNodeFailure("eth_call", rpcError(3, "execution reverted"))).to.equal(false);
    expect(isNodeFailure("eth_call", rpcError(-32603, "execution reverted: custom error"))).to.equal(false);
    expect(isNodeFailure("eth_getLogs", rpcError(-32602, "invalid params"))).to.equal(false);
  });

  it("retries eth_sendRawTransaction only without an answer: 'already known', 'nonce too low' and even -32603 go back to the caller", function () {
    const send = "eth_sendRawTransaction";
    expect(isNodeFailure(send, new TimeoutError({ body, url: "http://node" }))).to.equal(true);
    expect(isNodeFailure(send, new HttpRequestError({ url: "http://node", status: 503 }))).to.equal(true);
    expect(isNodeFailure(send, rpcError(-32005, "limit exceeded"))).to.equal(true);
    expect(isNodeFailure(send, rpcError(-32000, "already known"))).to.equal(false);
    expect(isNodeFailure(send, rpcError(-32603, "already known"))).to.equal(false);
    expect(isNodeFailure(send, rpcError(-32000, "nonce too low: next nonce 7, tx nonce 6"))).to.equal(false);
    expect(isNodeFailure(send, rpcError(-32603, "txpool is full"))).to.equal(false);
  });
});
