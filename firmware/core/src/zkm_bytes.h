// Little- and big-endian integer (de)serialisation without relying on the host's byte order.
#ifndef ZKM_BYTES_H
#define ZKM_BYTES_H
#include <stdint.h>
#include <string.h>

namespace zkm {

inline void putLe16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
inline void putLe32(uint8_t *p, uint32_t v) {
  for (uint8_t i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
inline void putLe64(uint8_t *p, uint64_t v) {
  for (uint8_t i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
inline uint16_t getLe16(const uint8_t *p) { return (uint16_t)(p[0] | ((uint16_t)p[1] << 8)); }
inline uint32_t getLe32(const uint8_t *p) {
  uint32_t v = 0;
  for (int8_t i = 3; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}
inline uint64_t getLe64(const uint8_t *p) {
  uint64_t v = 0;
  for (int8_t i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}
inline void putBe64(uint8_t *p, uint64_t v) {
  for (uint8_t i = 0; i < 8; i++) p[7 - i] = (uint8_t)(v >> (8 * i));
}

}  // namespace zkm
#endif
