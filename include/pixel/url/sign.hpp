// pixel: signed pixel URLs (HMAC-SHA256, key id, expiry). Part of <pixel/url.hpp>.
// SPDX-License-Identifier: MIT
//
// The format (pixel-sig-v1), which any other implementation can reproduce:
//  - `kid`, `exp` (Unix seconds) and `sig` are added after every other parameter, in that
//    order;
//  - canonical pairs: every query pair except `sig`, key and value percent-encoded as
//    url_builder does (every byte outside A-Z a-z 0-9 - . _ ~ as %XX, uppercase), written
//    `KEY=VALUE`, sorted by their bytes, joined with '&';
//  - string to sign: "pixel-sig-v1\n" PATH "\n" CANONICAL, PATH the endpoint path as sent;
//  - `sig` = base64url (no padding, 43 characters) of HMAC-SHA256(key, string to sign).
//
// What is here is header-only except the functions marked "compiled": the HMAC and base64
// need OpenSSL's libcrypto and live in libpixelcpp (link pixel::pixel). url_builder only
// reaches them through the url_signer interface, so building unsigned URLs still needs
// nothing but these headers.
//
//   auto key = pixel::decode_signing_key(base64_text).value();
//   pixel::url_options o;
//   o.signer = pixel::make_url_signer("k2026a", key).value();  // 30-day URLs by default
//   auto builder = pixel::url_builder::create(ep, o).value();
//   ...
//   pixel::keyring ring;
//   ring.add("k2026a", key);
//   if (pixel::verify(url, ring, std::chrono::system_clock::now()) ==
//       pixel::signature_status::valid) { ... }
#ifndef PIXEL_URL_SIGN_HPP
#define PIXEL_URL_SIGN_HPP

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pixel/config.hpp"
#include "pixel/error.hpp"
#include "pixel/url/encoding.hpp"

namespace pixel {

inline constexpr std::string_view signature_scheme = "pixel-sig-v1";
inline constexpr std::string_view signature_key_id_param = "kid";
inline constexpr std::string_view signature_expiry_param = "exp";
inline constexpr std::string_view signature_param = "sig";
// base64url of 32 bytes, without padding.
inline constexpr std::size_t signature_length = 43;
inline constexpr std::size_t min_signing_key_bytes = 16;
inline constexpr std::size_t max_key_id_length = 32;
// A URL in a mail is opened days or weeks later: 30 days by default.
inline constexpr std::chrono::seconds default_signature_lifetime{30LL * 24 * 3600};
// Clock difference tolerated between the signer and the verifier.
inline constexpr std::chrono::seconds default_signature_leeway{300};

// A key id: 1 to 32 characters from A-Z a-z 0-9 _ -.
constexpr bool is_valid_key_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > max_key_id_length) return false;
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

constexpr bool is_signature_param(std::string_view key) noexcept {
  return key == signature_key_id_param || key == signature_expiry_param || key == signature_param;
}

// Checks a key id and a raw key (at least 16 bytes). The messages never contain the key.
inline result<void> validate_signing_key(std::string_view id, std::string_view secret) {
  if (!is_valid_key_id(id)) {
    return error(errc::invalid_argument,
                 "key id must be 1 to 32 characters from A-Z a-z 0-9 _ - (got " +
                     std::to_string(id.size()) + " bytes)");
  }
  if (secret.size() < min_signing_key_bytes) {
    return error(errc::invalid_argument, "signing key '" + std::string(id) + "' has " +
                                             std::to_string(secret.size()) +
                                             " bytes; at least 16 are needed");
  }
  return {};
}

// The keys a verifier accepts, by id: several at once while keys rotate.
class keyring {
 public:
  // Adds a key, or replaces the one with the same id.
  result<void> add(std::string id, std::string secret) {
    if (auto ok = validate_signing_key(id, secret); !ok) return ok;
    for (auto& k : keys_) {
      if (k.first == id) {
        k.second = std::move(secret);
        return {};
      }
    }
    keys_.emplace_back(std::move(id), std::move(secret));
    return {};
  }
  // False when no key has that id.
  bool remove(std::string_view id) {
    const auto it =
        std::find_if(keys_.begin(), keys_.end(), [&](const auto& k) { return k.first == id; });
    if (it == keys_.end()) return false;
    keys_.erase(it);
    return true;
  }
  // The raw key for `id`, or null. The pointer is valid until the keyring changes.
  const std::string* find(std::string_view id) const noexcept {
    for (const auto& k : keys_) {
      if (k.first == id) return &k.second;
    }
    return nullptr;
  }
  std::vector<std::string> ids() const {
    std::vector<std::string> out;
    for (const auto& k : keys_) out.push_back(k.first);
    return out;
  }
  std::size_t size() const noexcept { return keys_.size(); }
  bool empty() const noexcept { return keys_.empty(); }

 private:
  std::vector<std::pair<std::string, std::string>> keys_;
};

// What a verifier says about a hit.
enum class signature_status : std::uint8_t {
  valid = 0,      // signed by a known key, not expired
  missing,        // kid, exp or sig absent
  unknown_key,    // kid names no key in the keyring
  expired,        // genuine, but exp (plus the leeway) is in the past
  bad_signature,  // forged or altered: the signature does not match, or a field is malformed
};

// "valid", "missing", "unknown_key", "expired", "bad_signature" (the log field's values).
constexpr const char* signature_status_name(signature_status s) noexcept {
  switch (s) {
    case signature_status::valid:
      return "valid";
    case signature_status::missing:
      return "missing";
    case signature_status::unknown_key:
      return "unknown_key";
    case signature_status::expired:
      return "expired";
    case signature_status::bad_signature:
      return "bad_signature";
  }
  return "bad_signature";
}

struct verify_options {
  std::chrono::seconds leeway = default_signature_leeway;
  // The path signed when verify() is given a bare query (no '?').
  std::string_view path = "/1x1.png";
};

namespace detail {
// A query's signature fields, as found while building its string to sign.
struct signature_fields {
  std::string kid, exp, sig;  // decoded values
  int kid_count = 0, exp_count = 0, sig_count = 0;
};

// Writes "pixel-sig-v1\nPATH\nCANONICAL" for `path` and the raw query `query` (without the
// '?') into `out`, and collects kid/exp/sig into `fields`. Each key and value is decoded and
// re-encoded the SDK's way, so equivalent spellings ("%7e", "~") give one string. Empty
// segments ("a=1&&b=2") are skipped. False (and `out` unspecified) on a malformed escape.
inline bool string_to_sign(std::string_view path, std::string_view query, std::string& out,
                           signature_fields& fields) {
  std::vector<std::string> pairs;
  std::string key, value;
  std::size_t pos = 0;
  while (pos <= query.size()) {
    std::size_t amp = query.find('&', pos);
    if (amp == std::string_view::npos) amp = query.size();
    const std::string_view part = query.substr(pos, amp - pos);
    pos = amp + 1;
    if (part.empty()) continue;
    const std::size_t eq = part.find('=');
    key.clear();
    value.clear();
    if (!percent_decode_append(part.substr(0, eq), key)) return false;
    if (eq != std::string_view::npos && !percent_decode_append(part.substr(eq + 1), value)) {
      return false;
    }
    if (key == signature_param) {
      ++fields.sig_count;
      fields.sig = value;
      continue;
    }
    if (key == signature_key_id_param) {
      ++fields.kid_count;
      fields.kid = value;
    } else if (key == signature_expiry_param) {
      ++fields.exp_count;
      fields.exp = value;
    }
    std::string pair;
    pair.reserve(encoded_length(key) + 1 + encoded_length(value));
    percent_encode_append(key, pair);
    pair += '=';
    percent_encode_append(value, pair);
    pairs.push_back(std::move(pair));
  }
  std::sort(pairs.begin(), pairs.end());  // std::string's < is byte order (char_traits<char>)
  out.assign(signature_scheme);
  out += '\n';
  out.append(path);
  out += '\n';
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    if (i) out += '&';
    out += pairs[i];
  }
  return true;
}
}  // namespace detail

// Signs URLs for url_builder (url_options::signer). Made by make_url_signer(); immutable,
// safe to share between threads and builders.
class url_signer {
 public:
  virtual ~url_signer() = default;
  url_signer(const url_signer&) = delete;
  url_signer& operator=(const url_signer&) = delete;

  const std::string& key_id() const noexcept { return key_id_; }
  // How long a URL stays valid after it is built.
  std::chrono::seconds lifetime() const noexcept { return lifetime_; }
  // Writes the 43-character signature of `string_to_sign` at `out`.
  virtual void sign(std::string_view string_to_sign, char* out) const noexcept = 0;

 protected:
  url_signer(std::string key_id, std::chrono::seconds lifetime)
      : key_id_(std::move(key_id)), lifetime_(lifetime) {}

 private:
  std::string key_id_;
  std::chrono::seconds lifetime_;
};

// Compiled. An HMAC-SHA256 signer for key `id` (validate_signing_key's rules) whose URLs
// live `lifetime` (more than 0). The key is copied.
PIXEL_CXX_API result<std::shared_ptr<const url_signer>> make_url_signer(
    std::string id, std::string_view secret,
    std::chrono::seconds lifetime = default_signature_lifetime);

// Compiled. The raw key from its text form: standard or URL-safe base64, padding optional,
// surrounding white space ignored. At least 16 bytes. Errors never quote the text.
PIXEL_CXX_API result<std::string> decode_signing_key(std::string_view text);

// Compiled. The 43-character signature (base64url, no padding) of `string_to_sign`.
PIXEL_CXX_API std::string signature_of(std::string_view secret, std::string_view string_to_sign);

// Compiled. Verifies a hit: a full URL ("https://host/1x1.png?..."), a request target
// ("/1x1.png?...") or a bare query (signed for options.path). Valid when kid, exp and sig
// each appear exactly once, kid is in `keys`, the signature matches (constant-time
// comparison) and now <= exp + leeway.
PIXEL_CXX_API signature_status verify(std::string_view url_or_query, const keyring& keys,
                                      std::chrono::system_clock::time_point now,
                                      const verify_options& options = {});

// Compiled. The same for a path and a raw query given apart (a log record's stem and query).
PIXEL_CXX_API signature_status verify(std::string_view path, std::string_view query,
                                      const keyring& keys,
                                      std::chrono::system_clock::time_point now,
                                      const verify_options& options = {});

}  // namespace pixel

#endif  // PIXEL_URL_SIGN_HPP
