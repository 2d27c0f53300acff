// CloudFront standard (legacy) access logs: the W3C header and the names of its fields.
// SPDX-License-Identifier: MIT
#include <string>

#include "log_internal.hpp"

namespace pixel::log {
namespace {

// A standard-log field name as a column: date and time stay apart (the record joins
// them), the header-derived names map to the real-time field of the same meaning, the
// rest keep their own name (most are the real-time names).
field column_of(std::string_view name) {
  if (name == "date") return standard_date;
  if (name == "time") return standard_time;
  if (name == "cs(User-Agent)") return field::cs_user_agent;
  if (name == "cs(Host)") return field::cs_host;
  if (name == "cs(Referer)") return field::cs_referer;
  if (name == "cs(Cookie)") return field::cs_cookie;
  if (auto f = field_from_name(name)) return *f;
  return unknown_field;
}

}  // namespace

const field_list& standard_default_fields() {
  // The documented layout of a standard log line, in file order.
  static const field_list f = [] {
    field_list l;
    l.set_kind(log_kind::standard);
    for (std::string_view n : {"date",
                               "time",
                               "x-edge-location",
                               "sc-bytes",
                               "c-ip",
                               "cs-method",
                               "cs(Host)",
                               "cs-uri-stem",
                               "sc-status",
                               "cs(Referer)",
                               "cs(User-Agent)",
                               "cs-uri-query",
                               "cs(Cookie)",
                               "x-edge-result-type",
                               "x-edge-request-id",
                               "x-host-header",
                               "cs-protocol",
                               "cs-bytes",
                               "time-taken",
                               "x-forwarded-for",
                               "ssl-protocol",
                               "ssl-cipher",
                               "x-edge-response-result-type",
                               "cs-protocol-version",
                               "fle-status",
                               "fle-encrypted-fields",
                               "c-port",
                               "time-to-first-byte",
                               "x-edge-detailed-result-type",
                               "sc-content-type",
                               "sc-content-len",
                               "sc-range-start",
                               "sc-range-end"}) {
      l.push_back(column_of(n), n);
    }
    return l;
  }();
  return f;
}

result<field_list> parse_standard_fields_line(std::string_view line) {
  constexpr std::string_view tag = "#Fields:";
  if (line.substr(0, tag.size()) != tag) {
    return error(errc::invalid_argument, "not a '#Fields:' line");
  }
  line.remove_prefix(tag.size());
  field_list l;
  l.set_kind(log_kind::standard);
  std::size_t pos = 0;
  while (pos < line.size()) {
    const std::size_t start = line.find_first_not_of(" \t\r", pos);
    if (start == std::string_view::npos) break;
    std::size_t stop = line.find_first_of(" \t\r", start);
    if (stop == std::string_view::npos) stop = line.size();
    const std::string_view name = line.substr(start, stop - start);
    pos = stop;
    const field f = column_of(name);
    for (std::size_t i = 0; i < l.size(); ++i) {
      if (l.name(i) == name || (f != unknown_field && l[i] == f)) {
        return error(errc::invalid_argument,
                     "'#Fields:' line lists " + std::string(name) + " twice");
      }
    }
    for (char c : name) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
        return error(errc::invalid_argument, "control character in a '#Fields:' name");
      }
    }
    l.push_back(f, name);
  }
  if (l.empty()) return error(errc::invalid_argument, "'#Fields:' line names no field");
  return l;
}

}  // namespace pixel::log
