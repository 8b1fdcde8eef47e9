pragma circom 2.1.0;

// Production profile: 31 days of 15-minute readings (N = 2976, SLOTS = 96), protocol §1. The
// circuit depends on SLOTS only (commitment version 3, protocol §3); N is used off-circuit, for
// the readings digest.
include "circuits/bill.circom";

component main = Bill(96);
