#include "json.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace zkmtest {

namespace {

struct Parser {
  const std::string &s;
  size_t i = 0;

  void ws() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) i++;
  }
  [[noreturn]] void fail(const char *what) { throw std::runtime_error(std::string("json: ") + what + " at " + std::to_string(i)); }
  void expect(char c) {
    ws();
    if (i >= s.size() || s[i] != c) fail("unexpected character");
    i++;
  }
  std::string string() {
    expect('"');
    std::string out;
    while (i < s.size() && s[i] != '"') {
      char c = s[i++];
      if (c != '\\') {
        out += c;
        continue;
      }
      char e = s[i++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': {
          unsigned code = std::stoul(s.substr(i, 4), nullptr, 16);
          i += 4;
          // UTF-8 encode (the vectors only escape control characters; no surrogate pairs)
          if (code < 0x80) {
            out += (char)code;
          } else if (code < 0x800) {
            out += (char)(0xC0 | (code >> 6));
            out += (char)(0x80 | (code & 0x3F));
          } else {
            out += (char)(0xE0 | (code >> 12));
            out += (char)(0x80 | ((code >> 6) & 0x3F));
            out += (char)(0x80 | (code & 0x3F));
          }
          break;
        }
        default: out += e;
      }
    }
    if (i >= s.size()) fail("unterminated string");
    i++;
    return out;
  }
  Json value() {
    ws();
    if (i >= s.size()) fail("unexpected end");
    Json j;
    char c = s[i];
    if (c == '{') {
      j.kind = Json::Object;
      i++;
      ws();
      if (s[i] == '}') {
        i++;
        return j;
      }
      for (;;) {
        std::string key = string();
        expect(':');
        j.fields[key] = value();
        ws();
        if (s[i] == ',') {
          i++;
          continue;
        }
        expect('}');
        return j;
      }
    }
    if (c == '[') {
      j.kind = Json::Array;
      i++;
      ws();
      if (s[i] == ']') {
        i++;
        return j;
      }
      for (;;) {
        j.items.push_back(value());
        ws();
        if (s[i] == ',') {
          i++;
          continue;
        }
        expect(']');
        return j;
      }
    }
    if (c == '"') {
      j.kind = Json::String;
      j.text = string();
      return j;
    }
    if (s.compare(i, 4, "true") == 0 || s.compare(i, 5, "false") == 0) {
      j.kind = Json::Bool;
      j.boolean = s[i] == 't';
      i += j.boolean ? 4 : 5;
      return j;
    }
    if (s.compare(i, 4, "null") == 0) {
      i += 4;
      return j;
    }
    size_t start = i;
    while (i < s.size() && (isdigit((unsigned char)s[i]) || s[i] == '-' || s[i] == '+' || s[i] == '.' || s[i] == 'e' || s[i] == 'E')) i++;
    if (start == i) fail("bad value");
    j.kind = Json::Number;
    j.text = s.substr(start, i - start);
    return j;
  }
};

}  // namespace

const Json &Json::operator[](const std::string &key) const {
  auto it = fields.find(key);
  if (kind != Object || it == fields.end()) throw std::runtime_error("json: no field " + key);
  return it->second;
}

const Json &Json::operator[](size_t index) const {
  if (kind != Array || index >= items.size()) throw std::runtime_error("json: index out of range");
  return items[index];
}

uint64_t Json::u64() const {
  if (kind != Number && kind != String) throw std::runtime_error("json: not a number");
  return std::strtoull(text.c_str(), nullptr, 10);
}

int64_t Json::i64() const {
  if (kind != Number && kind != String) throw std::runtime_error("json: not a number");
  return std::strtoll(text.c_str(), nullptr, 10);
}

const std::string &Json::str() const {
  if (kind != String) throw std::runtime_error("json: not a string");
  return text;
}

Json parseJson(const std::string &text) {
  Parser p{text};
  Json j = p.value();
  p.ws();
  if (p.i != text.size()) p.fail("trailing data");
  return j;
}

Json loadVectors(const std::string &name) {
  std::ifstream in(std::string(ZKM_VECTORS_DIR) + "/" + name);
  if (!in) throw std::runtime_error("cannot open protocol/vectors/" + name + " (run npx node protocol/vectors/generate.ts)");
  std::stringstream ss;
  ss << in.rdbuf();
  return parseJson(ss.str());
}

std::vector<uint8_t> fromHex(const std::string &hex) {
  size_t start = hex.rfind("0x", 0) == 0 ? 2 : 0;
  std::vector<uint8_t> out;
  for (size_t i = start; i + 1 < hex.size(); i += 2) out.push_back((uint8_t)std::stoul(hex.substr(i, 2), nullptr, 16));
  return out;
}

std::string toHex(const uint8_t *bytes, size_t n) {
  static const char D[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; i++) {
    out += D[bytes[i] >> 4];
    out += D[bytes[i] & 15];
  }
  return out;
}

std::vector<uint8_t> decTo32(const std::string &decimal) {
  std::vector<uint8_t> out(32, 0);
  for (char c : decimal) {
    unsigned carry = (unsigned)(c - '0');
    for (int i = 31; i >= 0; i--) {
      unsigned v = out[i] * 10u + carry;
      out[i] = (uint8_t)v;
      carry = v >> 8;
    }
  }
  return out;
}

std::vector<uint8_t> hexTo32(const std::string &hex) {
  std::vector<uint8_t> bytes = fromHex(hex);
  std::vector<uint8_t> out(32 - bytes.size(), 0);
  out.insert(out.end(), bytes.begin(), bytes.end());
  return out;
}

}  // namespace zkmtest
