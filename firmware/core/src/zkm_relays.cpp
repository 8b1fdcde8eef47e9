#include "zkm_relays.h"

#include "zkm_alarm.h"

namespace zkm {

bool RelayController::command(uint8_t n, RelayAction action) {
  if (n < 1 || n > 8) return false;
  uint8_t bit = relayBit(n);
  bool on = action == RELAY_TOGGLE ? !(compute() & bit) : action == RELAY_ON;
  if (n == RELAY_CIRCUITS && on) {
    if (hazards_ & (HAZARD_GAS | HAZARD_WATER)) return false;
    circuitsLatched_ = false;
  }
  if (on) {
    requested_ |= bit;
  } else {
    requested_ &= (uint8_t)~bit;
  }
  if (n == RELAY_FAN) fanSpeed_ = on ? (fanSpeed_ == 0 ? 1 : fanSpeed_) : 0;
  return true;
}

bool RelayController::setFanSpeed(uint8_t speed) {
  if (speed > 3) return false;
  fanSpeed_ = speed;
  if (speed) {
    requested_ |= relayBit(RELAY_FAN);
  } else {
    requested_ &= (uint8_t)~relayBit(RELAY_FAN);
  }
  return true;
}

uint8_t RelayController::apply(uint8_t hazards) {
  hazards_ = hazards;
  if (hazards & (HAZARD_GAS | HAZARD_WATER)) circuitsLatched_ = true;
  return compute();
}

uint8_t RelayController::compute() const {
  uint8_t out = requested_;
  if (hazards_) out |= relayBit(RELAY_BUZZER);
  if (hazards_ & HAZARD_FLAME) out |= relayBit(RELAY_SPRINKLER);
  if (hazards_ & HAZARD_GAS) out |= relayBit(RELAY_VENT);
  if (circuitsLatched_) out &= (uint8_t)~relayBit(RELAY_CIRCUITS);
  return out;
}

}  // namespace zkm
