pragma circom 2.1.0;

// Constraint breakdown of circuits/bill.circom, part 1 (bench/prove.ts compiles it for its count
// only): the 20-bit range check of each of the 96 slot sums (commitment version 3, protocol §3).
include "circomlib/circuits/bitify.circom";

template SlotSumRangeChecks(SLOTS) {
    signal input slotSums[SLOTS];
    component laneCheck[SLOTS];
    for (var s = 0; s < SLOTS; s++) {
        laneCheck[s] = Num2Bits(20);
        laneCheck[s].in <== slotSums[s];
    }
}

component main = SlotSumRangeChecks(96);
