// Alarm inputs: a raw condition becomes an alarm only after it has held for onMs, and clears only
// after its absence has held for offMs (debounce); analog inputs additionally switch on at a high
// level and off at a lower one (hysteresis), so a level hovering at a threshold cannot chatter.
#ifndef ZKM_ALARM_H
#define ZKM_ALARM_H
#include <stdint.h>
#include <string.h>

namespace zkm {

static const uint8_t HAZARD_FLAME = 1;
static const uint8_t HAZARD_GAS = 2;
static const uint8_t HAZARD_WATER = 4;

class Debounced {
 public:
  Debounced(uint16_t onMs, uint16_t offMs) : onMs_(onMs), offMs_(offMs), state_(false), candidate_(false), sinceMs_(0) {}
  bool update(bool raw, uint32_t nowMs);
  bool active() const { return state_; }

 private:
  uint16_t onMs_;
  uint16_t offMs_;
  bool state_;
  bool candidate_;  // the raw value that is currently waiting out its debounce time
  uint32_t sinceMs_;
};

class LevelAlarm {
 public:
  LevelAlarm(uint16_t onLevel, uint16_t offLevel, uint16_t onMs, uint16_t offMs)
      : onLevel_(onLevel), offLevel_(offLevel), deb_(onMs, offMs) {}
  bool update(uint16_t level, uint32_t nowMs);
  bool active() const { return deb_.active(); }

 private:
  uint16_t onLevel_;
  uint16_t offLevel_;
  Debounced deb_;
};

struct AlarmConfig {
  uint16_t flameOnMs, flameOffMs;
  uint16_t gasOn, gasOff, gasOnMs, gasOffMs;        // permille of full scale
  uint16_t waterOn, waterOff, waterOnMs, waterOffMs;
};

// Defaults: flame reacts in 20 ms (well inside the 100 ms budget), gas and water in 200/300 ms;
// clearing needs 2-3 s of calm so a flickering flame keeps the sprinkler on.
AlarmConfig defaultAlarmConfig();

class Alarms {
 public:
  explicit Alarms(const AlarmConfig &c)
      : flame_(c.flameOnMs, c.flameOffMs), gas_(c.gasOn, c.gasOff, c.gasOnMs, c.gasOffMs),
        water_(c.waterOn, c.waterOff, c.waterOnMs, c.waterOffMs) {}
  // Returns the HAZARD_* bits after this sample.
  uint8_t update(bool flameDetected, uint16_t gasPermille, uint16_t waterPermille, uint32_t nowMs);
  uint8_t hazards() const;

 private:
  Debounced flame_;
  LevelAlarm gas_;
  LevelAlarm water_;
};

}  // namespace zkm
#endif
