// SPDX-License-Identifier: MIT
#include "pixel/url.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "utf8_gen.hpp"

namespace {

using pixel::errc;

// ---------------------------------------------------------------------------------------
// Percent-encoding

TEST(PercentEncode, UnreservedPassThrough) {
  EXPECT_EQ(pixel::percent_encode("AZaz09-._~"), "AZaz09-._~");
}

TEST(PercentEncode, Rfc3986Vectors) {
  EXPECT_EQ(pixel::percent_encode(""), "");
  EXPECT_EQ(pixel::percent_encode(" "), "%20");
  EXPECT_EQ(pixel::percent_encode("+"), "%2B");
  EXPECT_EQ(pixel::percent_encode("a b+c"), "a%20b%2Bc");
  EXPECT_EQ(pixel::percent_encode("!*'();:@&=+$,/?#[]"),
            "%21%2A%27%28%29%3B%3A%40%26%3D%2B%24%2C%2F%3F%23%5B%5D");
  EXPECT_EQ(pixel::percent_encode("%"), "%25");
  EXPECT_EQ(pixel::percent_encode("%20"), "%2520");
  EXPECT_EQ(pixel::percent_encode("\xC3\xA9"), "%C3%A9");                // é
  EXPECT_EQ(pixel::percent_encode("\xE2\x82\xAC"), "%E2%82%AC");         // €
  EXPECT_EQ(pixel::percent_encode("\xF0\x9F\x98\x80"), "%F0%9F%98%80");  // 😀
  EXPECT_EQ(pixel::percent_encode(std::string_view("\0\x7F", 2)), "%00%7F");
  EXPECT_EQ(pixel::percent_encode("\"<>\\^`{|}"), "%22%3C%3E%5C%5E%60%7B%7C%7D");
}

TEST(PercentEncode, EveryByteExactlyOnce) {
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    const std::string enc = pixel::percent_encode(std::string_view(&c, 1));
    const bool unreserved = (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') ||
                            (b >= '0' && b <= '9') || b == '-' || b == '.' || b == '_' || b == '~';
    if (unreserved) {
      EXPECT_EQ(enc, std::string(1, c)) << b;
    } else {
      static const char hex[] = "0123456789ABCDEF";
      const std::string expected{'%', hex[b >> 4], hex[b & 15]};
      EXPECT_EQ(enc, expected) << b;
    }
    EXPECT_EQ(pixel::encoded_length(std::string_view(&c, 1)), enc.size());
  }
}

TEST(PercentDecode, AcceptsBothCasesKeepsPlus) {
  EXPECT_EQ(pixel::percent_decode("a%2fb%2Fc").value(), "a/b/c");
  EXPECT_EQ(pixel::percent_decode("a+b").value(), "a+b");
  EXPECT_EQ(pixel::percent_decode("%2520").value(), "%20");
  EXPECT_EQ(pixel::percent_decode("").value(), "");
}

TEST(PercentDecode, MalformedEscapesAreErrors) {
  for (const char* bad : {"%", "%2", "%G0", "%0G", "abc%", "a%2", "%%41"}) {
    auto r = pixel::percent_decode(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.code(), errc::invalid_argument) << bad;
  }
  std::string out = "keep";
  EXPECT_FALSE(pixel::percent_decode_append("x%Z", out));
  EXPECT_EQ(out, "keep");  // untouched on error
}

TEST(PercentCoding, RoundTripOverRandomUtf8) {
  std::mt19937_64 rng(12345);
  for (int i = 0; i < 5000; ++i) {
    const std::string s = pixel_test::random_utf8(rng, 40);
    ASSERT_TRUE(pixel::is_valid_utf8(s));
    const std::string enc = pixel::percent_encode(s);
    for (char c : enc) {
      ASSERT_TRUE(pixel::is_unreserved(static_cast<unsigned char>(c)) || c == '%') << enc;
    }
    ASSERT_EQ(pixel::percent_decode(enc).value(), s);
  }
}

// ---------------------------------------------------------------------------------------
// UTF-8

struct utf8_case {
  const char* name;
  std::string bytes;
  pixel::utf8_problem problem;
  std::size_t offset;
};

TEST(Utf8, ValidInputs) {
  for (std::string s :
       {std::string(""), std::string("plain ascii"), std::string("\xC2\x80"),
        std::string("\xDF\xBF"), std::string("\xE0\xA0\x80"), std::string("\xED\x9F\xBF"),
        std::string("\xEE\x80\x80"), std::string("\xEF\xBF\xBF"), std::string("\xF0\x90\x80\x80"),
        std::string("\xF4\x8F\xBF\xBF"), std::string("\xE6\x97\xA5\xE6\x9C\xAC"),
        std::string("a\0b", 3)}) {
    EXPECT_TRUE(pixel::check_utf8(s).ok()) << pixel::percent_encode(s);
  }
}

TEST(Utf8, EveryInvalidClass) {
  using P = pixel::utf8_problem;
  const std::vector<utf8_case> cases = {
      {"lone continuation", "ab\x80", P::unexpected_continuation, 2},
      {"continuation 0xBF", "\xBF", P::unexpected_continuation, 0},
      {"overlong 2-byte C0", "\xC0\xAF", P::overlong, 0},
      {"overlong 2-byte C1", "x\xC1\xBF", P::overlong, 1},
      {"overlong 3-byte", "\xE0\x80\xAF", P::overlong, 0},
      {"overlong 3-byte max", "\xE0\x9F\xBF", P::overlong, 0},
      {"overlong 4-byte", "\xF0\x80\x80\xAF", P::overlong, 0},
      {"overlong 4-byte max", "\xF0\x8F\xBF\xBF", P::overlong, 0},
      {"surrogate low", "\xED\xA0\x80", P::surrogate, 0},
      {"surrogate high", "ok\xED\xBF\xBF", P::surrogate, 2},
      {"above U+10FFFF F4 90", "\xF4\x90\x80\x80", P::too_large, 0},
      {"above U+10FFFF F5", "\xF5\x80\x80\x80", P::too_large, 0},
      {"above U+10FFFF F7", "\xF7\xBF\xBF\xBF", P::too_large, 0},
      {"invalid F8", "\xF8\x88\x80\x80\x80", P::invalid_byte, 0},
      {"invalid FE", "\xFE", P::invalid_byte, 0},
      {"invalid FF", "abc\xFF", P::invalid_byte, 3},
      {"truncated 2 at end", "\xC3", P::truncated, 0},
      {"truncated 3 at end", "\xE2\x82", P::truncated, 0},
      {"truncated 4 at end", "\xF0\x9F\x98", P::truncated, 0},
      {"truncated by ascii", "\xE2\x82x", P::truncated, 0},
      {"truncated then valid", "\xC3\xC3\xA9", P::truncated, 0},
      {"after long ascii run", "0123456789abcdef\xC3", P::truncated, 16},
  };
  for (const auto& c : cases) {
    const auto r = pixel::check_utf8(c.bytes);
    EXPECT_EQ(r.problem, c.problem) << c.name;
    EXPECT_EQ(r.offset, c.offset) << c.name;
  }
}

TEST(Utf8, AgreesWithCodecOnEveryShortSequence) {
  // Every 1- and 2-byte string, and 3-byte strings with a 0xE0-0xF4 lead: compare with a
  // straightforward decoder written from RFC 3629's table.
  auto reference = [](const std::string& s) {
    std::size_t i = 0;
    while (i < s.size()) {
      const auto c = static_cast<unsigned char>(s[i]);
      std::size_t len;
      std::uint32_t cp;
      if (c < 0x80) {
        ++i;
        continue;
      }
      if ((c & 0xE0) == 0xC0) {
        len = 2;
        cp = c & 0x1Fu;
      } else if ((c & 0xF0) == 0xE0) {
        len = 3;
        cp = c & 0x0Fu;
      } else if ((c & 0xF8) == 0xF0) {
        len = 4;
        cp = c & 0x07u;
      } else
        return false;
      if (i + len > s.size()) return false;
      for (std::size_t k = 1; k < len; ++k) {
        const auto cc = static_cast<unsigned char>(s[i + k]);
        if ((cc & 0xC0) != 0x80) return false;
        cp = (cp << 6) | (cc & 0x3Fu);
      }
      const std::uint32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
      if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
      i += len;
    }
    return true;
  };
  for (int a = 0; a < 256; ++a) {
    std::string s1(1, static_cast<char>(a));
    ASSERT_EQ(pixel::is_valid_utf8(s1), reference(s1)) << a;
    for (int b = 0; b < 256; ++b) {
      std::string s2 = s1 + static_cast<char>(b);
      ASSERT_EQ(pixel::is_valid_utf8(s2), reference(s2)) << a << "," << b;
      if (a >= 0xE0 && a <= 0xF4) {
        for (int c : {0x00, 0x41, 0x80, 0x9F, 0xA0, 0xBF, 0xC0}) {
          std::string s3 = s2 + static_cast<char>(c);
          ASSERT_EQ(pixel::is_valid_utf8(s3), reference(s3)) << a << "," << b << "," << c;
          std::string s4 = s3 + '\x80';
          ASSERT_EQ(pixel::is_valid_utf8(s4), reference(s4)) << a << "," << b << "," << c;
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// decode_query

TEST(DecodeQuery, SplitsOnAmpersandAndFirstEquals) {
  auto q = pixel::decode_query("a=1&b=x%3Dy=z&c&&d=%F0%9F%98%80&e=a+b").value();
  ASSERT_EQ(q.size(), 5u);
  EXPECT_EQ(q[0], (std::pair<std::string, std::string>{"a", "1"}));
  EXPECT_EQ(q[1], (std::pair<std::string, std::string>{"b", "x=y=z"}));
  EXPECT_EQ(q[2], (std::pair<std::string, std::string>{"c", ""}));
  EXPECT_EQ(q[3], (std::pair<std::string, std::string>{"d", "\xF0\x9F\x98\x80"}));
  EXPECT_EQ(q[4], (std::pair<std::string, std::string>{"e", "a+b"}));
  EXPECT_TRUE(pixel::decode_query("").value().empty());
}

TEST(DecodeQuery, Errors) {
  EXPECT_EQ(pixel::decode_query("=v").code(), errc::empty_key);
  EXPECT_EQ(pixel::decode_query("k=%C0%AF").code(), errc::invalid_utf8);
  EXPECT_EQ(pixel::decode_query("k=%ZZ").code(), errc::invalid_argument);
}

// ---------------------------------------------------------------------------------------
// Endpoints

TEST(Endpoint, HttpsDefaultsToPixelPath) {
  auto ep = pixel::endpoint::parse("https://d111111abcdef8.cloudfront.net").value();
  EXPECT_EQ(ep.url(), "https://d111111abcdef8.cloudfront.net/1x1.png");
  EXPECT_EQ(ep.host(), "d111111abcdef8.cloudfront.net");
  EXPECT_EQ(ep.port(), 443);
  EXPECT_EQ(ep.path(), "/1x1.png");
  EXPECT_TRUE(ep.secure());
  EXPECT_FALSE(ep.loopback());
  EXPECT_EQ(pixel::endpoint::parse("https://example.com/").value().url(),
            "https://example.com/1x1.png");
}

TEST(Endpoint, NormalisesAndKeepsPortAndPath) {
  auto ep = pixel::endpoint::parse("HTTPS://Example.COM:8443/t/p.gif").value();
  EXPECT_EQ(ep.url(), "https://example.com:8443/t/p.gif");
  EXPECT_EQ(ep.port(), 8443);
  EXPECT_EQ(ep.path(), "/t/p.gif");
  auto v6 = pixel::endpoint::parse("http://[::1]:9000").value();
  EXPECT_EQ(v6.url(), "http://[::1]:9000/1x1.png");
  EXPECT_EQ(v6.host(), "::1");
  EXPECT_TRUE(v6.loopback());
  EXPECT_EQ(pixel::endpoint::parse("https://h/a%20b").value().path(), "/a%20b");
}

TEST(Endpoint, HttpOnlyForLoopbackOrOptIn) {
  for (const char* ok : {"http://127.0.0.1:8080", "http://127.1.2.3", "http://localhost:1/x",
                         "http://LOCALHOST", "http://[::1]"}) {
    auto ep = pixel::endpoint::parse(ok);
    ASSERT_TRUE(ep) << ok << ": " << ep.error().message();
    EXPECT_TRUE(ep->loopback()) << ok;
    EXPECT_FALSE(ep->secure()) << ok;
  }
  for (const char* refused :
       {"http://example.com", "http://128.0.0.1", "http://10.0.0.1", "http://127.0.0.256",
        "http://127.0.0", "http://localhost.example", "http://[::2]"}) {
    EXPECT_EQ(pixel::endpoint::parse(refused).code(), errc::endpoint_insecure) << refused;
  }
  pixel::endpoint_options opt;
  opt.allow_http = true;
  EXPECT_TRUE(pixel::endpoint::parse("http://example.com", opt));
}

TEST(Endpoint, TypedRefusals) {
  const std::vector<std::pair<const char*, errc>> cases = {
      {"", errc::endpoint_syntax},
      {"example.com", errc::endpoint_syntax},
      {"//example.com", errc::endpoint_syntax},
      {"://example.com", errc::endpoint_syntax},
      {"1https://x", errc::endpoint_syntax},
      {"ftp://example.com", errc::endpoint_scheme},
      {"javascript://x", errc::endpoint_scheme},
      {"https://user:pw@example.com", errc::endpoint_userinfo},
      {"https://user@example.com/1x1.png", errc::endpoint_userinfo},
      {"https://example.com/1x1.png?a=b", errc::endpoint_query},
      {"https://example.com?", errc::endpoint_query},
      {"https://example.com/#x", errc::endpoint_fragment},
      {"https://", errc::endpoint_host},
      {"https:///1x1.png", errc::endpoint_host},
      {"https://:443", errc::endpoint_host},
      {"https://exa mple.com", errc::endpoint_host},
      {"https://.example.com", errc::endpoint_host},
      {"https://a..b", errc::endpoint_host},
      {"https://[::1", errc::endpoint_host},
      {"https://[zz]", errc::endpoint_host},
      {"https://example.com:", errc::endpoint_port},
      {"https://example.com:0", errc::endpoint_port},
      {"https://example.com:65536", errc::endpoint_port},
      {"https://example.com:80a", errc::endpoint_port},
      {"https://example.com:-1", errc::endpoint_port},
      {"https://example.com/a b", errc::endpoint_path},
      {"https://example.com/%zz", errc::endpoint_path},
      {"https://example.com/\xC3\xA9", errc::endpoint_path},
  };
  for (const auto& [url, code] : cases) {
    auto r = pixel::endpoint::parse(url);
    ASSERT_FALSE(r) << url;
    EXPECT_EQ(r.code(), code) << url << ": " << r.error().message();
    EXPECT_TRUE(pixel::is_endpoint_error(r.code())) << url;
    EXPECT_FALSE(r.error().message().empty());
  }
  EXPECT_TRUE(pixel::endpoint::parse("https://example.com:65535"));
  EXPECT_TRUE(pixel::endpoint::parse("https://example.com:1"));
}

// ---------------------------------------------------------------------------------------
// Builder

pixel::url_builder plain_builder(const char* ep = "https://px.example.com") {
  pixel::url_options o;
  o.event_id = false;
  o.timestamp = false;
  return pixel::url_builder::create(pixel::endpoint::parse(ep).value(), o).value();
}

TEST(UrlBuilder, KeepsOrderAndDuplicates) {
  auto b = plain_builder();
  auto url = b.build({{"userid", "aws_user"},
                      {"thirdpartyname", "example.hightrafficwebsite.com"},
                      {"tag", "a"},
                      {"tag", "b"}});
  EXPECT_EQ(url.value(),
            "https://px.example.com/1x1.png?userid=aws_user&"
            "thirdpartyname=example.hightrafficwebsite.com&tag=a&tag=b");
  EXPECT_EQ(b.build({}).value(), "https://px.example.com/1x1.png");
  EXPECT_EQ(b.build({{"k", ""}}).value(), "https://px.example.com/1x1.png?k=");
}

TEST(UrlBuilder, EncodesKeysAndValues) {
  auto b = plain_builder();
  EXPECT_EQ(b.build({{"a b", "c&d=e+f"}, {"\xC3\xA9", "100%"}}).value(),
            "https://px.example.com/1x1.png?a%20b=c%26d%3De%2Bf&%C3%A9=100%25");
}

TEST(UrlBuilder, AddsEventIdAndTimestamp) {
  auto b = pixel::url_builder(pixel::endpoint::parse("https://px.example.com").value());
  std::string out;
  ASSERT_TRUE(b.build_with({{"u", "1"}}, "01ABC", 1718787248530, out));
  EXPECT_EQ(out, "https://px.example.com/1x1.png?u=1&eid=01ABC&ts=1718787248530");

  const auto before = pixel::detail::unix_millis();
  auto id = b.build_into({{"u", "1"}}, out).value();
  const auto after = pixel::detail::unix_millis();
  auto q = pixel::decode_query(out.substr(out.find('?') + 1)).value();
  ASSERT_EQ(q.size(), 3u);
  EXPECT_EQ(q[1].first, "eid");
  EXPECT_EQ(q[1].second, id.view());
  EXPECT_EQ(q[2].first, "ts");
  const auto ts = std::stoull(q[2].second);
  EXPECT_GE(ts, before);
  EXPECT_LE(ts, after);
}

TEST(UrlBuilder, ConfigurableNamesAndSwitches) {
  pixel::url_options o;
  o.event_id_key = "event";
  o.timestamp = false;
  auto b = pixel::url_builder::create(pixel::endpoint::parse("https://h").value(), o).value();
  std::string out;
  ASSERT_TRUE(b.build_with({}, "X", 5, out));
  EXPECT_EQ(out, "https://h/1x1.png?event=X");
  o.event_id = false;
  o.timestamp = true;
  o.timestamp_key = "t s";
  b = pixel::url_builder::create(pixel::endpoint::parse("https://h").value(), o).value();
  ASSERT_TRUE(b.build_with({{"k", "v"}}, "X", 5, out));
  EXPECT_EQ(out, "https://h/1x1.png?k=v&t%20s=5");
}

TEST(UrlBuilder, ReservedKeysAreRefused) {
  auto b = pixel::url_builder(pixel::endpoint::parse("https://h").value());
  EXPECT_EQ(b.build({{"eid", "mine"}}).code(), errc::invalid_argument);
  EXPECT_EQ(b.build({{"ts", "1"}}).code(), errc::invalid_argument);
  // With the switches off, the names are free.
  EXPECT_TRUE(plain_builder().build({{"eid", "mine"}, {"ts", "1"}}));
}

TEST(UrlBuilder, InvalidOptions) {
  auto ep = pixel::endpoint::parse("https://h").value();
  pixel::url_options o;
  o.max_length = 8193;
  EXPECT_EQ(pixel::url_builder::create(ep, o).code(), errc::invalid_argument);
  o.max_length = 0;
  EXPECT_EQ(pixel::url_builder::create(ep, o).code(), errc::invalid_argument);
  o = {};
  o.event_id_key = "";
  EXPECT_EQ(pixel::url_builder::create(ep, o).code(), errc::empty_key);
  o = {};
  o.timestamp_key = "\xFF";
  EXPECT_EQ(pixel::url_builder::create(ep, o).code(), errc::invalid_utf8);
  o = {};
  o.timestamp_key = "eid";
  EXPECT_EQ(pixel::url_builder::create(ep, o).code(), errc::invalid_argument);
}

TEST(UrlBuilder, TypedErrorsNameTheKey) {
  auto b = plain_builder();
  auto e = b.build({{"ok", "1"}, {"", "v"}});
  ASSERT_EQ(e.code(), errc::empty_key);
  EXPECT_NE(e.error().message().find("parameter 2"), std::string::npos) << e.error().message();

  e = b.build({{"userid", "ab\xC0\xAF"}});
  ASSERT_EQ(e.code(), errc::invalid_utf8);
  EXPECT_NE(e.error().message().find("'userid'"), std::string::npos) << e.error().message();
  EXPECT_NE(e.error().message().find("byte 2"), std::string::npos) << e.error().message();
  EXPECT_NE(e.error().message().find("overlong"), std::string::npos) << e.error().message();

  e = b.build({{"a", "1"}, {"k\xED\xA0\x80", "v"}});
  ASSERT_EQ(e.code(), errc::invalid_utf8);
  EXPECT_NE(e.error().message().find("key of parameter 2"), std::string::npos);
  EXPECT_NE(e.error().message().find("surrogate"), std::string::npos);

  // Control bytes in a key stay on one line in the message.
  e = b.build({{"a\nb", "\xFF"}});
  ASSERT_EQ(e.code(), errc::invalid_utf8);
  EXPECT_EQ(e.error().message().find('\n'), std::string::npos);
}

TEST(UrlBuilder, LengthBoundaryIsExact) {
  auto b = plain_builder();
  const std::string base = "https://px.example.com/1x1.png?k=";
  std::string out = "untouched";
  // Exactly 8,192 bytes: accepted.
  const std::string fits(pixel::cloudfront_max_url_length - base.size(), 'v');
  ASSERT_TRUE(b.build_with({{"k", fits}}, {}, 0, out));
  EXPECT_EQ(out.size(), 8192u);
  // 8,193: refused, nothing produced.
  out = "untouched";
  auto r = b.build_with({{"k", fits + "v"}}, {}, 0, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), errc::url_too_long);
  EXPECT_EQ(out, "untouched");
  EXPECT_NE(r.error().message().find("8193"), std::string::npos) << r.error().message();
  // Encoding counts: one space is three bytes.
  std::string spaced(pixel::cloudfront_max_url_length - base.size() - 3, 'v');
  ASSERT_TRUE(b.build_with({{"k", spaced + " "}}, {}, 0, out));
  EXPECT_EQ(out.size(), 8192u);
  EXPECT_EQ(b.build_with({{"k", spaced + "  "}}, {}, 0, out).code(), errc::url_too_long);
}

TEST(UrlBuilder, LowerLimitAndEventFieldsCount) {
  pixel::url_options o;
  o.max_length = 100;
  auto b = pixel::url_builder::create(pixel::endpoint::parse("https://h").value(), o).value();
  std::string out;
  // "https://h/1x1.png" (17) + "?k=" (3) + v + "&eid=" (5) + 26 + "&ts=" (4) + 13 = 68 + v
  const std::string id(26, '0');
  ASSERT_TRUE(b.build_with({{"k", std::string(32, 'v')}}, id, 1718787248530, out));
  EXPECT_EQ(out.size(), 100u);
  EXPECT_EQ(b.build_with({{"k", std::string(33, 'v')}}, id, 1718787248530, out).code(),
            errc::url_too_long);
}

TEST(UrlBuilder, ReusedBufferStopsGrowing) {
  auto b = pixel::url_builder(pixel::endpoint::parse("https://h").value());
  std::string out;
  ASSERT_TRUE(b.build_into({{"userid", "someone"}, {"x", "y z"}}, out));
  const auto* data = out.data();
  const auto cap = out.capacity();
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(b.build_into({{"userid", "someone"}, {"x", "y z"}}, out));
    EXPECT_EQ(out.data(), data);
    EXPECT_EQ(out.capacity(), cap);
  }
}

TEST(UrlBuilder, ConvenienceBuildUrl) {
  pixel::url_options o;
  o.event_id = false;
  o.timestamp = false;
  EXPECT_EQ(pixel::build_url("https://h", {{"a", "b"}}, o).value(), "https://h/1x1.png?a=b");
  EXPECT_EQ(pixel::build_url("http://h", {{"a", "b"}}, o).code(), errc::endpoint_insecure);
}

// ---------------------------------------------------------------------------------------
// Event ids

TEST(EventId, UlidLayout) {
  auto id = pixel::event_id::from_parts(0, 0, 0);
  EXPECT_EQ(id.view(), "00000000000000000000000000");
  id = pixel::event_id::from_parts(0xFFFFFFFFFFFFULL, 0xFFFF, ~0ULL);
  EXPECT_EQ(id.view(), "7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
  // 1469918176385 ms is "01ARYZ6S41" in the first ten characters.
  id = pixel::event_id::from_parts(1469918176385ULL, 0, 0);
  EXPECT_EQ(id.view().substr(0, 10), "01ARYZ6S41");
}

TEST(EventId, UrlSafeAndTimeOrdered) {
  auto a = pixel::event_id::generate();
  for (char c : a.view()) {
    EXPECT_TRUE(pixel::is_unreserved(static_cast<unsigned char>(c)));
    EXPECT_EQ(std::string_view("ILOU").find(c), std::string_view::npos);
  }
  auto early = pixel::event_id::from_parts(1000, 0xFFFF, ~0ULL);
  auto late = pixel::event_id::from_parts(1001, 0, 0);
  EXPECT_LT(early.view(), late.view());
}

TEST(EventId, UniqueAcrossThreads) {
  constexpr int threads = 8, per_thread = 20000;
  std::vector<std::vector<std::string>> ids(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&ids, t] {
      ids[static_cast<std::size_t>(t)].reserve(per_thread);
      for (int i = 0; i < per_thread; ++i) {
        ids[static_cast<std::size_t>(t)].push_back(pixel::event_id::generate().str());
      }
    });
  }
  for (auto& th : pool) th.join();
  std::set<std::string> all;
  for (auto& v : ids) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(threads * per_thread));
}

}  // namespace

#if defined(__unix__)
#include <sys/wait.h>
#include <unistd.h>

namespace {
TEST(EventId, UniqueAcrossFork) {
  // A forked child starts with a copy of this thread's generator: it must reseed.
  (void)pixel::event_id::generate();
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    for (int i = 0; i < 64; ++i) {
      auto id = pixel::event_id::generate();
      if (write(fds[1], id.view().data(), id.view().size()) < 0) _exit(2);
    }
    _exit(0);
  }
  close(fds[1]);
  std::set<std::string> parent_ids;
  for (int i = 0; i < 64; ++i) parent_ids.insert(pixel::event_id::generate().str());
  std::string data;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) data.append(buf, static_cast<std::size_t>(n));
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_EQ(data.size(), 64u * pixel::event_id::length);
  for (std::size_t i = 0; i < 64; ++i) {
    const std::string id = data.substr(i * pixel::event_id::length, pixel::event_id::length);
    // Compare the random part only: the time part may legitimately match.
    for (const auto& p : parent_ids) EXPECT_NE(id.substr(10), p.substr(10));
  }
}
}  // namespace
#endif

namespace {
TEST(Result, ValueOnErrorAbortsWithTheMessage) {
  EXPECT_DEATH((void)pixel::build_url("ftp://x", {}).value(),
               "value\\(\\) called on an error result: endpoint scheme 'ftp'");
}

TEST(Result, ErrorCodeInterop) {
  const std::error_code ec = pixel::errc::url_too_long;
  EXPECT_EQ(ec.category().name(), std::string("pixel"));
  EXPECT_EQ(ec.message(), "URL too long");
  auto r = pixel::endpoint::parse("https://h?x");
  EXPECT_EQ(r.error().error_code(), pixel::errc::endpoint_query);
  EXPECT_TRUE(r.error() == pixel::errc::endpoint_query);
}
}  // namespace
