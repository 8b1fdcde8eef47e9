#include "zkm_mqtt.h"

#include "zkm_json.h"

namespace zkm {

void meterName(const uint8_t address[20], char out[METER_NAME_LEN + 1]) {
  static const char DIGITS[] = "0123456789abcdef";
  memcpy(out, "zkm_", 4);
  for (uint8_t i = 0; i < 20; i++) {
    out[4 + 2 * i] = DIGITS[address[i] >> 4];
    out[5 + 2 * i] = DIGITS[address[i] & 15];
  }
  out[METER_NAME_LEN] = 0;
}

// Display values are the signed integers scaled to Tasmota's units (kWh, V, A, °C) and printed as
// protocol/records.ts prints them (JavaScript number formatting); light, gas and water are
// the permille integers themselves.
size_t buildSensorJson(const MeterRecord &r, const uint8_t sig[65], char *out, size_t cap) {
  JsonWriter w(out, cap);
  w.raw("{\"Time\":");
  w.isoTime(r.time);
  w.raw(",\"ENERGY\":{\"Total\":");
  w.decimal((int64_t)r.energyWh, 3);
  w.raw(",\"ExportActive\":");
  w.decimal((int64_t)r.exportedWh, 3);
  w.raw(",\"Power\":");
  w.u64(r.powerW);
  w.raw(",\"Voltage\":");
  w.decimal(r.voltageMv, 3);
  w.raw(",\"Current\":");
  w.decimal(r.currentMa, 3);
  w.raw(",\"Factor\":");
  w.decimal(r.powerFactor, 3);
  w.raw("},\"LM35\":{\"Temperature\":");
  w.decimal(r.temperatureCenti, 2);
  w.raw("},\"LDR\":{\"Light\":");
  w.u64(r.light);
  w.raw("},\"MQ6\":{\"Gas\":");
  w.u64(r.gas);
  w.raw("},\"WATER\":{\"Level\":");
  w.u64(r.water);
  w.raw("},\"HAZARD\":{\"Flame\":");
  w.u64(r.hazards & 1);
  w.raw(",\"Gas\":");
  w.u64((r.hazards >> 1) & 1);
  w.raw(",\"Water\":");
  w.u64((r.hazards >> 2) & 1);
  // ZK v2: the record with the export counter (docs/protocol.md §6).
  w.raw("},\"ZK\":{\"v\":2,\"seq\":");
  w.u64(r.seq);
  w.raw(",\"kind\":");
  w.u64(r.kind);
  w.raw(",\"time\":");
  w.u64(r.time);
  w.raw(",\"energyWh\":");
  w.u64(r.energyWh);
  w.raw(",\"intervalWh\":");
  w.u64(r.intervalWh);
  w.raw(",\"exportedWh\":");
  w.u64(r.exportedWh);
  w.raw(",\"intervalExportedWh\":");
  w.u64(r.intervalExportedWh);
  w.raw(",\"powerW\":");
  w.u64(r.powerW);
  w.raw(",\"voltageMv\":");
  w.u64(r.voltageMv);
  w.raw(",\"currentMa\":");
  w.u64(r.currentMa);
  w.raw(",\"powerFactor\":");
  w.u64(r.powerFactor);
  w.raw(",\"temperatureCenti\":");
  w.i64(r.temperatureCenti);
  w.raw(",\"light\":");
  w.u64(r.light);
  w.raw(",\"gas\":");
  w.u64(r.gas);
  w.raw(",\"water\":");
  w.u64(r.water);
  w.raw(",\"hazards\":");
  w.u64(r.hazards);
  w.raw(",\"relays\":");
  w.u64(r.relays);
  w.raw(",\"fanSpeed\":");
  w.u64(r.fanSpeed);
  w.raw(",\"sig\":");
  w.hex(sig, 65);
  w.raw("}}");
  return w.finish();
}

// One half of a period close: its counters, commitment and signature (the import half at the top
// level, the export half inside "export"; the same four fields under the same names).
static void periodHalf(JsonWriter &w, uint64_t startCounter, uint64_t endCounter, const uint8_t commitment[32],
                       const uint8_t sig[65]) {
  w.raw("\"startCounter\":");
  w.u64(startCounter);
  w.raw(",\"endCounter\":");
  w.u64(endCounter);
  w.raw(",\"commitment\":");
  w.hex(commitment, 32);
  w.raw(",\"sig\":");
  w.hex(sig, 65);
}

size_t buildPeriodJson(const BillingPeriod &p, const uint8_t sig[65], const uint8_t exportSig[65], char *out,
                       size_t cap) {
  JsonWriter w(out, cap);
  // v: the commitment version (docs/protocol.md §3); 3 = the readings digest chained with the
  // layout word and the per-slot sums packed 12 to an element.
  w.raw("{\"v\":3,\"meter\":");
  w.hex(p.meter, 20);
  w.raw(",\"periodStart\":");
  w.u64(p.periodStart);
  w.raw(",\"periodEnd\":");
  w.u64(p.periodEnd);
  w.raw(",");
  periodHalf(w, p.startCounter, p.endCounter, p.commitment, sig);
  // The export half, signed as ExportPeriod (docs/protocol.md §6, §7).
  w.raw(",\"export\":{");
  periodHalf(w, p.exportStartCounter, p.exportEndCounter, p.exportCommitment, exportSig);
  w.raw("}}");
  return w.finish();
}

size_t buildGoneJson(const RecordsGone &g, const uint8_t sig[65], char *out, size_t cap) {
  JsonWriter w(out, cap);
  w.raw("{\"v\":1,\"meter\":");
  w.hex(g.meter, 20);
  w.raw(",\"fromSeq\":");
  w.u64(g.fromSeq);
  w.raw(",\"toSeq\":");
  w.u64(g.toSeq);
  w.raw(",\"sig\":");
  w.hex(sig, 65);
  w.ch('}');
  return w.finish();
}

size_t buildStateJson(uint64_t time, uint32_t uptimeS, uint8_t relays, uint8_t fanSpeed, uint64_t periodStart,
                      uint8_t periodDays, char *out, size_t cap) {
  JsonWriter w(out, cap);
  w.raw("{\"Time\":");
  w.isoTime(time);
  w.raw(",\"Uptime\":\"");
  w.u64(uptimeS / 86400);
  w.ch('T');
  uint32_t s = uptimeS % 86400;
  const uint32_t parts[3] = {s / 3600, (s / 60) % 60, s % 60};
  for (uint8_t i = 0; i < 3; i++) {
    if (i) w.ch(':');
    w.ch((char)('0' + parts[i] / 10));
    w.ch((char)('0' + parts[i] % 10));
  }
  w.ch('"');
  for (uint8_t n = 1; n <= 8; n++) {
    w.raw(",\"POWER");
    w.u64(n);
    w.raw((relays >> (n - 1)) & 1 ? "\":\"ON\"" : "\":\"OFF\"");
  }
  w.raw(",\"FanSpeed\":");
  w.u64(fanSpeed);
  w.raw(",\"PeriodStart\":");
  w.u64(periodStart);
  w.raw(",\"PeriodDays\":");
  w.u64(periodDays);
  w.ch('}');
  return w.finish();
}

size_t buildPowerResultJson(uint8_t n, bool on, char *out, size_t cap) {
  JsonWriter w(out, cap);
  w.raw("{\"POWER");
  w.u64(n);
  w.raw(on ? "\":\"ON\"}" : "\":\"OFF\"}");
  return w.finish();
}

size_t buildFanResultJson(uint8_t speed, char *out, size_t cap) {
  JsonWriter w(out, cap);
  w.raw("{\"FanSpeed\":");
  w.u64(speed);
  w.ch('}');
  return w.finish();
}

static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

static bool isSpace(uint8_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Case-insensitive comparison of a payload (after trimming) with a lowercase word.
static bool payloadIs(const uint8_t *p, size_t len, const char *word) {
  size_t n = strlen(word);
  if (len != n) return false;
  for (size_t i = 0; i < n; i++) {
    if (lower((char)p[i]) != word[i]) return false;
  }
  return true;
}

static bool textIs(const char *text, const char *word) {
  while (*text && *word) {
    if (lower(*text++) != *word++) return false;
  }
  return *text == 0 && *word == 0;
}

// Parses an unsigned decimal integer of at most 19 digits; false if anything else is there.
static bool parseUint(const uint8_t *p, size_t len, uint64_t &out) {
  if (len == 0 || len > 19) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < len; i++) {
    if (p[i] < '0' || p[i] > '9') return false;
    v = v * 10 + (p[i] - '0');
  }
  out = v;
  return true;
}

// A flat JSON object whose keys are exactly `keys` (each once, any order) with unsigned integer
// values, whitespace allowed, nothing else: {"from":<uint>,"to":<uint>}, {"periodStart":<uint>}.
static bool parseUintObject(const uint8_t *p, size_t len, const char *const *keys, uint8_t count, uint64_t *values) {
  size_t i = 0;
  uint8_t seen = 0;  // bit k: keys[k] was read
  while (i < len && isSpace(p[i])) i++;
  if (i >= len || p[i++] != '{') return false;
  for (;;) {
    while (i < len && isSpace(p[i])) i++;
    if (i >= len || p[i++] != '"') return false;
    size_t keyStart = i;
    while (i < len && p[i] != '"') i++;
    if (i >= len) return false;
    size_t keyLen = i - keyStart;
    i++;
    while (i < len && isSpace(p[i])) i++;
    if (i >= len || p[i++] != ':') return false;
    while (i < len && isSpace(p[i])) i++;
    size_t numStart = i;
    while (i < len && p[i] >= '0' && p[i] <= '9') i++;
    uint64_t value;
    if (!parseUint(p + numStart, i - numStart, value)) return false;
    uint8_t k = 0;
    while (k < count && !(strlen(keys[k]) == keyLen && memcmp(p + keyStart, keys[k], keyLen) == 0)) k++;
    if (k == count || (seen & (1u << k))) return false;
    values[k] = value;
    seen = (uint8_t)(seen | (1u << k));
    while (i < len && isSpace(p[i])) i++;
    if (i >= len) return false;
    if (p[i] == ',') {
      i++;
      continue;
    }
    if (p[i++] != '}') return false;
    while (i < len && isSpace(p[i])) i++;
    return i == len && seen == (uint8_t)((1u << count) - 1);
  }
}

static bool parseResend(const uint8_t *p, size_t len, uint64_t &from, uint64_t &to) {
  static const char *const KEYS[2] = {"from", "to"};
  uint64_t v[2];
  if (!parseUintObject(p, len, KEYS, 2, v) || v[0] > v[1]) return false;
  from = v[0];
  to = v[1];
  return true;
}

static bool parseResendPeriod(const uint8_t *p, size_t len, uint64_t &periodStart) {
  static const char *const KEYS[1] = {"periodStart"};
  return parseUintObject(p, len, KEYS, 1, &periodStart);
}

Command parseCommand(const char *topic, const char *meter, const uint8_t *payload, size_t len) {
  Command c;
  memset(&c, 0, sizeof(c));
  c.kind = CMD_INVALID;
  size_t meterLen = strlen(meter);
  if (strncmp(topic, "cmnd/", 5) != 0 || strncmp(topic + 5, meter, meterLen) != 0 || topic[5 + meterLen] != '/') {
    return c;
  }
  const char *name = topic + 6 + meterLen;
  while (len && isSpace(payload[0])) {
    payload++;
    len--;
  }
  while (len && isSpace(payload[len - 1])) len--;
  uint64_t number;
  if (lower(name[0]) == 'p' && lower(name[1]) == 'o' && lower(name[2]) == 'w' && lower(name[3]) == 'e' &&
      lower(name[4]) == 'r' && name[5] >= '1' && name[5] <= '8' && name[6] == 0) {
    c.relay = (uint8_t)(name[5] - '0');
    if (payloadIs(payload, len, "on") || payloadIs(payload, len, "1")) {
      c.action = 1;
    } else if (payloadIs(payload, len, "off") || payloadIs(payload, len, "0")) {
      c.action = 0;
    } else if (payloadIs(payload, len, "toggle")) {
      c.action = 2;
    } else if (payloadIs(payload, len, "forceon")) {  // a confirmed override of an interlock
      c.action = 3;
    } else if (payloadIs(payload, len, "forceoff")) {
      c.action = 4;
    } else {
      return c;
    }
    c.kind = CMD_POWER;
  } else if (textIs(name, "fanspeed")) {
    if (!parseUint(payload, len, number) || number > 3) return c;
    c.value = (uint8_t)number;
    c.kind = CMD_FAN_SPEED;
  } else if (textIs(name, "perioddays")) {
    if (!parseUint(payload, len, number) || number > 31) return c;
    c.value = (uint8_t)number;
    c.kind = CMD_PERIOD_DAYS;
  } else if (textIs(name, "resend")) {
    if (!parseResend(payload, len, c.from, c.to)) return c;
    c.kind = CMD_RESEND;
  } else if (textIs(name, "resendperiod")) {
    if (!parseResendPeriod(payload, len, c.from)) return c;
    c.kind = CMD_RESEND_PERIOD;
  }
  return c;
}

}  // namespace zkm
