// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Order, OrderLib} from "../libraries/OrderLib.sol";
import {SignatureLib} from "../libraries/SignatureLib.sol";

/// @notice Exposes OrderLib and SignatureLib, exactly as Settlement links them, so fixed
/// vectors can be checked for any domain (a chain id other than the test network's included).
/// Tests only.
contract OrderVectorsHarness {
    function orderTypehash() external pure returns (bytes32) {
        return OrderLib.ORDER_TYPEHASH;
    }

    function structHash(Order calldata order) external pure returns (bytes32) {
        return OrderLib.structHash(order);
    }

    function digest(bytes32 domainSeparator, bytes32 orderStructHash) external pure returns (bytes32) {
        return OrderLib.digest(domainSeparator, orderStructHash);
    }

    /// @notice What Settlement.hashOrder computes, with the domain separator given.
    function hashOrder(bytes32 domainSeparator, Order calldata order) external pure returns (bytes32) {
        return OrderLib.digest(domainSeparator, OrderLib.structHash(order));
    }

    function isValidSignature(address signer, bytes32 orderDigest, bytes calldata signature)
        external
        view
        returns (bool)
    {
        return SignatureLib.isValid(signer, orderDigest, signature);
    }

    /// @notice The bare ecrecover precompile (accepts high s): shows what a check rejects.
    function rawEcrecover(bytes32 hash, uint8 v, bytes32 r, bytes32 s) external pure returns (address) {
        return ecrecover(hash, v, r, s);
    }
}
