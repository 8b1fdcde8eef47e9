// Local comfort control used only while the node is unreachable: ceiling fan speed from the LM35
// temperature and the night light from the LDR, both with hysteresis. When the node is back, its
// commands rule again.
#ifndef ZKM_FALLBACK_H
#define ZKM_FALLBACK_H
#include <stdint.h>
#include <string.h>

namespace zkm {

class FanFallback {
 public:
  FanFallback() : speed_(0) {}
  // Speed steps at 26 / 29 / 32 °C going up, 0.5 °C lower going down.
  uint8_t update(int32_t temperatureCenti);
  uint8_t speed() const { return speed_; }

 private:
  uint8_t speed_;
};

class NightLightFallback {
 public:
  NightLightFallback() : on_(false) {}
  // On below 15 % light, off above 25 %.
  bool update(uint16_t lightPermille);
  bool on() const { return on_; }

 private:
  bool on_;
};

// The node counts as reachable while the ESP8266 reports it so and keeps reporting it.
class LinkWatchdog {
 public:
  explicit LinkWatchdog(uint32_t timeoutMs) : timeoutMs_(timeoutMs), lastMs_(0), online_(false) {}
  void heartbeat(bool nodeOnline, uint32_t nowMs) { online_ = nodeOnline; lastMs_ = nowMs; }
  bool nodeReachable(uint32_t nowMs) const { return online_ && (uint32_t)(nowMs - lastMs_) < timeoutMs_; }

 private:
  uint32_t timeoutMs_;
  uint32_t lastMs_;
  bool online_;
};

}  // namespace zkm
#endif
