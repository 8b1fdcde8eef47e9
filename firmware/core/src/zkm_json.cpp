#include "zkm_json.h"

namespace zkm {

void JsonWriter::ch(char c) {
  if (overflow_ || len_ + 1 >= cap_) {  // keep room for the terminating NUL
    overflow_ = true;
    return;
  }
  buf_[len_++] = c;
  buf_[len_] = 0;
}

void JsonWriter::raw(const char *text) {
  while (*text) ch(*text++);
}

void JsonWriter::u64(uint64_t v) {
  char digits[20];
  uint8_t n = 0;
  do {
    digits[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) ch(digits[--n]);
}

void JsonWriter::i64(int64_t v) {
  if (v < 0) {
    ch('-');
    u64((uint64_t)0 - (uint64_t)v);
  } else {
    u64((uint64_t)v);
  }
}

void JsonWriter::decimal(int64_t value, uint8_t decimals) {
  uint64_t mag = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
  uint64_t scale = 1;
  for (uint8_t i = 0; i < decimals; i++) scale *= 10;
  uint64_t frac = mag % scale;
  if (value < 0) ch('-');
  u64(mag / scale);
  if (!frac) return;
  ch('.');
  for (uint64_t s = scale / 10; frac; s /= 10) {
    ch((char)('0' + frac / s));
    frac %= s;
  }
}

void JsonWriter::hex(const uint8_t *bytes, size_t n) {
  static const char DIGITS[] = "0123456789abcdef";
  raw("\"0x");
  for (size_t i = 0; i < n; i++) {
    ch(DIGITS[bytes[i] >> 4]);
    ch(DIGITS[bytes[i] & 15]);
  }
  ch('"');
}

static void two(JsonWriter &w, uint32_t v) {
  w.ch((char)('0' + v / 10));
  w.ch((char)('0' + v % 10));
}

void JsonWriter::isoTime(uint64_t t) {
  // Days to civil date: Howard Hinnant's algorithm (proleptic Gregorian, valid for t >= 0).
  uint32_t days = (uint32_t)(t / 86400);
  uint32_t secs = (uint32_t)(t % 86400);
  uint32_t z = days + 719468;
  uint32_t era = z / 146097;
  uint32_t doe = z - era * 146097;
  uint32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  uint32_t y = yoe + era * 400;
  uint32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  uint32_t mp = (5 * doy + 2) / 153;
  uint32_t d = doy - (153 * mp + 2) / 5 + 1;
  uint32_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) y++;
  ch('"');
  if (y > 9999) {  // ISO 8601 expanded year, as JavaScript's toISOString prints it
    ch('+');
    for (uint32_t d = 100000; d > y; d /= 10) ch('0');
  } else {
    for (uint32_t d = 1000; d > y && d > 1; d /= 10) ch('0');
  }
  u64(y);
  ch('-');
  two(*this, m);
  ch('-');
  two(*this, d);
  ch('T');
  two(*this, secs / 3600);
  ch(':');
  two(*this, (secs / 60) % 60);
  ch(':');
  two(*this, secs % 60);
  raw("Z\"");
}

}  // namespace zkm
