pragma circom 2.1.0;

// Production profile: 31 days of 15-minute readings (N = 2976, SLOTS = 96), protocol §1.
include "circuits/bill.circom";

component main = Bill(2976, 96);
