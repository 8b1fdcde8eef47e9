// Conversions of the UNO's 10-bit ADC readings (5 V reference) into MeterRecord units.
#ifndef ZKM_SENSORS_H
#define ZKM_SENSORS_H
#include <stdint.h>
#include <string.h>

namespace zkm {

// LM35: 10 mV per °C. adc * 5 V / 1023 / 10 mV = adc * 500 / 1023 °C.
inline int32_t lm35Centi(uint16_t adc) { return (int32_t)(((uint32_t)adc * 50000UL) / 1023UL); }
// LDR, gas (MQ-6) and water-level sensors as permille of full scale.
inline uint16_t permille(uint16_t adc) { return (uint16_t)(((uint32_t)adc * 1000UL) / 1023UL); }

}  // namespace zkm
#endif
