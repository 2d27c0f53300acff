// Open classification (pixel::log::classifier): every rule of src/log/opens_rules.json, with
// user agents quoted from the public sources each rule cites, in the file's order.
// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "pixel/opens.hpp"

namespace {

using pixel::log::classifier;

// Quoted user agents.
// Apple Mail Privacy Protection's proxy (Bird/SparkPost, "4 insights on iOS 15 MPP").
constexpr const char* apple_mpp = "Mozilla/5.0";
// Gmail's prefetch (SparkPost, "Gmail is prefetching images", 2022).
constexpr const char* gmail_prefetch =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/42.0.2311.135 Safari/537.36 Edge/12.246 Mozilla/5.0";
// Gmail's image proxy, as logged by senders.
constexpr const char* gmail_proxy =
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)";
// Yahoo Mail Proxy (help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html).
constexpr const char* yahoo_proxy =
    "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html";
// Browsers and mail clients.
constexpr const char* chrome_windows =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36";
constexpr const char* safari_iphone =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4 Mobile/15E148 Safari/604.1";
constexpr const char* firefox_linux =
    "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0";
constexpr const char* outlook_windows =
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17126; Pro)";

std::string classify(const classifier& c, std::string_view ua, std::string_view ip = "192.0.2.7",
                     std::optional<double> since = std::nullopt) {
  return std::string(c.classify(ua, ip, since).client);
}

TEST(opens_rules, file_and_tables_agree) {
  std::ifstream in(PIXEL_OPENS_RULES_JSON);
  const auto j = nlohmann::json::parse(in);
  EXPECT_EQ(pixel::log::opens_rules_version(), j.at("version").get<std::string>());
  EXPECT_EQ(pixel::log::default_scanner_window(), j.at("scanner_window_default").get<double>());
  const auto rules = pixel::log::opens_rules();
  ASSERT_EQ(rules.size(), j.at("rules").size());
  const std::vector<std::string> order = {
      "apple_mpp", "gmail_prefetch", "gmail_proxy", "yahoo_proxy", "bot", "", "scanner", "human"};
  for (std::size_t i = 0; i < rules.size(); ++i) {
    EXPECT_EQ(rules[i].client, order[i]);
    EXPECT_EQ(rules[i].human, j["rules"][i].at("human").get<bool>());
    EXPECT_FALSE(rules[i].source.empty()) << order[i];
    EXPECT_EQ(rules[i].source, j["rules"][i].at("source").get<std::string>());
  }
}

TEST(opens_rules, apple_mpp_is_exactly_mozilla_5_0) {
  classifier c;
  EXPECT_EQ(classify(c, apple_mpp), "apple_mpp");
  EXPECT_FALSE(c.classify(apple_mpp, "", {}).human);
  EXPECT_EQ(classify(c, "Mozilla/5.0 "), "human");
  EXPECT_EQ(classify(c, "mozilla/5.0"), "human");
  EXPECT_EQ(classify(c, safari_iphone), "human");
  // First rule wins: an Apple prefetch at delivery is apple_mpp, not scanner.
  EXPECT_EQ(classify(c, apple_mpp, "17.58.1.1", 0.1), "apple_mpp");
}

TEST(opens_rules, gmail_prefetch_needs_both_versions) {
  classifier c;
  EXPECT_EQ(classify(c, gmail_prefetch), "gmail_prefetch");
  EXPECT_EQ(classify(c, "x Chrome/42.0.2311.135 y"), "human");
  EXPECT_EQ(classify(c, "x Edge/12.246 y"), "human");
  EXPECT_EQ(classify(c, gmail_prefetch, "", 500.0), "gmail_prefetch");
}

TEST(opens_rules, gmail_and_yahoo_proxies_are_human) {
  classifier c;
  EXPECT_EQ(classify(c, gmail_proxy), "gmail_proxy");
  EXPECT_TRUE(c.classify(gmail_proxy, "", {}).human);
  EXPECT_EQ(classify(c, "Mozilla/5.0 (via ggpht.com GoogleImageProxy)"), "gmail_proxy");
  EXPECT_EQ(classify(c, "googleimageproxy"), "human");  // the rule is case-sensitive
  EXPECT_EQ(classify(c, yahoo_proxy), "yahoo_proxy");
  EXPECT_TRUE(c.classify(yahoo_proxy, "", {}).human);
  // Proxies come before the scanner window: a proxy fetch at delivery is still an open.
  EXPECT_EQ(classify(c, gmail_proxy, "", 0.5), "gmail_proxy");
}

TEST(opens_rules, bots_by_empty_agent_or_word) {
  classifier c;
  for (const char* ua :
       {"", "-", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Mozilla/5.0 (compatible; YandexBot/3.0)", "Baiduspider", "SomeCRAWLER/1", "curl/8.5.0",
        "Wget/1.21.4", "python-requests/2.31.0", "Go-http-client/1.1",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/120.0.6099.109 Safari/537.36"}) {
    EXPECT_EQ(classify(c, ua), "bot") << ua;
  }
  EXPECT_EQ(classify(c, "curl"), "human");  // "curl/" with the slash
  // Yahoo's string has no bot word, but order matters anyway: yahoo_proxy is tried first.
  EXPECT_EQ(classify(c, "YahooMailProxy robot"), "yahoo_proxy");
}

TEST(opens_rules, scanner_window_from_sent) {
  classifier c;
  EXPECT_EQ(c.scanner_window(), 2.0);
  EXPECT_EQ(classify(c, chrome_windows, "", 0.0), "scanner");
  EXPECT_EQ(classify(c, chrome_windows, "", 1.999), "scanner");
  EXPECT_EQ(classify(c, chrome_windows, "", -3.0), "scanner");  // before `sent`: delivery time
  EXPECT_EQ(classify(c, chrome_windows, "", 2.0), "human");
  EXPECT_EQ(classify(c, chrome_windows), "human");  // no manifest: no scanner rule
  ASSERT_TRUE(c.set_scanner_window(30).has_value());
  EXPECT_EQ(classify(c, firefox_linux, "", 29.9), "scanner");
  EXPECT_FALSE(c.set_scanner_window(-1).has_value());
  EXPECT_EQ(c.scanner_window(), 30.0);
}

TEST(opens_rules, browsers_and_mail_clients_are_human) {
  classifier c;
  for (const char* ua : {chrome_windows, safari_iphone, firefox_linux, outlook_windows}) {
    EXPECT_EQ(classify(c, ua, "", 3600.0), "human") << ua;
  }
}

// The verdict of the user-agent rules is remembered per user agent (a table of 1,024, one
// place per hash): many more user agents than places, each seen again after others took
// its place, and the same user agent with another address or time since sending.
TEST(opens_rules, remembered_user_agents_give_the_rules_verdicts) {
  classifier c;
  ASSERT_TRUE(c.add_machine_ranges("17.0.0.0/8 apple_relay\n").has_value());
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 5000; ++i) {
      const std::string n = std::to_string(i);
      const std::string human = "Mail/" + n + " (Macintosh)";
      const std::string bot = "Fetcher/" + n + " (+crawler)";
      ASSERT_EQ(classify(c, human, "", 3600.0), "human") << human;
      ASSERT_EQ(classify(c, human, "", 0.5), "scanner") << human;
      ASSERT_EQ(classify(c, human, "17.1.2.3", 0.5), "apple_relay") << human;
      ASSERT_EQ(classify(c, bot, "17.1.2.3", 0.5), "bot") << bot;
      ASSERT_EQ(classify(c, "Mozilla/5.0", "", 3600.0), "apple_mpp");
    }
  }
  // Two user agents that differ in one byte never share a verdict.
  EXPECT_EQ(classify(c, "Mozilla/5.0", "", 3600.0), "apple_mpp");
  EXPECT_EQ(classify(c, "Mozilla/5.1", "", 3600.0), "human");
  EXPECT_EQ(classify(c, "Mozilla/5.0", "", 3600.0), "apple_mpp");
}

TEST(opens_rules, machine_ranges_after_the_user_agent_rules) {
  classifier c;
  ASSERT_TRUE(c.add_machine_ranges("# Apple egress (sample)\n17.0.0.0/8 apple_relay\n"
                                   "17.58.0.0/16, apple_mail\n2a01:b740::/32\tapple_relay\n"
                                   "\n198.51.100.7 gateway # one address\n",
                                   "ranges.txt")
                  .has_value());
  EXPECT_EQ(c.machine_range_count(), 4u);
  EXPECT_EQ(classify(c, chrome_windows, "17.1.2.3", 3600.0), "apple_relay");
  EXPECT_EQ(classify(c, chrome_windows, "17.58.9.9", 3600.0), "apple_mail");  // longest prefix
  EXPECT_EQ(classify(c, chrome_windows, "2a01:b740:1::5", 3600.0), "apple_relay");
  EXPECT_EQ(classify(c, chrome_windows, "198.51.100.7", 3600.0), "gateway");
  EXPECT_EQ(classify(c, chrome_windows, "198.51.100.8", 3600.0), "human");
  EXPECT_FALSE(c.classify(chrome_windows, "17.1.2.3", {}).human);
  // User-agent rules first, the ranges before the scanner window.
  EXPECT_EQ(classify(c, gmail_proxy, "17.1.2.3"), "gmail_proxy");
  EXPECT_EQ(classify(c, chrome_windows, "17.1.2.3", 0.5), "apple_relay");
  bool seen = false;
  for (const auto& k : c.clients()) seen |= k.client == "apple_mail";
  EXPECT_TRUE(seen);

  const auto bad = c.add_machine_ranges("10.0.0.0/8 ok\n10.0.0.0/33 x\n", "r.txt");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message().find("r.txt:2"), std::string::npos) << bad.error().message();
  EXPECT_EQ(c.machine_range_count(), 4u);                                      // nothing added
  EXPECT_FALSE(c.add_machine_ranges("10.0.0.0/8\n").has_value());              // no label
  EXPECT_FALSE(c.add_machine_ranges("10.0.0/8 x\n").has_value());              // not an address
  EXPECT_FALSE(c.add_machine_ranges("10.0.0.0/8 gmail_proxy\n").has_value());  // a human client
  const classifier copy = c;
  EXPECT_EQ(classify(copy, chrome_windows, "17.1.2.3", 3600.0), "apple_relay");
}

}  // namespace
