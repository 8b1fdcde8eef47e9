// The meter's cumulative import counter (OBIS 1-0:1.8.0, Wh, 64-bit). Fed by the PZEM's own
// 32-bit counter (which wraps at 9999.99 kWh and may be reset or replaced) or, as a fallback, by
// HLW8012-style CF pulses. Rule: an increment is added only if it is physically possible for the
// elapsed time; anything else re-baselines without adding, so the counter can lose at most one
// implausible step but can never be inflated.
#ifndef ZKM_ENERGY_H
#define ZKM_ENERGY_H
#include <stdint.h>
#include <string.h>

namespace zkm {

// 100 A x 260 V: the PZEM-004T-100A's measuring limit, far above a household supply.
static const uint32_t ENERGY_MAX_POWER_W = 26000UL;

class EnergyCounter {
 public:
  EnergyCounter() : total_(0), lastRaw_(0), haveBaseline_(false), restoreCapWh_(0) {}

  // Starts from a checkpoint. rawAtCheckpoint is the PZEM counter value that total corresponded
  // to; the first PZEM reading after restore may add up to restoreCapWh (energy metered by the
  // PZEM itself between the checkpoint and the power cut), never more.
  void restore(uint64_t totalWh, uint32_t rawAtCheckpoint, bool rawValid, uint32_t restoreCapWh);

  // Feeds a PZEM energy register value observed elapsedMs after the previous one. Returns the Wh
  // added (0 when the step was implausible and the baseline was reset).
  uint32_t feedPzem(uint32_t rawWh, uint32_t elapsedMs);
  // The same for any source's energy register that wraps at `modulus` (0: it never wraps, so a
  // lower value is a reset or a replaced meter and re-baselines).
  uint32_t feedRegister(uint32_t rawWh, uint32_t elapsedMs, uint32_t modulus);

  // Adds energy measured by another source (the pulse fallback). The PZEM baseline is dropped so
  // that energy is never counted twice when the PZEM answers again.
  void addWh(uint32_t wh);
  void dropBaseline() { haveBaseline_ = false; restoreCapWh_ = 0; }

  uint64_t totalWh() const { return total_; }
  uint32_t lastRaw() const { return lastRaw_; }
  bool hasBaseline() const { return haveBaseline_; }

 private:
  uint64_t total_;
  uint32_t lastRaw_;
  bool haveBaseline_;
  uint32_t restoreCapWh_;
};

// Largest number of Wh that can pass in elapsedMs at ENERGY_MAX_POWER_W, plus 1 Wh for the
// counters' own rounding.
uint32_t maxPlausibleWh(uint32_t elapsedMs);

// HLW8012 / BL0937 style energy pulses (CF pin): pulsesPerKWh is the calibration constant.
class PulseMeter {
 public:
  explicit PulseMeter(uint32_t pulsesPerKWh) : ppk_(pulsesPerKWh), rem_(0), windowPulses_(0), windowStartMs_(0), powerW_(0) {}
  // Counts pulses seen since the previous call; returns whole Wh completed (the fraction is kept).
  uint32_t onPulses(uint32_t pulses, uint32_t nowMs);
  uint32_t powerW() const { return powerW_; }

 private:
  uint32_t ppk_;
  uint32_t rem_;  // pulses not yet worth a whole Wh, scaled by 1000 (Wh per pulse = 1000 / ppk)
  uint32_t windowPulses_;
  uint32_t windowStartMs_;
  uint32_t powerW_;
};

}  // namespace zkm
#endif
