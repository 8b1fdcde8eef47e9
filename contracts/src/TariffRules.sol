// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title The tariff rules: a price curve a bill's total cannot be turned into an oracle with.
/// @notice Mirrors protocol/tariff-rules.ts rule for rule and in the same order, so the ledger and the
/// household node refuse the same curves with the same first reason (docs/privacy.md):
///  1. at most MAX_LEVELS distinct prices a day;
///  2. every run of equal prices (round the clock, across midnight) at least `minRun` slots long;
///  3. every price a multiple of 10^(digits(max) - SIGNIFICANT_DIGITS);
///  4. distinct prices at least max / GAP_DIVISOR apart.
/// @dev Internal functions only: inlined into the ledger, no library deployment or DELEGATECALL.
library TariffRules {
    uint256 internal constant MAX_LEVELS = 4;
    uint256 internal constant SIGNIFICANT_DIGITS = 3;
    uint256 internal constant GAP_DIVISOR = 20;

    /// @notice A fifth distinct price appears at `slot`.
    error TooManyPriceLevels(uint256 slot, uint256 maxLevels);
    /// @notice The run of equal prices starting at `slot` lasts `length` slots, fewer than `minRun`.
    error PriceRunTooShort(uint256 slot, uint256 length, uint256 minRun);
    /// @notice The price at `slot` is not a multiple of `unit` (more than three significant digits).
    error PriceTooPrecise(uint256 slot, uint64 price, uint256 unit);
    /// @notice Two neighbouring price levels differ by less than `minGap` (5 % of the highest price).
    error PriceLevelsTooClose(uint64 low, uint64 high, uint256 minGap);

    /// @notice Reverts with the first rule `prices` breaks.
    /// @dev One pass over the slots (levels, maximum, runs), then at most four levels for precision and
    /// gaps: the first price breaking precision is the first appearance of some level, and every run
    /// is found at a change of price. Runs are reported in the order of protocol/tariff-rules.ts's walk
    /// round the clock from the first change: the linear runs in order, the one across midnight last.
    /// @param prices one price per slot of the day (the caller has checked the count)
    /// @param minRun slots a run of equal prices must last: ceil(3600 s / interval)
    function check(uint64[] calldata prices, uint256 minRun) internal pure {
        Levels memory l = _scan(prices, minRun);
        uint256 count = l.count;
        uint256 max = l.max;
        // Precision on the scale of the highest price: the first offending slot is a level's first.
        uint256 digits;
        for (uint256 t = max; t != 0; t /= 10) ++digits;
        uint256 unit = digits > SIGNIFICANT_DIGITS ? 10 ** (digits - SIGNIFICANT_DIGITS) : 1;
        uint256 bad = type(uint256).max;
        for (uint256 j = 0; j < count; ++j) {
            if (l.prices[j] % unit != 0 && l.firstSlot[j] < bad) bad = l.firstSlot[j];
        }
        if (bad != type(uint256).max) revert PriceTooPrecise(bad, uint64(_price(prices, bad)), unit);
        // Gaps between neighbouring levels, lowest first (insertion sort of at most four).
        uint256[MAX_LEVELS] memory levels = l.prices;
        for (uint256 i = 1; i < count; ++i) {
            uint256 v = levels[i];
            uint256 j = i;
            while (j > 0 && levels[j - 1] > v) {
                levels[j] = levels[j - 1];
                --j;
            }
            levels[j] = v;
        }
        for (uint256 i = 1; i < count; ++i) {
            if ((levels[i] - levels[i - 1]) * GAP_DIVISOR < max) {
                revert PriceLevelsTooClose(
                    uint64(levels[i - 1]), uint64(levels[i]), (max + GAP_DIVISOR - 1) / GAP_DIVISOR
                );
            }
        }
    }

    /// @dev The day's distinct prices in order of first appearance, with that slot, and the maximum.
    struct Levels {
        uint256[MAX_LEVELS] prices;
        uint256[MAX_LEVELS] firstSlot;
        uint256 count;
        uint256 max;
    }

    /// @dev Rules 1 and 2 in one pass. A run violation is remembered, not raised at once: the level rule
    /// is judged over the whole day first.
    function _scan(uint64[] calldata prices, uint256 minRun) private pure returns (Levels memory l) {
        uint256 n = prices.length;
        uint256 shortStart = type(uint256).max;
        uint256 shortLength;
        bool wraps = _price(prices, 0) == _price(prices, n - 1);
        uint256 firstRunLength;
        uint256 runStart;
        uint256 previous = type(uint256).max;
        for (uint256 i = 0; i < n; ++i) {
            uint256 p = _price(prices, i);
            if (p == previous) continue;
            // A change of price at i: a new linear run, perhaps a new level.
            if (i != 0) {
                uint256 length = i - runStart;
                if (runStart == 0 && wraps) {
                    firstRunLength = length; // joins the run across midnight, checked last
                } else if (length < minRun && shortStart == type(uint256).max) {
                    shortStart = runStart;
                    shortLength = length;
                }
            }
            runStart = i;
            previous = p;
            _addLevel(l, p, i);
        }
        if (l.count > 1) {
            if (shortStart != type(uint256).max) revert PriceRunTooShort(shortStart, shortLength, minRun);
            uint256 last = n - runStart + (wraps ? firstRunLength : 0);
            if (last < minRun) revert PriceRunTooShort(runStart, last, minRun);
        }
    }

    function _addLevel(Levels memory l, uint256 p, uint256 slot) private pure {
        uint256 count = l.count;
        for (uint256 j = 0; j < count; ++j) {
            if (l.prices[j] == p) return;
        }
        if (count == MAX_LEVELS) revert TooManyPriceLevels(slot, MAX_LEVELS);
        l.prices[count] = p;
        l.firstSlot[count] = slot;
        l.count = count + 1;
        if (p > l.max) l.max = p;
    }

    /// @dev prices[i] without the per-access bounds and cleanup checks, which cost more than the rules
    /// themselves: every caller has i < n.
    function _price(uint64[] calldata prices, uint256 i) private pure returns (uint256 p) {
        assembly ("memory-safe") {
            p := calldataload(add(prices.offset, shl(5, i)))
        }
    }
}
