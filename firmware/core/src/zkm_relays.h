// Relay outputs = what the node (or the local fallback) asked for, overridden by the safety
// interlocks of docs/protocol.md §8 (zkm_interlocks.h). The override is computed from the debounced
// hazards on every loop iteration, so it never waits for the network. A twin of
// protocol/meter/relays.ts, held to it by the shared vectors.
#ifndef ZKM_RELAYS_H
#define ZKM_RELAYS_H
#include <stdint.h>
#include <string.h>

namespace zkm {

// Relay n is bit (n - 1), as in the MeterRecord `relays` field.
static const uint8_t RELAY_FAN = 1;
static const uint8_t RELAY_AC = 2;
static const uint8_t RELAY_LIGHTS = 3;
static const uint8_t RELAY_NIGHT_LIGHT = 4;
static const uint8_t RELAY_VENT = 5;
static const uint8_t RELAY_SPRINKLER = 6;
static const uint8_t RELAY_BUZZER = 7;
static const uint8_t RELAY_CIRCUITS = 8;

inline uint8_t relayBit(uint8_t n) { return (uint8_t)(1u << (n - 1)); }

// FORCE_ON / FORCE_OFF: a person's confirmed override of an interlock (POWER<n> FORCEON / FORCEOFF).
enum RelayAction : uint8_t { RELAY_OFF = 0, RELAY_ON = 1, RELAY_TOGGLE = 2, RELAY_FORCE_ON = 3, RELAY_FORCE_OFF = 4 };

class RelayController {
 public:
  // Appliance circuits are normally on; everything else starts off.
  RelayController() : requested_(relayBit(RELAY_CIRCUITS)), fanSpeed_(0), overridden_(0), hazards_(0) {}

  // A POWER<n> command. Returns false if an interlock of the hazards present refuses it: a forced
  // relay switched the other way without FORCE, a locked relay, or any FORCE while gas is detected.
  bool command(uint8_t n, RelayAction action);
  // FanSpeed 0..3; relay 1 follows (speed 0 = off). Returns false for a speed out of range or
  // when an interlock holds the fan (fire: off; gas: no switching).
  bool setFanSpeed(uint8_t speed);
  // Applies the hazard bits and returns the relay outputs.
  uint8_t apply(uint8_t hazards);
  uint8_t outputs() const { return compute(); }
  uint8_t requested() const { return requested_; }
  uint8_t fanSpeed() const { return fanSpeed_; }

 private:
  uint8_t compute() const;
  bool allowed(uint8_t bit, bool on, bool force);
  uint8_t requested_;
  uint8_t fanSpeed_;
  // Relays a person overrode (FORCE) while the current hazards last; a new hazard re-arms them.
  uint8_t overridden_;
  uint8_t hazards_;
};

}  // namespace zkm
#endif
