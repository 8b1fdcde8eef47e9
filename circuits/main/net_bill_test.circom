pragma circom 2.1.0;

// Net-bill circuit, test profile: 2 days of 15-minute readings (N = 192, SLOTS = 96). Like the bill, it depends on SLOTS only.
include "circuits/net_bill.circom";

component main = NetBill(96);
