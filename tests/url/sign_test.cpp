// SPDX-License-Identifier: MIT
// Signed URLs: the vectors Python computed (sign_vectors.py), tampering, expiry, unknown
// keys and rotation, against the signer and verifier of pixel/url/sign.hpp.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pixel/url.hpp"

namespace {

using pixel::errc;
using pixel::signature_status;
using clock_type = std::chrono::system_clock;

clock_type::time_point at(long long unix_s) {
  return clock_type::time_point(std::chrono::seconds(unix_s));
}

nlohmann::json load_vectors() {
  std::ifstream in(PIXEL_SIGNATURE_VECTORS);
  EXPECT_TRUE(in.good()) << PIXEL_SIGNATURE_VECTORS;
  return nlohmann::json::parse(in);
}

struct built {
  std::string url;
  std::string key;
};

// Builds a vector's URL with the C++ signer (no event id or timestamp of its own: the
// vector's params carry them when it has them).
built build_vector(const nlohmann::json& v) {
  auto key = pixel::decode_signing_key(v["key"].get<std::string>());
  EXPECT_TRUE(key) << key.error().message();
  pixel::url_options o;
  o.event_id = false;
  o.timestamp = false;
  auto signer = pixel::make_url_signer(v["kid"].get<std::string>(), *key);
  EXPECT_TRUE(signer);
  o.signer = *signer;
  auto ep = pixel::endpoint::parse(v["endpoint"].get<std::string>());
  EXPECT_TRUE(ep);
  auto builder = pixel::url_builder::create(*ep, o);
  EXPECT_TRUE(builder);
  std::vector<std::string> storage;
  for (const auto& p : v["params"]) {
    storage.push_back(p[0].get<std::string>());
    storage.push_back(p[1].get<std::string>());
  }
  std::vector<pixel::param> params;
  for (std::size_t i = 0; i < storage.size(); i += 2)
    params.push_back({storage[i], storage[i + 1]});
  std::string url;
  auto ok = builder->build_with(params, {}, 0, v["exp"].get<std::uint64_t>(), url);
  EXPECT_TRUE(ok) << ok.error().message();
  return {url, *key};
}

TEST(SignatureVectors, SignerReproducesPython) {
  const auto doc = load_vectors();
  ASSERT_GE(doc["vectors"].size(), 5u);
  for (const auto& v : doc["vectors"]) {
    SCOPED_TRACE(v["name"].get<std::string>());
    const built b = build_vector(v);
    EXPECT_EQ(b.url, v["url"].get<std::string>());
    EXPECT_EQ(pixel::signature_of(b.key, v["string_to_sign"].get<std::string>()),
              v["sig"].get<std::string>());
    std::string to_sign;
    pixel::detail::signature_fields f;
    const std::string url = v["url"];
    ASSERT_TRUE(pixel::detail::string_to_sign(
        pixel::endpoint::parse(v["endpoint"].get<std::string>())->path(),
        std::string_view(url).substr(url.find('?') + 1), to_sign, f));
    EXPECT_EQ(to_sign, v["string_to_sign"].get<std::string>());
  }
}

TEST(SignatureVectors, VerifierAcceptsThemUntilExpiry) {
  const auto doc = load_vectors();
  for (const auto& v : doc["vectors"]) {
    SCOPED_TRACE(v["name"].get<std::string>());
    pixel::keyring ring;
    ASSERT_TRUE(ring.add(v["kid"], *pixel::decode_signing_key(v["key"].get<std::string>())));
    const std::string url = v["url"];
    const long long exp = v["exp"];
    EXPECT_EQ(pixel::verify(url, ring, at(exp)), signature_status::valid);
    EXPECT_EQ(pixel::verify(url, ring, at(exp + 300)), signature_status::valid);  // leeway
    EXPECT_EQ(pixel::verify(url, ring, at(exp + 301)), signature_status::expired);
    pixel::verify_options strict;
    strict.leeway = std::chrono::seconds(0);
    EXPECT_EQ(pixel::verify(url, ring, at(exp + 1), strict), signature_status::expired);
    // The request target alone, and the path and query apart, verify the same.
    const std::string target = url.substr(url.find('/', url.find("://") + 3));
    EXPECT_EQ(pixel::verify(target, ring, at(exp)), signature_status::valid);
    const auto q = target.find('?');
    EXPECT_EQ(pixel::verify(target.substr(0, q), target.substr(q + 1), ring, at(exp)),
              signature_status::valid);
  }
}

class Tamper : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto doc = load_vectors();
    const auto& v = doc["vectors"][0];
    url_ = v["url"];
    exp_ = v["exp"];
    ASSERT_TRUE(ring_.add(v["kid"], *pixel::decode_signing_key(v["key"].get<std::string>())));
    ASSERT_EQ(pixel::verify(url_, ring_, at(exp_)), signature_status::valid);
  }
  signature_status check(const std::string& url) { return pixel::verify(url, ring_, at(exp_)); }

  std::string url_;
  long long exp_ = 0;
  pixel::keyring ring_;
};

TEST_F(Tamper, OneByteOfAnyValueIsRefused) {
  const std::size_t q = url_.find('?');
  int changed = 0;
  for (std::size_t i = q + 1; i < url_.size(); ++i) {
    // Only bytes of values: after '=', before the next '&'.
    const std::size_t eq = url_.rfind('=', i);
    const std::size_t amp = url_.rfind('&', i);
    if (eq == std::string::npos || (amp != std::string::npos && amp > eq) || url_[i] == '=') {
      continue;
    }
    for (char repl : {'0', 'x', 'Q'}) {
      if (url_[i] == repl) continue;
      std::string t = url_;
      t[i] = repl;
      const auto s = check(t);
      const bool kid_byte = url_.compare(amp + 1, 4, "kid=") == 0;
      EXPECT_EQ(s, kid_byte ? signature_status::unknown_key : signature_status::bad_signature) << t;
      ++changed;
      break;
    }
  }
  EXPECT_GT(changed, 100);
}

TEST_F(Tamper, PairsAddedRemovedOrRepeatedAreRefused) {
  EXPECT_EQ(check(url_ + "&extra=1"), signature_status::bad_signature);
  EXPECT_EQ(check(url_ + "&userid="), signature_status::bad_signature);
  const std::size_t at_userid = url_.find("userid=aws_user&");
  ASSERT_NE(at_userid, std::string::npos);
  std::string removed = url_;
  removed.erase(at_userid, std::string("userid=aws_user&").size());
  EXPECT_EQ(check(removed), signature_status::bad_signature);
  // Moving pairs around is no change: the canonical form is sorted.
  std::string moved = removed + "&userid=aws_user";
  EXPECT_EQ(check(moved), signature_status::valid);
  // kid, exp or sig twice: refused even when the copies agree.
  const std::string sig = url_.substr(url_.find("&sig="));
  EXPECT_EQ(check(url_ + sig), signature_status::bad_signature);
  EXPECT_EQ(check(url_ + "&exp=" + std::to_string(exp_)), signature_status::bad_signature);
  // Without one of them: missing.
  EXPECT_EQ(check(url_.substr(0, url_.find("&sig="))), signature_status::missing);
  EXPECT_EQ(check("https://d111111abcdef8.cloudfront.net/1x1.png?userid=aws_user"),
            signature_status::missing);
  EXPECT_EQ(check("https://d111111abcdef8.cloudfront.net/1x1.png"), signature_status::missing);
}

TEST_F(Tamper, ExpiryChangedPathChangedOrMalformedIsRefused) {
  std::string later = url_;
  const std::size_t e = later.find("exp=") + 4;
  later.replace(e, later.find('&', e) - e, std::to_string(exp_ + 86400));
  EXPECT_EQ(check(later), signature_status::bad_signature);
  std::string path = url_;
  path.replace(path.find("/1x1.png"), 8, "/2x2.png");
  EXPECT_EQ(check(path), signature_status::bad_signature);
  EXPECT_EQ(check(url_ + "&bad=%G1"), signature_status::bad_signature);
  std::string long_exp = url_;
  long_exp.replace(e, long_exp.find('&', e) - e, "99999999999999999999");
  EXPECT_EQ(check(long_exp), signature_status::bad_signature);
}

TEST_F(Tamper, EquivalentSpellingsOfTheSameBytesVerify) {
  // Lowercase hex and an unreserved byte written as an escape decode to the same pairs.
  std::string t = url_;
  t.replace(t.find("aws_user"), 8, "aws%5fuser");
  EXPECT_EQ(check(t), signature_status::valid);
}

TEST(Keyring, UnknownKeyAndRotation) {
  const std::string old_key(32, 'o'), new_key(32, 'n');
  auto ep = *pixel::endpoint::parse("https://d111111abcdef8.cloudfront.net");
  auto make = [&](const char* kid, const std::string& key) {
    pixel::url_options o;
    o.signer = *pixel::make_url_signer(kid, key, std::chrono::hours(1));
    return *pixel::url_builder::create(ep, o);
  };
  const auto old_builder = make("old", old_key);
  const auto new_builder = make("new", new_key);
  const auto now = clock_type::now();
  const std::string u1 = *old_builder.build({{"userid", "a"}});
  const std::string u2 = *new_builder.build({{"userid", "a"}});

  pixel::keyring ring;
  ASSERT_TRUE(ring.add("old", old_key));
  EXPECT_EQ(pixel::verify(u1, ring, now), signature_status::valid);
  EXPECT_EQ(pixel::verify(u2, ring, now), signature_status::unknown_key);
  // Rotation: the new key is added before producers switch, the old one removed later.
  ASSERT_TRUE(ring.add("new", new_key));
  EXPECT_EQ(pixel::verify(u1, ring, now), signature_status::valid);
  EXPECT_EQ(pixel::verify(u2, ring, now), signature_status::valid);
  EXPECT_TRUE(ring.remove("old"));
  EXPECT_FALSE(ring.remove("old"));
  EXPECT_EQ(pixel::verify(u1, ring, now), signature_status::unknown_key);
  EXPECT_EQ(pixel::verify(u2, ring, now), signature_status::valid);
  // The same id under another key is a forgery, not an unknown key.
  pixel::keyring wrong;
  ASSERT_TRUE(wrong.add("new", old_key));
  EXPECT_EQ(pixel::verify(u2, wrong, now), signature_status::bad_signature);
  // Lifetime: one hour from the build.
  EXPECT_EQ(pixel::verify(u2, ring, now + std::chrono::minutes(64)), signature_status::valid);
  EXPECT_EQ(pixel::verify(u2, ring, now + std::chrono::minutes(66)), signature_status::expired);
  EXPECT_EQ(ring.ids(), std::vector<std::string>{"new"});
}

TEST(Keyring, RefusesBadIdsAndShortKeys) {
  pixel::keyring ring;
  EXPECT_EQ(ring.add("", std::string(16, 'k')).error().code(), errc::invalid_argument);
  EXPECT_EQ(ring.add(std::string(33, 'a'), std::string(16, 'k')).error().code(),
            errc::invalid_argument);
  EXPECT_EQ(ring.add("a.b", std::string(16, 'k')).error().code(), errc::invalid_argument);
  auto short_key = ring.add("ok", "fifteen bytes!!");
  ASSERT_FALSE(short_key);
  EXPECT_EQ(short_key.error().message().find("fifteen"), std::string::npos);
  EXPECT_TRUE(ring.add("A-z_09", std::string(16, 'k')));
  EXPECT_TRUE(ring.empty() == false && ring.size() == 1);
}

TEST(SigningKey, DecodesStandardAndUrlSafeBase64) {
  const std::string raw = "\xfb\xff\xfe" + std::string("0123456789abcdefghi");
  EXPECT_EQ(*pixel::decode_signing_key("+//+MDEyMzQ1Njc4OWFiY2RlZmdoaQ=="), raw);
  EXPECT_EQ(*pixel::decode_signing_key("-__-MDEyMzQ1Njc4OWFiY2RlZmdoaQ"), raw);
  EXPECT_EQ(*pixel::decode_signing_key("  -__-MDEyMzQ1Njc4OWFiY2RlZmdoaQ==\n"), raw);
  auto bad = pixel::decode_signing_key("secret-material!!!!!!!!!!");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message().find("secret"), std::string::npos);
  EXPECT_FALSE(pixel::decode_signing_key("c2hvcnQ="));  // "short": under 16 bytes
  EXPECT_FALSE(pixel::decode_signing_key("QUJD="));     // padding where none belongs
  EXPECT_FALSE(pixel::decode_signing_key("QUJDR"));     // 5 characters: not base64
}

TEST(SignedBuilder, ReservedNamesLifetimeAndLength) {
  auto ep = *pixel::endpoint::parse("https://d111111abcdef8.cloudfront.net");
  pixel::url_options o;
  o.signer = *pixel::make_url_signer("k1", std::string(16, 'k'), std::chrono::seconds(100));
  const auto b = *pixel::url_builder::create(ep, o);
  for (const char* name : {"kid", "exp", "sig"}) {
    auto r = b.build({{name, "x"}});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), errc::invalid_argument);
  }
  EXPECT_TRUE(pixel::url_builder(ep).build({{"kid", "x"}, {"sig", "y"}}));  // unsigned: allowed
  std::string url;
  ASSERT_TRUE(b.build_with({{"userid", "u"}}, "01JEXAMPLE0000000000000000", 1767225600999, url));
  EXPECT_NE(url.find("&ts=1767225600999&kid=k1&exp=1767225700&sig="), std::string::npos) << url;
  EXPECT_EQ(url.size() - url.find("&sig=") - 5, pixel::signature_length);

  pixel::url_options bad = o;
  bad.event_id_key = "sig";
  EXPECT_FALSE(pixel::url_builder::create(ep, bad));
  EXPECT_FALSE(pixel::make_url_signer("k1", std::string(16, 'k'), std::chrono::seconds(0)));

  // The limit counts the signature, exactly.
  pixel::url_options tight;
  tight.event_id = tight.timestamp = false;
  const std::string value(100, 'v');
  ASSERT_TRUE(pixel::url_builder::create(ep, tight)->build_with({{"v", value}}, {}, 0, url));
  const std::size_t signed_len = url.size() + 7 + 6 + 5 + pixel::signature_length;
  tight.signer = o.signer;
  tight.max_length = signed_len;
  ASSERT_TRUE(pixel::url_builder::create(ep, tight)->build_with({{"v", value}}, {}, 0, 1, url));
  EXPECT_EQ(url.size(), signed_len);
  tight.max_length = signed_len - 1;
  EXPECT_EQ(pixel::url_builder::create(ep, tight)
                ->build_with({{"v", value}}, {}, 0, 1, url)
                .error()
                .code(),
            errc::url_too_long);
}

}  // namespace
