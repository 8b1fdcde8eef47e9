pragma circom 2.1.0;

// Test profile: 2 days of 15-minute readings (N = 192, SLOTS = 96).
include "circuits/bill.circom";

component main = Bill(192, 96);
