export * from "./types";
export { OrderHasher, encodeOrderStruct, orderStructHash, domainSeparator, orderDigestFromStructHash, keccak256, ORDER_TYPEHASH } from "./hash";
export { signDigest, recoverSigner, toCompactSignature, privateKeyToAddress, publicKeyToAddress, type SignatureCheck } from "./signature";
export {
  OrderValidationError,
  VerifierError,
  ORDER_ERROR_HTTP_STATUS,
  VERIFIER_ERROR_HTTP_STATUS,
  isOrderErrorCode,
  type OrderErrorCode,
  type VerifierErrorCode,
} from "./errors";
export {
  parseSignedOrderJson,
  decodeSignedOrder,
  decodeOrder,
  decodeDomain,
  decodeSignature,
  decodeAddress,
  decodeUintString,
  toChecksumAddress,
  encodeOrder,
  encodeSignedOrder,
  serializeSignedOrder,
  MAX_SIGNATURE_BYTES,
  type SignedOrder,
  type WireOrder,
  type WireDomain,
  type WireSignedOrder,
} from "./codec";
export {
  validateSignedOrder,
  validateOrder,
  intakeSignedOrder,
  type Clock,
  type MarketRules,
  type MarketLookup,
  type ValidateDeps,
  type IntakeRules,
} from "./validate";
export {
  createVerifierPool,
  type VerifierPool,
  type VerifierPoolDeps,
  type VerifierPoolParams,
  type VerifierPoolStats,
  type VerifyRequest,
  type VerifyResult,
  type Erc1271Client,
} from "./verifier";
