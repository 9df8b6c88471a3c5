/**
 * The demo's chain: the in-process Hardhat network (Cancun, chain 31337) served over real
 * JSON-RPC on a free port, so the operator talks to it exactly as it would to a node; the
 * contracts deployed by the project's own deploy scripts; two listed tokens; traders funded
 * with gas, tokens and on-chain vault deposits.
 */
import hre from "hardhat";
import { TASK_NODE_CREATE_SERVER } from "hardhat/builtin-tasks/task-names";
import type { JsonRpcServer } from "hardhat/types";
import type { MockERC20, Settlement } from "../../typechain-types";
import type { Address } from "../../operator/orders";
import { freePort } from "../lib/redisServer";

export interface DemoChain {
  rpcUrl: string;
  chainId: number;
  settlement: Settlement;
  settlementAddress: Address;
  commitmentAddress: Address;
  weth: MockERC20;
  usdc: MockERC20;
  wethAddress: Address;
  usdcAddress: Address;
  /** Private key of the operator account (Hardhat account 1 of the public test mnemonic). */
  operatorKey: string;
  close(): Promise<void>;
}

export async function startChain(): Promise<DemoChain> {
  const port = await freePort();
  const server: JsonRpcServer = await hre.run(TASK_NODE_CREATE_SERVER, { hostname: "127.0.0.1", port, provider: hre.network.provider });
  await server.listen();
  await hre.deployments.fixture(["HyperIndex"]);
  const settlementDeployment = await hre.deployments.get("Settlement");
  const commitmentDeployment = await hre.deployments.get("OrderbookCommitment");
  const settlement = await hre.ethers.getContractAt("Settlement", settlementDeployment.address);
  const tokenFactory = await hre.ethers.getContractFactory("MockERC20");
  const weth = await tokenFactory.deploy("Wrapped Ether", "WETH", 18);
  const usdc = await tokenFactory.deploy("USD Coin", "USDC", 6);
  const wethAddress = (await weth.getAddress()).toLowerCase() as Address;
  const usdcAddress = (await usdc.getAddress()).toLowerCase() as Address;
  await (await settlement.listToken(wethAddress)).wait();
  await (await settlement.listToken(usdcAddress)).wait();
  const accounts = hre.network.config.accounts as { mnemonic: string; path: string };
  const operatorKey = hre.ethers.HDNodeWallet.fromPhrase(accounts.mnemonic, undefined, `${accounts.path}/1`).privateKey;
  return {
    rpcUrl: `http://127.0.0.1:${port}`,
    chainId: Number((await hre.ethers.provider.getNetwork()).chainId),
    settlement,
    settlementAddress: settlementDeployment.address.toLowerCase() as Address,
    commitmentAddress: commitmentDeployment.address.toLowerCase() as Address,
    weth,
    usdc,
    wethAddress,
    usdcAddress,
    operatorKey,
    close: async () => {
      await server.close();
    },
  };
}

export interface OnChainDeposit {
  /** The chain of the Settlement vault that received it. */
  chainId: number;
  trader: Address;
  token: Address;
  amount: bigint;
  /** txHash:logIndex of the Deposited event: the deposit's unique id. */
  depositId: string;
}

/**
 * Gives `trader` gas, mints it `wethAmount` and `usdcAmount`, and has it deposit both into
 * the Settlement vault (approve + deposit, signed by the trader's own key).
 */
export async function fundAndDeposit(chain: DemoChain, privateKey: string, wethAmount: bigint, usdcAmount: bigint): Promise<OnChainDeposit[]> {
  const [funder] = await hre.ethers.getSigners();
  const wallet = new hre.ethers.Wallet(privateKey, hre.ethers.provider);
  await (await funder.sendTransaction({ to: wallet.address, value: hre.ethers.parseEther("1") })).wait();
  const deposits: OnChainDeposit[] = [];
  for (const [token, amount] of [
    [chain.weth, wethAmount],
    [chain.usdc, usdcAmount],
  ] as const) {
    if (amount === 0n) continue;
    const tokenAddress = (await token.getAddress()).toLowerCase() as Address;
    await (await token.mint(wallet.address, amount)).wait();
    await (await token.connect(wallet).approve(chain.settlementAddress, amount)).wait();
    const receipt = await (await chain.settlement.connect(wallet).deposit(tokenAddress, amount)).wait();
    const log = receipt!.logs.find((l) => l.topics[0] === chain.settlement.interface.getEvent("Deposited").topicHash)!;
    const parsed = chain.settlement.interface.parseLog(log)!;
    deposits.push({
      chainId: chain.chainId,
      trader: wallet.address.toLowerCase() as Address,
      token: tokenAddress,
      amount: parsed.args.amount,
      depositId: `${receipt!.hash}:${log.index}`,
    });
  }
  return deposits;
}
