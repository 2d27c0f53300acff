// The signed-URL verifier (src/sign/sign.cpp) on arbitrary bytes: never crashes, never says
// valid to a query it did not sign; pairs decoded from the bytes, signed by url_builder,
// verify, and any one changed byte of the signed URL's query does not.
// SPDX-License-Identifier: MIT
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "pixel/url.hpp"

#define PIXEL_FUZZ_CHECK(cond) \
  do {                         \
    if (!(cond)) std::abort(); \
  } while (0)

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string key(32, 'f');
  static const pixel::keyring ring = [] {
    pixel::keyring r;
    (void)r.add("fz", key);
    return r;
  }();
  static const pixel::url_builder builder = [] {
    pixel::url_options o;
    o.event_id = o.timestamp = false;
    o.signer = pixel::make_url_signer("fz", key).value();
    return pixel::url_builder::create(pixel::endpoint::parse("https://h.example").value(), o)
        .value();
  }();
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1000));
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  // Arbitrary bytes: any verdict but a crash; "valid" needs the key, which the input lacks
  // unless it is a signed URL itself, and then only for /1x1.png.
  (void)pixel::verify(in, ring, now);
  (void)pixel::verify("/1x1.png", in, ring, now);

  auto pairs = pixel::decode_query(in);
  if (!pairs) return 0;
  std::vector<pixel::param> params;
  for (const auto& [k, v] : *pairs) params.push_back({k, v});
  std::string url;
  if (!builder.build_with(params, {}, 0, 2000, url)) return 0;  // reserved names, empty keys
  PIXEL_FUZZ_CHECK(pixel::verify(url, ring, now) == pixel::signature_status::valid);
  const std::size_t q = url.find('?');
  for (std::size_t i = q + 1; i < url.size(); i += 1 + (url.size() - q) / 16) {
    if (url[i] == '&' || url[i] == '=') continue;
    std::string t = url;
    t[i] = t[i] == 'Z' ? 'Y' : 'Z';
    PIXEL_FUZZ_CHECK(pixel::verify(t, ring, now) != pixel::signature_status::valid);
  }
  return 0;
}
