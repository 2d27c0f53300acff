// pixel: the compiled part of pixel/consent.hpp (HMAC-SHA256 from libcrypto).
// SPDX-License-Identifier: MIT
#include "pixel/consent.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>

namespace pixel {

std::string pseudonym(std::string_view key, std::string_view value) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(value.data()), value.size(), mac, &mac_len);
  // base64 of 16 bytes is 24 characters with two '=' of padding: 22 without.
  std::array<unsigned char, 25> text{};
  EVP_EncodeBlock(text.data(), mac, 16);
  OPENSSL_cleanse(mac, sizeof mac);
  std::string out(pseudonym_length, '\0');
  for (std::size_t i = 0; i < pseudonym_length; ++i) {
    const char c = static_cast<char>(text[i]);
    out[i] = c == '+' ? '-' : c == '/' ? '_' : c;
  }
  return out;
}

result<void> apply_tracking_mode(tracking_mode mode, params_view in,
                                 const std::vector<std::string>& identity, std::string_view key,
                                 std::vector<param>& out, std::vector<std::string>& storage) {
  out.clear();
  if (mode == tracking_mode::off) return {};
  if (mode == tracking_mode::pseudonymous) {
    if (auto ok = validate_pseudonym_key(key); !ok) return ok;
  }
  out.reserve(in.size());
  // Reserved up front: a reallocation would move short strings and break the views.
  storage.clear();
  storage.reserve(in.size());
  for (const param& p : in) {
    if (mode == tracking_mode::identified || !is_identity_param(p.key, identity)) {
      out.push_back(p);
    } else if (mode == tracking_mode::pseudonymous) {
      storage.push_back(pseudonym(key, p.value));
      out.push_back({p.key, storage.back()});
    }
  }
  return {};
}

}  // namespace pixel
