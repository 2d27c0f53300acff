// A real browser loads a page carrying the pixel; the edge logs the hit as CloudFront would.
// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <fstream>

#include "edge_support.hpp"
#include "pixel/log.hpp"

namespace {

using pixel::test::child;
using pixel::test::edge_process;
using pixel::test::temp_dir;

std::string between(const std::string& s, const std::string& a, const std::string& b) {
  const auto i = s.find(a);
  if (i == std::string::npos) return "";
  const auto j = s.find(b, i + a.size());
  if (j == std::string::npos) return "";
  return s.substr(i + a.size(), j - i - a.size());
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size()) {
    s.replace(p, from.size(), to);
  }
  return s;
}

TEST(browser, headless_chromium_loads_the_page_pixel) {
  temp_dir dir;
  edge_process edge(dir.path());

  child img(PIXEL_BIN,
            {"img", "--style", "page", "--endpoint", edge.url() + "/1x1.png", "--no-timestamp",
             "campaign=spring sale", "u=\xC3\xA9&x", "p=100%"},
            dir.path() / "img.stderr");
  std::string tag = img.read_rest();
  ASSERT_EQ(img.wait(), 0) << img.stderr_text();
  while (!tag.empty() && tag.back() == '\n') tag.pop_back();
  const std::string src = replace_all(between(tag, "src=\"", "\""), "&amp;", "&");
  const std::string sent_query = src.substr(src.find('?') + 1);
  ASSERT_EQ(sent_query.rfind("campaign=spring%20sale&u=%C3%A9%26x&p=100%25&eid=", 0), 0u)
      << sent_query;

  const auto page = dir.path() / "page.html";
  std::ofstream(page) << "<!doctype html><html><head><meta charset=\"utf-8\"><title>t</title>"
                         "</head><body><p id=\"ua\"></p>"
                      << tag
                      << "<script>document.getElementById('ua').textContent ="
                         " navigator.userAgent;</script></body></html>\n";
  const auto profile = dir.path() / "profile";
  std::filesystem::create_directories(profile);
  child browser(CHROMIUM_BIN,
                {"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--user-data-dir=" + profile.string(), "--dump-dom", "file://" + page.string()},
                dir.path() / "chromium.stderr");
  const std::string dom = browser.read_rest();
  ASSERT_EQ(browser.wait(), 0) << browser.stderr_text();
  const std::string ua = replace_all(between(dom, "<p id=\"ua\">", "</p>"), "&amp;", "&");
  ASSERT_NE(ua.find("Chrome/"), std::string::npos) << dom;

  // --dump-dom returns after the load event, which waits for the image.
  ASSERT_EQ(edge.stop(), 0);
  const auto lines = pixel::test::records_under(edge.out());
  ASSERT_EQ(lines.size(), 1u);
  auto rec = pixel::log::parse_record(lines[0], pixel::log::default_fields());
  ASSERT_TRUE(rec) << rec.error().message();
  EXPECT_EQ(rec->query, sent_query);
  EXPECT_EQ(rec->user_agent, ua);
  EXPECT_EQ(rec->c_ip, "127.0.0.1");
  ASSERT_EQ(rec->params.size(), 4u);
  EXPECT_EQ(*rec->param("campaign"), "spring sale");
  EXPECT_EQ(*rec->param("u"), "\xC3\xA9&x");
  EXPECT_EQ(*rec->param("p"), "100%");
}

}  // namespace
