// Which parts of the core a target builds. The UNO only measures, protects and frames: hashing,
// commitments and signatures run on the ESP8266, so the crypto sources compile to nothing on AVR
// (Arduino compiles every source of a library, and 97 KB of Poseidon constants would not fit).
#ifndef ZKM_CONFIG_H
#define ZKM_CONFIG_H

#ifndef ZKM_WITH_CRYPTO
#if defined(__AVR__)
#define ZKM_WITH_CRYPTO 0
#else
#define ZKM_WITH_CRYPTO 1
#endif
#endif

// MESSAGE frames (zkm_message.h): MQTT-equivalent messages over the serial link, for an ESP8266
// wired to the node by USB. The UNO never sends them, so they compile to nothing on AVR.
#ifndef ZKM_WITH_MESSAGES
#if defined(__AVR__)
#define ZKM_WITH_MESSAGES 0
#else
#define ZKM_WITH_MESSAGES 1
#endif
#endif

// Large constant tables: on the ESP8266 plain const data is copied to its 80 KB of DRAM, so the
// Poseidon tables are placed in flash (read with aligned 32-bit loads, which the lx106 supports
// from flash).
#if defined(ARDUINO_ARCH_ESP8266)
#define ZKM_FLASH_TABLE __attribute__((section(".irom.text"), aligned(4)))
#else
#define ZKM_FLASH_TABLE
#endif

#endif
