#include "zkm_alarm.h"

namespace zkm {

bool Debounced::update(bool raw, uint32_t nowMs) {
  if (raw == state_) {
    candidate_ = state_;
    return state_;
  }
  if (candidate_ != raw) {  // a new change starts its debounce window
    candidate_ = raw;
    sinceMs_ = nowMs;
  }
  uint16_t need = raw ? onMs_ : offMs_;
  if ((uint32_t)(nowMs - sinceMs_) >= need) state_ = raw;
  return state_;
}

bool LevelAlarm::update(uint16_t level, uint32_t nowMs) {
  // Between the two thresholds the raw condition keeps the current (debounced) state.
  bool raw = deb_.active() ? level > offLevel_ : level >= onLevel_;
  return deb_.update(raw, nowMs);
}

AlarmConfig defaultAlarmConfig() {
  AlarmConfig c;
  c.flameOnMs = 20;
  c.flameOffMs = 3000;
  c.gasOn = 400;
  c.gasOff = 300;
  c.gasOnMs = 200;
  c.gasOffMs = 2000;
  c.waterOn = 500;
  c.waterOff = 350;
  c.waterOnMs = 300;
  c.waterOffMs = 2000;
  return c;
}

uint8_t Alarms::update(bool flameDetected, uint16_t gasPermille, uint16_t waterPermille, uint32_t nowMs) {
  flame_.update(flameDetected, nowMs);
  gas_.update(gasPermille, nowMs);
  water_.update(waterPermille, nowMs);
  return hazards();
}

uint8_t Alarms::hazards() const {
  return (uint8_t)((flame_.active() ? HAZARD_FLAME : 0) | (gas_.active() ? HAZARD_GAS : 0) |
                   (water_.active() ? HAZARD_WATER : 0));
}

}  // namespace zkm
