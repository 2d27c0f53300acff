// Parsing real-time log records from arbitrary bytes: never crashes, and a record built
// from escaped values parses back to those values.
// SPDX-License-Identifier: MIT
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pixel/log.hpp"

#define PIXEL_FUZZ_CHECK(cond) \
  do {                         \
    if (!(cond)) std::abort(); \
  } while (0)

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  namespace log = pixel::log;

  // Escaping round trip: the escaped text has no tab, newline or space, and unescapes back.
  const std::string esc = log::log_escape(in);
  PIXEL_FUZZ_CHECK(esc.find_first_of("\t\n ") == std::string::npos);
  auto back = log::log_unescape(esc);
  PIXEL_FUZZ_CHECK(back && *back == in);

  // Arbitrary lines against the original four fields, the default eight and a wider layout.
  static const log::field_list four = {log::field::timestamp, log::field::c_ip,
                                       log::field::cs_user_agent, log::field::cs_uri_query};
  (void)log::parse_record(in, log::default_fields());
  static const auto wide =
      log::parse_fields("timestamp,c-ip,sc-status,cs-method,cs-user-agent,cs-uri-query").value();
  (void)log::parse_record(in, four);
  (void)log::parse_record(in, wide);

  // A well-formed record around the input as user agent: parses, and gives it back.
  std::string line = "1718787248.530\t127.0.0.1\t";
  line += in.empty() ? std::string("-") : esc;
  line += "\tk=v";
  auto rec = log::parse_record(line, four);
  PIXEL_FUZZ_CHECK(rec);
  // A value that is literally "-" reads as empty: the format cannot tell them apart.
  PIXEL_FUZZ_CHECK(rec->user_agent == (in == "-" ? std::string_view() : in));
  PIXEL_FUZZ_CHECK(rec->timestamp_ms == 1718787248530);

  // The input as the query: the params are its parts between '&' (empty ones skipped), split
  // at the first '=', each percent-decoded as log_unescape_append does.
  if (!in.empty() && in != "-") {
    auto q = log::parse_record("1.000\t-\t-\t" + esc, four);
    PIXEL_FUZZ_CHECK(q && q->query == in);
    std::vector<std::pair<std::string, std::string>> want;
    for (std::size_t pos = 0; pos <= in.size();) {
      std::size_t amp = in.find('&', pos);
      if (amp == std::string_view::npos) amp = in.size();
      const std::string_view part = in.substr(pos, amp - pos);
      pos = amp + 1;
      if (part.empty()) continue;
      const std::size_t eq = part.find('=');
      std::string k, v;
      log::log_unescape_append(part.substr(0, eq), k);
      if (eq != std::string_view::npos) log::log_unescape_append(part.substr(eq + 1), v);
      want.emplace_back(std::move(k), std::move(v));
    }
    PIXEL_FUZZ_CHECK(q->params == want);
  }
  return 0;
}
