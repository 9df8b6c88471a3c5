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
export { validateSignedOrder, validateOrder, intakeSignedOrder, type Clock, type ValidateDeps, type IntakeRules } from "./validate";
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
export {
  CancelHasher,
  CancelValidationError,
  CANCEL_EIP712_TYPES,
  CANCEL_ERROR_HTTP_STATUS,
  CANCEL_TYPEHASH,
  CANCEL_TYPE_STRING,
  MAX_CANCEL_ORDER_HASHES,
  ZERO_ADDRESS,
  cancelStructHash,
  decodeCancel,
  decodeSignedCancel,
  encodeCancelStruct,
  encodeSignedCancel,
  hashOrderHashes,
  validateCancel,
  type Cancel,
  type CancelErrorCode,
  type CancelRules,
  type SignedCancel,
} from "./cancel";
