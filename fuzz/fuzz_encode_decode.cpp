// Percent-encoding round trip and the URL builder on arbitrary bytes.
// SPDX-License-Identifier: MIT
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "pixel/url.hpp"

#define PIXEL_FUZZ_CHECK(cond) \
  do {                         \
    if (!(cond)) std::abort(); \
  } while (0)

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  // Encode: only unreserved bytes and %XX, length as predicted, decodes back exactly.
  const std::string enc = pixel::percent_encode(in);
  PIXEL_FUZZ_CHECK(enc.size() == pixel::encoded_length(in));
  for (std::size_t i = 0; i < enc.size(); ++i) {
    const auto c = static_cast<unsigned char>(enc[i]);
    if (c == '%') {
      auto upper_hex = [](char h) { return (h >= '0' && h <= '9') || (h >= 'A' && h <= 'F'); };
      PIXEL_FUZZ_CHECK(i + 2 < enc.size() && upper_hex(enc[i + 1]) && upper_hex(enc[i + 2]));
      i += 2;
      continue;
    }
    PIXEL_FUZZ_CHECK(pixel::is_unreserved(c));
  }
  auto dec = pixel::percent_decode(enc);
  PIXEL_FUZZ_CHECK(dec && *dec == in);

  // Decoding arbitrary input never crashes; when it succeeds, re-encoding then decoding
  // gives the same bytes.
  if (auto d = pixel::percent_decode(in)) {
    PIXEL_FUZZ_CHECK(pixel::percent_decode(pixel::percent_encode(*d)).value() == *d);
  }

  // A query of arbitrary bytes: decode_query fails cleanly or gives valid UTF-8 pairs.
  if (auto q = pixel::decode_query(in)) {
    for (const auto& [k, v] : *q) {
      PIXEL_FUZZ_CHECK(!k.empty() && pixel::is_valid_utf8(k) && pixel::is_valid_utf8(v));
    }
  }

  // Builder: split the input into a key and a value; the URL is refused with a typed
  // error or decodes back to exactly that pair.
  const std::size_t cut = size ? data[0] % (size + 1) : 0;
  const std::string_view key = in.substr(0, cut), value = in.substr(cut);
  pixel::url_options opts;
  opts.event_id = false;
  opts.timestamp = false;
  opts.max_length = 512;
  static const auto builder =
      pixel::url_builder::create(pixel::endpoint::parse("https://h.example").value(), opts).value();
  std::string url;
  auto r = builder.build_with({{key, value}}, {}, 0, url);
  if (r) {
    PIXEL_FUZZ_CHECK(url.size() <= 512);
    auto q = pixel::decode_query(std::string_view(url).substr(url.find('?') + 1));
    PIXEL_FUZZ_CHECK(q && q->size() == 1 && (*q)[0].first == key && (*q)[0].second == value);
  } else {
    const auto code = r.code();
    PIXEL_FUZZ_CHECK(code == pixel::errc::empty_key || code == pixel::errc::invalid_utf8 ||
                     code == pixel::errc::url_too_long || code == pixel::errc::invalid_argument);
    PIXEL_FUZZ_CHECK(url.empty());
  }

  // Endpoint parsing never crashes; an accepted endpoint re-parses to itself.
  if (auto ep = pixel::endpoint::parse(in, {true})) {
    auto again = pixel::endpoint::parse(ep->url(), {true});
    PIXEL_FUZZ_CHECK(again && again->url() == ep->url());
  }
  return 0;
}
