// MQTT topics and payloads of docs/protocol.md §7 (Tasmota style).
#ifndef ZKM_MQTT_H
#define ZKM_MQTT_H
#include <stdint.h>
#include <string.h>

#include "zkm_eip712.h"

namespace zkm {

static const uint8_t METER_NAME_LEN = 44;  // "zkm_" + 40 hex digits

// "zkm_<40 lowercase hex>" plus NUL into out[45].
void meterName(const uint8_t address[20], char out[METER_NAME_LEN + 1]);

// tele/<meter>/SENSOR. Returns the length written (NUL-terminated), 0 if cap is too small.
size_t buildSensorJson(const MeterRecord &r, const uint8_t signature[65], char *out, size_t cap);
// tele/<meter>/PERIOD: the import close and its "export" block with the ExportPeriod signature.
size_t buildPeriodJson(const BillingPeriod &p, const uint8_t signature[65], const uint8_t exportSignature[65],
                       char *out, size_t cap);
// tele/<meter>/GONE: {"v":1,"meter":"0x…","fromSeq":…,"toSeq":…,"sig":"0x…"}.
size_t buildGoneJson(const RecordsGone &g, const uint8_t signature[65], char *out, size_t cap);
// tele/<meter>/STATE: {"Time":"…","Uptime":"1T02:03:04","POWER1":"ON",…,"POWER8":"OFF","FanSpeed":2,
// "PeriodStart":…,"PeriodDays":0} (Uptime in Tasmota's days-T-hh:mm:ss form; PeriodStart the open
// billing period's start, so the node knows the boundaries even after PeriodDays changed).
size_t buildStateJson(uint64_t time, uint32_t uptimeS, uint8_t relays, uint8_t fanSpeed, uint64_t periodStart,
                      uint8_t periodDays, char *out, size_t cap);
// stat/<meter>/RESULT after a relay change: {"POWER<n>":"ON"}.
size_t buildPowerResultJson(uint8_t n, bool on, char *out, size_t cap);
// stat/<meter>/RESULT after a fan change: {"FanSpeed":2}.
size_t buildFanResultJson(uint8_t speed, char *out, size_t cap);

enum CommandKind : uint8_t {
  CMD_INVALID = 0,
  CMD_POWER,
  CMD_FAN_SPEED,
  CMD_RESEND,
  CMD_PERIOD_DAYS,
  CMD_RESEND_PERIOD
};

struct Command {
  CommandKind kind;
  uint8_t relay;   // CMD_POWER: 1..8
  uint8_t action;  // CMD_POWER: RelayAction (0 off, 1 on, 2 toggle, 3 force on, 4 force off)
  uint8_t value;   // CMD_FAN_SPEED: 0..3; CMD_PERIOD_DAYS: 0..31
  uint64_t from;   // CMD_RESEND; CMD_RESEND_PERIOD: the periodStart
  uint64_t to;
};

// topic: the full topic ("cmnd/<meter>/POWER3"); meter: this meter's name. Anything malformed,
// for another meter or out of range gives CMD_INVALID.
Command parseCommand(const char *topic, const char *meter, const uint8_t *payload, size_t len);

}  // namespace zkm
#endif
