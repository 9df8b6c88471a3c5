// SPDX-License-Identifier: BUSL-1.1
pragma solidity 0.8.28;

import {Order} from "../libraries/OrderLib.sol";

/// @dev A fill is one matched trade the operator asks the contract to settle. It executes at
/// the maker's price; each side pays its fee out of what it receives. It travels as ONE packed
/// word, because calldata is the largest per-fill cost and six ABI words would be mostly zeros:
///
///     bits 192..255  fillId       uint64   the operator's id for this fill (its matching engine's)
///     bits 176..191  makerIndex   uint16   index of the maker order in `orders`
///     bits 160..175  takerIndex   uint16   index of the taker order in `orders`
///     bits  32..159  baseAmount   uint128  base atoms traded
///     bits  16..31   makerFeeBps  uint16   maker fee, in basis points of what the maker receives
///     bits   0..15   takerFeeBps  uint16   taker fee, in basis points of what the taker receives
///
/// TypeScript: operator/settlement packFill / unpackFill.

/// @notice Why a fill was skipped. Codes are stable: indexers and the operator rely on them.
enum SkipReason {
    None, // 0: never emitted
    FillMalformed, // 1: order index out of range, maker index == taker index, or zero amount
    BadSignature, // 2: neither a valid low-s ECDSA signature by the trader nor accepted by its EIP-1271 wallet given a full call's gas
    OrderCancelled, // 3: the order's nonce was cancelled, or spent by a fully filled order
    NonceBelowMinimum, // 4: the order's nonce is below the trader's minimum nonce
    OrderExpired, // 5: block.timestamp > expiry
    Overfilled, // 6: the fill would take the order past its amount
    MakerUnfunded, // 7: the maker's vault balance cannot pay its side
    TakerUnfunded, // 8: the taker's vault balance cannot pay its side
    MakerFeeAboveCap, // 9: makerFeeBps above the maker order's maxMakerFeeBps
    TakerFeeAboveCap, // 10: takerFeeBps above the taker order's maxTakerFeeBps
    PricesDoNotCross, // 11: the taker's limit is worse than the maker's price
    MarketMismatch, // 12: different tokens, same side, or base token equal to quote token
    InexactAmount, // 13: baseAmount x price is not a whole number of quote atoms, or the quote amount is 2^128 or more
    TokenNotListed, // 14: the base or the quote token was never listed
    FlagViolation, // 15: post-only order as taker, IOC order as maker, or unknown flag bits
    OrderOutOfRange, // 16: price or amount zero or above 2^128 - 1, or a fee cap above 10,000 bps
    SignatureBudgetExhausted, // 17: the order needs an EIP-1271 check the batch will not pay for (budget spent, or its wallet burned a whole call already); retry in a later batch
    NonceInUse // 18: the trader's nonce already backs another order, partially filled (a nonce backs at most one order)
}

/// @title HyperIndex Settlement
/// @notice Vault and batch settler: traders keep balances here; the operator settles batches
/// of matched fills between signed orders; traders can always leave through a delayed
/// withdrawal that needs nobody's help.
///
/// What a signed order guarantees, and what it does not:
/// - The operator chooses which orders meet, which one is the maker and which the taker, and
///   the fee rates. The trader's signature still bounds every fill: it executes at the maker's
///   price, which is never worse than either side's signed limit (a buyer never pays more, a
///   seller never receives less, than its signed price); each fee rate is at most the cap the
///   trader signed for the role it got (maxMakerFeeBps / maxTakerFeeBps); an order never fills
///   past its amount, after its expiry or once its nonce is cancelled; a post-only order is
///   never a taker and an IOC order never a maker. What it does not get is price improvement:
///   an order the operator makes the maker trades at its own signed price, even against a
///   counterparty that would have accepted a better one.
/// - IOC (immediate-or-cancel) is an instruction to the operator's matching engine, enforced on
///   chain only as "never a maker": there is no on-chain deadline beyond `expiry`. A trader who
///   needs an IOC order dead on chain signs it with a short expiry, or cancels its nonce.
/// - A nonce is an order's on-chain identity: the first order filled under a nonce owns it
///   until it is fully filled (the nonce is then spent) or cancelled; any other order signed
///   with the same nonce is skipped (NonceInUse), so two orders sharing a nonce can never both
///   trade.
/// - A signature is checked once, the first time its order settles. For an EIP-1271 wallet
///   this means its approval is final for that order: a wallet that later changes its mind
///   (rotates owners, revokes a session key) does not stop an order it already approved and
///   that is partially filled; it revokes by cancelling the nonce (cancelNonces) or raising its
///   minimum nonce (raiseMinNonce), from the wallet.
/// - EIP-1271 checks cost the batch gas, so they are bounded: each call gets at most
///   ERC1271_GAS_LIMIT gas, and all of a batch's calls together at most ERC1271_BATCH_GAS_BUDGET
///   (see settleBatch). An ECDSA order never depends on a wallet's behaviour.
interface ISettlement {
    // ------------------------------------------------------------------ errors

    /// @notice The batch id is not the next one: a batch settles once, in order.
    error SettlementBatchOutOfOrder(uint64 expected, uint64 got);
    /// @notice `orders` must be sorted by trader, then strictly increasing nonce; `index` breaks it.
    /// @dev Sorting lets the contract read each trader's nonce state once, net each balance in
    /// memory, and makes a duplicate order in one batch impossible.
    error SettlementOrdersNotSorted(uint256 index);
    /// @notice `orders` and `signatures` must be parallel arrays.
    error SettlementLengthMismatch(uint256 orders, uint256 signatures);
    /// @notice Settlement is paused by the guardian until `until`.
    error SettlementPaused(uint64 until);
    /// @notice The token has not been listed by the admin.
    error SettlementTokenNotListed(address token);
    /// @notice The token is already listed.
    error SettlementTokenAlreadyListed(address token);
    /// @notice The token reports decimals this contract cannot price with (more than 36).
    error SettlementUnsupportedDecimals(address token, uint8 decimals);
    /// @notice A zero amount, a deposit that credited nothing, or a pause of zero seconds.
    error SettlementZeroAmount();
    /// @notice A zero address where an account is required.
    error SettlementZeroAddress();
    /// @notice The account's balance is below what was asked.
    error SettlementInsufficientBalance(address trader, address token, uint256 balance, uint256 needed);
    /// @notice There is no pending withdrawal for this (trader, token).
    error SettlementNoWithdrawalRequest(address trader, address token);
    /// @notice The withdrawal delay has not passed yet.
    error SettlementWithdrawalNotReady(uint64 readyAt);
    /// @notice A new minimum nonce must be above the current one.
    error SettlementMinNonceNotIncreasing(uint256 current, uint256 requested);
    /// @notice A pause longer than MAX_PAUSE was requested. `requested` counts from the start of
    /// the running pause when it extends one: a pause can be stretched, never chained.
    error SettlementPauseTooLong(uint64 requested, uint64 maximum);
    /// @notice A new pause cannot start before `availableAt`: PAUSE_COOLDOWN after the end of
    /// the previous one (its expiry, or the unpause that lifted it early).
    error SettlementPauseCoolingDown(uint64 availableAt);
    /// @notice A withdrawal delay outside [MIN_WITHDRAWAL_DELAY, MAX_WITHDRAWAL_DELAY].
    error SettlementWithdrawalDelayOutOfRange(uint64 requested);

    // ------------------------------------------------------------------ events

    /// @notice The admin listed a token for deposits and trading.
    event TokenListed(address indexed token, uint8 decimals);
    /// @notice `amount` of `token` arrived and was credited to `trader`.
    event Deposited(address indexed trader, address indexed token, address indexed from, uint256 amount);
    /// @notice `trader` asked to withdraw; it can finalize at `readyAt`. Replaces an earlier request.
    event WithdrawalRequested(address indexed trader, address indexed token, uint256 amount, uint64 readyAt);
    /// @notice `amount` left the vault to `trader`. `early` when the operator released it before the delay.
    event Withdrawn(address indexed trader, address indexed token, uint256 amount, bool early);
    /// @notice `trader` cancelled the order with `nonce`. `filled`: base atoms that order had
    /// filled when it was cancelled, if it was partially filled (it stays at that amount for
    /// good); 0 if no order had traded under the nonce, or if the nonce was already spent
    /// (cancelled before, or its order fully filled: see the Filled events). With it an indexer
    /// tells a partially filled order that was cancelled from one still resting.
    event NonceCancelled(address indexed trader, uint256 nonce, uint256 filled);
    /// @notice Every order of `trader` with a nonce below `minNonce` is cancelled.
    event MinNonceRaised(address indexed trader, uint256 minNonce);
    /// @notice A fill settled at the maker's price. `fill` is the packed fill word exactly as the
    /// operator sent it (fillId, order indices, baseAmount, fee bps: see the layout above);
    /// `quoteAmount` = baseAmount x maker price / 10^baseDecimals. Each side's fee is
    /// floor(received x bps / 10,000): the buyer receives base, the seller quote; fees are
    /// credited to the fee recipient. Together with the order hashes this reconstructs the fill.
    event Filled(bytes32 indexed makerHash, bytes32 indexed takerHash, uint256 fill, uint256 quoteAmount);
    /// @notice A fill was not settled; the rest of its batch was.
    event FillSkipped(uint64 indexed batchId, uint64 indexed fillId, SkipReason reason);
    /// @notice Batch `batchId` settled `settled` of its `fills` fills.
    event BatchSettled(uint64 indexed batchId, uint256 fills, uint256 settled);
    /// @notice The guardian paused settlement until `until`, or lifted the pause (`until` 0).
    /// Withdrawals are never paused.
    event SettlementPausedUntil(uint64 until);
    /// @notice The admin set where fees are credited.
    event FeeRecipientSet(address indexed feeRecipient);
    /// @notice The withdrawal delay is now `delay`, at once (at deployment, or a delay no longer
    /// than the current one); any scheduled increase is dropped.
    event WithdrawalDelaySet(uint64 delay);
    /// @notice The admin asked for a longer withdrawal delay: requests made from `effectiveAt`
    /// on get `delay`; requests made before keep the readyAt they got. `effectiveAt` is the
    /// current delay away, so a trader who disagrees can leave under the current delay first.
    /// It takes effect by itself (no further transaction, no further event).
    event WithdrawalDelayIncreaseScheduled(uint64 delay, uint64 effectiveAt);

    // ------------------------------------------------------------------ trader actions

    /// @notice Pulls `amount` of `token` from the caller and credits what actually arrived.
    function deposit(address token, uint256 amount) external returns (uint256 credited);

    /// @notice Pulls `amount` of `token` from the caller and credits what arrived to `trader`.
    function depositFor(address trader, address token, uint256 amount) external returns (uint256 credited);

    /// @notice Starts a withdrawal of `amount` (below 2^128); it can be finalized at `readyAt`,
    /// now + the withdrawal delay in effect now. A request keeps its readyAt whatever the admin
    /// later does to the delay. A new request replaces the previous one for that token.
    function requestWithdrawal(address token, uint256 amount) external returns (uint64 readyAt);

    /// @notice Pays out a request whose delay has passed: the escape hatch, callable by anyone
    /// (the funds only ever go to the trader). Pays the smaller of the request and the balance.
    function finalizeWithdrawal(address trader, address token) external returns (uint256 amount);

    /// @notice Cancels every order of the caller that uses one of `nonces` (emits NonceCancelled
    /// with each order's filled amount). This is also how an EIP-1271 wallet revokes an order it
    /// approved: its approval is checked once, when the order first settles.
    function cancelNonces(uint256[] calldata nonces) external;

    /// @notice Cancels every order of the caller with a nonce below `minNonce`.
    function raiseMinNonce(uint256 minNonce) external;

    // ------------------------------------------------------------------ operator actions

    /// @notice Settles `fills` (packed words, see above) between `orders` (sorted by trader,
    /// then nonce). Reverts only for a wrong batch id, a pause, unsorted orders or mismatched
    /// arrays; an invalid fill is skipped with a FillSkipped event and the rest settles.
    /// @dev EIP-1271 gas budget. An order whose signature is not the trader's ECDSA signature is
    /// checked with its wallet's isValidSignature (only the first time it settles), and the
    /// batch bounds what those calls may cost, so that no wallet can make a batch of honest fills
    /// run out of gas, even one that passed the operator's off-chain check and then changed its
    /// behaviour:
    ///  - each call gets at most ERC1271_GAS_LIMIT gas (250,000), and never more than what is
    ///    left of the batch's budget, ERC1271_BATCH_GAS_BUDGET (500,000), which every call
    ///    spends by the gas it used;
    ///  - once the budget is spent, further wallet orders are not called: SignatureBudgetExhausted;
    ///  - a wallet that burns a whole call's gas and fails is not called again in that batch:
    ///    that order BadSignature, its other orders SignatureBudgetExhausted;
    ///  - a wallet that fails having had less than a whole call (the budget ran low) is
    ///    SignatureBudgetExhausted, not BadSignature: it may just have needed more.
    /// So EIP-1271 calls add at most ERC1271_BATCH_GAS_BUDGET (plus about 3,000 gas per wallet
    /// order for the call itself) to a batch's gas. An operator sizing a batch for a block
    /// leaves that much headroom when the batch carries wallet orders not yet filled on chain,
    /// and retries SignatureBudgetExhausted orders in a later batch.
    /// @param signatures one per order; may be empty for an order already partially filled on chain
    function settleBatch(
        uint64 batchId,
        Order[] calldata orders,
        bytes[] calldata signatures,
        uint256[] calldata fills
    ) external returns (uint256 settled);

    /// @notice Pays out a pending withdrawal before its delay, once no unsettled fill depends on it.
    function releaseWithdrawal(address trader, address token) external returns (uint256 amount);

    // ------------------------------------------------------------------ guardian and admin

    /// @notice Pauses settlement for `duration` seconds from now. Never blocks deposits,
    /// cancellations or withdrawals. Bounded so that settlement is paused at most MAX_PAUSE (3
    /// days) in any window of MAX_PAUSE + PAUSE_COOLDOWN (7 days):
    ///  - a pause lasts at most MAX_PAUSE from its start; calling pause while paused moves the
    ///    end (now + duration) but never past start + MAX_PAUSE (SettlementPauseTooLong);
    ///  - a new pause starts at least PAUSE_COOLDOWN (4 days) after the previous one ended, by
    ///    expiring or by unpause (SettlementPauseCoolingDown).
    function pause(uint64 duration) external;

    /// @notice Lifts a pause before it expires; the cooldown before the next pause runs from now.
    function unpause() external;

    /// @notice Lists `token`, reading its decimals once.
    function listToken(address token) external;

    /// @notice Sets the account fees are credited to.
    function setFeeRecipient(address feeRecipient) external;

    /// @notice Sets the withdrawal delay within [MIN_WITHDRAWAL_DELAY, MAX_WITHDRAWAL_DELAY].
    /// A delay no longer than the current one applies at once (it only lets traders out
    /// sooner) and drops any scheduled increase. A longer one is scheduled: it applies to
    /// requests made from now + the current delay on (WithdrawalDelayIncreaseScheduled), so it
    /// never binds anyone who asks to leave before then. A withdrawal request always keeps the
    /// readyAt it got, whether the delay later grows or shrinks (to use a shorter delay, request
    /// again). Scheduling another increase restarts the wait.
    function setWithdrawalDelay(uint64 delay) external;

    // ------------------------------------------------------------------ views

    /// @notice Vault balance of (`trader`, `token`).
    function balanceOf(address trader, address token) external view returns (uint256);

    /// @notice Vault balances of the pairs (`traders[i]`, `tokens[i]`) in one call.
    function balancesOf(address[] calldata traders, address[] calldata tokens) external view returns (uint256[] memory);

    /// @notice Sum of all vault balances of `token` (what the vault owes).
    function totalBalance(address token) external view returns (uint256);

    /// @notice The id `settleBatch` expects next.
    function nextBatchId() external view returns (uint64);

    /// @notice Base atoms of `order` already filled, while it is partially filled or after it was
    /// cancelled partially filled. A fully filled order reports 0 here and `isNonceSpent` true;
    /// an order whose nonce backs another order reports 0.
    function filledAmount(Order calldata order) external view returns (uint256);

    /// @notice The order that `trader`'s `nonce` backs, if one was partially filled under it:
    /// the high 128 bits of its EIP-712 hash (hashOrder) and its filled base atoms; zeros if no
    /// order traded under the nonce, or if the order that did was fully filled (isNonceSpent).
    /// An entry that stays with the nonce spent is an order cancelled after a partial fill.
    function nonceFill(address trader, uint256 nonce) external view returns (bytes16 orderHashPrefix, uint256 filled);

    /// @notice Whether `nonce` of `trader` is spent (cancelled, or its order fully filled).
    function isNonceSpent(address trader, uint256 nonce) external view returns (bool);

    /// @notice Minimum nonce of `trader`'s orders.
    function minNonce(address trader) external view returns (uint256);

    /// @notice Pending withdrawal of (`trader`, `token`).
    function withdrawalRequest(address trader, address token) external view returns (uint256 amount, uint64 readyAt);

    /// @notice EIP-712 digest of `order` under this contract's domain.
    function hashOrder(Order calldata order) external view returns (bytes32);

    /// @notice 10^decimals of a listed token, 0 if unlisted.
    function tokenScale(address token) external view returns (uint256);

    /// @notice Settlement is paused until this time (0 or past: not paused).
    function pausedUntil() external view returns (uint64);

    /// @notice Earliest time a new pause may start (PAUSE_COOLDOWN after the last one ended);
    /// 0 if there never was one.
    function nextPauseAt() external view returns (uint64);

    /// @notice A scheduled longer withdrawal delay and when it takes effect; zeros if none is
    /// waiting (never scheduled, dropped, or already in effect: see withdrawalDelay).
    function pendingWithdrawalDelay() external view returns (uint64 delay, uint64 effectiveAt);
}
