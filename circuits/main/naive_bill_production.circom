pragma circom 2.1.0;

// Benchmark baseline at the production size (bench/prove.ts counts its constraints only).
include "circuits/naive_bill.circom";

component main = NaiveBill(2976);
