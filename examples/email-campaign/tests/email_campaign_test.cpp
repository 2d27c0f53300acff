// Tests of the email-campaign pieces and golden output of a whole campaign.
// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "campaign.hpp"
#include "csv_reader.hpp"
#include "manifest.hpp"
#include "merge_template.hpp"
#include "mime.hpp"

namespace ec = email_campaign;
namespace fs = std::filesystem;

namespace {
int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A strict decoder: fails the test on anything RFC 2045 does not allow.
std::string qp_decode(const std::string& in) {
  std::string out;
  std::size_t pos = 0;
  while (pos <= in.size()) {
    std::size_t end = in.find("\r\n", pos);
    const bool last = end == std::string::npos;
    if (last) end = in.size();
    const std::string line = in.substr(pos, end - pos);
    EXPECT_LE(line.size(), 76u) << line;
    EXPECT_EQ(line.find('\n'), std::string::npos);
    if (!line.empty()) {
      EXPECT_NE(line.back(), ' ') << "unencoded trailing space: " << line;
      EXPECT_NE(line.back(), '\t') << "unencoded trailing tab: " << line;
    }
    bool soft = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
      const char c = line[i];
      if (c == '=') {
        if (i + 1 == line.size()) {
          soft = true;
          break;
        }
        EXPECT_LT(i + 2, line.size() + 0) << line;
        const int hi = hex(line[i + 1]), lo = i + 2 < line.size() ? hex(line[i + 2]) : -1;
        EXPECT_TRUE(hi >= 0 && lo >= 0) << line;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
      } else {
        const auto u = static_cast<unsigned char>(c);
        EXPECT_TRUE((u >= 33 && u <= 126) || u == ' ' || u == '\t') << "raw byte " << int(u);
        out += c;
      }
    }
    if (last) break;
    if (!soft) out += "\n";
    pos = end + 2;
  }
  return out;
}

std::string b64_decode(const std::string& s) {
  std::string out(s.size(), '\0');
  const int n =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  EXPECT_GE(n, 0);
  std::size_t len = static_cast<std::size_t>(n);
  if (!s.empty() && s.back() == '=') --len;
  if (s.size() > 1 && s[s.size() - 2] == '=') --len;
  out.resize(len);
  return out;
}

// Unfolds a header and decodes its encoded-words (adjacent ones joined, RFC 2047 6.2).
std::string decode_header_value(const std::string& field) {
  std::string v = field.substr(field.find(':') + 1);
  std::string unfolded;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v.compare(i, 2, "\r\n") == 0) {
      ++i;
      continue;
    }
    unfolded += v[i];
  }
  if (!unfolded.empty() && unfolded[0] == ' ') unfolded.erase(0, 1);
  std::string out;
  std::size_t i = 0;
  bool last_was_word = false;
  while (i < unfolded.size()) {
    std::size_t ws = i;
    while (ws < unfolded.size() && unfolded[ws] == ' ') ++ws;
    if (unfolded.compare(ws, 10, "=?UTF-8?B?") == 0) {
      const std::size_t end = unfolded.find("?=", ws + 10);
      if (!last_was_word) out += unfolded.substr(i, ws - i);
      out += b64_decode(unfolded.substr(ws + 10, end - ws - 10));
      i = end + 2;
      last_was_word = true;
    } else {
      out += unfolded[i++];
      last_was_word = false;
    }
  }
  return out;
}

std::vector<std::string> header_lines(const std::string& h) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < h.size()) {
    std::size_t end = h.find("\r\n", pos);
    lines.push_back(h.substr(pos, end - pos));
    pos = end + 2;
  }
  return lines;
}
}  // namespace

TEST(Manifest, SentAtAcceptsEpochAndIso8601) {
  EXPECT_EQ(ec::parse_sent_at("1718787248"), 1718787248000u);
  EXPECT_EQ(ec::parse_sent_at("1718787248.53"), 1718787248530u);
  EXPECT_EQ(ec::parse_sent_at("2024-06-19T08:54:08Z"), 1718787248000u);
  EXPECT_EQ(ec::parse_sent_at("2024-06-19T08:54:08.5Z"), 1718787248500u);
  EXPECT_EQ(ec::parse_sent_at("2024-06-19T10:54:08+02:00"), 1718787248000u);
  EXPECT_EQ(ec::parse_sent_at("2024-06-19T03:54:08.125-05:00"), 1718787248125u);
  EXPECT_EQ(ec::parse_sent_at("2024-06-19T08:54"), 1718787240000u);
  for (const char* bad : {"", "x", "1718787248.", "2024-06-19", "2024-13-19T08:54:08Z",
                          "2024-06-19T08:54:08+0200", "2024-06-19T08:54:08Zjunk", "-5"}) {
    EXPECT_FALSE(ec::parse_sent_at(bad)) << bad;
  }
}

TEST(Manifest, OneJsonObjectPerMessage) {
  const auto p = std::filesystem::temp_directory_path() /
                 ("manifest-" + std::to_string(::getpid()) + ".jsonl");
  {
    ec::manifest_writer w;
    std::string error;
    ASSERT_TRUE(w.open(p.string(), error)) << error;
    w.add("spring \"24\"", std::string_view("01J0QV84CJR58T75WFQ6WJA0N8"),
          std::string_view("u\\1\n"), 1718787248530, pixel::tracking_mode::identified);
    w.add("spring", std::string_view("E2"), std::nullopt, 1718787248000,
          pixel::tracking_mode::aggregate);
    w.add("spring", std::nullopt, std::nullopt, 1718787248000, pixel::tracking_mode::off);
    ASSERT_TRUE(w.close());
  }
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(),
            "{\"campaign\": \"spring \\\"24\\\"\", \"eid\": \"01J0QV84CJR58T75WFQ6WJA0N8\", "
            "\"recipient\": \"u\\\\1\\u000a\", \"sent\": 1718787248.53, \"mode\": \"identified\"}\n"
            "{\"campaign\": \"spring\", \"eid\": \"E2\", \"recipient\": null, \"sent\": "
            "1718787248, \"mode\": \"aggregate\"}\n"
            "{\"campaign\": \"spring\", \"eid\": null, \"recipient\": null, \"sent\": "
            "1718787248, \"mode\": \"off\"}\n");
  std::filesystem::remove(p);
}

TEST(QuotedPrintable, KnownVectors) {
  std::string out;
  ec::qp_encode_append("a=b", out);
  EXPECT_EQ(out, "a=3Db");
  out.clear();
  ec::qp_encode_append("end \nnext\t\r\nlast ", out);
  EXPECT_EQ(out, "end=20\r\nnext=09\r\nlast=20");
  out.clear();
  ec::qp_encode_append("caf\xC3\xA9 <b>", out);
  EXPECT_EQ(out, "caf=C3=A9 <b>");
  out.clear();
  ec::qp_encode_append(std::string(100, 'x'), out);
  EXPECT_EQ(out, std::string(75, 'x') + "=\r\n" + std::string(25, 'x'));
  out.clear();
  ec::qp_encode_append("lone\rCR", out);
  EXPECT_EQ(out, "lone=0DCR");
}

TEST(QuotedPrintable, RandomRoundTrip) {
  std::mt19937 rng(12345);
  const std::string alphabet = std::string("ab =\t\r\n\xC3\xA9.-") + std::string(1, '\0');
  for (int round = 0; round < 2000; ++round) {
    std::string in;
    const std::size_t len = rng() % 300;
    for (std::size_t i = 0; i < len; ++i) in += alphabet[rng() % alphabet.size()];
    std::string out;
    ec::qp_encode_append(in, out);
    std::string canonical;  // the encoder writes every line break as CRLF
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (in[i] == '\r' && i + 1 < in.size() && in[i + 1] == '\n') continue;
      canonical += in[i];
    }
    ASSERT_EQ(qp_decode(out), canonical) << "round " << round;
  }
}

TEST(Base64, LinesOf76) {
  std::string in;
  for (int i = 0; i < 1000; ++i) in += static_cast<char>(i * 7);
  std::string out;
  ec::base64_lines_append(in, out);
  std::string joined;
  for (const auto& line : header_lines(out)) {
    EXPECT_LE(line.size(), 76u);
    joined += line;
  }
  EXPECT_EQ(b64_decode(joined), in);
}

TEST(Headers, AsciiSubjectFoldsAtSpaces) {
  std::string subject;
  for (int i = 0; i < 30; ++i) subject += "word" + std::to_string(i) + " ";
  subject += "end";
  std::string out;
  ec::append_text_header("Subject", subject, out);
  for (const auto& line : header_lines(out)) EXPECT_LE(line.size(), 78u) << line;
  EXPECT_EQ(out.find("=?"), std::string::npos);
  EXPECT_EQ(decode_header_value(out.substr(0, out.size() - 2)), subject);
}

TEST(Headers, Utf8SubjectBecomesEncodedWords) {
  const std::string subject =
      "\xE6\x98\xA5\xE3\x81\xAE\xE3\x81\x8A\xE7\x9F\xA5\xE3\x82\x89\xE3\x81\x9B "
      "for Zo\xC3\xAB & <script> \xF0\x9F\x98\x80 =?not-a-word?= "
      "\xE5\xB1\xB1\xE7\x94\xB0\xE5\xA4\xAA\xE9\x83\x8E\xE5\xB1\xB1\xE7\x94\xB0\xE5\xA4\xAA";
  std::string out;
  ec::append_text_header("Subject", subject, out);
  for (const auto& line : header_lines(out)) {
    EXPECT_LE(line.size(), 76u) << line;
    for (char c : line) EXPECT_LT(static_cast<unsigned char>(c), 0x80);
  }
  EXPECT_EQ(decode_header_value(out.substr(0, out.size() - 2)), subject);
}

TEST(Headers, ControlsInHeaderTextBecomeSpaces) {
  std::string out;
  ec::append_text_header("Subject", "Hi\r\nBcc: x@example.com", out);
  EXPECT_EQ(out.find("\r\nBcc"), std::string::npos);
  EXPECT_EQ(decode_header_value(out.substr(0, out.size() - 2)), "Hi Bcc: x@example.com");
  out.clear();
  ec::append_mailbox_header("To", "Evil\r\nBcc: v@example.com", "a@example.com", out);
  EXPECT_EQ(out, "To: \"Evil Bcc: v@example.com\" <a@example.com>\r\n");
}

TEST(Headers, Mailboxes) {
  std::string out;
  ec::append_mailbox_header("To", "Bob \"The Builder\" O'Neil, Jr. \\", "bob@example.com", out);
  EXPECT_EQ(out, "To: \"Bob \\\"The Builder\\\" O'Neil, Jr. \\\\\" <bob@example.com>\r\n");
  out.clear();
  ec::append_mailbox_header("To", "", "\xE3\x83\xA6@\xE4\xBE\x8B.jp", out);
  EXPECT_EQ(out, "To: \xE3\x83\xA6@\xE4\xBE\x8B.jp\r\n");  // RFC 6532: kept as UTF-8
  out.clear();
  ec::append_mailbox_header("To", "\xE5\xB1\xB1\xE7\x94\xB0 \xE5\xA4\xAA\xE9\x83\x8E",
                            "t@example.jp", out);
  EXPECT_EQ(out, "To: =?UTF-8?B?5bGx55SwIOWkqumDjg==?= <t@example.jp>\r\n");
}

TEST(Headers, Addresses) {
  EXPECT_EQ(ec::check_address("a.b+tag@example.com"), "");
  EXPECT_EQ(ec::check_address("o'brien@example.ie"), "");
  EXPECT_EQ(ec::check_address("\xE3\x83\xA6@\xE4\xBE\x8B.jp"), "");
  EXPECT_NE(ec::check_address("no-at"), "");
  EXPECT_NE(ec::check_address("a@b@c"), "");
  EXPECT_NE(ec::check_address("@example.com"), "");
  EXPECT_NE(ec::check_address("a@"), "");
  EXPECT_NE(ec::check_address("a b@example.com"), "");
  EXPECT_NE(ec::check_address("a..b@example.com"), "");
  EXPECT_NE(ec::check_address("a@example..com"), "");
  EXPECT_NE(ec::check_address("<a@example.com>"), "");
}

TEST(Headers, Date) {
  EXPECT_EQ(ec::rfc5322_date(1718787248), "Wed, 19 Jun 2024 08:54:08 +0000");
}

namespace {
struct parsed {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::size_t> lines;
  std::vector<std::size_t> error_lines;
};

parsed parse_csv(const std::string& text, std::size_t chunk) {
  parsed p;
  ec::csv_reader reader(
      [&](const ec::csv_row& row) {
        p.rows.emplace_back(row.fields->begin(),
                            row.fields->begin() + static_cast<std::ptrdiff_t>(row.count));
        p.lines.push_back(row.line);
      },
      [&](std::size_t line, const std::string&) { p.error_lines.push_back(line); });
  for (std::size_t i = 0; i < text.size(); i += chunk) {
    reader.feed(text.data() + i, std::min(chunk, text.size() - i));
  }
  reader.finish();
  return p;
}
}  // namespace

TEST(CsvReader, Rfc4180EdgeCasesInAnyChunking) {
  const std::string text =
      "\xEF\xBB\xBF"
      "email,name\r\n"
      "  a@example.com  ,  Plain  \r\n"
      "\"b@example.com\",\"Doe, \"\"JD\"\" John\"\r\n"
      "\r\n"
      "c@example.com,\"two\r\nlines\"\r\n"
      "d@example.com,bad\"quote\n"
      "e@example.com,\"x\" trailing\n"
      "f@example.com,\xE5\xB1\xB1\xE7\x94\xB0\n"
      "g@example.com,\"never closed\n"
      "h@example.com,more\n";
  for (std::size_t chunk : {1u, 2u, 7u, 64u, 4096u}) {
    const parsed p = parse_csv(text, chunk);
    ASSERT_EQ(p.rows.size(), 5u) << "chunk " << chunk;
    EXPECT_EQ(p.rows[0], (std::vector<std::string>{"email", "name"}));
    EXPECT_EQ(p.rows[1], (std::vector<std::string>{"a@example.com", "Plain"}));
    EXPECT_EQ(p.rows[2], (std::vector<std::string>{"b@example.com", "Doe, \"JD\" John"}));
    EXPECT_EQ(p.rows[3], (std::vector<std::string>{"c@example.com", "two\r\nlines"}));
    EXPECT_EQ(p.rows[4], (std::vector<std::string>{"f@example.com", "\xE5\xB1\xB1\xE7\x94\xB0"}));
    EXPECT_EQ(p.lines, (std::vector<std::size_t>{1, 2, 3, 5, 9}));
    // bad"quote (line 7), text after a closing quote (line 8), and the quote opened on
    // line 10 that swallows the rest of the file.
    EXPECT_EQ(p.error_lines, (std::vector<std::size_t>{7, 8, 10})) << "chunk " << chunk;
  }
}

TEST(MergeTemplate, EscapesForHtmlAndKeepsRawForText) {
  std::vector<std::string> unknown;
  const std::vector<std::string> columns = {"email", "First_Name"};
  auto t = ec::merge_template::compile(
      "<p a=\"{{email}}\">Hi {{ first_name }}{{nope}}!</p>{{pixel}}", columns, {}, unknown);
  EXPECT_EQ(unknown, (std::vector<std::string>{"nope"}));
  EXPECT_EQ(t.pixel_slots(), 1u);
  const std::vector<std::string> values = {"x\"@example.com", "<script>&'"};
  std::string out;
  const std::size_t at = t.render_html(values, "<img>", out);
  EXPECT_EQ(out, "<p a=\"x&quot;@example.com\">Hi &lt;script&gt;&amp;&#39;!</p><img>");
  EXPECT_EQ(at, out.size() - 5);
  out.clear();
  t.render_raw(values, "", out);
  EXPECT_EQ(out, "<p a=\"x\"@example.com\">Hi <script>&'!</p>");
}

TEST(MergeTemplate, ValuesAreNeverExpandedAgain) {
  std::vector<std::string> unknown;
  auto t = ec::merge_template::compile("{{a}}|{{b}}", {"a", "b"}, {}, unknown);
  std::string out;
  t.render_raw({"{{b}}", "{{pixel}}"}, "PIXEL", out);
  EXPECT_EQ(out, "{{b}}|{{pixel}}");
}

TEST(HtmlToText, OutlookNewsletter) {
  const std::string html =
      "<!DOCTYPE html><HTML><HEAD><TITLE>T</TITLE><STYLE>p{}</STYLE></HEAD>"
      "<!--[if mso]><BODY class=\"o\"><![endif]--><BODY>"
      "<H1>Hi {{first_name}}</H1><P>Caf&eacute;? &amp; &#x1F600; &#233;&nbsp;x&zwnj;</P>"
      "<TABLE><TR><TD>a</TD><TD>b</TD></TR></TABLE>line<BR>break "
      "<A HREF=\"https://example.com/x?a=1&amp;b=2\">Read</A>"
      "<SCRIPT>var x = '<p>';</SCRIPT></BODY></HTML>";
  EXPECT_EQ(ec::html_to_text(html),
            "Hi {{first_name}}\n\nCaf&eacute;? & \xF0\x9F\x98\x80 \xC3\xA9 x\n\na b\nline\nbreak "
            "Read (https://example.com/x?a=1&b=2)\n");
  EXPECT_EQ(ec::html_title(html), "T");
}

namespace {
std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

// The sample campaign, made deterministic by --seed and --now-ms, byte for byte.
TEST(Golden, SampleCampaign) {
  const fs::path source = EMAIL_CAMPAIGN_SOURCE_DIR;
  const fs::path out =
      fs::temp_directory_path() / ("email-campaign-golden-" + std::to_string(::getpid()));
  fs::remove_all(out);
  ec::options o;
  o.template_path = (source / "templates/newsletter.html").string();
  o.text_template_path = (source / "templates/newsletter.txt").string();
  o.recipients_path = (source / "templates/recipients.csv").string();
  o.campaign = "spring-2024";
  o.endpoint = "https://d111111abcdef8.cloudfront.net";
  o.out_dir = out.string();
  o.from = "Example News <news@example.com>";
  o.subject = "Spring news for {{first_name}} \xF0\x9F\x8C\xB8";
  o.seed = 42;
  o.now_ms = 1718787248530;
  ec::summary s;
  std::FILE* log = std::tmpfile();
  ASSERT_NE(log, nullptr);
  ASSERT_EQ(ec::run(o, log, s), 0);
  std::fclose(log);
  EXPECT_EQ(s.generated, 7u);
  const fs::path golden = source / "tests/golden";
  std::size_t compared = 0;
  for (const auto& entry : fs::directory_iterator(golden)) {
    if (entry.path().filename().string()[0] == '.') continue;  // .gitattributes
    const fs::path produced = out / entry.path().filename();
    ASSERT_TRUE(fs::exists(produced)) << produced;
    EXPECT_EQ(slurp(produced), slurp(entry.path())) << entry.path().filename();
    ++compared;
  }
  EXPECT_EQ(compared, 9u);  // 7 messages and the two manifests
  fs::remove_all(out);
}
