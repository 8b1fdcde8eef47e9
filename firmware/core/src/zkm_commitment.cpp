#include "zkm_commitment.h"

#include "zkm_config.h"
#if ZKM_WITH_CRYPTO
#include "zkm_bytes.h"
#include "zkm_keccak.h"
#include "zkm_poseidon.h"

namespace zkm {

const uint8_t CommitmentChain::ZERO_SALT[32] = {0};

bool CommitmentChain::begin(const uint8_t salt[32], uint8_t slots, uint8_t direction) {
  feFromBytesBe(state_, salt);
  direction_ = direction;
  memset(packed_, 0, sizeof(packed_));
  memset(sums_, 0, sizeof(sums_));
  inElement_ = 0;
  inBlock_ = 0;
  count_ = 0;
  slots_ = (slots >= 1 && slots <= MAX_SLOTS) ? slots : 0;
  return slots_ != 0;
}

void CommitmentChain::absorb() {
  Fe inputs[16];
  inputs[0] = state_;
  for (uint8_t i = 0; i < CHAIN_RATE; i++) {
    if (i < inBlock_) {
      inputs[i + 1] = block_[i];
    } else {
      feZero(inputs[i + 1]);  // zero is zero in Montgomery form too
    }
  }
  poseidon16(inputs, state_);
  inBlock_ = 0;
}

void CommitmentChain::pushElement(const Fe &e) {
  block_[inBlock_++] = e;
  if (inBlock_ == CHAIN_RATE) absorb();
}

void CommitmentChain::flushElement() {
  Fe e;
  feFromLimbs(e, packed_);
  memset(packed_, 0, sizeof(packed_));
  inElement_ = 0;
  pushElement(e);
}

void CommitmentChain::push(uint16_t reading) {
  // Readings are indexed from the period's first UTC midnight: reading i is in slot i mod SLOTS.
  if (slots_) sums_[count_ % slots_] += reading;
  // Reading k of an element occupies bits 16k .. 16k+15: limb k/2, upper half when k is odd.
  packed_[inElement_ / 2] |= (uint32_t)reading << (16 * (inElement_ % 2));
  inElement_++;
  count_++;
  if (inElement_ == READINGS_PER_ELEMENT) flushElement();
}

void CommitmentChain::pushLimbs(const uint32_t limbs[8]) {
  Fe e;
  feFromLimbs(e, limbs);
  pushElement(e);
}

bool CommitmentChain::finish(uint32_t n, uint8_t out[32]) {
  if (count_ > n || !slots_) return false;
  // A slot sum covers ceil(n / slots) days; 32 days of 15-bit readings fit its 20-bit lane.
  if ((n + slots_ - 1) / slots_ > MAX_DAYS) return false;
  for (uint8_t s = 0; s < slots_; s++) {
    if (sums_[s] > MAX_SLOT_SUM) return false;  // only a corrupt state: readings are < 2^15
  }
  while (count_ < n) push(0);
  if (inElement_) flushElement();
  if (inBlock_) absorb();
  // state_ is now R, the readings digest; the chain goes on over the layout word
  // H = 3 + 2^8 * vectors + 2^16 * slots, then the slot sums packed 12 to an element in 20-bit
  // lanes (version 3): sum k of an element at bit 20k, so it may straddle two 32-bit limbs.
  // The direction byte sits at bit 40: limb 1, bit 8.
  uint32_t limbs[8] = {COMMITMENT_VERSION + (SLOT_SUM_VECTORS << 8) + ((uint32_t)slots_ << 16),
                       (uint32_t)direction_ << 8, 0, 0, 0, 0, 0, 0};
  pushLimbs(limbs);
  for (uint8_t first = 0; first < slots_; first += SUMS_PER_ELEMENT) {
    memset(limbs, 0, sizeof(limbs));
    for (uint8_t k = 0; k < SUMS_PER_ELEMENT && first + k < slots_; k++) {
      const uint32_t v = sums_[first + k];
      const uint16_t bit = (uint16_t)SUM_LANE_BITS * k;
      const uint8_t limb = bit / 32, shift = bit % 32;
      limbs[limb] |= v << shift;
      if (shift + SUM_LANE_BITS > 32) limbs[limb + 1] |= v >> (32 - shift);
    }
    pushLimbs(limbs);
  }
  if (inBlock_) absorb();
  feToBytesBe(out, state_);
  return true;
}

void CommitmentChain::save(uint8_t out[STATE_BYTES]) const {
  putLe32(out, count_);
  out[4] = inElement_;
  out[5] = inBlock_;
  uint8_t *p = out + 6;
  for (uint8_t i = 0; i < 8; i++) putLe32(p + 4 * i, state_.v[i]);
  p += 32;
  for (uint8_t i = 0; i < 8; i++) putLe32(p + 4 * i, packed_[i]);
  p += 32;
  for (uint8_t b = 0; b < CHAIN_RATE; b++) {
    for (uint8_t i = 0; i < 8; i++) putLe32(p + 4 * i, b < inBlock_ ? block_[b].v[i] : 0);
    p += 32;
  }
  *p++ = slots_;
  for (uint8_t s = 0; s < MAX_SLOTS; s++) putLe32(p + 4 * s, s < slots_ ? sums_[s] : 0);
}

bool CommitmentChain::load(const uint8_t in[STATE_BYTES]) {
  const uint8_t slots = in[STATE_BYTES - 1 - 4 * MAX_SLOTS];
  if (in[4] >= READINGS_PER_ELEMENT || in[5] >= CHAIN_RATE || slots < 1 || slots > MAX_SLOTS) return false;
  count_ = getLe32(in);
  inElement_ = in[4];
  inBlock_ = in[5];
  const uint8_t *p = in + 6;
  for (uint8_t i = 0; i < 8; i++) state_.v[i] = getLe32(p + 4 * i);
  p += 32;
  for (uint8_t i = 0; i < 8; i++) packed_[i] = getLe32(p + 4 * i);
  p += 32;
  for (uint8_t b = 0; b < CHAIN_RATE; b++) {
    for (uint8_t i = 0; i < 8; i++) block_[b].v[i] = getLe32(p + 4 * i);
    p += 32;
  }
  slots_ = *p++;
  for (uint8_t s = 0; s < MAX_SLOTS; s++) sums_[s] = s < slots_ ? getLe32(p + 4 * s) : 0;
  return true;
}

void deriveSalt(const uint8_t pairingKey[32], const uint8_t meter[20], uint64_t periodStart, uint8_t salt[32]) {
  static const char TAG[] = "zkmeter/salt/v1";
  uint8_t be[8];
  putBe64(be, periodStart);
  Keccak256 k;
  k.update((const uint8_t *)TAG, sizeof(TAG) - 1);
  k.update(pairingKey, 32);
  k.update(meter, 20);
  k.update(be, 8);
  uint8_t digest[32];
  k.final(digest);
  reduceBytesBe(salt, digest);
}

}  // namespace zkm
#endif
