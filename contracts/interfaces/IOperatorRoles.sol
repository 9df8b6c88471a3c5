// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

/// @notice Operator and guardian roles shared by Settlement and OrderbookCommitment.
/// The default admin is OpenZeppelin AccessControlDefaultAdminRules (its transfer is delayed);
/// the operator changes only through a scheduled rotation that takes effect after a delay,
/// so traders see a new operator coming and can leave first.
interface IOperatorRoles {
    /// @notice OPERATOR_ROLE changes only through scheduleOperatorRotation / executeOperatorRotation.
    error OperatorRolesUseRotation();
    /// @notice There is no scheduled rotation.
    error OperatorRolesNoRotationScheduled();
    /// @notice The rotation cannot take effect before `effectiveAt`.
    error OperatorRolesRotationNotReady(uint64 effectiveAt);
    /// @notice The operator cannot be the zero address.
    error OperatorRolesZeroOperator();

    /// @notice The admin scheduled `newOperator` to replace the operator at `effectiveAt`.
    event OperatorRotationScheduled(address indexed newOperator, uint64 effectiveAt);
    /// @notice The admin cancelled the scheduled rotation.
    event OperatorRotationCancelled(address indexed newOperator);
    /// @notice `newOperator` replaced `previousOperator`.
    event OperatorRotated(address indexed previousOperator, address indexed newOperator);

    /// @notice The account allowed to call operator-only functions (zero if revoked).
    function operator() external view returns (address);

    /// @notice Delay between scheduling and executing an operator rotation.
    function operatorRotationDelay() external view returns (uint64);

    /// @notice The scheduled rotation, if any.
    function pendingOperatorRotation() external view returns (address newOperator, uint64 effectiveAt);

    /// @notice Admin: schedule `newOperator`, effective after the rotation delay.
    function scheduleOperatorRotation(address newOperator) external;

    /// @notice Admin: drop the scheduled rotation.
    function cancelOperatorRotation() external;

    /// @notice Anyone, once the delay has passed: makes the scheduled operator the operator.
    function executeOperatorRotation() external;
}
