// `pixel url` and `pixel img`, driven as a user would: exit codes, stdout, stderr.
// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pixel/html.hpp"
#include "pixel/url.hpp"
#include "run_process.hpp"

namespace {

using pixel_test::process_result;

process_result pixel_cli(std::vector<std::string> args) {
  return pixel_test::run_process(PIXEL_CLI_PATH, args);
}

constexpr const char* kEndpoint = "https://d111111abcdef8.cloudfront.net";

void expect_invalid_input(const process_result& r, const std::string& needle) {
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.back(), '\n');
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
  EXPECT_EQ(r.err.rfind("pixel: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

TEST(CliUrl, PrintsTheUrlAndANewline) {
  auto r = pixel_cli({"url", "--endpoint", kEndpoint, "--no-event-id", "--no-timestamp",
                      "userid=aws_user", "thirdpartyname=example.hightrafficwebsite.com"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out,
            "https://d111111abcdef8.cloudfront.net/1x1.png?userid=aws_user&"
            "thirdpartyname=example.hightrafficwebsite.com\n");
}

TEST(CliUrl, AddsEventIdAndTimestampByDefault) {
  auto r = pixel_cli({"url", "--endpoint", kEndpoint, "userid=x"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string url = r.out.substr(0, r.out.size() - 1);
  auto q = pixel::decode_query(url.substr(url.find('?') + 1)).value();
  ASSERT_EQ(q.size(), 3u);
  EXPECT_EQ(q[1].first, "eid");
  EXPECT_EQ(q[1].second.size(), 26u);
  EXPECT_EQ(q[2].first, "ts");
  EXPECT_GT(std::stoull(q[2].second), 1700000000000ULL);
}

TEST(CliUrl, SplitsAtFirstEqualsAndKeepsBytes) {
  auto r = pixel_cli({"url", "--endpoint", kEndpoint, "--no-event-id", "--no-timestamp", "q=a=b",
                      "empty=", "sp=a b+c", "\xC3\xA9=\xE2\x82\xAC"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "https://d111111abcdef8.cloudfront.net/1x1.png?q=a%3Db&empty=&sp=a%20b%2Bc&"
            "%C3%A9=%E2%82%AC\n");
}

TEST(CliUrl, DoubleDashAllowsKeysStartingWithDash) {
  auto r = pixel_cli(
      {"url", "--endpoint", kEndpoint, "--no-event-id", "--no-timestamp", "--", "-k=v", "--x=y"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "https://d111111abcdef8.cloudfront.net/1x1.png?-k=v&--x=y\n");
}

TEST(CliUrl, InvalidUtf8IsReportedNotMangled) {
  expect_invalid_input(pixel_cli({"url", "--endpoint", kEndpoint, "userid=ab\xC0\xAF"}),
                       "invalid UTF-8 in value of 'userid' at byte 2");
  expect_invalid_input(pixel_cli({"url", "--endpoint", kEndpoint, "u=\xED\xA0\x80"}), "surrogate");
  expect_invalid_input(pixel_cli({"url", "--endpoint", kEndpoint, "u=\xF4\x90\x80\x80"}),
                       "above U+10FFFF");
  expect_invalid_input(pixel_cli({"url", "--endpoint", kEndpoint, "u=\xE2\x82"}), "truncated");
  expect_invalid_input(pixel_cli({"url", "--endpoint", kEndpoint, "\xFF=v"}),
                       "invalid UTF-8 in key of parameter 1");
}

TEST(CliUrl, EmptyKeyAndReservedKey) {
  expect_invalid_input(pixel_cli({"url", "--endpoint", kEndpoint, "a=1", "=v"}),
                       "empty key in parameter 2");
  expect_invalid_input(pixel_cli({"url", "--endpoint", kEndpoint, "eid=1"}), "reserved");
}

TEST(CliUrl, LengthBoundary) {
  const std::string base = std::string(kEndpoint) + "/1x1.png?k=";
  const std::string fits(8192 - base.size(), 'v');
  auto r =
      pixel_cli({"url", "--endpoint", kEndpoint, "--no-event-id", "--no-timestamp", "k=" + fits});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.size(), 8193u);  // 8,192 bytes and the newline
  expect_invalid_input(pixel_cli({"url", "--endpoint", kEndpoint, "--no-event-id", "--no-timestamp",
                                  "k=" + fits + "v"}),
                       "8193 bytes, over the limit of 8192");
}

TEST(CliUrl, BadEndpoints) {
  // The refusal names the option that lifts it.
  expect_invalid_input(
      pixel_cli({"url", "--endpoint", "http://example.com", "a=b"}),
      "endpoint uses http:// with non-loopback host 'example.com': use https://, or "
      "allow http explicitly (--allow-http)");
  expect_invalid_input(pixel_cli({"url", "--endpoint", "ftp://example.com"}), "scheme");
  expect_invalid_input(pixel_cli({"url", "--endpoint", "https://example.com/p?x=1"}), "query");
  expect_invalid_input(pixel_cli({"url", "--endpoint", "https://u@example.com"}), "user");
  expect_invalid_input(pixel_cli({"url", "--endpoint", "https://example.com#f"}), "fragment");
  expect_invalid_input(pixel_cli({"url", "--endpoint", "https://example.com:99999"}), "port");
  expect_invalid_input(pixel_cli({"url", "--endpoint", "example.com"}), "absolute URL");
  auto ok = pixel_cli({"url", "--endpoint", "http://example.com", "--allow-http", "--no-event-id",
                       "--no-timestamp"});
  EXPECT_EQ(ok.exit_code, 0);
  EXPECT_EQ(ok.out, "http://example.com/1x1.png\n");
  ok = pixel_cli({"url", "--endpoint", "http://127.0.0.1:9", "--no-event-id", "--no-timestamp"});
  EXPECT_EQ(ok.out, "http://127.0.0.1:9/1x1.png\n");
}

TEST(CliUsage, ErrorsExitTwo) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {},
           {"nosuchcommand"},
           {"url"},                                      // --endpoint missing
           {"url", "--endpoint", kEndpoint, "novalue"},  // not KEY=VALUE
           {"url", "--endpoint", kEndpoint, "--bogus"},
           {"img"},  // neither --endpoint nor --url
           {"img", "--url", "https://h/p", "--endpoint", kEndpoint},
           {"img", "--style", "banner", "--url", "https://h/p"},
       }) {
    auto r = pixel_cli(args);
    EXPECT_EQ(r.exit_code, 2) << (args.empty() ? "" : args[0]) << ": " << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_FALSE(r.err.empty());
  }
  auto help = pixel_cli({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("url"), std::string::npos);
}

TEST(CliImg, SrcIsExactlyWhatUrlPrints) {
  const std::vector<std::string> common = {"--endpoint",     kEndpoint,    "--no-event-id",
                                           "--no-timestamp", "userid=a&b", "n=\"<x>\""};
  std::vector<std::string> url_args = {"url"};
  url_args.insert(url_args.end(), common.begin(), common.end());
  auto url = pixel_cli(url_args);
  ASSERT_EQ(url.exit_code, 0);
  for (const char* style : {"email", "page"}) {
    std::vector<std::string> img_args = {"img", "--style", style};
    img_args.insert(img_args.end(), common.begin(), common.end());
    auto img = pixel_cli(img_args);
    ASSERT_EQ(img.exit_code, 0) << img.err;
    const auto expected = pixel::img_tag(url.out.substr(0, url.out.size() - 1),
                                         std::string(style) == "page" ? pixel::img_style::page
                                                                      : pixel::img_style::email)
                              .value();
    EXPECT_EQ(img.out, expected + "\n");
    // The tag's src, HTML-unescaped, is the URL (which needs no escaping but '&').
    const std::string src_start = "<img src=\"";
    const auto end = img.out.find('"', src_start.size());
    std::string src = img.out.substr(src_start.size(), end - src_start.size());
    for (std::size_t p; (p = src.find("&amp;")) != std::string::npos;) src.replace(p, 5, "&");
    EXPECT_EQ(src + "\n", url.out);
  }
}

TEST(CliImg, GivenUrlAndErrors) {
  auto r = pixel_cli({"img", "--url", "https://h/1x1.png?a=1&b=2"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, pixel::img_tag("https://h/1x1.png?a=1&b=2").value() + "\n");
  expect_invalid_input(pixel_cli({"img", "--url", "javascript:alert(1)"}), "not an http");
  expect_invalid_input(pixel_cli({"img", "--endpoint", kEndpoint, "k=\xFF"}), "invalid UTF-8");
}

}  // namespace
