// A minimal JSON reader for the shared test vectors (host tests only, so the STL is fine here).
// Numbers keep their text so 64-bit and 256-bit integers survive exactly.
#ifndef ZKM_TEST_JSON_H
#define ZKM_TEST_JSON_H
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace zkmtest {

struct Json {
  enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
  bool boolean = false;
  std::string text;  // Number (as written) or String (unescaped)
  std::vector<Json> items;
  std::map<std::string, Json> fields;

  const Json &operator[](const std::string &key) const;
  const Json &operator[](size_t index) const;
  size_t size() const { return kind == Array ? items.size() : fields.size(); }
  bool has(const std::string &key) const { return fields.count(key) != 0; }
  uint64_t u64() const;  // Number or decimal String
  int64_t i64() const;
  const std::string &str() const;
};

Json parseJson(const std::string &text);
Json loadVectors(const std::string &name);  // protocol/vectors/<name>
std::vector<uint8_t> fromHex(const std::string &hex);  // with or without 0x
std::string toHex(const uint8_t *bytes, size_t n);     // lowercase, no prefix
std::vector<uint8_t> decTo32(const std::string &decimal);  // 32-byte big-endian
std::vector<uint8_t> hexTo32(const std::string &hex);      // left-padded to 32 bytes

}  // namespace zkmtest
#endif
