// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {ISettlement, SkipReason} from "./interfaces/ISettlement.sol";
import {Order, OrderLib} from "./libraries/OrderLib.sol";
import {SignatureLib} from "./libraries/SignatureLib.sol";
import {OperatorRoles} from "./OperatorRoles.sol";

/// @title HyperIndex Settlement
/// @notice Holds traders' vault balances and settles the operator's batches of matched fills.
/// @dev settleBatch runs in three passes, built so that every storage slot a batch touches is
/// read at most once and written at most once (bench/gas measures it):
///  1. orders (sorted by trader, then nonce): each is validated once (range, flags, expiry,
///     nonce state, EIP-712 hash, signature) and its trader's balances for its two tokens are
///     loaded into memory cells shared by all of that trader's orders;
///  2. fills: checked against the order records and settled on the memory cells only, so a
///     balance touched by many fills costs memory operations, not storage ones;
///  3. persist: each changed balance cell, each nonce word, each partial fill amount and each
///     fee total is written once.
/// An order consumed within one batch needs no per-order slot: it spends its nonce, two bits
/// in a per-trader word (128 nonces a word, Permit2-style unordered nonces), and a word
/// already touched by earlier orders costs 2,900 to update instead of 22,100. A partially
/// filled order keeps ONE slot keyed by (trader, nonce): the high 128 bits of its hash next to
/// its filled amount (which is below 2^128). Keyed by nonce, that slot makes the nonce the
/// order's on-chain identity (a second order under the same nonce is NonceInUse) at no more
/// gas than a slot keyed by order hash; the 128-bit tag is enough, as only the trader can
/// sign orders under its nonces. The entry is only ever written for an order whose signature
/// was valid, so a later batch need not check the signature again.
/// Balances are netted in memory rather than transient storage: both last one transaction,
/// and memory costs 3 gas an access where TLOAD/TSTORE cost 100.
/// Nothing here calls out while settling except EIP-1271 checks (staticcall, gas-capped per
/// call and per batch: see ISettlement.settleBatch).
contract Settlement is ISettlement, EIP712, OperatorRoles, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Longest guardian pause, extensions included.
    uint64 public constant MAX_PAUSE = 3 days;
    /// @notice Least time between the end of a pause and the start of the next: settlement is
    /// paused at most MAX_PAUSE in any window of MAX_PAUSE + PAUSE_COOLDOWN (7 days). Two
    /// pauses that both meet such a window are PAUSE_COOLDOWN apart inside it.
    uint64 public constant PAUSE_COOLDOWN = 4 days;
    /// @notice Most gas one EIP-1271 isValidSignature call gets.
    uint256 public constant ERC1271_GAS_LIMIT = SignatureLib.ERC1271_GAS_LIMIT;
    /// @notice Most gas all the EIP-1271 calls of one batch get together (two whole calls):
    /// what a batch's wallets can add to its gas, whatever they do (ISettlement.settleBatch).
    uint256 public constant ERC1271_BATCH_GAS_BUDGET = 500_000;
    /// @notice Bounds of the withdrawal delay (the escape hatch must stay usable).
    uint64 public constant MIN_WITHDRAWAL_DELAY = 5 minutes;
    uint64 public constant MAX_WITHDRAWAL_DELAY = 7 days;
    /// @notice Fees are in basis points of what each side receives.
    uint256 internal constant BPS = 10_000;
    /// @dev Largest decimals a listed token may have. A sanity limit (no real token uses more),
    /// not an overflow limit: the scale only divides baseAmount x price, which fits in 256 bits.
    uint8 internal constant MAX_DECIMALS = 36;

    /// @dev Two bits per nonce in `_nonceStates`; states only move up.
    uint256 private constant NONCE_PARTIAL = 1; // the order in `_partialFills` is partially filled
    uint256 private constant NONCE_SPENT = 3; // cancelled, or an order with it fully filled
    /// @dev A `_partialFills` entry: the high 128 bits of the order hash | the filled amount.
    uint256 private constant FILLED_MASK = 0xffffffffffffffffffffffffffffffff;

    // ---- Batch working memory (see settleBatch). Offsets are used from assembly too.
    /// @dev One record per entry of `orders`, 6 words.
    uint256 private constant RECORD_SIZE = 0xc0;
    uint256 private constant R_HASH = 0x00; // EIP-712 digest
    uint256 private constant R_STATUS = 0x20; // STATUS_VALID or the SkipReason that rejects it
    uint256 private constant R_FILLED_BEFORE = 0x40; // filled by earlier batches
    uint256 private constant R_FILLED_NOW = 0x60; // filled so far, this batch included
    uint256 private constant R_BASE_CELL = 0x80; // pointer to the trader's base-token cell
    uint256 private constant R_QUOTE_CELL = 0xa0; // pointer to the trader's quote-token cell
    uint256 private constant STATUS_VALID = 255;
    uint256 private constant STATUS_NEEDS_SIGNATURE = 254; // pass 1, between its two steps
    /// @dev Size of the pass-1 context (see _newOrderContext).
    uint256 private constant ORDER_CTX_SIZE = 0x1c0;
    uint256 private constant CTX_ERC1271_BUDGET = 0x180; // EIP-1271 gas left in this batch
    uint256 private constant CTX_ERC1271_BURNER = 0x1a0; // the last wallet that burned a whole call
    /// @dev One balance cell per distinct (trader, token) of the batch's valid orders, 4 words.
    uint256 private constant CELL_SIZE = 0x80;
    uint256 private constant C_TOKEN = 0x00;
    uint256 private constant C_SLOT = 0x20; // storage slot of _balances[trader][token]
    uint256 private constant C_ORIGINAL = 0x40; // balance when loaded
    uint256 private constant C_CURRENT = 0x60; // balance after this batch's fills so far
    /// @dev One fee total per token that fees were charged in, 2 words: token, amount.
    uint256 private constant FEE_SIZE = 0x40;

    // ---- Packed fill word (layout in ISettlement).
    uint256 private constant FILL_ID_SHIFT = 192;
    uint256 private constant FILL_MAKER_INDEX_SHIFT = 176;
    uint256 private constant FILL_TAKER_INDEX_SHIFT = 160;
    uint256 private constant FILL_BASE_AMOUNT_SHIFT = 32;
    uint256 private constant FILL_MAKER_FEE_SHIFT = 16;

    struct WithdrawalRequest {
        uint128 amount;
        uint64 readyAt;
    }

    mapping(address trader => mapping(address token => uint256 balance)) private _balances;
    mapping(address token => uint256 total) private _totals;
    mapping(address token => uint256 scale) private _scales;
    mapping(address trader => mapping(uint256 nonce => uint256 hashAndFilled)) private _partialFills;
    mapping(address trader => mapping(uint256 word => uint256 bits)) private _nonceStates;
    mapping(address trader => uint256 nonce) private _minNonces;
    mapping(address trader => mapping(address token => WithdrawalRequest)) private _withdrawals;

    // One slot: settleBatch reads and writes it.
    address private _feeRecipient;
    uint64 private _nextBatchId;
    // One slot: settleBatch reads _pausedUntil.
    uint64 private _pausedUntil;
    uint64 private _pauseStartedAt;
    uint64 private _nextPauseAt;
    uint64 private _withdrawalDelay;
    // A scheduled longer withdrawal delay (setWithdrawalDelay); 0 if none.
    uint64 private _pendingWithdrawalDelay;
    uint64 private _pendingWithdrawalDelayAt;

    /// @param admin default admin (AccessControlDefaultAdminRules)
    /// @param adminTransferDelay delay of a default-admin transfer
    /// @param initialOperator the operator
    /// @param operatorRotationDelay_ delay of an operator rotation
    /// @param guardian may pause settlement
    /// @param feeRecipient_ receives fees as vault balances
    /// @param withdrawalDelay_ delay before a requested withdrawal can be finalized
    constructor(
        address admin,
        uint48 adminTransferDelay,
        address initialOperator,
        uint64 operatorRotationDelay_,
        address guardian,
        address feeRecipient_,
        uint64 withdrawalDelay_
    )
        EIP712("HyperIndex", "1")
        OperatorRoles(admin, adminTransferDelay, initialOperator, operatorRotationDelay_)
    {
        if (feeRecipient_ == address(0) || guardian == address(0)) revert SettlementZeroAddress();
        _checkWithdrawalDelay(withdrawalDelay_);
        _grantRole(GUARDIAN_ROLE, guardian);
        _feeRecipient = feeRecipient_;
        _withdrawalDelay = withdrawalDelay_;
        _nextBatchId = 1;
        emit FeeRecipientSet(feeRecipient_);
        emit WithdrawalDelaySet(withdrawalDelay_);
    }

    // =================================================================== trader actions

    /// @inheritdoc ISettlement
    function deposit(address token, uint256 amount) external nonReentrant returns (uint256 credited) {
        return _deposit(msg.sender, token, amount);
    }

    /// @inheritdoc ISettlement
    function depositFor(address trader, address token, uint256 amount) external nonReentrant returns (uint256 credited) {
        if (trader == address(0)) revert SettlementZeroAddress();
        return _deposit(trader, token, amount);
    }

    /// @inheritdoc ISettlement
    function requestWithdrawal(address token, uint256 amount) external returns (uint64 readyAt) {
        if (amount == 0) revert SettlementZeroAmount();
        uint256 balance = _balances[msg.sender][token];
        if (balance < amount) revert SettlementInsufficientBalance(msg.sender, token, balance, amount);
        // The delay in effect now; the request keeps this readyAt whatever the delay becomes.
        readyAt = uint64(block.timestamp) + _currentWithdrawalDelay();
        // A request is stored in 128 bits; larger amounts are withdrawn in several requests.
        _withdrawals[msg.sender][token] = WithdrawalRequest(SafeCast.toUint128(amount), readyAt);
        emit WithdrawalRequested(msg.sender, token, amount, readyAt);
    }

    /// @inheritdoc ISettlement
    function finalizeWithdrawal(address trader, address token) external nonReentrant returns (uint256 amount) {
        WithdrawalRequest memory request = _withdrawals[trader][token];
        if (request.readyAt == 0) revert SettlementNoWithdrawalRequest(trader, token);
        if (block.timestamp < request.readyAt) revert SettlementWithdrawalNotReady(request.readyAt);
        return _payOut(trader, token, request.amount, false);
    }

    /// @inheritdoc ISettlement
    function cancelNonces(uint256[] calldata nonces) external {
        for (uint256 i; i < nonces.length; ++i) {
            uint256 nonce = nonces[i];
            // The entry of a partially filled order stays: filledAmount reports where it stopped.
            uint256 filled;
            if (_nonceState(msg.sender, nonce) == NONCE_PARTIAL) filled = _partialFills[msg.sender][nonce] & FILLED_MASK;
            _markNonce(msg.sender, nonce, NONCE_SPENT);
            emit NonceCancelled(msg.sender, nonce, filled);
        }
    }

    /// @inheritdoc ISettlement
    function raiseMinNonce(uint256 newMinNonce) external {
        uint256 current = _minNonces[msg.sender];
        if (newMinNonce <= current) revert SettlementMinNonceNotIncreasing(current, newMinNonce);
        _minNonces[msg.sender] = newMinNonce;
        emit MinNonceRaised(msg.sender, newMinNonce);
    }

    // =================================================================== operator actions

    /// @inheritdoc ISettlement
    function settleBatch(uint64 batchId, Order[] calldata orders, bytes[] calldata signatures, uint256[] calldata fills)
        external
        onlyRole(OPERATOR_ROLE)
        nonReentrant
        returns (uint256 settled)
    {
        if (block.timestamp < _pausedUntil) revert SettlementPaused(_pausedUntil);
        uint64 expected = _nextBatchId;
        if (batchId != expected) revert SettlementBatchOutOfOrder(expected, batchId);
        if (orders.length != signatures.length) revert SettlementLengthMismatch(orders.length, signatures.length);
        _nextBatchId = expected + 1;

        uint256 table = _allocateOrderTable(orders.length);
        (uint256 cells, uint256 cellsEnd) = _loadOrders(table, orders, signatures);
        uint256 fees;
        uint256 feesEnd;
        (settled, fees, feesEnd) = _settleFills(table, orders, fills, batchId);
        _persistOrders(table, orders);
        _persistBalances(cells, cellsEnd);
        _creditFees(fees, feesEnd);
        emit BatchSettled(batchId, fills.length, settled);
    }

    /// @inheritdoc ISettlement
    function releaseWithdrawal(address trader, address token)
        external
        onlyRole(OPERATOR_ROLE)
        nonReentrant
        returns (uint256 amount)
    {
        WithdrawalRequest memory request = _withdrawals[trader][token];
        if (request.readyAt == 0) revert SettlementNoWithdrawalRequest(trader, token);
        return _payOut(trader, token, request.amount, block.timestamp < request.readyAt);
    }

    // =================================================================== guardian and admin

    /// @inheritdoc ISettlement
    function pause(uint64 duration) external onlyRole(GUARDIAN_ROLE) {
        if (duration == 0) revert SettlementZeroAmount();
        if (duration > MAX_PAUSE) revert SettlementPauseTooLong(duration, MAX_PAUSE);
        uint64 now_ = uint64(block.timestamp);
        uint64 startedAt;
        if (now_ < _pausedUntil) {
            startedAt = _pauseStartedAt; // moving the end of the running pause
        } else {
            uint64 availableAt = _nextPauseAt;
            if (now_ < availableAt) revert SettlementPauseCoolingDown(availableAt);
            startedAt = now_;
            _pauseStartedAt = now_;
        }
        uint64 until = now_ + duration;
        // Cannot underflow: startedAt <= now_ < until.
        unchecked {
            if (until - startedAt > MAX_PAUSE) revert SettlementPauseTooLong(until - startedAt, MAX_PAUSE);
        }
        _pausedUntil = until;
        _nextPauseAt = until + PAUSE_COOLDOWN;
        emit SettlementPausedUntil(until);
    }

    /// @inheritdoc ISettlement
    function unpause() external onlyRole(GUARDIAN_ROLE) {
        uint64 now_ = uint64(block.timestamp);
        // A running pause ends now, so the cooldown runs from now (sooner than from its
        // expiry); lifting an expired pause changes nothing.
        if (now_ < _pausedUntil) _nextPauseAt = now_ + PAUSE_COOLDOWN;
        _pausedUntil = 0;
        emit SettlementPausedUntil(0);
    }

    /// @inheritdoc ISettlement
    function listToken(address token) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (token == address(0)) revert SettlementZeroAddress();
        if (_scales[token] != 0) revert SettlementTokenAlreadyListed(token);
        uint8 decimals = IERC20Metadata(token).decimals();
        if (decimals > MAX_DECIMALS) revert SettlementUnsupportedDecimals(token, decimals);
        _scales[token] = 10 ** decimals;
        emit TokenListed(token, decimals);
    }

    /// @inheritdoc ISettlement
    function setFeeRecipient(address feeRecipient_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (feeRecipient_ == address(0)) revert SettlementZeroAddress();
        _feeRecipient = feeRecipient_;
        emit FeeRecipientSet(feeRecipient_);
    }

    /// @inheritdoc ISettlement
    function setWithdrawalDelay(uint64 delay) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _checkWithdrawalDelay(delay);
        uint64 current = _currentWithdrawalDelay();
        if (delay <= current) {
            // Lets traders out sooner (or changes nothing): no reason to wait.
            _withdrawalDelay = delay;
            delete _pendingWithdrawalDelay;
            delete _pendingWithdrawalDelayAt;
            emit WithdrawalDelaySet(delay);
        } else {
            // Binds only requests made once the current delay has run from now: whoever asks
            // to leave before then leaves under the current delay.
            uint64 effectiveAt = uint64(block.timestamp) + current;
            _withdrawalDelay = current; // folds in an increase that already took effect
            _pendingWithdrawalDelay = delay;
            _pendingWithdrawalDelayAt = effectiveAt;
            emit WithdrawalDelayIncreaseScheduled(delay, effectiveAt);
        }
    }

    // =================================================================== views

    /// @inheritdoc ISettlement
    function balanceOf(address trader, address token) external view returns (uint256) {
        return _balances[trader][token];
    }

    /// @inheritdoc ISettlement
    function balancesOf(address[] calldata traders, address[] calldata tokens)
        external
        view
        returns (uint256[] memory balances)
    {
        if (traders.length != tokens.length) revert SettlementLengthMismatch(traders.length, tokens.length);
        balances = new uint256[](traders.length);
        for (uint256 i; i < traders.length; ++i) {
            balances[i] = _balances[traders[i]][tokens[i]];
        }
    }

    /// @inheritdoc ISettlement
    function totalBalance(address token) external view returns (uint256) {
        return _totals[token];
    }

    /// @inheritdoc ISettlement
    function nextBatchId() external view returns (uint64) {
        return _nextBatchId;
    }

    /// @inheritdoc ISettlement
    function filledAmount(Order calldata order) external view returns (uint256) {
        uint256 entry = _partialFills[order.trader][order.nonce];
        bytes32 orderHash = OrderLib.digest(_domainSeparatorV4(), OrderLib.structHash(order));
        return entry >> 128 == uint256(orderHash) >> 128 ? entry & FILLED_MASK : 0;
    }

    /// @inheritdoc ISettlement
    function nonceFill(address trader, uint256 nonce) external view returns (bytes16 orderHashPrefix, uint256 filled) {
        uint256 entry = _partialFills[trader][nonce];
        return (bytes16(bytes32(entry)), entry & FILLED_MASK);
    }

    /// @inheritdoc ISettlement
    function isNonceSpent(address trader, uint256 nonce) external view returns (bool) {
        return _nonceState(trader, nonce) == NONCE_SPENT;
    }

    /// @inheritdoc ISettlement
    function minNonce(address trader) external view returns (uint256) {
        return _minNonces[trader];
    }

    /// @inheritdoc ISettlement
    function withdrawalRequest(address trader, address token) external view returns (uint256 amount, uint64 readyAt) {
        WithdrawalRequest memory request = _withdrawals[trader][token];
        return (request.amount, request.readyAt);
    }

    /// @inheritdoc ISettlement
    function hashOrder(Order calldata order) external view returns (bytes32) {
        return OrderLib.digest(_domainSeparatorV4(), OrderLib.structHash(order));
    }

    /// @inheritdoc ISettlement
    function tokenScale(address token) external view returns (uint256) {
        return _scales[token];
    }

    /// @inheritdoc ISettlement
    function pausedUntil() external view returns (uint64) {
        return _pausedUntil;
    }

    /// @inheritdoc ISettlement
    function nextPauseAt() external view returns (uint64) {
        return _nextPauseAt;
    }

    /// @inheritdoc ISettlement
    function pendingWithdrawalDelay() external view returns (uint64 delay, uint64 effectiveAt) {
        if (block.timestamp < _pendingWithdrawalDelayAt) return (_pendingWithdrawalDelay, _pendingWithdrawalDelayAt);
    }

    /// @notice Account credited with fees.
    function feeRecipient() external view returns (address) {
        return _feeRecipient;
    }

    /// @notice Delay between a withdrawal request made now and its finalization (a scheduled
    /// increase counts from its effectiveAt on; see pendingWithdrawalDelay).
    function withdrawalDelay() external view returns (uint64) {
        return _currentWithdrawalDelay();
    }

    /// @notice EIP-712 domain separator (name "HyperIndex", version "1", this chain, this contract).
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // =================================================================== pass 1: orders

    /// @dev Validates every order once and gives each valid one its two balance cells.
    /// `orders` must be sorted by trader, then strictly increasing nonce: a trader's minimum
    /// nonce and nonce words are then read once for all of its orders, its cells are found
    /// among its own few cells, and no order can appear twice in a batch.
    /// Cells are allocated contiguously from the free memory pointer; nothing else allocates
    /// memory during this pass (SignatureLib releases its EIP-1271 call buffer).
    function _loadOrders(uint256 table, Order[] calldata orders, bytes[] calldata signatures)
        private
        view
        returns (uint256 cells, uint256 cellsEnd)
    {
        uint256 ctx = _newOrderContext();
        for (uint256 i; i < orders.length; ++i) {
            Order calldata order = orders[i];
            uint256 record = _record(table, i);
            uint256 status = _checkOrder(ctx, order, i, record);
            if (status == STATUS_NEEDS_SIGNATURE) {
                // SignatureLib.isValid's order: ECDSA first, then EIP-1271, here within the budget.
                address trader = OrderLib.addressField(order, OrderLib.TRADER);
                bytes32 digest = bytes32(_mload(record + R_HASH));
                if (trader != address(0) && SignatureLib.recover(digest, signatures[i]) == trader) {
                    status = STATUS_VALID;
                } else {
                    status = _checkWalletSignature(ctx, trader, digest, signatures[i]);
                }
            }
            _admitOrder(ctx, order, record, status);
        }
        cells = ctx + ORDER_CTX_SIZE;
        cellsEnd = _mload(ctx + 0xe0);
    }

    /// @dev Pass-1 context in memory (keeps the assembly below free of stack pressure):
    /// +0x00 domain separator, +0x20 current trader, +0x40 previous nonce, +0x60 the trader's
    /// minimum nonce, +0x80 loaded nonce word index, +0xa0 that word, +0xc0 the trader's first
    /// cell, +0xe0 end of cells, +0x100.. the storage slots of _minNonces, _nonceStates,
    /// _partialFills and _balances, +0x180 the EIP-1271 gas budget left, +0x1a0 the last wallet
    /// that burned a whole call. Cells follow it.
    function _newOrderContext() private view returns (uint256 ctx) {
        bytes32 domainSeparator_ = _domainSeparatorV4();
        assembly ("memory-safe") {
            ctx := mload(0x40)
            mstore(ctx, domainSeparator_)
            mstore(add(ctx, 0x20), 0)
            mstore(add(ctx, 0x40), 0)
            mstore(add(ctx, 0x60), 0)
            mstore(add(ctx, 0x80), 0)
            mstore(add(ctx, 0xa0), 0)
            let cells := add(ctx, ORDER_CTX_SIZE)
            mstore(add(ctx, 0xc0), cells)
            mstore(add(ctx, 0xe0), cells)
            mstore(add(ctx, 0x100), _minNonces.slot)
            mstore(add(ctx, 0x120), _nonceStates.slot)
            mstore(add(ctx, 0x140), _partialFills.slot)
            mstore(add(ctx, 0x160), _balances.slot)
            mstore(add(ctx, CTX_ERC1271_BUDGET), ERC1271_BATCH_GAS_BUDGET)
            mstore(add(ctx, CTX_ERC1271_BURNER), 0)
            mstore(0x40, cells)
        }
    }

    /// @dev Order-level checks, cheapest first, for order `index`. Keeps the sort order and the
    /// trader's nonce state in `ctx`, writes the EIP-712 digest and filled amounts into
    /// `record`, and returns a SkipReason code, STATUS_VALID for an order an earlier batch
    /// already filled (its signature was checked then: a `_partialFills` entry is only ever
    /// written for an order whose signature was valid), or STATUS_NEEDS_SIGNATURE.
    function _checkOrder(uint256 ctx, Order calldata order, uint256 index, uint256 record)
        private
        view
        returns (uint256 status)
    {
        bytes4 notSorted = SettlementOrdersNotSorted.selector;
        bytes32 typeHash = OrderLib.ORDER_TYPEHASH;
        assembly ("memory-safe") {
            /// Slot of mapping[key] for a mapping at `mappingSlot` (Solidity's layout).
            function mappingSlot(key, mappingSlot_) -> slot {
                mstore(0x00, key)
                mstore(0x20, mappingSlot_)
                slot := keccak256(0x00, 0x40)
            }
            /// Loads the trader's nonce word holding `nonce` into ctx.
            function loadWord(ctx_, trader, nonce) {
                let wordIndex := shr(7, nonce)
                mstore(add(ctx_, 0x80), wordIndex)
                mstore(add(ctx_, 0xa0), sload(mappingSlot(wordIndex, mappingSlot(trader, mload(add(ctx_, 0x120))))))
            }

            for {} 1 {} {
                let trader := and(calldataload(order), 0xffffffffffffffffffffffffffffffffffffffff)
                let nonce := calldataload(add(order, 0xc0))
                // Sort order (trader, then strictly increasing nonce), and the trader's state.
                switch and(iszero(iszero(index)), eq(trader, mload(add(ctx, 0x20))))
                case 1 {
                    if iszero(gt(nonce, mload(add(ctx, 0x40)))) {
                        mstore(0x00, notSorted)
                        mstore(0x04, index)
                        revert(0x00, 0x24)
                    }
                    if iszero(eq(shr(7, nonce), mload(add(ctx, 0x80)))) { loadWord(ctx, trader, nonce) }
                }
                default {
                    if and(iszero(iszero(index)), lt(trader, mload(add(ctx, 0x20)))) {
                        mstore(0x00, notSorted)
                        mstore(0x04, index)
                        revert(0x00, 0x24)
                    }
                    mstore(add(ctx, 0x20), trader)
                    mstore(add(ctx, 0x60), sload(mappingSlot(trader, mload(add(ctx, 0x100)))))
                    mstore(add(ctx, 0xc0), mload(add(ctx, 0xe0)))
                    loadWord(ctx, trader, nonce)
                }
                mstore(add(ctx, 0x40), nonce)

                // 4 NonceBelowMinimum
                if lt(nonce, mload(add(ctx, 0x60))) {
                    status := 4
                    break
                }
                // 16 OrderOutOfRange: price and amount in (0, 2^128), fee caps <= BPS.
                let price := calldataload(add(order, 0x80))
                let amount := calldataload(add(order, 0xa0))
                if or(
                    or(iszero(price), iszero(amount)),
                    or(shr(128, or(price, amount)), or(gt(calldataload(add(order, 0x100)), BPS), gt(calldataload(add(order, 0x120)), BPS)))
                ) {
                    status := 16
                    break
                }
                // 15 FlagViolation: unknown flag bits.
                if and(calldataload(add(order, 0x140)), not(3)) {
                    status := 15
                    break
                }
                // 5 OrderExpired
                if gt(timestamp(), calldataload(add(order, 0xe0))) {
                    status := 5
                    break
                }
                // 3 OrderCancelled: the nonce is spent (cancelled, or its order fully filled).
                let nonceState := and(shr(shl(1, and(nonce, 127)), mload(add(ctx, 0xa0))), 3)
                if eq(nonceState, NONCE_SPENT) {
                    status := 3
                    break
                }
                // EIP-712 digest, hashed in scratch memory past the cells (OrderLib.structHash
                // and OrderLib.digest, inlined).
                let ptr := mload(0x40)
                mstore(ptr, typeHash)
                calldatacopy(add(ptr, 0x20), order, 0x160)
                let structHash := keccak256(ptr, 0x180)
                mstore(ptr, 0x1901000000000000000000000000000000000000000000000000000000000000)
                mstore(add(ptr, 0x02), mload(ctx))
                mstore(add(ptr, 0x22), structHash)
                let orderHash := keccak256(ptr, 0x42)
                mstore(add(record, R_HASH), orderHash)
                let filledBefore := 0
                if eq(nonceState, NONCE_PARTIAL) {
                    // The nonce backs a partially filled order: this one, or another.
                    let entry := sload(mappingSlot(nonce, mappingSlot(trader, mload(add(ctx, 0x140)))))
                    // 18 NonceInUse
                    if iszero(eq(shr(128, entry), shr(128, orderHash))) {
                        status := 18
                        break
                    }
                    filledBefore := and(entry, FILLED_MASK)
                }
                mstore(add(record, R_FILLED_BEFORE), filledBefore)
                mstore(add(record, R_FILLED_NOW), filledBefore)
                status := STATUS_NEEDS_SIGNATURE
                if filledBefore { status := STATUS_VALID }
                break
            }
        }
    }

    /// @dev For an order whose signature is not its trader's ECDSA signature: whether its
    /// trader's EIP-1271 wallet accepts it, within the batch's budget (ISettlement.settleBatch).
    /// A call gets the smaller of ERC1271_GAS_LIMIT and the budget left, and spends from the
    /// budget what it used. Returns STATUS_VALID or a SkipReason code.
    function _checkWalletSignature(uint256 ctx, address trader, bytes32 digest, bytes calldata signature)
        private
        view
        returns (uint256 status)
    {
        if (trader.code.length == 0) return uint256(SkipReason.BadSignature); // an EOA, or address(0)
        uint256 budget = _mload(ctx + CTX_ERC1271_BUDGET);
        if (budget == 0 || trader == address(uint160(_mload(ctx + CTX_ERC1271_BURNER)))) {
            return uint256(SkipReason.SignatureBudgetExhausted);
        }
        uint256 gasLimit = budget < ERC1271_GAS_LIMIT ? budget : ERC1271_GAS_LIMIT;
        (bool ok, uint256 gasUsed) = SignatureLib.isValidERC1271(trader, digest, signature, gasLimit);
        // Cannot underflow: subtracts only what is below the budget.
        unchecked {
            _mstore(ctx + CTX_ERC1271_BUDGET, gasUsed < budget ? budget - gasUsed : 0);
        }
        if (ok) return STATUS_VALID;
        // Refused with less than a whole call's gas: it may just have needed more.
        if (gasLimit < ERC1271_GAS_LIMIT) return uint256(SkipReason.SignatureBudgetExhausted);
        // Burned a whole call: its other orders in this batch (they follow: orders are sorted
        // by trader) are not worth another call.
        if (gasUsed >= gasLimit) _mstore(ctx + CTX_ERC1271_BURNER, uint160(trader));
        return uint256(SkipReason.BadSignature);
    }

    /// @dev Records `status` and gives a valid order its trader's base and quote cells: the
    /// trader's existing cell for that token, or a new one holding the stored balance.
    function _admitOrder(uint256 ctx, Order calldata order, uint256 record, uint256 status) private view {
        assembly ("memory-safe") {
            /// The current trader's cell for `token`, appended (and the balance loaded) if missing.
            function cellFor(ctx_, token) -> cell {
                let end := mload(add(ctx_, 0xe0))
                for { cell := mload(add(ctx_, 0xc0)) } lt(cell, end) { cell := add(cell, CELL_SIZE) } {
                    if eq(mload(cell), token) { leave }
                }
                mstore(0x00, mload(add(ctx_, 0x20)))
                mstore(0x20, mload(add(ctx_, 0x160)))
                mstore(0x20, keccak256(0x00, 0x40))
                mstore(0x00, token)
                let slot := keccak256(0x00, 0x40)
                let stored := sload(slot)
                mstore(add(cell, C_TOKEN), token)
                mstore(add(cell, C_SLOT), slot)
                mstore(add(cell, C_ORIGINAL), stored)
                mstore(add(cell, C_CURRENT), stored)
                end := add(cell, CELL_SIZE)
                mstore(add(ctx_, 0xe0), end)
                mstore(0x40, end)
            }

            mstore(add(record, R_STATUS), status)
            if eq(status, STATUS_VALID) {
                let addressMask := 0xffffffffffffffffffffffffffffffffffffffff
                mstore(add(record, R_BASE_CELL), cellFor(ctx, and(calldataload(add(order, 0x20)), addressMask)))
                mstore(add(record, R_QUOTE_CELL), cellFor(ctx, and(calldataload(add(order, 0x40)), addressMask)))
            }
        }
    }

    // =================================================================== pass 2: fills

    /// @dev Settles each fill against the order records and balance cells, in memory only,
    /// and emits Filled or FillSkipped for it. Fee totals are kept per token in a list that
    /// starts at the free memory pointer; returns where it starts and ends.
    ///
    /// Written in assembly because it runs once per fill and is most of the batch's
    /// computation. It keeps the checks-then-effects order: `locate` and `checkTerms` only
    /// read; `execute` checks amounts and funds and only then writes records and cells. Each
    /// check returns its SkipReason code (the numbers in the comments). Order fields are raw
    /// calldata words: see OrderLib.field for why that is safe (the signature covers exactly
    /// those words). The functions are small on purpose: a function with many live variables
    /// makes the optimizer spill them to memory, which costs more than the calls.
    function _settleFills(uint256 table, Order[] calldata orders, uint256[] calldata fills, uint64 batchId)
        private
        returns (uint256 settled, uint256 fees, uint256 feesEnd)
    {
        bytes32 filledTopic = Filled.selector;
        bytes32 skippedTopic = FillSkipped.selector;
        uint256 ctx = _newFillContext(table, orders);
        assembly ("memory-safe") {
            // ---- context (memory, see _newFillContext)
            // ctx+0x00 table, +0x20 orders offset, +0x40 order count, +0x60 run base token,
            // +0x80 run quote token, +0xa0 run scale, +0xc0 base fee entry, +0xe0 quote fee entry,
            // +0x100 fee list start, +0x120 fee list end, +0x140 _scales slot

            /// Fee total entry for `token` in the fee list, appended if missing.
            function feeEntry(ctx_, token) -> entry {
                let end := mload(add(ctx_, 0x120))
                for { entry := mload(add(ctx_, 0x100)) } lt(entry, end) { entry := add(entry, 0x40) } {
                    if eq(mload(entry), token) { leave }
                }
                mstore(entry, token)
                mstore(add(entry, 0x20), 0)
                end := add(entry, 0x40)
                mstore(add(ctx_, 0x120), end)
                mstore(0x40, end)
            }

            /// The fill's two order records and calldata records; 1 FillMalformed, or the
            /// reason pass 1 rejected either order for.
            function locate(ctx_, fill) -> reason, makerRecord, takerRecord, maker, taker {
                let count := mload(add(ctx_, 0x40))
                let makerIndex := and(shr(FILL_MAKER_INDEX_SHIFT, fill), 0xffff)
                let takerIndex := and(shr(FILL_TAKER_INDEX_SHIFT, fill), 0xffff)
                if or(
                    or(iszero(lt(makerIndex, count)), iszero(lt(takerIndex, count))),
                    or(eq(makerIndex, takerIndex), iszero(and(shr(FILL_BASE_AMOUNT_SHIFT, fill), 0xffffffffffffffffffffffffffffffff)))
                ) {
                    reason := 1
                    leave
                }
                let table_ := mload(ctx_)
                makerRecord := add(table_, mul(makerIndex, RECORD_SIZE))
                takerRecord := add(table_, mul(takerIndex, RECORD_SIZE))
                reason := mload(add(makerRecord, R_STATUS))
                if eq(reason, STATUS_VALID) { reason := mload(add(takerRecord, R_STATUS)) }
                if eq(reason, STATUS_VALID) { reason := 0 }
                let ordersOffset := mload(add(ctx_, 0x20))
                maker := add(ordersOffset, mul(makerIndex, 0x160))
                taker := add(ordersOffset, mul(takerIndex, 0x160))
            }

            /// Whether the two orders may trade at all: 15 FlagViolation, 12 MarketMismatch,
            /// 14 TokenNotListed, 11 PricesDoNotCross, 9/10 fee above the maker's/taker's cap.
            /// Switches the market run (scale and fee entries) when the market changes.
            function checkTerms(ctx_, fill, maker, taker) -> reason {
                // An IOC order never rests, a post-only order never takes.
                if or(and(calldataload(add(maker, 0x140)), 2), and(calldataload(add(taker, 0x140)), 1)) {
                    reason := 15
                    leave
                }
                let addressMask := 0xffffffffffffffffffffffffffffffffffffffff
                let baseToken := and(calldataload(add(maker, 0x20)), addressMask)
                let quoteToken := and(calldataload(add(maker, 0x40)), addressMask)
                let makerBuys := iszero(iszero(calldataload(add(maker, 0x60))))
                if or(
                    or(
                        iszero(eq(and(calldataload(add(taker, 0x20)), addressMask), baseToken)),
                        iszero(eq(and(calldataload(add(taker, 0x40)), addressMask), quoteToken))
                    ),
                    or(eq(makerBuys, iszero(iszero(calldataload(add(taker, 0x60))))), eq(baseToken, quoteToken))
                ) {
                    reason := 12
                    leave
                }
                if or(iszero(eq(baseToken, mload(add(ctx_, 0x60)))), iszero(eq(quoteToken, mload(add(ctx_, 0x80))))) {
                    mstore(add(ctx_, 0x60), baseToken)
                    mstore(add(ctx_, 0x80), quoteToken)
                    // The run's scale is the base token's; 0 (unlisted) if either token is unlisted.
                    mstore(0x00, baseToken)
                    mstore(0x20, mload(add(ctx_, 0x140)))
                    let scale := sload(keccak256(0x00, 0x40))
                    mstore(0x00, quoteToken)
                    mstore(0x20, mload(add(ctx_, 0x140)))
                    mstore(add(ctx_, 0xa0), mul(scale, iszero(iszero(sload(keccak256(0x00, 0x40))))))
                    mstore(add(ctx_, 0xc0), feeEntry(ctx_, baseToken))
                    mstore(add(ctx_, 0xe0), feeEntry(ctx_, quoteToken))
                }
                if iszero(mload(add(ctx_, 0xa0))) {
                    reason := 14
                    leave
                }
                // The taker's limit must be at least as good as the maker's price.
                let price := calldataload(add(maker, 0x80))
                let takerPrice := calldataload(add(taker, 0x80))
                if or(and(makerBuys, gt(takerPrice, price)), and(iszero(makerBuys), lt(takerPrice, price))) {
                    reason := 11
                    leave
                }
                if gt(and(shr(FILL_MAKER_FEE_SHIFT, fill), 0xffff), calldataload(add(maker, 0x100))) {
                    reason := 9
                    leave
                }
                if gt(and(fill, 0xffff), calldataload(add(taker, 0x120))) { reason := 10 }
            }

            /// 13 InexactAmount, 6 Overfilled, 7 MakerUnfunded, 8 TakerUnfunded; then the
            /// effects. Returns the quote amount of a settled fill.
            function execute(ctx_, fill, makerRecord, takerRecord, maker, taker) -> reason, quoteAmount {
                let baseAmount := and(shr(FILL_BASE_AMOUNT_SHIFT, fill), 0xffffffffffffffffffffffffffffffff)
                {
                    // No overflow: baseAmount < 2^128 and price < 2^128 (pass 1); scale > 0.
                    let scale := mload(add(ctx_, 0xa0))
                    let notional := mul(baseAmount, calldataload(add(maker, 0x80)))
                    quoteAmount := div(notional, scale)
                    if or(mod(notional, scale), shr(128, quoteAmount)) {
                        reason := 13
                        leave
                    }
                }
                // No overflow: filled <= amount < 2^128.
                let makerFilled := add(mload(add(makerRecord, R_FILLED_NOW)), baseAmount)
                let takerFilled := add(mload(add(takerRecord, R_FILLED_NOW)), baseAmount)
                if or(gt(makerFilled, calldataload(add(maker, 0xa0))), gt(takerFilled, calldataload(add(taker, 0xa0)))) {
                    reason := 6
                    leave
                }
                // The seller pays base, the buyer quote.
                let makerBuys := iszero(iszero(calldataload(add(maker, 0x60))))
                let buyerRecord := takerRecord
                let sellerRecord := makerRecord
                if makerBuys {
                    buyerRecord := makerRecord
                    sellerRecord := takerRecord
                }
                let sellerBaseCell := mload(add(sellerRecord, R_BASE_CELL))
                let buyerQuoteCell := mload(add(buyerRecord, R_QUOTE_CELL))
                let sellerBase := mload(add(sellerBaseCell, C_CURRENT))
                if lt(sellerBase, baseAmount) {
                    reason := add(7, makerBuys) // the maker sells unless it buys
                    leave
                }
                let buyerQuote := mload(add(buyerQuoteCell, C_CURRENT))
                if lt(buyerQuote, quoteAmount) {
                    reason := sub(8, makerBuys) // the taker buys unless the maker does
                    leave
                }

                // ---- effects: every check passed
                mstore(add(makerRecord, R_FILLED_NOW), makerFilled)
                mstore(add(takerRecord, R_FILLED_NOW), takerFilled)
                mstore(add(sellerBaseCell, C_CURRENT), sub(sellerBase, baseAmount))
                mstore(add(buyerQuoteCell, C_CURRENT), sub(buyerQuote, quoteAmount))
                // Fees round down, in the trader's favour, and never exceed what they are
                // taken from (fill bps <= order cap <= BPS, checked in pass 1).
                let makerFeeBps := and(shr(FILL_MAKER_FEE_SHIFT, fill), 0xffff)
                let takerFeeBps := and(fill, 0xffff)
                let buyerFee := div(mul(baseAmount, add(mul(makerBuys, makerFeeBps), mul(iszero(makerBuys), takerFeeBps))), BPS)
                let sellerFee := div(mul(quoteAmount, add(mul(makerBuys, takerFeeBps), mul(iszero(makerBuys), makerFeeBps))), BPS)
                // Credits re-read their cell after the debits: in a self-trade the buyer's base
                // cell is the seller's. They are bounded by token supply; a wrap would need a
                // token that lies about balances, so it reverts the batch.
                credit(add(mload(add(buyerRecord, R_BASE_CELL)), C_CURRENT), sub(baseAmount, buyerFee))
                credit(add(mload(add(sellerRecord, R_QUOTE_CELL)), C_CURRENT), sub(quoteAmount, sellerFee))
                credit(add(mload(add(ctx_, 0xc0)), 0x20), buyerFee) // fee entries: token, amount
                credit(add(mload(add(ctx_, 0xe0)), 0x20), sellerFee)
            }

            /// Adds `amount` to the memory word at `pointer`, reverting on overflow.
            function credit(pointer, amount) {
                let before := mload(pointer)
                let after := add(before, amount)
                if lt(after, before) { revert(0, 0) }
                mstore(pointer, after)
            }

            for { let i := 0 } lt(i, fills.length) { i := add(i, 1) } {
                let fill := calldataload(add(fills.offset, shl(5, i)))
                let reason, makerRecord, takerRecord, maker, taker := locate(ctx, fill)
                if iszero(reason) { reason := checkTerms(ctx, fill, maker, taker) }
                let quoteAmount := 0
                if iszero(reason) { reason, quoteAmount := execute(ctx, fill, makerRecord, takerRecord, maker, taker) }
                switch reason
                case 0 {
                    // emit Filled(makerHash, takerHash, fill, quoteAmount)
                    mstore(0x00, fill)
                    mstore(0x20, quoteAmount)
                    log3(0x00, 0x40, filledTopic, mload(makerRecord), mload(takerRecord))
                    settled := add(settled, 1)
                }
                default {
                    // emit FillSkipped(batchId, fillId, reason)
                    mstore(0x00, reason)
                    log3(0x00, 0x20, skippedTopic, batchId, shr(FILL_ID_SHIFT, fill))
                }
            }
            fees := mload(add(ctx, 0x100))
            feesEnd := mload(add(ctx, 0x120))
        }
    }

    /// @dev Allocates the pass-2 context (see _settleFills); the fee list starts right after it.
    function _newFillContext(uint256 table, Order[] calldata orders) private pure returns (uint256 ctx) {
        uint256 scalesSlot;
        assembly ("memory-safe") {
            scalesSlot := _scales.slot
            ctx := mload(0x40)
            mstore(ctx, table)
            mstore(add(ctx, 0x20), orders.offset)
            mstore(add(ctx, 0x40), orders.length)
            mstore(add(ctx, 0x60), 0)
            mstore(add(ctx, 0x80), 0)
            mstore(add(ctx, 0xa0), 0)
            mstore(add(ctx, 0xc0), 0)
            mstore(add(ctx, 0xe0), 0)
            let fees := add(ctx, 0x160)
            mstore(add(ctx, 0x100), fees)
            mstore(add(ctx, 0x120), fees)
            mstore(add(ctx, 0x140), scalesSlot)
            mstore(0x40, fees)
        }
    }

    // =================================================================== pass 3: persist

    /// @dev A fully filled order spends its nonce (and frees its `_partialFills` slot, earning
    /// the refund); a partly filled one records its hash tag and filled amount under its nonce
    /// and marks the nonce partial.
    /// Orders are sorted by trader and nonce, so the bits for one nonce word are gathered and
    /// the word is written once.
    function _persistOrders(uint256 table, Order[] calldata orders) private {
        address wordTrader;
        uint256 wordIndex;
        uint256 wordBits;
        for (uint256 i; i < orders.length; ++i) {
            uint256 record = _record(table, i);
            if (_mload(record + R_STATUS) != STATUS_VALID) continue;
            uint256 filledBefore = _mload(record + R_FILLED_BEFORE);
            uint256 filledNow = _mload(record + R_FILLED_NOW);
            if (filledNow == filledBefore) continue;
            Order calldata order = orders[i];
            address trader = OrderLib.addressField(order, OrderLib.TRADER);
            uint256 nonce = OrderLib.field(order, OrderLib.NONCE);
            uint256 state;
            if (filledNow == OrderLib.field(order, OrderLib.AMOUNT)) {
                state = NONCE_SPENT;
                if (filledBefore != 0) delete _partialFills[trader][nonce];
            } else {
                // filledNow < amount < 2^128: it fits under the tag.
                _partialFills[trader][nonce] = (_mload(record + R_HASH) & ~FILLED_MASK) | filledNow;
                if (filledBefore != 0) continue; // its nonce is already marked partial
                state = NONCE_PARTIAL;
            }
            if (trader != wordTrader || nonce >> 7 != wordIndex) {
                if (wordBits != 0) _nonceStates[wordTrader][wordIndex] |= wordBits;
                wordTrader = trader;
                wordIndex = nonce >> 7;
                wordBits = 0;
            }
            wordBits |= state << ((nonce & 127) << 1);
        }
        if (wordBits != 0) _nonceStates[wordTrader][wordIndex] |= wordBits;
    }

    /// @dev Writes every balance cell that changed.
    function _persistBalances(uint256 cells, uint256 cellsEnd) private {
        for (uint256 cell = cells; cell < cellsEnd; cell += CELL_SIZE) {
            uint256 balance = _mload(cell + C_CURRENT);
            if (balance != _mload(cell + C_ORIGINAL)) _sstore(_mload(cell + C_SLOT), balance);
        }
    }

    /// @dev Credits each token's fee total to the fee recipient. After _persistBalances, and
    /// as an increment: the fee recipient may also have traded in this batch.
    function _creditFees(uint256 fees, uint256 feesEnd) private {
        address recipient = _feeRecipient;
        for (uint256 entry = fees; entry < feesEnd; entry += FEE_SIZE) {
            uint256 amount = _mload(entry + 0x20);
            if (amount != 0) _balances[recipient][address(uint160(_mload(entry)))] += amount;
        }
    }

    // =================================================================== memory and storage helpers

    /// @dev Zeroed memory for `count` order records.
    function _allocateOrderTable(uint256 count) private pure returns (uint256 table) {
        uint256[] memory words = new uint256[](count * (RECORD_SIZE / 32));
        assembly ("memory-safe") {
            table := add(words, 0x20)
        }
    }

    function _record(uint256 table, uint256 index) private pure returns (uint256) {
        // Cannot overflow: index < orders.length, and the table was allocated for it.
        unchecked {
            return table + index * RECORD_SIZE;
        }
    }

    function _mload(uint256 pointer) private pure returns (uint256 value) {
        assembly ("memory-safe") {
            value := mload(pointer)
        }
    }

    function _mstore(uint256 pointer, uint256 value) private pure {
        assembly ("memory-safe") {
            mstore(pointer, value)
        }
    }

    function _freeMemoryPointer() private pure returns (uint256 pointer) {
        assembly ("memory-safe") {
            pointer := mload(0x40)
        }
    }

    function _setFreeMemoryPointer(uint256 pointer) private pure {
        assembly ("memory-safe") {
            mstore(0x40, pointer)
        }
    }

    /// @dev The slot of `_balances[trader][token]` (Solidity's mapping layout).
    function _balanceSlot(address trader, address token) private pure returns (uint256 slot) {
        assembly ("memory-safe") {
            mstore(0x00, trader)
            mstore(0x20, _balances.slot)
            mstore(0x20, keccak256(0x00, 0x40))
            mstore(0x00, token)
            slot := keccak256(0x00, 0x40)
        }
    }

    function _sload(uint256 slot) private view returns (uint256 value) {
        assembly ("memory-safe") {
            value := sload(slot)
        }
    }

    function _sstore(uint256 slot, uint256 value) private {
        assembly ("memory-safe") {
            sstore(slot, value)
        }
    }

    // =================================================================== nonce bitmap

    function _nonceState(address trader, uint256 nonce) private view returns (uint256) {
        return (_nonceStates[trader][nonce >> 7] >> ((nonce & 127) << 1)) & 3;
    }

    /// @dev ORs `state` into the nonce's two bits: states only move up (fresh -> partial -> spent).
    function _markNonce(address trader, uint256 nonce, uint256 state) private {
        _nonceStates[trader][nonce >> 7] |= state << ((nonce & 127) << 1);
    }

    // =================================================================== vault internals

    function _deposit(address trader, address token, uint256 amount) private returns (uint256 credited) {
        if (amount == 0) revert SettlementZeroAmount();
        if (_scales[token] == 0) revert SettlementTokenNotListed(token);
        IERC20 erc20 = IERC20(token);
        uint256 before = erc20.balanceOf(address(this));
        erc20.safeTransferFrom(msg.sender, address(this), amount);
        // A fee-on-transfer token delivers less than `amount`: credit what arrived.
        credited = erc20.balanceOf(address(this)) - before;
        if (credited == 0) revert SettlementZeroAmount();
        _balances[trader][token] += credited;
        _totals[token] += credited;
        emit Deposited(trader, token, msg.sender, credited);
    }

    /// @dev Pays the smaller of the request and the current balance (fills settled during the
    /// delay may have spent some of it) and clears the request.
    function _payOut(address trader, address token, uint256 requested, bool early) private returns (uint256 amount) {
        uint256 balance = _balances[trader][token];
        amount = requested < balance ? requested : balance;
        delete _withdrawals[trader][token];
        // Cannot underflow: amount <= balance <= total.
        unchecked {
            _balances[trader][token] = balance - amount;
            _totals[token] -= amount;
        }
        if (amount != 0) IERC20(token).safeTransfer(trader, amount);
        emit Withdrawn(trader, token, amount, early);
    }

    /// @dev The withdrawal delay a request made now gets: a scheduled increase once its time has come.
    function _currentWithdrawalDelay() private view returns (uint64) {
        uint64 pending = _pendingWithdrawalDelay;
        if (pending != 0 && block.timestamp >= _pendingWithdrawalDelayAt) return pending;
        return _withdrawalDelay;
    }

    function _checkWithdrawalDelay(uint64 delay) private pure {
        if (delay < MIN_WITHDRAWAL_DELAY || delay > MAX_WITHDRAWAL_DELAY) {
            revert SettlementWithdrawalDelayOutOfRange(delay);
        }
    }
}
