// The standard-log header and line parser from arbitrary bytes: never crashes; a
// "#Fields:" line that parses gives a layout every line can be tried against, and a line
// built from that layout's own names parses back.
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

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace log = pixel::log;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  // The first line is the header (with or without its "#Fields:" tag), the rest are lines.
  const std::size_t nl = in.find('\n');
  std::string header(in.substr(0, nl));
  if (header.rfind("#Fields:", 0) != 0) header = "#Fields: " + header;
  const std::string_view rest =
      nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);

  auto layout = log::parse_standard_fields_line(header);
  const log::field_list& l = layout ? *layout : log::standard_default_fields();
  PIXEL_FUZZ_CHECK(l.kind() == log::log_kind::standard);
  std::size_t pos = 0;
  while (pos <= rest.size()) {
    std::size_t end = rest.find('\n', pos);
    if (end == std::string_view::npos) end = rest.size();
    auto r = log::parse_record(rest.substr(pos, end - pos), l);
    if (r) {
      PIXEL_FUZZ_CHECK(r->size() == l.size());
      for (std::size_t i = 0; i < r->size(); ++i) (void)r->value(i);
    }
    pos = end + 1;
  }
  if (!layout) return 0;
  // Every column absent: always a record, with no timestamp and no params.
  std::string blank;
  for (std::size_t i = 0; i < l.size(); ++i) blank += i ? "\t-" : "-";
  auto b = log::parse_record(blank, l);
  PIXEL_FUZZ_CHECK(b && b->timestamp_ms == 0 && b->params.empty());
  // Names round-trip: the layout's names, space-separated, give the same layout.
  std::string again = "#Fields:";
  for (std::size_t i = 0; i < l.size(); ++i) {
    again += ' ';
    again += l.name(i);
  }
  auto l2 = log::parse_standard_fields_line(again);
  PIXEL_FUZZ_CHECK(l2 && *l2 == l);
  return 0;
}
