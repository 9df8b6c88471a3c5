import type { DeployFunction } from "hardhat-deploy/dist/types";
import { tokensToList } from "./config";

/**
 * Post-deployment configuration, idempotent: checks the roles the constructors granted and
 * lists the tokens named in HYPERINDEX_LIST_TOKENS that are not listed yet. Running it again
 * sends no transaction.
 */
const func: DeployFunction = async ({ deployments, getNamedAccounts }) => {
  const { deployer, operator, guardian } = await getNamedAccounts();
  const admin = process.env.ADMIN_ADDRESS ?? deployer;
  const { read, execute, log } = deployments;

  const operatorRole = await read("Settlement", "OPERATOR_ROLE");
  const guardianRole = await read("Settlement", "GUARDIAN_ROLE");
  for (const [contract, role, account, label] of [
    ["Settlement", operatorRole, operator, "operator"],
    ["Settlement", guardianRole, guardian, "guardian"],
    ["OrderbookCommitment", operatorRole, operator, "operator"],
  ] as const) {
    if (!(await read(contract, "hasRole", role, account))) {
      throw new Error(`${contract}: ${label} ${account} lacks its role; the deployment is not the one configured`);
    }
  }

  const tokens = tokensToList(process.env);
  if (tokens.length > 0 && admin.toLowerCase() !== deployer.toLowerCase()) {
    log(`tokens not listed: the admin is ${admin}, not the deployer; list them from the admin account`);
    return;
  }
  for (const token of tokens) {
    if ((await read("Settlement", "tokenScale", token)) !== 0n) continue;
    await execute("Settlement", { from: deployer, log: true }, "listToken", token);
  }
};
func.tags = ["HyperIndex", "Configure"];
func.dependencies = ["Settlement", "OrderbookCommitment"];
export default func;
