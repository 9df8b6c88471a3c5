import type { DeployFunction } from "hardhat-deploy/dist/types";
import { deployParams } from "./config";

/** Deploys Settlement. Deploying again with the same code and arguments is a no-op. */
const func: DeployFunction = async ({ deployments, getNamedAccounts, network }) => {
  const { deployer, operator, guardian, feeRecipient } = await getNamedAccounts();
  const admin = process.env.ADMIN_ADDRESS ?? deployer;
  const params = deployParams(network.name);
  await deployments.deploy("Settlement", {
    from: deployer,
    args: [admin, params.adminTransferDelay, operator, params.operatorRotationDelay, guardian, feeRecipient, params.withdrawalDelay],
    log: true,
    skipIfAlreadyDeployed: true,
  });
};
func.tags = ["HyperIndex", "Settlement"];
export default func;
