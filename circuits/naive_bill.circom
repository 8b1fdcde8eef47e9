pragma circom 2.1.0;

// Benchmark baseline only (bench/prove.ts): the same statement with a private price for every
// interval, bound by a Poseidon chain over all N prices, and N multiplications. It shows what the
// per-slot sums of bill.circom save; it is never set up or proved. It keeps commitment version 1
// (the readings unpacked with 15-bit range checks in the circuit) as the baseline of round 1.
include "bill.circom";
include "circomlib/circuits/bitify.circom";

template NaiveBill(N) {
    signal input readings[N];
    signal input salt;
    signal input prices[N];

    signal output commitment;
    signal output tariffHash;
    signal output total;
    signal output energyWh;

    var BITS = 15;  // range check per reading (protocol §1)
    var LANE = 16;  // packing lane width (protocol §3)
    var PACK = 15;
    var PACKED = (N + PACK - 1) \ PACK;

    component bits[N];
    var packed[PACKED];
    for (var j = 0; j < PACKED; j++) packed[j] = 0;
    var energy = 0;
    for (var i = 0; i < N; i++) {
        bits[i] = Num2Bits(BITS);
        bits[i].in <== readings[i];
        packed[i \ PACK] += readings[i] * (1 << (LANE * (i % PACK)));
        energy += readings[i];
    }

    component commitChain = PoseidonChain(PACKED);
    commitChain.init <== salt;
    for (var j = 0; j < PACKED; j++) commitChain.elements[j] <== packed[j];
    commitment <== commitChain.out;

    component tariffChain = PoseidonChain(N);
    tariffChain.init <== N;
    for (var i = 0; i < N; i++) tariffChain.elements[i] <== prices[i];
    tariffHash <== tariffChain.out;

    signal cost[N];
    var sum = 0;
    for (var i = 0; i < N; i++) {
        cost[i] <== readings[i] * prices[i];
        sum += cost[i];
    }
    total <== sum;
    energyWh <== energy;
}
