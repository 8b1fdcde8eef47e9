// What the core needs from a secp256k1 implementation: Ethereum-style signatures of a 32-byte
// digest. The host tests use Debian's libsecp256k1 (firmware/host/), the ESP8266 a
// microcontroller library (firmware/nodemcu/).
#ifndef ZKM_SIGNER_H
#define ZKM_SIGNER_H
#include <stdint.h>
#include <string.h>

namespace zkm {

class Signer {
 public:
  // 65 bytes r || s || v, low S (s <= n/2), v in {27, 28}, deterministic nonce (RFC 6979).
  virtual bool sign(const uint8_t digest[32], uint8_t signature[65]) = 0;
  // The signer's Ethereum address: last 20 bytes of keccak256 of the uncompressed public key.
  virtual void address(uint8_t out[20]) = 0;

 protected:
  ~Signer() {}
};

}  // namespace zkm
#endif
