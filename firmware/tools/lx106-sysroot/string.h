/* Debian's gcc-xtensa-lx106 ships no C library. For the portability check (firmware/tools/build-esp8266.ts)
 * this declares the <string.h> subset the core may use, with newlib's signatures (the ESP8266 Arduino
 * core links newlib): anything else from <string.h> fails the check on purpose. */
#ifndef ZKM_LX106_STRING_H
#define ZKM_LX106_STRING_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);
#ifdef __cplusplus
}
#endif
#endif
