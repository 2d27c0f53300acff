// pixel: the compiled part of signed URLs (pixel/url/sign.hpp): HMAC-SHA256 and base64 from
// OpenSSL's libcrypto, the signer behind url_options::signer, and the verifier.
// SPDX-License-Identifier: MIT
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <charconv>
#include <cstring>
#include <string>
#include <string_view>

#include "pixel/url/sign.hpp"

namespace pixel {
namespace {

// base64url without padding of the 32-byte MAC: 43 characters at `out`.
void encode_mac(const unsigned char* mac, char* out) noexcept {
  std::array<unsigned char, 48> text{};  // 4 * ceil(32 / 3) = 44, plus the terminator
  EVP_EncodeBlock(text.data(), mac, 32);
  for (std::size_t i = 0; i < signature_length; ++i) {
    const char c = static_cast<char>(text[i]);
    out[i] = c == '+' ? '-' : c == '/' ? '_' : c;
  }
}

void hmac_signature(std::string_view secret, std::string_view message, char* out) noexcept {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &mac_len);
  encode_mac(mac, out);
  OPENSSL_cleanse(mac, sizeof mac);
}

class hmac_url_signer final : public url_signer {
 public:
  hmac_url_signer(std::string id, std::string_view secret, std::chrono::seconds lifetime)
      : url_signer(std::move(id), lifetime), secret_(secret) {}
  ~hmac_url_signer() override { OPENSSL_cleanse(secret_.data(), secret_.size()); }

  void sign(std::string_view string_to_sign, char* out) const noexcept override {
    hmac_signature(secret_, string_to_sign, out);
  }

 private:
  std::string secret_;
};

bool all_digits(std::string_view s) noexcept {
  if (s.empty() || s.size() > 19) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

result<std::shared_ptr<const url_signer>> make_url_signer(std::string id, std::string_view secret,
                                                          std::chrono::seconds lifetime) {
  if (auto ok = validate_signing_key(id, secret); !ok) return ok.error();
  if (lifetime.count() <= 0) {
    return error(errc::invalid_argument, "signature lifetime must be more than 0 seconds");
  }
  try {
    return std::shared_ptr<const url_signer>(
        std::make_shared<hmac_url_signer>(std::move(id), secret, lifetime));
  } catch (const std::bad_alloc&) {
    return error(errc::internal, "out of memory");
  }
}

result<std::string> decode_signing_key(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\n' ||
                           text.front() == '\r')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\n' ||
                           text.back() == '\r')) {
    text.remove_suffix(1);
  }
  std::size_t padding = 0;
  while (!text.empty() && text.back() == '=' && padding < 2) {
    text.remove_suffix(1);
    ++padding;
  }
  std::string b64;
  b64.reserve(text.size() + 3);
  for (char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '+' || c == '/' || c == '-' || c == '_';
    if (!ok) {
      OPENSSL_cleanse(b64.data(), b64.size());
      return error(errc::invalid_argument,
                   "signing key is not base64 (standard or URL-safe, one line)");
    }
    b64 += c == '-' ? '+' : c == '_' ? '/' : c;
  }
  if (b64.size() % 4 == 1 || (padding && (b64.size() + padding) % 4 != 0)) {
    OPENSSL_cleanse(b64.data(), b64.size());
    return error(errc::invalid_argument, "signing key is not base64: wrong length");
  }
  const std::size_t missing = (4 - b64.size() % 4) % 4;
  b64.append(missing, '=');
  std::string raw(b64.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(raw.data()),
                                reinterpret_cast<const unsigned char*>(b64.data()),
                                static_cast<int>(b64.size()));
  OPENSSL_cleanse(b64.data(), b64.size());
  if (n < 0) return error(errc::invalid_argument, "signing key is not base64");
  // EVP_DecodeBlock counts the padding as zero bytes.
  raw.resize(static_cast<std::size_t>(n) - missing);
  if (raw.size() < min_signing_key_bytes) {
    const std::size_t got = raw.size();
    OPENSSL_cleanse(raw.data(), raw.size());
    return error(errc::invalid_argument,
                 "signing key has " + std::to_string(got) + " bytes; at least 16 are needed");
  }
  return raw;
}

std::string signature_of(std::string_view secret, std::string_view string_to_sign) {
  std::string out(signature_length, '\0');
  hmac_signature(secret, string_to_sign, out.data());
  return out;
}

signature_status verify(std::string_view path, std::string_view query, const keyring& keys,
                        std::chrono::system_clock::time_point now, const verify_options& options) {
  std::string to_sign;
  detail::signature_fields f;
  if (!detail::string_to_sign(path, query, to_sign, f)) return signature_status::bad_signature;
  if (f.kid_count == 0 || f.exp_count == 0 || f.sig_count == 0) return signature_status::missing;
  if (f.kid_count > 1 || f.exp_count > 1 || f.sig_count > 1) {
    return signature_status::bad_signature;
  }
  const std::string* secret = keys.find(f.kid);
  if (secret == nullptr) return signature_status::unknown_key;
  if (f.sig.size() != signature_length || !all_digits(f.exp)) {
    return signature_status::bad_signature;
  }
  char expected[signature_length];
  hmac_signature(*secret, to_sign, expected);
  if (CRYPTO_memcmp(expected, f.sig.data(), signature_length) != 0) {
    return signature_status::bad_signature;
  }
  long long exp = 0;  // all_digits: at most 19 digits, which may still overflow
  if (std::from_chars(f.exp.data(), f.exp.data() + f.exp.size(), exp).ec != std::errc()) {
    return signature_status::bad_signature;
  }
  const long long now_s =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (now_s - options.leeway.count() > exp) return signature_status::expired;
  return signature_status::valid;
}

signature_status verify(std::string_view url_or_query, const keyring& keys,
                        std::chrono::system_clock::time_point now, const verify_options& options) {
  std::string_view s = url_or_query;
  if (const auto hash = s.find('#'); hash != std::string_view::npos) s = s.substr(0, hash);
  const std::size_t q = s.find('?');
  if (q == std::string_view::npos) return verify(options.path, s, keys, now, options);
  std::string_view target = s.substr(0, q);
  if (const auto scheme = target.find("://"); scheme != std::string_view::npos) {
    const std::size_t slash = target.find('/', scheme + 3);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  return verify(target, s.substr(q + 1), keys, now, options);
}

}  // namespace pixel
