// Byte-addressed non-volatile storage: the UNO's EEPROM, the ESP8266's flash-backed EEPROM
// emulation, or RAM with fault injection in host tests.
#ifndef ZKM_NVSTORE_H
#define ZKM_NVSTORE_H
#include <stdint.h>
#include <string.h>

namespace zkm {

class NvStore {
 public:
  virtual uint16_t size() const = 0;
  virtual void read(uint16_t addr, uint8_t *out, uint16_t len) = 0;
  virtual void write(uint16_t addr, const uint8_t *data, uint16_t len) = 0;

 protected:
  ~NvStore() {}
};

}  // namespace zkm
#endif
