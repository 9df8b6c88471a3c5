// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {ISettlement, Fill, SkipReason} from "./interfaces/ISettlement.sol";
import {Order, OrderLib} from "./libraries/OrderLib.sol";
import {SignatureLib} from "./libraries/SignatureLib.sol";
import {OperatorRoles} from "./OperatorRoles.sol";

/// @title HyperIndex Settlement
/// @notice Holds traders' vault balances and settles the operator's batches of matched fills.
/// @dev Where the gas goes, and what keeps it low (see also bench/gas):
/// - an order is hashed and its signature checked at most once per batch (fills point into
///   the `orders` array) and never again in a later batch (a partially filled order is known
///   by its non-zero `_filled` entry, written only after a valid signature);
/// - an order consumed within one batch needs no per-order slot at all: it only spends its
///   nonce, two bits in a per-trader bitmap word (128 nonces a word, Permit2-style), and a
///   word already touched by earlier orders costs 2,900 to update instead of 22,100;
/// - filled amounts are summed in memory and written once per order per batch; fees are
///   summed per market and credited once per run of same-market fills;
/// - no external call while settling (balances are internal), except EIP-1271 checks.
contract Settlement is ISettlement, EIP712, OperatorRoles, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Longest single guardian pause.
    uint64 public constant MAX_PAUSE = 3 days;
    /// @notice Bounds of the withdrawal delay (the escape hatch must stay usable).
    uint64 public constant MIN_WITHDRAWAL_DELAY = 5 minutes;
    uint64 public constant MAX_WITHDRAWAL_DELAY = 7 days;
    /// @notice Fees are in basis points of what each side receives.
    uint256 internal constant BPS = 10_000;
    /// @dev Largest decimals a listed token may have. A sanity limit (no real token uses more),
    /// not an overflow limit: the scale only divides baseAmount x price, which fits in 256 bits.
    uint8 internal constant MAX_DECIMALS = 36;

    /// @dev Two bits per nonce in `_nonceStates`.
    uint256 private constant NONCE_PARTIAL = 1; // some order with this nonce is partially filled
    uint256 private constant NONCE_SPENT = 3; // cancelled, or an order with it fully filled
    /// @dev Per-order status while a batch runs (kept in memory, one byte per order).
    uint8 private constant STATUS_UNLOADED = 0;
    uint8 private constant STATUS_VALID = 255;
    /// @dev Transient marker base for "this order hash was already loaded in this batch".
    bytes32 private constant SEEN_SLOT_SEED = keccak256("hyperindex.settlement.seen");

    struct WithdrawalRequest {
        uint128 amount;
        uint64 readyAt;
    }

    /// @dev Per-batch working state for the orders array (parallel arrays, in memory).
    struct BatchOrders {
        bytes32[] hashes;
        uint256[] filledBefore;
        uint256[] filledNow;
        uint8[] status;
    }

    /// @dev Fees owed to the fee recipient for the current run of same-market fills.
    struct FeeRun {
        address baseToken;
        address quoteToken;
        uint256 baseFees;
        uint256 quoteFees;
    }

    mapping(address trader => mapping(address token => uint256 balance)) private _balances;
    mapping(address token => uint256 total) private _totals;
    mapping(address token => uint256 scale) private _scales;
    mapping(bytes32 orderHash => uint256 filled) private _filled;
    mapping(address trader => mapping(uint256 word => uint256 bits)) private _nonceStates;
    mapping(address trader => uint256 nonce) private _minNonces;
    mapping(address trader => mapping(address token => WithdrawalRequest)) private _withdrawals;

    address private _feeRecipient;
    uint64 private _nextBatchId;
    uint64 private _pausedUntil;
    uint64 private _withdrawalDelay;

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
        readyAt = uint64(block.timestamp) + _withdrawalDelay;
        // amount <= balance <= total supply of a real token; a balance above 2^128 cannot be
        // requested in one go, which is a limit of this struct, not a loss of funds.
        _withdrawals[msg.sender][token] = WithdrawalRequest(uint128(amount), readyAt);
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
            _markNonce(msg.sender, nonces[i], NONCE_SPENT);
            emit NonceCancelled(msg.sender, nonces[i]);
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
    function settleBatch(uint64 batchId, Order[] calldata orders, bytes[] calldata signatures, Fill[] calldata fills)
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

        uint256 orderCount = orders.length;
        BatchOrders memory batch = BatchOrders({
            hashes: new bytes32[](orderCount),
            filledBefore: new uint256[](orderCount),
            filledNow: new uint256[](orderCount),
            status: new uint8[](orderCount)
        });
        FeeRun memory fees;
        bytes32 domainSeparator = _domainSeparatorV4();

        for (uint256 i; i < fills.length; ++i) {
            Fill calldata fill = fills[i];
            SkipReason reason = _settleFill(batch, fees, domainSeparator, orders, signatures, fill);
            if (reason == SkipReason.None) {
                // Cannot overflow: bounded by fills.length.
                unchecked {
                    ++settled;
                }
            } else {
                emit FillSkipped(batchId, fill.fillId, reason);
            }
        }

        _creditFees(fees);
        _persistOrders(batch, orders);
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
        if (duration > MAX_PAUSE) revert SettlementPauseTooLong(duration, MAX_PAUSE);
        uint64 until = uint64(block.timestamp) + duration;
        _pausedUntil = until;
        emit SettlementPausedUntil(until);
    }

    /// @inheritdoc ISettlement
    function unpause() external onlyRole(GUARDIAN_ROLE) {
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
        _withdrawalDelay = delay;
        emit WithdrawalDelaySet(delay);
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
    function filledAmount(bytes32 orderHash) external view returns (uint256) {
        return _filled[orderHash];
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

    /// @notice Account credited with fees.
    function feeRecipient() external view returns (address) {
        return _feeRecipient;
    }

    /// @notice Delay between a withdrawal request and its finalization.
    function withdrawalDelay() external view returns (uint64) {
        return _withdrawalDelay;
    }

    /// @notice EIP-712 domain separator (name "HyperIndex", version "1", this chain, this contract).
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // =================================================================== settlement internals

    /// @dev Checks one fill and, if valid, moves the balances. Returns why it was skipped, or None.
    /// Nothing is written before every check has passed.
    function _settleFill(
        BatchOrders memory batch,
        FeeRun memory fees,
        bytes32 domainSeparator_,
        Order[] calldata orders,
        bytes[] calldata signatures,
        Fill calldata fill
    ) private returns (SkipReason) {
        uint256 makerIndex = fill.makerIndex;
        uint256 takerIndex = fill.takerIndex;
        uint256 baseAmount = fill.baseAmount;
        if (makerIndex >= orders.length || takerIndex >= orders.length || makerIndex == takerIndex || baseAmount == 0)
        {
            return SkipReason.FillMalformed;
        }
        Order calldata maker = orders[makerIndex];
        Order calldata taker = orders[takerIndex];

        SkipReason reason = _loadOrder(batch, domainSeparator_, maker, signatures[makerIndex], makerIndex);
        if (reason != SkipReason.None) return reason;
        reason = _loadOrder(batch, domainSeparator_, taker, signatures[takerIndex], takerIndex);
        if (reason != SkipReason.None) return reason;

        if (maker.flags & OrderLib.FLAG_IOC != 0 || taker.flags & OrderLib.FLAG_POST_ONLY != 0) {
            return SkipReason.FlagViolation;
        }
        address baseToken = maker.baseToken;
        address quoteToken = maker.quoteToken;
        if (
            taker.baseToken != baseToken || taker.quoteToken != quoteToken || maker.isBuy == taker.isBuy
                || baseToken == quoteToken
        ) return SkipReason.MarketMismatch;
        uint256 scale = _scales[baseToken];
        if (scale == 0) return SkipReason.TokenNotListed;

        uint256 price = maker.price;
        if (maker.isBuy ? taker.price > price : taker.price < price) return SkipReason.PricesDoNotCross;
        if (fill.makerFeeBps > maker.maxMakerFeeBps) return SkipReason.MakerFeeAboveCap;
        if (fill.takerFeeBps > taker.maxTakerFeeBps) return SkipReason.TakerFeeAboveCap;

        // Cannot overflow: baseAmount < 2^128 (uint128) and price < 2^128 (checked on load).
        uint256 notional;
        unchecked {
            notional = baseAmount * price;
        }
        if (notional % scale != 0) return SkipReason.InexactAmount;
        uint256 quoteAmount = notional / scale;

        uint256 makerFilled = batch.filledNow[makerIndex] + baseAmount;
        uint256 takerFilled = batch.filledNow[takerIndex] + baseAmount;
        if (makerFilled > maker.amount || takerFilled > taker.amount) return SkipReason.Overfilled;

        (address buyer, address seller) = maker.isBuy ? (maker.trader, taker.trader) : (taker.trader, maker.trader);
        if (_balances[seller][baseToken] < baseAmount) {
            return maker.isBuy ? SkipReason.TakerUnfunded : SkipReason.MakerUnfunded;
        }
        if (_balances[buyer][quoteToken] < quoteAmount) {
            return maker.isBuy ? SkipReason.MakerUnfunded : SkipReason.TakerUnfunded;
        }

        // ---- effects: every check passed
        batch.filledNow[makerIndex] = makerFilled;
        batch.filledNow[takerIndex] = takerFilled;
        (uint256 buyerFeeBps, uint256 sellerFeeBps) =
            maker.isBuy ? (fill.makerFeeBps, fill.takerFeeBps) : (fill.takerFeeBps, fill.makerFeeBps);
        // Cannot overflow: amounts < 2^128 and bps < 2^16. Fees round down, in the trader's favour.
        uint256 buyerFee;
        uint256 sellerFee;
        unchecked {
            buyerFee = baseAmount * buyerFeeBps / BPS;
            sellerFee = quoteAmount * sellerFeeBps / BPS;
        }
        // Cannot underflow: both balances were checked above, and a self-trade (buyer ==
        // seller) debits and credits different tokens. Credits are checked: they are bounded
        // by real token supply, but a revert beats a silent wrap.
        unchecked {
            _balances[seller][baseToken] -= baseAmount;
            _balances[buyer][quoteToken] -= quoteAmount;
        }
        _balances[buyer][baseToken] += baseAmount - buyerFee;
        _balances[seller][quoteToken] += quoteAmount - sellerFee;
        _addFees(fees, baseToken, quoteToken, buyerFee, sellerFee);

        (uint256 makerFee, uint256 takerFee) = maker.isBuy ? (buyerFee, sellerFee) : (sellerFee, buyerFee);
        emit Filled(fill.fillId, batch.hashes[makerIndex], batch.hashes[takerIndex], baseAmount, quoteAmount, makerFee, takerFee);
        return SkipReason.None;
    }

    /// @dev Validates `order` the first time the batch touches it and caches the verdict, so
    /// later fills of the same order cost a memory read. A signature is checked only for an
    /// order that no earlier batch has filled.
    function _loadOrder(
        BatchOrders memory batch,
        bytes32 domainSeparator_,
        Order calldata order,
        bytes calldata signature,
        uint256 index
    ) private returns (SkipReason) {
        uint8 status = batch.status[index];
        if (status == STATUS_VALID) return SkipReason.None;
        if (status != STATUS_UNLOADED) return SkipReason(status);
        SkipReason reason = _validateOrder(batch, domainSeparator_, order, signature, index);
        batch.status[index] = reason == SkipReason.None ? STATUS_VALID : uint8(reason);
        return reason;
    }

    function _validateOrder(
        BatchOrders memory batch,
        bytes32 domainSeparator_,
        Order calldata order,
        bytes calldata signature,
        uint256 index
    ) private returns (SkipReason) {
        if (
            order.price == 0 || order.amount == 0 || order.price > type(uint128).max
                || order.amount > type(uint128).max
        ) return SkipReason.OrderOutOfRange;
        if (order.flags & ~OrderLib.KNOWN_FLAGS != 0) return SkipReason.FlagViolation;
        if (block.timestamp > order.expiry) return SkipReason.OrderExpired;
        address trader = order.trader;
        uint256 nonce = order.nonce;
        if (nonce < _minNonces[trader]) return SkipReason.NonceBelowMinimum;
        uint256 nonceState = _nonceState(trader, nonce);
        if (nonceState == NONCE_SPENT) return SkipReason.OrderCancelled;

        bytes32 orderHash = OrderLib.digest(domainSeparator_, OrderLib.structHash(order));
        batch.hashes[index] = orderHash;
        if (!_markSeen(orderHash)) return SkipReason.FillMalformed; // the same order twice in one batch
        uint256 filledBefore = nonceState == NONCE_PARTIAL ? _filled[orderHash] : 0;
        // An order with filled > 0 had its signature verified by the batch that filled it.
        if (filledBefore == 0 && !SignatureLib.isValid(trader, orderHash, signature)) return SkipReason.BadSignature;

        batch.filledBefore[index] = filledBefore;
        batch.filledNow[index] = filledBefore;
        return SkipReason.None;
    }

    /// @dev Writes each touched order once: a fully filled order spends its nonce (and frees
    /// its filled slot, earning the refund); a partly filled one records its filled amount.
    /// Also clears the transient "seen" markers.
    function _persistOrders(BatchOrders memory batch, Order[] calldata orders) private {
        for (uint256 i; i < orders.length; ++i) {
            bytes32 orderHash = batch.hashes[i];
            if (orderHash != 0) _clearSeen(orderHash);
            if (batch.status[i] != STATUS_VALID) continue;
            uint256 filledBefore = batch.filledBefore[i];
            uint256 filledNow = batch.filledNow[i];
            if (filledNow == filledBefore) continue;
            Order calldata order = orders[i];
            if (filledNow == order.amount) {
                _markNonce(order.trader, order.nonce, NONCE_SPENT);
                if (filledBefore != 0) delete _filled[orderHash];
            } else {
                _filled[orderHash] = filledNow;
                if (filledBefore == 0) _markNonce(order.trader, order.nonce, NONCE_PARTIAL);
            }
        }
    }

    /// @dev Sums fees for a run of fills in the same market; credits the previous run when
    /// the market changes. The operator groups fills by market, so this is one write per
    /// token per market per batch instead of one per fill.
    function _addFees(FeeRun memory fees, address baseToken, address quoteToken, uint256 baseFee, uint256 quoteFee)
        private
    {
        if (fees.baseToken != baseToken || fees.quoteToken != quoteToken) {
            _creditFees(fees);
            fees.baseToken = baseToken;
            fees.quoteToken = quoteToken;
        }
        // Cannot overflow: each fee is below its fill's amount (< 2^128); a batch has far
        // fewer than 2^128 fills.
        unchecked {
            fees.baseFees += baseFee;
            fees.quoteFees += quoteFee;
        }
    }

    function _creditFees(FeeRun memory fees) private {
        address recipient = _feeRecipient;
        if (fees.baseFees != 0) _balances[recipient][fees.baseToken] += fees.baseFees;
        if (fees.quoteFees != 0) _balances[recipient][fees.quoteToken] += fees.quoteFees;
        fees.baseFees = 0;
        fees.quoteFees = 0;
    }

    // =================================================================== nonce bitmap

    function _nonceState(address trader, uint256 nonce) private view returns (uint256) {
        return (_nonceStates[trader][nonce >> 7] >> ((nonce & 127) << 1)) & 3;
    }

    /// @dev ORs `state` into the nonce's two bits: states only move up (fresh -> partial -> spent).
    function _markNonce(address trader, uint256 nonce, uint256 state) private {
        _nonceStates[trader][nonce >> 7] |= state << ((nonce & 127) << 1);
    }

    // =================================================================== transient "seen" set

    /// @dev Returns false if `orderHash` was already loaded in this batch.
    function _markSeen(bytes32 orderHash) private returns (bool fresh) {
        bytes32 slot = SEEN_SLOT_SEED ^ orderHash;
        assembly ("memory-safe") {
            fresh := iszero(tload(slot))
            tstore(slot, 1)
        }
    }

    function _clearSeen(bytes32 orderHash) private {
        bytes32 slot = SEEN_SLOT_SEED ^ orderHash;
        assembly ("memory-safe") {
            tstore(slot, 0)
        }
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

    function _checkWithdrawalDelay(uint64 delay) private pure {
        if (delay < MIN_WITHDRAWAL_DELAY || delay > MAX_WITHDRAWAL_DELAY) {
            revert SettlementWithdrawalDelayOutOfRange(delay);
        }
    }
}
