// UNO <-> ESP8266 serial link. Frame (docs/firmware.md "Serial link"):
//   0x7E | len | type | payload[len] | crc16 lo | crc16 hi
// CRC-16/Modbus over len, type and payload. Length-delimited (no byte stuffing): 0x7E may occur
// inside a frame; a receiver that loses sync re-scans the bytes after a failed start byte.
#ifndef ZKM_LINK_H
#define ZKM_LINK_H
#include <stdint.h>
#include <string.h>

namespace zkm {

static const uint8_t LINK_START = 0x7E;
static const uint8_t LINK_MAX_PAYLOAD = 48;
static const uint8_t LINK_OVERHEAD = 5;
static const uint8_t LINK_MAX_FRAME = LINK_MAX_PAYLOAD + LINK_OVERHEAD;
// Quiet time after which a partial frame is abandoned (about 20 byte times at 9600 baud).
static const uint8_t LINK_IDLE_MS = 20;

// UNO -> ESP8266
static const uint8_t LINK_MEASUREMENT = 0x01;
// ESP8266 -> UNO
static const uint8_t LINK_SET_RELAY = 0x10;  // payload: n (1..8), action (0 off, 1 on, 2 toggle)
static const uint8_t LINK_SET_FAN = 0x11;    // payload: speed (0..3)
static const uint8_t LINK_HEARTBEAT = 0x12;  // payload: 1 if the node is reachable over MQTT, else 0

// Returns the frame length written to out (len + LINK_OVERHEAD), or 0 if payload is too long.
uint8_t linkEncode(uint8_t type, const uint8_t *payload, uint8_t len, uint8_t *out);

class LinkDecoder {
 public:
  LinkDecoder() : fill_(0), errors_(0) {}
  // Feeds one received byte; returns true when a complete, CRC-valid frame is available.
  bool push(uint8_t byte);
  // The line has been quiet for a while (LINK_IDLE_MS): a frame is sent back to back, so a partial
  // one still buffered is a false start (a 0x7E inside a corrupted frame) that would otherwise hold
  // back the real frames behind it until len + 5 bytes arrived. Drops it and re-scans; returns
  // true when that yields a frame (call again until false).
  bool idle();
  // The last complete frame; valid until the next push that returns true.
  uint8_t type() const { return frame_[2]; }
  const uint8_t *payload() const { return frame_ + 3; }
  uint8_t length() const { return frame_[1]; }
  uint16_t errors() const { return errors_; }

 private:
  bool check();
  void resync();
  bool parse();
  uint8_t buf_[LINK_MAX_FRAME];
  uint8_t frame_[LINK_MAX_FRAME];
  uint8_t fill_;
  uint16_t errors_;
};

// The UNO's periodic (and on every hazard or relay change) report, little-endian.
struct Measurement {
  uint64_t energyWh;
  uint32_t powerW;
  uint32_t voltageMv;
  uint32_t currentMa;
  uint16_t powerFactor;
  int32_t temperatureCenti;
  uint16_t light;
  uint16_t gas;
  uint16_t water;
  uint8_t hazards;
  uint8_t relays;
  uint8_t fanSpeed;
  uint8_t source;  // MEASURE_* below
  uint64_t exportedWh;  // export counter (OBIS 2.8.0); 0 from a source that cannot see direction
};

static const uint8_t MEASURE_PZEM = 0;
static const uint8_t MEASURE_PULSE = 1;
static const uint8_t MEASURE_NONE = 2;
static const uint8_t MEASURE_BIDIRECTIONAL = 3;  // an import/export meter (zkm_sdm.h)
// 36 bytes of the import-only format, then exportedWh (u64) appended.
static const uint8_t MEASUREMENT_SIZE = 44;

void measurementEncode(const Measurement &m, uint8_t out[MEASUREMENT_SIZE]);
bool measurementDecode(const uint8_t *in, uint8_t len, Measurement &m);

}  // namespace zkm
#endif
