// Relay outputs = what the node (or the local fallback) asked for, overridden by the safety
// reactions of docs/protocol.md §8. The override is computed from the debounced hazards on every
// loop iteration, so it never waits for the network.
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

enum RelayAction : uint8_t { RELAY_OFF = 0, RELAY_ON = 1, RELAY_TOGGLE = 2 };

class RelayController {
 public:
  // Appliance circuits are normally on; everything else starts off.
  RelayController() : requested_(relayBit(RELAY_CIRCUITS)), fanSpeed_(0), circuitsLatched_(false), hazards_(0) {}

  // A POWER<n> command. Returns false if refused: re-energising the appliance circuits while gas
  // or water is still detected.
  bool command(uint8_t n, RelayAction action);
  // FanSpeed 0..3; relay 1 follows (speed 0 = off). Returns false for a speed out of range.
  bool setFanSpeed(uint8_t speed);
  // Applies the hazard bits and returns the relay outputs.
  uint8_t apply(uint8_t hazards);
  uint8_t outputs() const { return compute(); }
  uint8_t requested() const { return requested_; }
  uint8_t fanSpeed() const { return fanSpeed_; }

 private:
  uint8_t compute() const;
  uint8_t requested_;
  uint8_t fanSpeed_;
  // After gas or water, the appliance circuits stay off until someone explicitly switches them on
  // again with the hazard gone: sockets must not come back by themselves next to a leak.
  bool circuitsLatched_;
  uint8_t hazards_;
};

}  // namespace zkm
#endif
