export { CommitmentError, type CommitmentErrorCode } from "./errors";
export {
  LEAF_TYPE_TAG,
  encodeLeaf,
  leafDigest,
  hashLeaf,
  type LeafType,
  type CommitmentLeaf,
  type OrderAcceptedLeaf,
  type FillLeaf,
} from "./leaves";
export { CommitmentTree, processProof, verifyProof } from "./tree";
export {
  EPOCH_DATA_FORMAT,
  EPOCH_DATA_VERSION,
  serializeEpochData,
  parseEpochData,
  epochDataHash,
  rebuildRoot,
  epochCommitment,
  type EpochData,
  type EpochCommitment,
} from "./epochData";
export { epochDataFileName, writeEpochDataFile, readEpochDataFile } from "./epochFile";
