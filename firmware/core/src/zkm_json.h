// A bounded writer of JSON text into a caller's buffer: no heap, no printf, no floating point
// (decimal fields are fixed-point integers printed with a given number of decimals).
#ifndef ZKM_JSON_H
#define ZKM_JSON_H
#include <stdint.h>
#include <string.h>

namespace zkm {

class JsonWriter {
 public:
  JsonWriter(char *buf, size_t cap) : buf_(buf), cap_(cap), len_(0), overflow_(cap == 0) { terminate(); }
  void raw(const char *text);
  void ch(char c);
  void u64(uint64_t v);
  void i64(int64_t v);
  // The same number printed the way JavaScript prints value / 10^decimals: no trailing zeros, no
  // point for a whole number (exactly JS's output whenever the value has at most 15 significant digits).
  void decimal(int64_t value, uint8_t decimals);
  void hex(const uint8_t *bytes, size_t n);  // "0x…" including the quotes
  // Unix seconds as "YYYY-MM-DDThh:mm:ssZ" including the quotes.
  void isoTime(uint64_t unixSeconds);
  // Length written, or 0 when the buffer was too small (the text is then unusable).
  size_t finish() const { return overflow_ ? 0 : len_; }

 private:
  void terminate() {
    if (cap_) buf_[len_ < cap_ ? len_ : cap_ - 1] = 0;
  }
  char *buf_;
  size_t cap_;
  size_t len_;
  bool overflow_;
};

}  // namespace zkm
#endif
