/**
 * Chains: the viem client and contract bindings of every configured chain, built in one place
 * (./clients.ts), and the contracts' ABI fragments the operator calls (./abi.ts).
 */
export { createChainClients, checkChain, type ChainClient, type ChainInfo } from "./clients";
export { settlementAbi, commitmentAbi } from "./abi";
export { ChainError, type ChainErrorCode } from "./errors";
