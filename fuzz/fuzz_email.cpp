// The email campaign's parsers and encoders of untrusted input (recipient CSV, merge values
// in quoted-printable): no crash, and the properties the messages depend on.
// SPDX-License-Identifier: MIT
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "csv_reader.hpp"
#include "mime.hpp"

#define PIXEL_FUZZ_CHECK(cond) \
  do {                         \
    if (!(cond)) std::abort(); \
  } while (0)

namespace {

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Strict RFC 2045 decoding; aborts on anything an encoder must not write. Hard line breaks
// come back as '\n'.
std::string qp_decode(std::string_view in) {
  std::string out;
  std::size_t pos = 0;
  while (pos <= in.size()) {
    std::size_t end = in.find("\r\n", pos);
    const bool last = end == std::string_view::npos;
    if (last) end = in.size();
    const std::string_view line = in.substr(pos, end - pos);
    PIXEL_FUZZ_CHECK(line.size() <= 76);
    PIXEL_FUZZ_CHECK(line.empty() || (line.back() != ' ' && line.back() != '\t'));
    bool soft = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
      const auto c = static_cast<unsigned char>(line[i]);
      if (c == '=') {
        if (i + 1 == line.size()) {
          soft = true;
          break;
        }
        PIXEL_FUZZ_CHECK(i + 2 < line.size());
        const int hi = hex(line[i + 1]), lo = hex(line[i + 2]);
        PIXEL_FUZZ_CHECK(hi >= 0 && lo >= 0);
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
      } else {
        PIXEL_FUZZ_CHECK((c >= 33 && c <= 126) || c == ' ' || c == '\t');
        out += static_cast<char>(c);
      }
    }
    if (last) break;
    if (!soft) out += '\n';
    pos = end + 2;
  }
  return out;
}

using rows_and_errors = std::pair<std::vector<std::pair<std::size_t, std::vector<std::string>>>,
                                  std::vector<std::size_t>>;

// Parses `data` fed in pieces cut at `cuts`; returns the rows (line, fields) and error lines.
rows_and_errors parse_csv(std::string_view data, std::size_t cut) {
  rows_and_errors r;
  email_campaign::csv_reader reader(
      [&r](const email_campaign::csv_row& row) {
        PIXEL_FUZZ_CHECK(row.line >= 1);
        r.first.emplace_back(
            row.line,
            std::vector<std::string>(row.fields->begin(),
                                     row.fields->begin() + static_cast<std::ptrdiff_t>(row.count)));
      },
      [&r](std::size_t line, const std::string& message) {
        PIXEL_FUZZ_CHECK(line >= 1 && !message.empty());
        r.second.push_back(line);
      });
  reader.feed(data.data(), cut);
  reader.feed(data.data() + cut, data.size() - cut);
  reader.finish();
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  // Quoted-printable: strict, and decodes to the input with every line break as one '\n'.
  std::string qp;
  email_campaign::qp_encode_append(in, qp);
  std::string canonical;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\r' && i + 1 < in.size() && in[i + 1] == '\n') continue;
    canonical += in[i];
  }
  PIXEL_FUZZ_CHECK(qp_decode(qp) == canonical);

  // CSV: rows and errors do not depend on how the stream is cut into buffers, and line
  // numbers never go backwards (a lone CR ends a row without starting a new '\n' line).
  const std::size_t cut = size ? data[0] % (size + 1) : 0;
  const auto whole = parse_csv(in, 0);
  const auto split = parse_csv(in, cut);
  PIXEL_FUZZ_CHECK(whole == split);
  for (std::size_t i = 1; i < whole.first.size(); ++i) {
    PIXEL_FUZZ_CHECK(whole.first[i - 1].first <= whole.first[i].first);
  }
  return 0;
}
