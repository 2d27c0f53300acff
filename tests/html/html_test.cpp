// SPDX-License-Identifier: MIT
#include "pixel/html.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using pixel::errc;
using pixel::placement;

constexpr const char* kTag = "<img src=\"P\">";

TEST(HtmlEscape, AllFive) {
  EXPECT_EQ(pixel::html_escape("&<>\"'"), "&amp;&lt;&gt;&quot;&#39;");
  EXPECT_EQ(pixel::html_escape("plain \xE6\x97\xA5 text"), "plain \xE6\x97\xA5 text");
  EXPECT_EQ(pixel::html_escape("&amp;"), "&amp;amp;");
  EXPECT_EQ(pixel::html_escape(""), "");
}

TEST(ImgTag, EmailPreset) {
  auto tag = pixel::img_tag("https://h/1x1.png?a=1&b=2").value();
  EXPECT_EQ(tag,
            "<img src=\"https://h/1x1.png?a=1&amp;b=2\" width=\"1\" height=\"1\" alt=\"\" "
            "border=\"0\" style=\"width:1px;height:1px;border:0;margin:0;padding:0;\">");
  EXPECT_EQ(tag.find("display:none"), std::string::npos);
  EXPECT_EQ(tag.find("loading"), std::string::npos);
}

TEST(ImgTag, PagePreset) {
  auto tag = pixel::img_tag("http://127.0.0.1:8080/1x1.png?u=x", pixel::img_style::page).value();
  EXPECT_EQ(tag,
            "<img src=\"http://127.0.0.1:8080/1x1.png?u=x\" width=\"1\" height=\"1\" alt=\"\" "
            "border=\"0\" style=\"width:1px;height:1px;border:0;margin:0;padding:0;\" "
            "aria-hidden=\"true\" referrerpolicy=\"no-referrer\">");
}

TEST(ImgTag, ExtraAttributesEscapedAndOverriding) {
  auto tag = pixel::img_tag("https://h/p", pixel::img_style::email,
                            {{"class", "a\"b<c>"}, {"alt", "x&y"}, {"data-id", "'1'"}})
                 .value();
  EXPECT_EQ(tag,
            "<img src=\"https://h/p\" width=\"1\" height=\"1\" alt=\"x&amp;y\" border=\"0\" "
            "style=\"width:1px;height:1px;border:0;margin:0;padding:0;\" "
            "class=\"a&quot;b&lt;c&gt;\" data-id=\"&#39;1&#39;\">");
}

TEST(ImgTag, Refusals) {
  for (const char* bad :
       {"javascript:alert(1)", "data:image/png;base64,AAAA", "ftp://h/p", "//h/p", "/1x1.png",
        "https://", "https:///p", "https://h/a b", "https://h/\n", ""}) {
    auto r = pixel::img_tag(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.code(), errc::invalid_argument) << bad;
  }
  EXPECT_EQ(pixel::img_tag("https://h/\xC0\xAF").code(), errc::invalid_utf8);
  EXPECT_EQ(pixel::img_tag("https://h/p", pixel::img_style::email, {{"src", "x"}}).code(),
            errc::invalid_argument);
  EXPECT_EQ(pixel::img_tag("https://h/p", pixel::img_style::email, {{"onload=x", "1"}}).code(),
            errc::invalid_argument);
  EXPECT_EQ(pixel::img_tag("https://h/p", pixel::img_style::email, {{"", "1"}}).code(),
            errc::invalid_argument);
  EXPECT_EQ(pixel::img_tag("https://h/p", pixel::img_style::page, {{"loading", "LAZY"}}).code(),
            errc::invalid_argument);
  EXPECT_TRUE(pixel::img_tag("HTTPS://H/p"));
}

TEST(ImgTag, QuoteInUrlCannotBreakOut) {
  // A URL from elsewhere with a quote: escaped, so the attribute stays closed.
  auto tag = pixel::img_tag("https://h/p?x=\"onerror=\"alert(1)").value();
  EXPECT_EQ(tag.find("\"onerror"), std::string::npos);
  EXPECT_NE(tag.find("&quot;onerror=&quot;alert(1)"), std::string::npos);
}

// ---------------------------------------------------------------------------------------
// Placement

TEST(Placement, PlaceholderReplacedEverywhere) {
  auto d = pixel::place_pixel("<p>top {{pixel}}</p><body>x</body>{{pixel}}", kTag);
  EXPECT_EQ(d.where, placement::placeholder);
  EXPECT_EQ(d.count, 2u);
  EXPECT_EQ(d.offset, 7u);
  EXPECT_EQ(d.html, std::string("<p>top ") + kTag + "</p><body>x</body>" + kTag);
}

TEST(Placement, AfterBodyAnyCaseWithAttributes) {
  auto d = pixel::place_pixel("<html><head></head><BODY class=\"x\">hi</BODY></html>", kTag);
  EXPECT_EQ(d.where, placement::after_body);
  EXPECT_EQ(d.html,
            std::string("<html><head></head><BODY class=\"x\">") + kTag + "hi</BODY></html>");
  EXPECT_EQ(d.offset, std::string("<html><head></head><BODY class=\"x\">").size());
  EXPECT_EQ(d.count, 1u);

  d = pixel::place_pixel("<body\n  bgcolor='#fff'\n>x", kTag);
  EXPECT_EQ(d.html, std::string("<body\n  bgcolor='#fff'\n>") + kTag + "x");
}

TEST(Placement, GreaterThanInsideQuotedAttribute) {
  auto d = pixel::place_pixel("<body data-x=\"a>b\" title='c>d'>x", kTag);
  EXPECT_EQ(d.html, std::string("<body data-x=\"a>b\" title='c>d'>") + kTag + "x");
  d = pixel::place_pixel("<body data-x = \"a>b\">x", kTag);
  EXPECT_EQ(d.html, std::string("<body data-x = \"a>b\">") + kTag + "x");
}

TEST(Placement, NotFooledByCommentsHeadStyleScript) {
  const std::string doc =
      "<!DOCTYPE html><html><head><!-- <body> in a comment -->"
      "<title>about <body></title>"
      "<style>/* <body> */ body{color:red}</style>"
      "<script>var s = '<body>';</script>"
      "<meta content=\"<body>\">"
      "<!--[if mso]><body class=\"mso\"><![endif]-->"
      "</head><body id=\"real\">content</body></html>";
  auto d = pixel::place_pixel(doc, kTag);
  EXPECT_EQ(d.where, placement::after_body);
  const std::string before = "<body id=\"real\">";
  const auto at = doc.find(before) + before.size();
  EXPECT_EQ(d.offset, at);
  EXPECT_EQ(d.html, doc.substr(0, at) + kTag + doc.substr(at));
}

TEST(Placement, BodyLikeNamesAreNotBody) {
  auto d = pixel::place_pixel("<bodyx><tbody><body>y", kTag);
  EXPECT_EQ(d.html, std::string("<bodyx><tbody><body>") + kTag + "y");
}

TEST(Placement, AppendedWhenNoBody) {
  auto d = pixel::place_pixel("<p>fragment</p>", kTag);
  EXPECT_EQ(d.where, placement::appended);
  EXPECT_EQ(d.html, std::string("<p>fragment</p>") + kTag);
  EXPECT_EQ(d.offset, 15u);
  // An unterminated comment hides everything after it.
  d = pixel::place_pixel("<!-- <body>", kTag);
  EXPECT_EQ(d.where, placement::appended);
  d = pixel::place_pixel("", kTag);
  EXPECT_EQ(d.where, placement::appended);
  EXPECT_EQ(d.html, kTag);
  d = pixel::place_pixel("<body class=\"unterminated>", kTag);
  EXPECT_EQ(d.where, placement::appended);
}

TEST(Placement, CustomAndDisabledPlaceholder) {
  auto d = pixel::place_pixel("<body>[[PX]]", kTag, "[[PX]]");
  EXPECT_EQ(d.where, placement::placeholder);
  EXPECT_EQ(d.html, std::string("<body>") + kTag);
  d = pixel::place_pixel("<body>{{pixel}}", kTag, "");
  EXPECT_EQ(d.where, placement::after_body);
}

TEST(Placement, OutlookNewsletter) {
  const std::string doc =
      "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\">\n"
      "<HTML xmlns:v=\"urn:schemas-microsoft-com:vml\">\n<HEAD>\n"
      "<!--[if gte mso 9]><xml><o:OfficeDocumentSettings></o:OfficeDocumentSettings></xml>"
      "<![endif]-->\n<STYLE>body { margin:0 } a[href^=tel] { color: inherit }</STYLE>\n"
      "</HEAD>\n<BODY STYLE=\"margin:0\" onload=\"x > y\">\n<!--[if mso]><table><tr><td>"
      "<![endif]-->\n<p>Hi</p>\n</BODY>\n</HTML>\n";
  auto d = pixel::place_pixel(doc, kTag);
  EXPECT_EQ(d.where, placement::after_body);
  const std::string open = "<BODY STYLE=\"margin:0\" onload=\"x > y\">";
  EXPECT_EQ(d.offset, doc.find(open) + open.size());
}

}  // namespace
