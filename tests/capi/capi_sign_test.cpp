// SPDX-License-Identifier: MIT
// Signed URLs through the C API: pixel_url_build_signed reproduces the Python-computed
// vectors byte for byte; a tracker with pixel_options_set_signing_key signs every event;
// errors never show the key.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pixel/pixel.h"
#include "pixel/url.hpp"
#include "test_server.hpp"

namespace {

nlohmann::json vectors() {
  std::ifstream in(PIXEL_SIGNATURE_VECTORS);
  return nlohmann::json::parse(in);
}

const uint8_t* bytes(const std::string& s) {
  return reinterpret_cast<const uint8_t*>(s.data());
}

std::string exp_of(const std::string& url) {
  const auto at = url.find("&exp=") + 5;
  return url.substr(at, url.find('&', at) - at);
}

TEST(CApiSign, BuildSignedReproducesThePythonVectors) {
  const nlohmann::json all = vectors();
  for (const auto& v : all["vectors"]) {
    SCOPED_TRACE(v["name"].get<std::string>());
    const std::string key = *pixel::decode_signing_key(v["key"].get<std::string>());
    std::vector<std::string> storage;
    for (const auto& p : v["params"]) {
      storage.push_back(p[0]);
      storage.push_back(p[1]);
    }
    std::vector<pixel_param> params;
    for (std::size_t i = 0; i < storage.size(); i += 2) {
      params.push_back({storage[i].c_str(), storage[i + 1].c_str()});
    }
    const std::int64_t exp = v["exp"];
    const std::string kid = v["kid"];
    // The lifetime counts from the build: exp - now, again if the second turned meanwhile.
    std::string url;
    for (int attempt = 0; attempt < 3; ++attempt) {
      const auto ttl = static_cast<uint32_t>(exp - static_cast<std::int64_t>(std::time(nullptr)));
      char buf[4096];
      std::size_t len = 0;
      ASSERT_EQ(pixel_url_build_signed(v["endpoint"].get<std::string>().c_str(), params.data(),
                                       params.size(), 0, kid.c_str(), bytes(key), key.size(), ttl,
                                       buf, sizeof buf, &len),
                PIXEL_OK)
          << pixel_last_error();
      url.assign(buf, len);
      if (exp_of(url) == std::to_string(exp)) break;
    }
    EXPECT_EQ(url, v["url"].get<std::string>());
  }
}

TEST(CApiSign, BadKeysAndReservedNamesAreInvalidArguments) {
  const std::string key = "0123456789abcdef-secret-bytes";
  const pixel_param p[] = {{"userid", "u"}};
  const pixel_param reserved[] = {{"exp", "1"}};
  char buf[1024];
  std::size_t len = 0;
  const char* ep = "https://d111111abcdef8.cloudfront.net";
  EXPECT_EQ(pixel_url_build_signed(ep, p, 1, 0, "bad kid", bytes(key), key.size(), 0, buf,
                                   sizeof buf, &len),
            PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_url_build_signed(ep, p, 1, 0, "k", bytes(key), 15, 0, buf, sizeof buf, &len),
            PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(std::string(pixel_last_error()).find("0123456789"), std::string::npos);
  EXPECT_EQ(pixel_url_build_signed(ep, p, 1, 0, "k", nullptr, 16, 0, buf, sizeof buf, &len),
            PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_url_build_signed(ep, p, 1, 0, nullptr, bytes(key), key.size(), 0, buf, sizeof buf,
                                   &len),
            PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_url_build_signed(ep, reserved, 1, 0, "k", bytes(key), key.size(), 0, buf,
                                   sizeof buf, &len),
            PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(pixel_last_error()).find("reserved"), std::string::npos);
  // ttl 0: 30 days.
  ASSERT_EQ(pixel_url_build_signed(ep, p, 1, PIXEL_URL_EVENT_ID, "k", bytes(key), key.size(), 0,
                                   buf, sizeof buf, &len),
            PIXEL_OK);
  const long long exp = std::stoll(exp_of(buf));
  const long long now = static_cast<long long>(std::time(nullptr));
  EXPECT_GE(exp, now + 30 * 86400 - 2);
  EXPECT_LE(exp, now + 30 * 86400);
  // Buffer protocol as pixel_url_build: the length needed.
  EXPECT_EQ(pixel_url_build_signed(ep, p, 1, 0, "k", bytes(key), key.size(), 0, nullptr, 0, &len),
            PIXEL_ERR_BUFFER_TOO_SMALL);
  EXPECT_EQ(len, std::string(ep).size() + 8 + 9 + 6 + 15 + 5 + 43);  // /1x1.png ?userid=u ...

  pixel_options* o = pixel_options_new();
  EXPECT_EQ(pixel_options_set_signing_key(o, "k", bytes(key), 8), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_options_set_signing_key(o, "k", nullptr, 16), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_options_set_signing_key(nullptr, "k", bytes(key), 16),
            PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_options_set_signature_ttl_s(nullptr, 5), PIXEL_ERR_INVALID_ARGUMENT);
  pixel_options_free(o);
}

TEST(CApiSign, TrackerSignsEveryEventAndSigningCanBeTurnedOff) {
  pixel::test::http_server server;
  const std::string key(32, 'K');
  pixel_options* o = pixel_options_new();
  ASSERT_EQ(pixel_options_set_endpoint(o, server.url().c_str()), PIXEL_OK);
  ASSERT_EQ(pixel_options_set_signing_key(o, "k2026a", bytes(key), key.size()), PIXEL_OK);
  ASSERT_EQ(pixel_options_set_signature_ttl_s(o, 600), PIXEL_OK);  // after the key: remade
  pixel_tracker* t = nullptr;
  ASSERT_EQ(pixel_tracker_new(o, &t), PIXEL_OK) << pixel_last_error();
  // kid NULL: the next tracker from these options signs nothing.
  ASSERT_EQ(pixel_options_set_signing_key(o, nullptr, nullptr, 0), PIXEL_OK);
  pixel_tracker* plain = nullptr;
  ASSERT_EQ(pixel_tracker_new(o, &plain), PIXEL_OK);
  pixel_options_free(o);
  for (int i = 0; i < 20; ++i) {
    const std::string n = std::to_string(i);
    const pixel_param p[] = {{"userid", "u"}, {"n", n.c_str()}};
    ASSERT_EQ(pixel_track(t, p, 2), PIXEL_OK);
  }
  const pixel_param sig[] = {{"sig", "x"}};
  EXPECT_EQ(pixel_track(t, sig, 1), PIXEL_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(pixel_track(plain, sig, 1), PIXEL_OK);
  ASSERT_EQ(pixel_tracker_flush(t, 60000), PIXEL_OK);
  ASSERT_EQ(pixel_tracker_flush(plain, 60000), PIXEL_OK);
  pixel_tracker_free(t);
  pixel_tracker_free(plain);

  pixel::keyring ring;
  ASSERT_TRUE(ring.add("k2026a", key));
  int signed_hits = 0, unsigned_hits = 0;
  const auto now = std::chrono::system_clock::now();
  for (const auto& r : server.requests()) {
    const auto status = pixel::verify(r.path, r.query, ring, now);
    if (r.param("sig") == "x") {
      EXPECT_EQ(status, pixel::signature_status::missing);
      ++unsigned_hits;
      continue;
    }
    EXPECT_EQ(status, pixel::signature_status::valid) << r.query;
    EXPECT_EQ(std::stoll(r.param("exp")), std::stoll(r.param("ts")) / 1000 + 600);
    EXPECT_EQ(pixel::verify(r.path, r.query, ring, now + std::chrono::seconds(600 + 301)),
              pixel::signature_status::expired);
    ++signed_hits;
  }
  EXPECT_EQ(signed_hits, 20);
  EXPECT_EQ(unsigned_hits, 1);
}

}  // namespace
