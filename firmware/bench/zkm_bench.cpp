// Host timing of the ESP8266's heavy work, for bench/firmware.ts: the incremental commitment of a
// full production period and one EIP-712 digest + signature. Prints one JSON line.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "secp256k1_signer.h"
#include "zkmeter.h"

static double nowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  const uint32_t n = 2976;
  int reps = argc > 1 ? atoi(argv[1]) : 5;
  uint8_t salt[32] = {0}, out[32];
  salt[31] = 7;
  double commitBest = 1e30;
  for (int rep = 0; rep < reps; rep++) {
    double t0 = nowMs();
    zkm::CommitmentChain chain;
    chain.begin(salt);
    for (uint32_t i = 0; i < n; i++) chain.push((uint16_t)(i * 37 % 1200));
    chain.finish(n, out);
    double dt = nowMs() - t0;
    if (dt < commitBest) commitBest = dt;
  }
  // One Poseidon16 permutation alone, to scale the ESP8266 estimate per permutation.
  zkm::Fe in[16], h;
  for (int i = 0; i < 16; i++) zkm::feZero(in[i]);
  double permBest = 1e30;
  for (int rep = 0; rep < reps * 10; rep++) {
    double t0 = nowMs();
    zkm::poseidon16(in, h);
    double dt = nowMs() - t0;
    if (dt < permBest) permBest = dt;
  }
  uint8_t key[32];
  for (int i = 0; i < 32; i++) key[i] = (uint8_t)(i + 1);
  zkm::Secp256k1Signer signer(key);
  zkm::Eip712Domain domain;
  zkm::eip712SetChainId(domain, 31337);
  memset(domain.verifyingContract, 0x5f, 20);
  zkm::MeterRecord rec;
  memset(&rec, 0, sizeof(rec));
  rec.seq = 42;
  rec.energyWh = 1234567;
  uint8_t sep[32], digest[32], sig[65];
  const int signReps = 200;
  double signBest = 1e30;
  for (int rep = 0; rep < reps; rep++) {
    double t0 = nowMs();
    for (int i = 0; i < signReps; i++) {
      rec.seq = (uint64_t)i;
      zkm::eip712DomainSeparator(domain, sep);
      zkm::meterRecordDigest(sep, rec, digest);
      signer.sign(digest, sig);
    }
    double dt = (nowMs() - t0) / signReps;
    if (dt < signBest) signBest = dt;
  }
  printf("{\"commit_host_ms\":%.3f,\"poseidon16_host_ms\":%.4f,\"sign_host_ms\":%.4f,\"commitment\":\"", commitBest, permBest, signBest);
  for (int i = 0; i < 32; i++) printf("%02x", out[i]);
  printf("\"}\n");
  return 0;
}
