// pixel: signing keys named on the command line as KID:FILE.
// SPDX-License-Identifier: MIT
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include <fmt/core.h>

#include "cli.hpp"
#include "pixel/log.hpp"
#include "pixel/url.hpp"

namespace pixel::cli {

result<named_key> read_key_spec(const std::string& option, const std::string& spec) {
  const std::size_t colon = spec.find(':');
  if (colon == std::string::npos || colon + 1 == spec.size()) {
    return error(errc::invalid_argument, option + ": expected KID:FILE");
  }
  named_key k;
  k.id = spec.substr(0, colon);
  const std::string path = spec.substr(colon + 1);
  if (!is_valid_key_id(k.id)) {
    return error(errc::invalid_argument,
                 option + ": key id must be 1 to 32 characters from A-Z a-z 0-9 _ -");
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return error(errc::invalid_argument, option + ": cannot read key file " + path);
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    fmt::print(stderr, "pixel: warning: key file {} is accessible to other users (chmod 600 it)\n",
               path);
  }
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    return error(errc::invalid_argument, option + ": cannot read key file " + path);
  }
  auto raw = decode_signing_key(text);
  std::fill(text.begin(), text.end(), '\0');
  if (!raw)
    return error(errc::invalid_argument, option + " " + path + ": " + raw.error().message());
  k.secret = std::move(*raw);
  return k;
}

result<keyring> read_keyring(const std::string& option, const std::vector<std::string>& specs) {
  keyring ring;
  for (const auto& spec : specs) {
    auto k = read_key_spec(option, spec);
    if (!k) return k.error();
    if (ring.find(k->id) != nullptr) {
      return error(errc::invalid_argument, option + ": key id " + k->id + " given twice");
    }
    if (auto ok = ring.add(k->id, k->secret); !ok) return ok.error();
  }
  return ring;
}

signature_status hit_signature(const log::record& r, const keyring& keys) {
  std::string path = "/1x1.png";
  if (auto stem = r.raw(log::field::cs_uri_stem); stem && !stem->empty() && *stem != "-") {
    path.clear();
    log::log_unescape_append(*stem, path);
    path.resize(std::min(path.size(), path.find('?')));  // real-time stems carry the query
  }
  const auto at =
      r.timestamp_ms > 0
          ? std::chrono::system_clock::time_point(std::chrono::milliseconds(r.timestamp_ms))
          : std::chrono::system_clock::now();
  return verify(path, r.query, keys, at);
}

}  // namespace pixel::cli
