#include "zkm_interval.h"

namespace zkm {

void IntervalAccumulator::begin(uint64_t nowS, uint64_t energyWh) {
  endS_ = nowS - (nowS % intervalS_) + intervalS_;
  startWh_ = energyWh;
  started_ = true;
}

bool IntervalAccumulator::close(uint64_t nowS, uint64_t energyWh, IntervalClose &out) {
  if (!started_ || nowS < endS_) return false;
  uint64_t delta = energyWh > startWh_ ? energyWh - startWh_ : 0;
  uint32_t wh = delta > READING_MAX ? READING_MAX : (uint32_t)delta;
  startWh_ += wh;
  out.time = endS_;
  out.energyWh = startWh_;
  out.intervalWh = wh;
  endS_ += intervalS_;
  return true;
}

uint32_t IntervalAccumulator::currentWh(uint64_t energyWh) const {
  uint64_t delta = energyWh > startWh_ ? energyWh - startWh_ : 0;
  return delta > 0xFFFFFFFFULL ? 0xFFFFFFFFUL : (uint32_t)delta;
}

}  // namespace zkm
