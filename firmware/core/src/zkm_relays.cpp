#include "zkm_relays.h"

#include "zkm_alarm.h"
#include "zkm_interlocks.h"

namespace zkm {

bool RelayController::allowed(uint8_t bit, bool on, bool force) {
  InterlockMasks m = interlockMasks(hazards_);
  if (((m.forcedOn | m.forcedOff | m.locked) & bit & (uint8_t)~overridden_) == 0) return true;
  if (force) {
    // Any switching can ignite gas: no override while it is detected.
    if (hazards_ & HAZARD_GAS) return false;
    overridden_ |= bit;
    return true;
  }
  // The state the interlock already holds (the cut-off switching off) is accepted.
  return on ? (m.forcedOn & bit) != 0 : (m.forcedOff & bit) != 0;
}

bool RelayController::command(uint8_t n, RelayAction action) {
  if (n < 1 || n > 8) return false;
  uint8_t bit = relayBit(n);
  bool on = action == RELAY_TOGGLE ? !(compute() & bit) : (action == RELAY_ON || action == RELAY_FORCE_ON);
  if (!allowed(bit, on, action == RELAY_FORCE_ON || action == RELAY_FORCE_OFF)) return false;
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
  if (!allowed(relayBit(RELAY_FAN), speed != 0, false)) return false;
  fanSpeed_ = speed;
  if (speed) {
    requested_ |= relayBit(RELAY_FAN);
  } else {
    requested_ &= (uint8_t)~relayBit(RELAY_FAN);
  }
  return true;
}

uint8_t RelayController::apply(uint8_t hazards) {
  uint8_t next = hazards & 7;
  // A new hazard (or none left) re-arms every interlock: an override lasts one episode.
  if ((next & (uint8_t)~hazards_) || next == 0) overridden_ = 0;
  hazards_ = next;
  // A relay forced off is switched off for good: it must not come back by itself when the hazard
  // clears (sockets next to a leak, a fan after a fire); the node restores it once a person has
  // acknowledged the alarm.
  uint8_t off = interlockMasks(hazards_).forcedOff & (uint8_t)~overridden_;
  requested_ &= (uint8_t)~off;
  if (off & relayBit(RELAY_FAN)) fanSpeed_ = 0;
  return compute();
}

uint8_t RelayController::compute() const {
  InterlockMasks m = interlockMasks(hazards_);
  uint8_t free = (uint8_t)~overridden_;
  return (uint8_t)((requested_ | (m.forcedOn & free)) & (uint8_t)~(m.forcedOff & free));
}

}  // namespace zkm
