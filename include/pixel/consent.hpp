// pixel: tracking that follows consent (docs/privacy.md). What a tracking mode lets an event
// carry, and the pseudonym that stands for a person in `pseudonymous` mode.
// SPDX-License-Identifier: MIT
//
// Modes, from most to least restrictive:
//  - off:          nothing is sent (in email: no pixel at all);
//  - aggregate:    identity parameters are removed; the event id stays random and is
//                  never linked to a person anywhere the SDK writes;
//  - pseudonymous: each identity parameter's value is replaced by pseudonym(key, value);
//  - identified:   the parameters go out as given.
// The effective mode of an event is the most restrictive of what it asks for and the
// ceiling configured for the producer.
//
//   std::vector<pixel::param> out;
//   std::vector<std::string> storage;
//   auto ok = pixel::apply_tracking_mode(pixel::tracking_mode::pseudonymous, params,
//                                        pixel::default_identity_params(), key, out, storage);
#ifndef PIXEL_CONSENT_HPP
#define PIXEL_CONSENT_HPP

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pixel/config.hpp"
#include "pixel/error.hpp"
#include "pixel/url/params.hpp"

namespace pixel {

// Ordered: a smaller value is more restrictive. The numbers are the C API's
// (PIXEL_TRACKING_OFF ... PIXEL_TRACKING_IDENTIFIED).
enum class tracking_mode : std::uint8_t {
  off = 0,
  aggregate = 1,
  pseudonymous = 2,
  identified = 3
};

constexpr std::string_view to_string(tracking_mode m) noexcept {
  switch (m) {
    case tracking_mode::off:
      return "off";
    case tracking_mode::aggregate:
      return "aggregate";
    case tracking_mode::pseudonymous:
      return "pseudonymous";
    case tracking_mode::identified:
      return "identified";
  }
  return "off";
}

// The exact names above (lowercase); anything else is nullopt.
constexpr std::optional<tracking_mode> parse_tracking_mode(std::string_view s) noexcept {
  for (auto m : {tracking_mode::off, tracking_mode::aggregate, tracking_mode::pseudonymous,
                 tracking_mode::identified}) {
    if (s == to_string(m)) return m;
  }
  return std::nullopt;
}

constexpr tracking_mode most_restrictive(tracking_mode a, tracking_mode b) noexcept {
  return static_cast<std::uint8_t>(a) < static_cast<std::uint8_t>(b) ? a : b;
}

// The parameters that name a person unless configured otherwise.
inline std::vector<std::string> default_identity_params() {
  return {"userid", "email", "recipient"};
}

// A pseudonym is base64url without padding of the first 16 bytes of
// HMAC-SHA256(key, value): 22 characters.
inline constexpr std::size_t pseudonym_length = 22;
// A shorter key could be found by trying keys against a known person's token.
inline constexpr std::size_t min_pseudonym_key_bytes = 16;

// At least 16 bytes. The message never contains the key.
inline result<void> validate_pseudonym_key(std::string_view key) {
  if (key.size() < min_pseudonym_key_bytes) {
    return error(errc::invalid_argument, "the pseudonym key must be at least 16 bytes (got " +
                                             std::to_string(key.size()) + ")");
  }
  return {};
}

// The pseudonym of `value` under `key` (compiled: libcrypto; link pixel::pixel).
PIXEL_CXX_API std::string pseudonym(std::string_view key, std::string_view value);

// The parameters an event carries under `mode`, written to `out` (cleared first):
// identity parameters (keys equal to one in `identity`) removed under aggregate, their
// values replaced by pseudonym(key, value) under pseudonymous, everything as given under
// identified; nothing under off (the caller sends nothing). Pseudonyms live in `storage`,
// which must outlive `out`. A pseudonymous event with a bad key is errc::invalid_argument.
PIXEL_CXX_API result<void> apply_tracking_mode(tracking_mode mode, params_view in,
                                               const std::vector<std::string>& identity,
                                               std::string_view key, std::vector<param>& out,
                                               std::vector<std::string>& storage);

inline bool is_identity_param(std::string_view key, const std::vector<std::string>& identity) {
  return std::find(identity.begin(), identity.end(), key) != identity.end();
}

}  // namespace pixel

#endif  // PIXEL_CONSENT_HPP
