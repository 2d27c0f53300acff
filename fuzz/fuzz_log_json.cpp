// Standard logging v2's JSON lines from arbitrary bytes: never crashes; an object that
// parses has one column per key, laid out as a standard log, and written back as JSON
// (its keys and its values as read) parses to the same columns.
// SPDX-License-Identifier: MIT
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "pixel/log.hpp"

#define PIXEL_FUZZ_CHECK(cond) \
  do {                         \
    if (!(cond)) std::abort(); \
  } while (0)

namespace {

// A JSON string of bytes (control bytes escaped, the rest as they are).
void put_json(std::string_view s, std::string& out) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 0xF];
    } else {
      out += ch;
    }
  }
  out += '"';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace log = pixel::log;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  log::record r;
  if (!log::parse_json_record_into(in, r)) return 0;
  const log::field_list& l = r.fields();
  PIXEL_FUZZ_CHECK(l.kind() == log::log_kind::standard);
  PIXEL_FUZZ_CHECK(r.size() == l.size() && !l.empty());
  std::string again = "{";
  for (std::size_t i = 0; i < l.size(); ++i) {
    if (i) again += ',';
    put_json(l.name(i), again);
    again += ':';
    put_json(r.value(i), again);
  }
  again += '}';
  log::record r2;
  PIXEL_FUZZ_CHECK(log::parse_json_record_into(again, r2));
  PIXEL_FUZZ_CHECK(r2.text == r.text && r2.fields() == l);
  PIXEL_FUZZ_CHECK(r2.timestamp_ms == r.timestamp_ms && r2.params == r.params);
  return 0;
}
