// SPDX-License-Identifier: MIT
#include "pixel/sampling.hpp"

#include <openssl/evp.h>

#include <cmath>
#include <cstdint>

namespace pixel {

bool sample_keeps(double rate, std::string_view salt, std::string_view value) noexcept {
  if (!(rate > 0)) return false;
  constexpr double two_64 = 18446744073709551616.0;
  const double threshold = std::ldexp(rate, 64);  // exact: a power of two
  if (threshold >= two_64) return true;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1 &&
                  EVP_DigestUpdate(ctx, salt.data(), salt.size()) == 1 &&
                  EVP_DigestUpdate(ctx, value.data(), value.size()) == 1 &&
                  EVP_DigestFinal_ex(ctx, digest, &len) == 1 && len >= 8;
  EVP_MD_CTX_free(ctx);
  if (!ok) return true;  // no digest (out of memory): keep rather than lose the event
  std::uint64_t h = 0;
  for (int i = 0; i < 8; ++i) h = (h << 8) | digest[i];
  // h < threshold, exactly: h is an integer, so it is below threshold iff below its ceiling.
  const double ceiling = std::ceil(threshold);
  if (ceiling >= two_64) return true;
  return h < static_cast<std::uint64_t>(ceiling);
}

}  // namespace pixel
