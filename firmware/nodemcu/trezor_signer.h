// zkm::Signer on the ESP8266 over trezor-crypto's secp256k1 (ecdsa_sign_digest, built with
// USE_RFC6979=1: RFC 6979 nonces, S normalised to the lower half with the recovery id flipped
// accordingly), i.e. the same bytes as libsecp256k1 on the host (firmware/host/secp256k1_signer.cpp,
// checked against @noble/curves by protocol/vectors/eip712.json).
#ifndef ZKM_TREZOR_SIGNER_H
#define ZKM_TREZOR_SIGNER_H
#include <ecdsa.h>
#include <secp256k1.h>
#include <string.h>
#include <zkmeter.h>

class TrezorSigner : public zkm::Signer {
 public:
  explicit TrezorSigner(const uint8_t privateKey[32]) { memcpy(key_, privateKey, 32); }
  bool sign(const uint8_t digest[32], uint8_t signature[65]) override {
    uint8_t recovery = 0;
    if (ecdsa_sign_digest(&secp256k1, key_, digest, signature, &recovery, ethereumCanonical) != 0) return false;
    signature[64] = (uint8_t)(27 + recovery);
    return true;
  }
  void address(uint8_t out[20]) override {
    uint8_t pub[65], hash[32];
    ecdsa_get_public_key65(&secp256k1, key_, pub);
    zkm::keccak256(pub + 1, 64, hash);
    memcpy(out, hash + 12, 20);
  }

 private:
  // Ethereum's v carries only the y parity: a recovery id with bit 1 set (R.x >= n, probability
  // ~2^-128) cannot be expressed, so trezor-crypto retries with the next RFC 6979 nonce, as its own
  // Ethereum signing does.
  static int ethereumCanonical(uint8_t by, uint8_t sig[64]) {
    (void)sig;
    return (by & 2) == 0;
  }
  uint8_t key_[32];
};

#endif
