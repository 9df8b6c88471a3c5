// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {IOperatorRoles} from "./interfaces/IOperatorRoles.sol";

/// @notice AccessControl with a delayed default-admin transfer, a single operator that is
/// rotated only after a delay, and a guardian role.
/// @dev Revoking the operator is immediate (taking power away is always safe); granting it
/// is not possible except through the rotation.
abstract contract OperatorRoles is AccessControlDefaultAdminRules, IOperatorRoles {
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");

    uint64 private immutable _rotationDelay;
    address private _operator;
    address private _pendingOperator;
    uint64 private _pendingEffectiveAt;

    constructor(address admin, uint48 adminTransferDelay, address initialOperator, uint64 rotationDelay)
        AccessControlDefaultAdminRules(adminTransferDelay, admin)
    {
        if (initialOperator == address(0)) revert OperatorRolesZeroOperator();
        _rotationDelay = rotationDelay;
        _setOperator(initialOperator);
    }

    /// @inheritdoc IOperatorRoles
    function operator() public view returns (address) {
        return hasRole(OPERATOR_ROLE, _operator) ? _operator : address(0);
    }

    /// @inheritdoc IOperatorRoles
    function operatorRotationDelay() external view returns (uint64) {
        return _rotationDelay;
    }

    /// @inheritdoc IOperatorRoles
    function pendingOperatorRotation() external view returns (address newOperator, uint64 effectiveAt) {
        return (_pendingOperator, _pendingEffectiveAt);
    }

    /// @inheritdoc IOperatorRoles
    function scheduleOperatorRotation(address newOperator) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (newOperator == address(0)) revert OperatorRolesZeroOperator();
        uint64 effectiveAt = uint64(block.timestamp) + _rotationDelay;
        _pendingOperator = newOperator;
        _pendingEffectiveAt = effectiveAt;
        emit OperatorRotationScheduled(newOperator, effectiveAt);
    }

    /// @inheritdoc IOperatorRoles
    function cancelOperatorRotation() external onlyRole(DEFAULT_ADMIN_ROLE) {
        address pending = _pendingOperator;
        if (pending == address(0)) revert OperatorRolesNoRotationScheduled();
        delete _pendingOperator;
        delete _pendingEffectiveAt;
        emit OperatorRotationCancelled(pending);
    }

    /// @inheritdoc IOperatorRoles
    function executeOperatorRotation() external {
        address next = _pendingOperator;
        if (next == address(0)) revert OperatorRolesNoRotationScheduled();
        if (block.timestamp < _pendingEffectiveAt) revert OperatorRolesRotationNotReady(_pendingEffectiveAt);
        delete _pendingOperator;
        delete _pendingEffectiveAt;
        address previous = _operator;
        _revokeRole(OPERATOR_ROLE, previous);
        _setOperator(next);
        emit OperatorRotated(previous, next);
    }

    /// @dev The operator role is never granted directly, only rotated in.
    function grantRole(bytes32 role, address account) public virtual override {
        if (role == OPERATOR_ROLE) revert OperatorRolesUseRotation();
        super.grantRole(role, account);
    }

    function _setOperator(address next) private {
        _operator = next;
        _grantRole(OPERATOR_ROLE, next);
    }
}
