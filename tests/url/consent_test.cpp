// SPDX-License-Identifier: MIT
// Tracking modes and pseudonyms (pixel/consent.hpp). The expected pseudonyms were computed
// with Python: base64.urlsafe_b64encode(hmac.new(key, value, sha256).digest()[:16]) without
// its padding.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pixel/consent.hpp"

namespace {

using pixel::tracking_mode;

TEST(Consent, PseudonymsMatchPythonHmac) {
  EXPECT_EQ(pixel::pseudonym("0123456789abcdef", "aws_user"), "rhuR580VORPzXCQmBocVrg");
  EXPECT_EQ(pixel::pseudonym(std::string(32, 'k'), "Zo\xc3\xab@example.com"),
            "TWWVKCU5Cu0zyWZOpqHgRg");
  EXPECT_EQ(pixel::pseudonym("0123456789abcdef", ""), "SW3JP6LSbq5QDsC8N6EicA");
}

TEST(Consent, ModesParseOrderAndLower) {
  for (auto m : {tracking_mode::off, tracking_mode::aggregate, tracking_mode::pseudonymous,
                 tracking_mode::identified}) {
    EXPECT_EQ(pixel::parse_tracking_mode(pixel::to_string(m)), m);
  }
  EXPECT_FALSE(pixel::parse_tracking_mode("Identified"));
  EXPECT_FALSE(pixel::parse_tracking_mode(""));
  EXPECT_EQ(pixel::most_restrictive(tracking_mode::identified, tracking_mode::aggregate),
            tracking_mode::aggregate);
  EXPECT_EQ(pixel::most_restrictive(tracking_mode::off, tracking_mode::pseudonymous),
            tracking_mode::off);
}

TEST(Consent, EachModeCarriesWhatItSays) {
  const std::vector<pixel::param> in = {
      {"userid", "aws_user"}, {"thirdpartyname", "example.com"}, {"email", "a@example.com"}};
  const auto identity = pixel::default_identity_params();
  const std::string key = "0123456789abcdef";
  std::vector<pixel::param> out;
  std::vector<std::string> storage;

  ASSERT_TRUE(pixel::apply_tracking_mode(tracking_mode::off, in, identity, key, out, storage));
  EXPECT_TRUE(out.empty());

  ASSERT_TRUE(
      pixel::apply_tracking_mode(tracking_mode::aggregate, in, identity, key, out, storage));
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].key, "thirdpartyname");

  ASSERT_TRUE(
      pixel::apply_tracking_mode(tracking_mode::pseudonymous, in, identity, key, out, storage));
  ASSERT_EQ(out.size(), 3U);
  EXPECT_EQ(out[0].key, "userid");
  EXPECT_EQ(out[0].value, "rhuR580VORPzXCQmBocVrg");
  EXPECT_EQ(out[1].value, "example.com");
  EXPECT_EQ(out[2].value, pixel::pseudonym(key, "a@example.com"));

  ASSERT_TRUE(
      pixel::apply_tracking_mode(tracking_mode::identified, in, identity, key, out, storage));
  ASSERT_EQ(out.size(), 3U);
  EXPECT_EQ(out[0].value, "aws_user");
}

TEST(Consent, PseudonymousNeedsAKeyOfSixteenBytes) {
  const std::vector<pixel::param> in = {{"userid", "aws_user"}};
  std::vector<pixel::param> out;
  std::vector<std::string> storage;
  auto r = pixel::apply_tracking_mode(tracking_mode::pseudonymous, in,
                                      pixel::default_identity_params(), "short", out, storage);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), pixel::errc::invalid_argument);
  EXPECT_EQ(r.error().message().find("short"), std::string::npos);
  // Aggregate needs no key.
  EXPECT_TRUE(pixel::apply_tracking_mode(tracking_mode::aggregate, in,
                                         pixel::default_identity_params(), "", out, storage));
}

}  // namespace
