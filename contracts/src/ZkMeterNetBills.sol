// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TariffRules} from "./TariffRules.sol";
import {ZkMeterLedgerBase} from "./ZkMeterLedgerBase.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @notice The Groth16 verifier snarkjs exports for the net-bill circuit (circuits/build/<profile>/net/),
/// renamed Groth16NetVerifier at compile time (contracts/ts/compile.ts).
interface INetBillVerifier {
    function verifyProof(
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        uint256[4] calldata pubSignals
    ) external view returns (bool);
}

/// @title zkmeter net bills: feed-in curves, net bills of homes that export, and their credits.
/// @notice Runs only by DELEGATECALL from ZkMeterLedger's fallback, in the ledger's storage (the
/// ledger deploys it and is the only caller that means anything: called directly it reads its own
/// empty storage, where no meter and no tariff exists). See docs/contracts.md, "Net bills".
contract ZkMeterNetBills is ZkMeterLedgerBase {
    using SafeERC20 for IERC20;

    /// @notice The export half of a period close: the fields of the meter's EIP-712 ExportPeriod
    /// (docs/protocol.md §6) that are not its BillingPeriod's. The meter signs ExportPeriod(meter,
    /// periodStart, periodEnd, startCounter, endCounter, commitment) with the import half's meter and
    /// bounds; the ledger hashes it with those, so a half signed for another period or meter fails
    /// the signature check, and the calldata carries no field twice.
    struct ExportHalf {
        /// @dev The export counter (OBIS 1-0:2.8.0, Wh) at periodStart and at periodEnd.
        uint64 startCounter;
        uint64 endCounter;
        /// @dev The export commitment C_x (direction 1, protocol §3).
        uint256 commitment;
    }

    /// @notice What the household claims for a net bill, besides the meter-signed halves. The energies
    /// are not claimed: they are the counters' differences, and the proof must agree with them.
    struct NetClaim {
        /// @dev Import cost at the tariff's prices (its asset's smallest units).
        uint256 cost;
        /// @dev Export credit at the tariff's feed-in prices.
        uint256 credit;
        uint256 tariffId;
        bytes32 cidDigest;
    }

    /// @notice The feed-in curve of tariff `tariffId` (SLOTS prices per exported Wh in the tariff's
    /// asset) and the net-bill tariff hash Poseidon(T, T_f) the net circuit proves against.
    event FeedInPublished(uint256 indexed tariffId, uint256 netTariffHash, uint64[] feedInPrices);

    /// @notice Everything about an accepted net bill. `due` is what payBill / payBillWithToken expect
    /// (cost − credit − the meter's carried credit, at least 0); a bill with nothing due is recorded
    /// paid. `billId` = keccak256(abi.encode(period, exportHalf, household, areaId, claim)).
    event NetBillSubmitted(
        bytes32 indexed billId,
        address indexed meter,
        address indexed household,
        uint32 areaId,
        BillingPeriod period,
        ExportHalf exportHalf,
        NetClaim claim,
        uint256 due
    );

    bytes32 public constant EXPORT_PERIOD_TYPEHASH = keccak256(
        "ExportPeriod(address meter,uint64 periodStart,uint64 periodEnd,uint64 startCounter,uint64 endCounter,uint256 commitment)"
    );
    /// @dev Bit widths of the packed public signal: cost and credit, then the two energies.
    uint256 internal constant AMOUNT_BITS = 91;
    uint256 internal constant ENERGY_BITS = 27;

    /// @notice The net-bill circuit's verifier.
    INetBillVerifier public immutable netVerifier;

    constructor(
        INetBillVerifier netVerifier_,
        uint32 slots_,
        uint32 maxIntervals_,
        uint64 minBillingPeriod_,
        uint64 tariffNotice_,
        address ledger
    ) ZkMeterLedgerBase(slots_, maxIntervals_, minBillingPeriod_, tariffNotice_, ledger) {
        netVerifier = netVerifier_;
    }

    /// @notice Publishes the feed-in curve of tariff `tariffId`: what an exported Wh earns in each slot,
    /// in the tariff's asset. The same tariff rules as an import curve (TariffRules: a bill's credit
    /// must not be an oracle either), the same notice (no feed-in price is retroactive), once per tariff.
    /// @dev Its own call, so publishTariff (and its gas) stays as it was for an import-only utility.
    /// @param netTariffHash Poseidon(T, T_f) (protocol/commitment.ts netTariffHash): T the tariff's hash,
    /// T_f the PoseidonChain of `feedInPrices`; anyone checks it from the two published curves.
    function publishFeedIn(uint256 tariffId, uint256 netTariffHash, uint64[] calldata feedInPrices)
        external
        onlyOwner
    {
        Tariff storage t = tariffs[tariffId];
        if (t.until == 0) revert UnknownTariff(tariffId);
        if (feedInHashes[tariffId] != 0) revert FeedInAlreadyPublished(tariffId);
        _checkTariffRules(feedInPrices);
        if (netTariffHash >= FIELD_ORDER || netTariffHash == 0) revert TariffHashOutOfField(netTariffHash);
        uint256 earliest = block.timestamp + tariffNotice;
        if (t.effectiveFrom < earliest) revert TariffNotAhead(t.effectiveFrom, uint64(earliest));
        feedInHashes[tariffId] = netTariffHash;
        emit FeedInPublished(tariffId, netTariffHash, feedInPrices);
    }

    /// @notice Records a period's net bill: import cost at the tariff, export credit at its feed-in
    /// curve, both proved from the meter's commitments. Import and export counters must continue the
    /// previous bill's (export: when the previous bill was a net bill). A credit above the cost is added
    /// to the meter's balance (CreditRecorded); a cost above it is paid from the balance first
    /// (CreditApplied), the rest is due.
    /// @param period the meter-signed import half (BillingPeriod), as submitBill takes it
    /// @param meterSignature the meter's signature over `period`, EIP-2098 compact (r, vs): two words
    /// instead of a 65-byte `bytes` (offset, length, three words), as submitBills takes it
    /// @param exportHalf the export half (the meter's ExportPeriod without the fields it shares)
    /// @param exportSignature the meter's signature over the ExportPeriod, EIP-2098 compact (r, vs)
    /// @param proof net-bill proof for [commitment, exportCommitment, netTariffHash, packed amounts]
    /// @param claim cost, credit, the tariff in force for the whole period, the CID digest
    /// @return billId keccak256(abi.encode(period, exportHalf, household, areaId, claim))
    /// @return due what is left to pay, in the meter's asset
    function submitNetBill(
        BillingPeriod calldata period,
        Signature calldata meterSignature,
        ExportHalf calldata exportHalf,
        Signature calldata exportSignature,
        Proof calldata proof,
        NetClaim calldata claim
    ) external returns (bytes32 billId, uint256 due) {
        _checkHalves(period, meterSignature, exportHalf, exportSignature);
        uint32 areaId = _checkMeter(period.meter);
        billId = _netBillId(period, exportHalf, areaId, claim);
        due = _record(billId, period, exportHalf, claim);
        _verify(period, exportHalf, proof, claim);
        _emitNetBill(billId, period, exportHalf, areaId, claim, due);
    }

    /// @dev keccak256(abi.encode(period, exportHalf, msg.sender, areaId, claim)) written out over
    /// calldata (15 static words), as the ledger's _billId: Solidity's encoder would copy and
    /// re-validate each field. Raw words are safe to copy because every period and export-half field
    /// is read (and validated) by the checks as well, so a dirty word reverts there; the claim's
    /// fields are full words.
    function _netBillId(
        BillingPeriod calldata period,
        ExportHalf calldata exportHalf,
        uint32 areaId,
        NetClaim calldata claim
    ) private view returns (bytes32 id) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            calldatacopy(m, period, 192)
            calldatacopy(add(m, 192), exportHalf, 96)
            mstore(add(m, 288), caller())
            mstore(add(m, 320), and(areaId, 0xffffffff))
            calldatacopy(add(m, 352), claim, 128)
            id := keccak256(m, 480)
        }
    }

    /// @dev emit NetBillSubmitted(billId, meter, msg.sender, areaId, period, exportHalf, claim, due),
    /// its data (areaId, the 6 + 3 + 4 words as sent, due) copied as is, as the ledger's BillSubmitted.
    function _emitNetBill(
        bytes32 billId,
        BillingPeriod calldata period,
        ExportHalf calldata exportHalf,
        uint32 areaId,
        NetClaim calldata claim,
        uint256 due
    ) private {
        bytes32 topic = NetBillSubmitted.selector;
        address meter = period.meter;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, and(areaId, 0xffffffff))
            calldatacopy(add(m, 32), period, 192)
            calldatacopy(add(m, 224), exportHalf, 96)
            calldatacopy(add(m, 320), claim, 128)
            mstore(add(m, 448), due)
            log4(m, 480, topic, billId, meter, caller())
        }
    }

    /// @notice Pays `amount` of a meter's carried credit to its registered household, in the meter's
    /// asset (docs/contracts.md, "Paying a credit out"). The money is what households paid and the
    /// utility has not withdrawn: `withdrawable` for Ether, the ledger's token balance for a token
    /// (PayoutExceedsCollected otherwise), so the utility never pays out money it has not collected.
    /// A deactivated meter's credit can be paid out too: no next bill of it will ever use it.
    /// @dev Push, not pull: only the owner triggers it, for one meter, so a household that refuses the
    /// payment (PayoutFailed) or reverts only stops its own payout, and its credit stays carried.
    /// Checks-effects-interactions (the credit and `withdrawable` are lowered before the transfer) and
    /// the transient guard (shared with withdraw, withdrawToken and the token payments): a household
    /// contract re-entering the ledger from the transfer finds the credit already gone.
    /// @param amount 1 … creditOf(meter): an explicit amount, so a bill landing first that uses part
    /// of the credit makes the payout revert (PayoutExceedsCredit) instead of paying another sum
    function payOutCredit(address meter, uint256 amount) external onlyOwner nonReentrant {
        MeterInfo memory info = meterInfo[meter];
        if (!info.registered) revert UnknownMeter(meter);
        MeterCursor storage cursor = meterCursor[meter];
        uint256 credit = cursor.credit;
        if (credit == 0) revert NoCredit(meter);
        if (amount == 0) revert ZeroPayout();
        if (amount > credit) revert PayoutExceedsCredit(meter, credit, amount);
        uint256 left = credit - amount;
        cursor.credit = uint80(left);
        address household = info.household;
        if (info.assetId == 0) {
            uint256 collected = withdrawable;
            if (amount > collected) revert PayoutExceedsCollected(0, collected, amount);
            withdrawable = collected - amount;
            (bool ok,) = household.call{value: amount}("");
            if (!ok) revert PayoutFailed(household, amount);
        } else {
            _payOutToken(info.assetId, household, amount);
        }
        emit CreditPaidOut(meter, household, amount, left);
    }

    /// @notice A meter's credit (in its area's asset), carried to its next bills.
    function creditOf(address meter) external view returns (uint256) {
        return meterCursor[meter].credit;
    }

    /// @notice A meter's export continuity: the export counter its next net bill must start at, and
    /// whether that is known (false before the first net bill and after an import-only bill).
    function exportCursor(address meter) external view returns (uint64 nextExportCounter, bool known) {
        MeterCursor memory cursor = meterCursor[meter];
        return (cursor.nextExportCounter, cursor.exportKnown);
    }

    /// @notice A tariff's net-bill tariff hash Poseidon(T, T_f), 0 while it has no feed-in curve.
    function feedInHash(uint256 tariffId) external view returns (uint256) {
        if (tariffs[tariffId].until == 0) revert UnknownTariff(tariffId);
        return feedInHashes[tariffId];
    }

    /// @dev The token half of payOutCredit: from the ledger's balance, and the household must receive
    /// exactly `amount` (a fee-on-transfer token would short it, as it would the utility at payment).
    function _payOutToken(uint32 assetId, address household, uint256 amount) private {
        IERC20 token = assets[assetId].token;
        uint256 collected = token.balanceOf(address(this));
        if (amount > collected) revert PayoutExceedsCollected(assetId, collected, amount);
        uint256 before = token.balanceOf(household);
        token.safeTransfer(household, amount);
        uint256 balance = token.balanceOf(household);
        uint256 received = balance > before ? balance - before : 0;
        if (received != amount) revert FeeOnTransfer(address(token), amount, received);
    }

    /// @dev Both halves signed by the meter, the export half over the import half's meter and bounds.
    function _checkHalves(
        BillingPeriod calldata period,
        Signature calldata meterSignature,
        ExportHalf calldata exportHalf,
        Signature calldata exportSignature
    ) private view {
        (bytes32 ms, uint8 mv) = _splitCompact(meterSignature.vs);
        _checkSigner(_periodHash(period), meterSignature.r, ms, mv, period.meter, false);
        bytes32 typeHash = EXPORT_PERIOD_TYPEHASH;
        bytes32 structHash;
        assembly ("memory-safe") {
            // keccak256(abi.encode(EXPORT_PERIOD_TYPEHASH, meter, periodStart, periodEnd, startCounter,
            // endCounter, commitment)): the first three from the import half (validated by its hash's
            // checks), the rest from the export half (its counters read and validated by _record).
            let m := mload(0x40)
            mstore(m, typeHash)
            calldatacopy(add(m, 32), period, 96)
            calldatacopy(add(m, 128), exportHalf, 96)
            structHash := keccak256(m, 224)
        }
        (bytes32 s, uint8 v) = _splitCompact(exportSignature.vs);
        _checkSigner(structHash, exportSignature.r, s, v, period.meter, false);
    }

    /// @dev Replay, both counters' continuity, the period's shape, then the record: the credit
    /// settled, the cursor advanced, the bill stored. The proof is checked after (a revert undoes it).
    function _record(
        bytes32 billId,
        BillingPeriod calldata period,
        ExportHalf calldata exportHalf,
        NetClaim calldata claim
    ) private returns (uint256 due) {
        Bill storage bill = bills[billId];
        if (bill.submitted) revert BillAlreadySubmitted(billId);
        _checkPeriod(period);
        MeterCursor memory cursor = meterCursor[period.meter];
        if (exportHalf.endCounter < exportHalf.startCounter) {
            revert ExportCounterWentBackwards(exportHalf.startCounter, exportHalf.endCounter);
        }
        if (cursor.exportKnown && exportHalf.startCounter != cursor.nextExportCounter) {
            revert ExportCounterMismatch(cursor.nextExportCounter, exportHalf.startCounter);
        }
        if (exportHalf.endCounter > type(uint40).max) revert ExportCounterTooLarge(exportHalf.endCounter);
        address meter = period.meter;
        due = _settle(meter, billId, claim.cost, claim.credit, cursor);
        cursor.nextStart = period.periodEnd;
        cursor.nextCounter = period.endCounter;
        cursor.nextExportCounter = uint40(exportHalf.endCounter);
        cursor.exportKnown = true;
        meterCursor[meter] = cursor;
        bill.total = uint128(due);
        bill.submitted = true;
        bill.paid = due == 0;
        bill.assetId = meterInfo[meter].assetId;
    }

    /// @dev The tariff (window, asset, feed-in curve) and the net-bill proof.
    function _verify(
        BillingPeriod calldata period,
        ExportHalf calldata exportHalf,
        Proof calldata proof,
        NetClaim calldata claim
    ) private view {
        uint256 packed = _packedAmounts(period, exportHalf, claim);
        _checkTariffWindow(claim.tariffId, period.periodStart, period.periodEnd, meterInfo[period.meter].assetId);
        uint256 netHash = feedInHashes[claim.tariffId];
        if (netHash == 0) revert NoFeedInCurve(claim.tariffId);
        // A view call (STATICCALL): the verifier cannot re-enter or change state.
        bool ok = netVerifier.verifyProof(
            proof.a, proof.b, proof.c, [period.commitment, exportHalf.commitment, netHash, packed]
        );
        if (!ok) revert ProofRejected();
    }

    /// @dev Cost against this period's credit, then against the carried credit (in the cursor).
    function _settle(address meter, bytes32 billId, uint256 cost, uint256 credit, MeterCursor memory cursor)
        private
        returns (uint256 due)
    {
        uint256 balance = cursor.credit;
        if (credit >= cost) {
            uint256 surplus = credit - cost;
            if (surplus == 0) return 0;
            balance += surplus;
            if (balance > type(uint80).max) revert CreditTooLarge(balance);
            cursor.credit = uint80(balance);
            emit CreditRecorded(meter, billId, surplus, balance);
            return 0;
        }
        due = cost - credit;
        if (balance == 0) return due;
        uint256 used = balance < due ? balance : due;
        balance -= used;
        cursor.credit = uint80(balance);
        emit CreditApplied(meter, billId, used, balance);
        return due - used;
    }

    /// @dev The circuit's fourth public signal, from the claim and the meter's counters: the energies
    /// are the counter differences (so the proof must agree with both counters), and every amount must
    /// fit its bits (the circuit range-checks them: out of range, no proof could match).
    function _packedAmounts(BillingPeriod calldata period, ExportHalf calldata exportHalf, NetClaim calldata claim)
        private
        pure
        returns (uint256)
    {
        uint256 importWh = period.endCounter - period.startCounter;
        uint256 exportWh = exportHalf.endCounter - exportHalf.startCounter;
        if (importWh >> ENERGY_BITS != 0) revert EnergyTooLarge(importWh);
        if (exportWh >> ENERGY_BITS != 0) revert EnergyTooLarge(exportWh);
        if (claim.cost >> AMOUNT_BITS != 0) revert TotalTooLarge(claim.cost);
        if (claim.credit >> AMOUNT_BITS != 0) revert TotalTooLarge(claim.credit);
        return claim.cost | (claim.credit << AMOUNT_BITS) | (importWh << (2 * AMOUNT_BITS))
            | (exportWh << (2 * AMOUNT_BITS + ENERGY_BITS));
    }
}
