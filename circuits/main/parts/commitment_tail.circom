pragma circom 2.1.0;

// Constraint breakdown of circuits/bill.circom, part 2 (bench/prove.ts compiles it for its count
// only): the commitment's tail, PoseidonChain(R, [H, 8 packed slot sums]), as Bill(96) builds it.
include "circuits/bill.circom";

template CommitmentTail(SLOTS) {
    signal input readingsDigest;
    signal input slotSums[SLOTS];
    signal output commitment;
    var ELEMENTS = (SLOTS + 11) \ 12;
    component commitChain = PoseidonChain(1 + ELEMENTS);
    commitChain.init <== readingsDigest;
    commitChain.elements[0] <== 3 + 256 * 1 + 65536 * SLOTS;
    for (var j = 0; j < ELEMENTS; j++) {
        var packed = 0;
        for (var k = 0; k < 12; k++) {
            if (j * 12 + k < SLOTS) packed += slotSums[j * 12 + k] * (1 << (20 * k));
        }
        commitChain.elements[1 + j] <== packed;
    }
    commitment <== commitChain.out;
}

component main = CommitmentTail(96);
