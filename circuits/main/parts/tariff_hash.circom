pragma circom 2.1.0;

// Constraint breakdown of circuits/bill.circom, part 3 (bench/prove.ts compiles it for its count
// only): the tariff hash PoseidonChain(SLOTS, prices), as Bill(96) builds it.
include "circuits/bill.circom";

template TariffHashPart(SLOTS) {
    signal input prices[SLOTS];
    signal output tariffHash;
    component tariffChain = PoseidonChain(SLOTS);
    tariffChain.init <== SLOTS;
    for (var s = 0; s < SLOTS; s++) tariffChain.elements[s] <== prices[s];
    tariffHash <== tariffChain.out;
}

component main = TariffHashPart(96);
