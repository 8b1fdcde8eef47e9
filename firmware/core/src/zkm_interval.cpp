#include "zkm_interval.h"

namespace zkm {

void IntervalAccumulator::begin(uint64_t nowS, uint64_t energyWh, uint64_t exportedWh) {
  endS_ = nowS - (nowS % intervalS_) + intervalS_;
  startWh_ = energyWh;
  startExportWh_ = exportedWh;
  started_ = true;
}

bool IntervalAccumulator::close(uint64_t nowS, uint64_t energyWh, uint64_t exportedWh, IntervalClose &out) {
  if (!started_ || nowS < endS_) return false;
  uint64_t delta = energyWh > startWh_ ? energyWh - startWh_ : 0;
  uint32_t wh = delta > READING_MAX ? READING_MAX : (uint32_t)delta;
  uint64_t xdelta = exportedWh > startExportWh_ ? exportedWh - startExportWh_ : 0;
  uint32_t room = READING_MAX - wh;
  uint32_t xwh = xdelta > room ? room : (uint32_t)xdelta;
  startWh_ += wh;
  startExportWh_ += xwh;
  out.time = endS_;
  out.energyWh = startWh_;
  out.intervalWh = wh;
  out.exportedWh = startExportWh_;
  out.intervalExportedWh = xwh;
  endS_ += intervalS_;
  return true;
}

static uint32_t clampDelta(uint64_t now, uint64_t start) {
  uint64_t delta = now > start ? now - start : 0;
  return delta > 0xFFFFFFFFULL ? 0xFFFFFFFFUL : (uint32_t)delta;
}

uint32_t IntervalAccumulator::currentWh(uint64_t energyWh) const { return clampDelta(energyWh, startWh_); }

uint32_t IntervalAccumulator::currentExportWh(uint64_t exportedWh) const {
  return clampDelta(exportedWh, startExportWh_);
}

}  // namespace zkm
