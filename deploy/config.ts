/**
 * Deployment parameters per network. Addresses of the operator, guardian, fee recipient and
 * admin come from the environment on public networks (never committed); local networks use
 * the Hardhat accounts named in hardhat.config.ts. Delays are short locally so tests and the
 * demo can exercise them, and production-grade on HyperEVM.
 */
export interface DeployParams {
  adminTransferDelay: number;
  operatorRotationDelay: number;
  withdrawalDelay: number;
}

const DAY = 86_400;

export function deployParams(networkName: string): DeployParams {
  switch (networkName) {
    case "hyperevm":
      return { adminTransferDelay: 3 * DAY, operatorRotationDelay: 2 * DAY, withdrawalDelay: 1 * DAY };
    case "hyperevmTestnet":
      return { adminTransferDelay: 1 * DAY, operatorRotationDelay: 1 * DAY, withdrawalDelay: 3600 };
    default:
      return { adminTransferDelay: 3600, operatorRotationDelay: 3600, withdrawalDelay: 600 };
  }
}

/** Tokens to list after deployment: HYPERINDEX_LIST_TOKENS="0xabc...,0xdef..." (optional). */
export function tokensToList(env: NodeJS.ProcessEnv): string[] {
  const raw = env.HYPERINDEX_LIST_TOKENS?.trim();
  if (!raw) return [];
  return raw.split(",").map((token) => {
    const t = token.trim();
    if (!/^0x[0-9a-fA-F]{40}$/.test(t)) throw new Error(`HYPERINDEX_LIST_TOKENS: not an address: "${t}"`);
    return t;
  });
}
