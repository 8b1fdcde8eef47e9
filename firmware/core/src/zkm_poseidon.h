// circomlib's Poseidon(16) (t = 17, 8 full + 68 partial rounds, x^5 S-box) over BN254: the hash
// of the period commitment chain (docs/protocol.md §3), in circomlib's optimised form.
#ifndef ZKM_POSEIDON_H
#define ZKM_POSEIDON_H
#include <stdint.h>
#include <string.h>

#include "zkm_field.h"

namespace zkm {

// inputs and result in Montgomery form.
void poseidon16(const Fe inputs[16], Fe &out);

// One permutation takes about 0.4 s on an 80 MHz ESP8266 (docs/benchmarks/firmware.md); its
// WiFi stack and watchdog need the CPU every few tens of milliseconds, so the sketch installs
// yield() here and it is called after every round (76 per permutation, ~6 ms apart).
typedef void (*YieldFn)();
void setPoseidonYield(YieldFn fn);

}  // namespace zkm
#endif
