#include "zkm_energy.h"

#include "zkm_pzem.h"

namespace zkm {

uint32_t maxPlausibleWh(uint32_t elapsedMs) {
  // W * ms / 3.6e6 = Wh; 64-bit because 26 kW * 2^32 ms overflows 32 bits.
  return (uint32_t)(((uint64_t)ENERGY_MAX_POWER_W * elapsedMs) / 3600000ULL) + 1;
}

void EnergyCounter::restore(uint64_t totalWh, uint32_t rawAtCheckpoint, bool rawValid, uint32_t restoreCapWh) {
  total_ = totalWh;
  lastRaw_ = rawAtCheckpoint;
  haveBaseline_ = rawValid;
  restoreCapWh_ = rawValid ? restoreCapWh : 0;
}

uint32_t EnergyCounter::feedPzem(uint32_t rawWh, uint32_t elapsedMs) {
  return feedRegister(rawWh, elapsedMs, PZEM_ENERGY_MODULUS);
}

uint32_t EnergyCounter::feedRegister(uint32_t rawWh, uint32_t elapsedMs, uint32_t modulus) {
  if (modulus && rawWh >= modulus) {  // not a value the register can hold: ignore the reading
    return 0;
  }
  if (!haveBaseline_) {
    lastRaw_ = rawWh;
    haveBaseline_ = true;
    return 0;
  }
  if (!modulus && rawWh < lastRaw_) {  // a register that never wraps went back: reset or replaced
    lastRaw_ = rawWh;
    restoreCapWh_ = 0;
    return 0;
  }
  uint32_t delta = rawWh >= lastRaw_ ? rawWh - lastRaw_ : rawWh + modulus - lastRaw_;
  uint32_t cap = maxPlausibleWh(elapsedMs);
  if (restoreCapWh_ > cap) cap = restoreCapWh_;
  restoreCapWh_ = 0;
  lastRaw_ = rawWh;
  if (delta > cap) return 0;  // reset, replaced module or corrupted read: re-baseline, never inflate
  total_ += delta;
  return delta;
}

void EnergyCounter::addWh(uint32_t wh) {
  total_ += wh;
  haveBaseline_ = false;
  restoreCapWh_ = 0;
}

uint32_t PulseMeter::onPulses(uint32_t pulses, uint32_t nowMs) {
  uint32_t elapsed = nowMs - windowStartMs_;
  windowPulses_ += pulses;
  if (elapsed >= 5000) {
    // P = n * (1000 / ppk) Wh / (elapsed / 3.6e6) h
    powerW_ = (uint32_t)(((uint64_t)windowPulses_ * 3600000000ULL) / ((uint64_t)ppk_ * elapsed));
    windowPulses_ = 0;
    windowStartMs_ = nowMs;
  }
  uint64_t scaled = (uint64_t)rem_ + (uint64_t)pulses * 1000ULL;
  uint32_t wh = (uint32_t)(scaled / ppk_);
  rem_ = (uint32_t)(scaled % ppk_);
  return wh;
}

}  // namespace zkm
