import path from "node:path";
import { subtask, type HardhatUserConfig } from "hardhat/config";
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from "hardhat/builtin-tasks/task-names";
import "@nomicfoundation/hardhat-toolbox";
import "hardhat-deploy";

// The compiler is never downloaded: CI machines reach only the npm registry, so the
// exact `solc` npm package pinned in package.json is the compiler. Keep the two in step.
const SOLC_VERSION = "0.8.28";

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args: { solcVersion: string }, _hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) return runSuper();
  const compilerPath = path.join(path.dirname(require.resolve("solc/package.json")), "soljson.js");
  return { compilerPath, isSolcJs: true, version: args.solcVersion, longVersion: require("solc/package.json").version };
});

// Secrets come from the environment only; nothing here is ever committed with a value.
const deployerKey = process.env.DEPLOYER_PRIVATE_KEY;
const accounts = deployerKey ? [deployerKey] : [];

/** HyperEVM small blocks: 3,000,000 gas each second. */
const HYPEREVM_SMALL_BLOCK_GAS = 3_000_000;
/**
 * HYPEREVM_SMALL_BLOCKS=1 gives the Hardhat network (in-process, or `npx hardhat node` for
 * the hyperevmLocal profile) HyperEVM's small-block gas limit; otherwise the limit is raised so
 * the largest benchmark batch fits (gas used never depends on it).
 */
const smallBlocks = process.env.HYPEREVM_SMALL_BLOCKS === "1";

const config: HardhatUserConfig = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      optimizer: { enabled: true, runs: 10_000 },
      viaIR: true,
      // HyperEVM is Cancun without blobs: transient storage and MCOPY, no Prague opcodes.
      evmVersion: "cancun",
    },
  },
  defaultNetwork: "hardhat",
  networks: {
    hardhat: {
      hardfork: "cancun",
      chainId: 31337,
      blockGasLimit: smallBlocks ? HYPEREVM_SMALL_BLOCK_GAS : 100_000_000,
      allowUnlimitedContractSize: false,
    },
    // A local node mimicking HyperEVM small blocks: `HYPEREVM_SMALL_BLOCKS=1 npx hardhat node`,
    // then `--network hyperevmLocal`. Transactions are capped at one small block.
    hyperevmLocal: {
      url: process.env.HYPEREVM_LOCAL_RPC_URL ?? "http://127.0.0.1:8545",
      chainId: 31337,
      gas: HYPEREVM_SMALL_BLOCK_GAS,
    },
    localhost: {
      url: "http://127.0.0.1:8545",
      chainId: 31337,
    },
    hyperevmTestnet: {
      url: process.env.HYPEREVM_TESTNET_RPC_URL ?? "https://rpc.hyperliquid-testnet.xyz/evm",
      chainId: 998,
      accounts,
    },
    hyperevm: {
      url: process.env.HYPEREVM_RPC_URL ?? "https://rpc.hyperliquid.xyz/evm",
      chainId: 999,
      accounts,
    },
  },
  namedAccounts: {
    deployer: { default: 0 },
    operator: { default: 1, 998: process.env.OPERATOR_ADDRESS ?? 0, 999: process.env.OPERATOR_ADDRESS ?? 0 },
    guardian: { default: 2, 998: process.env.GUARDIAN_ADDRESS ?? 0, 999: process.env.GUARDIAN_ADDRESS ?? 0 },
    feeRecipient: { default: 3, 998: process.env.FEE_RECIPIENT_ADDRESS ?? 0, 999: process.env.FEE_RECIPIENT_ADDRESS ?? 0 },
  },
  paths: {
    sources: "contracts",
    tests: "test",
    deploy: "deploy",
    deployments: "deployments",
  },
  typechain: { outDir: "typechain-types", target: "ethers-v6" },
  gasReporter: { enabled: process.env.REPORT_GAS === "true", currency: "USD" },
  mocha: { timeout: 120_000 },
};

export default config;
