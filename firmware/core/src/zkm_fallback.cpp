#include "zkm_fallback.h"

namespace zkm {

static const int32_t FAN_STEPS_CENTI[3] = {2600, 2900, 3200};
static const int32_t FAN_HYSTERESIS_CENTI = 50;

uint8_t FanFallback::update(int32_t t) {
  uint8_t target = 0;
  for (uint8_t i = 0; i < 3; i++) {
    // A step already reached stays until the temperature falls below it by the hysteresis.
    int32_t threshold = (speed_ > i) ? FAN_STEPS_CENTI[i] - FAN_HYSTERESIS_CENTI : FAN_STEPS_CENTI[i];
    if (t >= threshold) target = (uint8_t)(i + 1);
  }
  speed_ = target;
  return speed_;
}

bool NightLightFallback::update(uint16_t light) {
  if (on_ && light > 250) on_ = false;
  if (!on_ && light < 150) on_ = true;
  return on_;
}

}  // namespace zkm
