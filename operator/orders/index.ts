export * from "./types";
export { OrderHasher, encodeOrderStruct, orderStructHash, domainSeparator, orderDigestFromStructHash, keccak256, ORDER_TYPEHASH } from "./hash";
export { signDigest, recoverSigner, privateKeyToAddress, publicKeyToAddress, type SignatureCheck } from "./signature";
