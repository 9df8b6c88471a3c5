import type { DeployFunction } from "hardhat-deploy/dist/types";
import { deployParams } from "./config";

/** Deploys OrderbookCommitment with the same operator. Deploying again is a no-op. */
const func: DeployFunction = async ({ deployments, getNamedAccounts, network }) => {
  const { deployer, operator } = await getNamedAccounts();
  const admin = process.env.ADMIN_ADDRESS ?? deployer;
  const params = deployParams(network.name);
  await deployments.deploy("OrderbookCommitment", {
    from: deployer,
    args: [admin, params.adminTransferDelay, operator, params.operatorRotationDelay],
    log: true,
    skipIfAlreadyDeployed: true,
  });
};
func.tags = ["HyperIndex", "OrderbookCommitment"];
export default func;
