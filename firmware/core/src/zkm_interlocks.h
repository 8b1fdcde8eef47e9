// The safety interlock matrix of protocol/meter/interlocks.ts (docs/protocol.md §8), as relay
// masks: per hazard, the relays forced on, forced off, and locked (no switching at all, because a
// switch sparks in gas). The shared vectors (relays.json "interlocks") hold these masks to the
// TypeScript definition, so the firmware and the node cannot drift apart.
#ifndef ZKM_INTERLOCKS_H
#define ZKM_INTERLOCKS_H
#include <stdint.h>

#include "zkm_alarm.h"

namespace zkm {

struct InterlockMasks {
  uint8_t forcedOn;
  uint8_t forcedOff;
  uint8_t locked;  // locked and not forced by another hazard
  bool suspendRules;
};

// Relay n is bit (n - 1).
// fire: fan (1), AC (2) and vent fan (5) off: moving air feeds a fire; sprinkler (6), buzzer (7) on.
static const uint8_t FLAME_FORCED_ON = 0x60;
static const uint8_t FLAME_FORCED_OFF = 0x13;
// gas (LPG): the cut-off (8, the sockets) off and the buzzer (7) on; nothing else is switched.
static const uint8_t GAS_FORCED_ON = 0x40;
static const uint8_t GAS_FORCED_OFF = 0x80;
static const uint8_t GAS_LOCKED = 0x3F;
// flood: the appliance circuits (8) off, the buzzer (7) on.
static const uint8_t WATER_FORCED_ON = 0x40;
static const uint8_t WATER_FORCED_OFF = 0x80;

inline InterlockMasks interlockMasks(uint8_t hazards) {
  InterlockMasks m = {0, 0, 0, false};
  if (hazards & HAZARD_FLAME) {
    m.forcedOn |= FLAME_FORCED_ON;
    m.forcedOff |= FLAME_FORCED_OFF;
    m.suspendRules = true;
  }
  if (hazards & HAZARD_GAS) {
    m.forcedOn |= GAS_FORCED_ON;
    m.forcedOff |= GAS_FORCED_OFF;
    m.locked |= GAS_LOCKED;
    m.suspendRules = true;
  }
  if (hazards & HAZARD_WATER) {
    m.forcedOn |= WATER_FORCED_ON;
    m.forcedOff |= WATER_FORCED_OFF;
  }
  // Forcing wins over locking: in a fire with gas the fan goes off (a fire already burns).
  m.locked &= (uint8_t) ~(m.forcedOn | m.forcedOff);
  return m;
}

}  // namespace zkm
#endif
