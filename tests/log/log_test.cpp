// The log reader against hand-written records and objects.
// SPDX-License-Identifier: MIT
#include "pixel/log.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace pixel::log;
namespace fs = std::filesystem;

class temp_dir {
 public:
  temp_dir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("pixel-log-test-" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  fs::path operator/(const std::string& s) const { return path_ / s; }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

void write_gzip(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  gzFile f = gzopen(p.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, text.data(), static_cast<unsigned>(text.size())),
            static_cast<int>(text.size()));
  gzclose(f);
}

TEST(log_fields, names_and_canonical_order) {
  EXPECT_EQ(field_name(field::timestamp), "timestamp");
  EXPECT_EQ(field_name(field::cs_uri_query), "cs-uri-query");
  EXPECT_EQ(field_name(field::cs_headers_count), "cs-headers-count");
  EXPECT_EQ(field_from_name("x-edge-request-id"), field::x_edge_request_id);
  EXPECT_FALSE(field_from_name("cs_uri_query").has_value());
  auto f = parse_fields("cs-uri-query,timestamp,sc-status,cs-user-agent,c-ip,timestamp");
  ASSERT_TRUE(f);
  EXPECT_EQ(*f, (std::vector<field>{field::timestamp, field::c_ip, field::sc_status,
                                    field::cs_user_agent, field::cs_uri_query}));
  auto bad = parse_fields("timestamp,bogus");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.code(), pixel::errc::invalid_argument);
  EXPECT_EQ(bad.error().message(), "unknown log field 'bogus'");
  EXPECT_FALSE(parse_fields("timestamp,,c-ip"));
  EXPECT_EQ(default_fields(), (std::vector<field>{field::timestamp, field::c_ip,
                                                  field::cs_user_agent, field::cs_uri_query}));
}

TEST(log_escape, escapes_exactly_cloudfronts_set) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  const std::string e = log_escape(all);
  std::string expected;
  const std::string special = "<>\"#%{}|\\^~[]`'";
  for (int c = 0; c < 256; ++c) {
    if (c <= 0x20 || c >= 0x7F || special.find(static_cast<char>(c)) != std::string::npos) {
      char b[4];
      std::snprintf(b, sizeof b, "%%%02X", c);
      expected += b;
    } else {
      expected.push_back(static_cast<char>(c));
    }
  }
  EXPECT_EQ(e, expected);
  auto back = log_unescape(e);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, all);
  EXPECT_EQ(log_escape("a%20b"), "a%2520b");
  EXPECT_EQ(log_escape("a=1&b=2/?:@!$()*+,;"), "a=1&b=2/?:@!$()*+,;");
  EXPECT_FALSE(log_unescape("a%2"));
  EXPECT_FALSE(log_unescape("a%zz"));
}

TEST(log_record, the_2520_case_decodes_once) {
  auto r = parse_record("1718787248.530\t203.0.113.9\tMozilla/5.0%20(X11)\tv=a%2520b&w=%25C3%25A9",
                        default_fields());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->timestamp_ms, 1718787248530);
  EXPECT_DOUBLE_EQ(r->timestamp(), 1718787248.53);
  EXPECT_EQ(r->c_ip, "203.0.113.9");
  EXPECT_EQ(r->user_agent, "Mozilla/5.0 (X11)");
  EXPECT_EQ(r->query, "v=a%20b&w=%C3%A9");  // as the client sent it
  ASSERT_EQ(r->params.size(), 2u);
  EXPECT_EQ(r->params[0], (std::pair<std::string, std::string>{"v", "a b"}));
  EXPECT_EQ(r->params[1], (std::pair<std::string, std::string>{"w", "\xC3\xA9"}));
  // A literal "%20" in a value was sent as %2520 and logged as %252520.
  auto lit = parse_record("1.000\t-\t-\tv=100%252520", default_fields());
  ASSERT_TRUE(lit);
  EXPECT_EQ(lit->query, "v=100%2520");
  EXPECT_EQ(*lit->param("v"), "100%20");
}

TEST(log_record, dash_fields_are_empty) {
  auto r = parse_record("1718787248.000\t-\t-\t-", default_fields());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->c_ip, "");
  EXPECT_EQ(r->user_agent, "");
  EXPECT_EQ(r->query, "");
  EXPECT_TRUE(r->params.empty());
  EXPECT_EQ(r->raw(field::cs_uri_query), "-");
  EXPECT_FALSE(r->raw(field::sc_status).has_value());
}

TEST(log_record, every_field_type) {
  auto fields = parse_fields(
      "timestamp,c-ip,time-to-first-byte,sc-status,sc-bytes,cs-method,cs-protocol,cs-host,"
      "cs-uri-stem,cs-bytes,x-edge-location,x-edge-request-id,x-host-header,time-taken,"
      "cs-protocol-version,c-ip-version,cs-user-agent,cs-referer,cs-cookie,cs-uri-query,"
      "x-edge-response-result-type,x-forwarded-for,ssl-protocol,ssl-cipher,x-edge-result-type,"
      "fle-encrypted-fields,fle-status,sc-content-type,sc-content-len,sc-range-start,"
      "sc-range-end,c-port,x-edge-detailed-result-type,c-country,cs-accept-encoding,cs-accept,"
      "cache-behavior-path-pattern,cs-headers,cs-header-names,cs-headers-count");
  ASSERT_TRUE(fields);
  ASSERT_EQ(fields->size(), field_count);
  const std::vector<std::string> values = {"1718787248.5",
                                           "2001:db8::1",
                                           "0.001",
                                           "503",
                                           "312",
                                           "GET",
                                           "https",
                                           "d1.cloudfront.net",
                                           "/1x1.png?a=%2520",
                                           "120",
                                           "FRA56-C1",
                                           "abcDEF==",
                                           "pixel.example.com",
                                           "0.002",
                                           "HTTP/2.0",
                                           "IPv6",
                                           "UA%201",
                                           "https://ex.com/",
                                           "-",
                                           "a=%2520&b",
                                           "Error",
                                           "-",
                                           "TLSv1.3",
                                           "TLS_AES_128_GCM_SHA256",
                                           "Error",
                                           "-",
                                           "-",
                                           "-",
                                           "0",
                                           "-",
                                           "-",
                                           "50123",
                                           "Error",
                                           "DE",
                                           "gzip",
                                           "image/webp,*/*",
                                           "/1x1.png",
                                           "Host:x%0A",
                                           "Host%0A",
                                           "1"};
  std::string line;
  for (std::size_t i = 0; i < values.size(); ++i) line += (i ? "\t" : "") + values[i];
  auto r = parse_record(line, *fields);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->timestamp_ms, 1718787248500);
  EXPECT_EQ(r->c_ip, "2001:db8::1");
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->user_agent, "UA 1");
  EXPECT_EQ(r->query, "a=%20&b");
  ASSERT_EQ(r->params.size(), 2u);
  EXPECT_EQ(r->params[0].second, " ");
  EXPECT_EQ(r->params[1], (std::pair<std::string, std::string>{"b", ""}));
  for (std::size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(r->raw((*fields)[i]), values[i]) << field_name((*fields)[i]);
  }
}

TEST(log_record, malformed_lines_are_errors_not_crashes) {
  const auto& f = default_fields();
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"1.000\t-\t-", "3 fields, expected 4"},
      {"1.000\t-\t-\t-\textra", "more than 4 fields"},
      {"abc\t-\t-\t-", "bad timestamp 'abc'"},
      {"1.0001\t-\t-\t-", "bad timestamp '1.0001'"},
      {"1.\t-\t-\t-", "bad timestamp '1.'"},
      {"171871878711114960.530\t-\t-\t-", "bad timestamp '171871878711114960.530'"},
      {"1.000\t\t-\t-", "empty c-ip (expected '-')"},
      {"1.000\t-\tUA%2\t-", "cs-user-agent: malformed log escape at byte 2"},
      {"1.000\t-\t-\ta=%25zz", "cs-uri-query: malformed percent-escape at byte 0"},
      {"1.000\t-\t-\ta=%25FF", "cs-uri-query: value of parameter 'a' is not valid UTF-8"},
      {"", "1 fields, expected 4"},
  };
  for (const auto& [line, message] : bad) {
    auto r = parse_record(line, f);
    ASSERT_FALSE(r) << line;
    EXPECT_EQ(r.code(), pixel::errc::invalid_argument);
    if (message.find("UTF-8") == std::string::npos) {
      EXPECT_EQ(r.error().message(), message) << line;
    } else {
      EXPECT_NE(r.error().message().find("UTF-8"), std::string::npos) << r.error().message();
    }
  }
  auto s = parse_fields("timestamp,sc-status");
  ASSERT_TRUE(s);
  EXPECT_FALSE(parse_record("1.000\t20x", *s));
  EXPECT_FALSE(parse_record("1.000\t2000", *s));
  auto ok = parse_record("1.000\t-", *s);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 0);
}

std::vector<record> read_all(const std::vector<std::string>& paths, reader_options o,
                             std::vector<problem>* problems = nullptr) {
  if (problems) o.on_problem = [problems](const problem& p) { problems->push_back(p); };
  auto r = reader::open(paths, o);
  EXPECT_TRUE(r);
  std::vector<record> out;
  if (!r) return out;
  record rec;
  while (r->next(rec)) out.push_back(rec);
  return out;
}

TEST(log_reader, folders_plain_and_gzip_in_path_order) {
  temp_dir d;
  write(d / "out/year=2024/month=06/day=19/hour=08/obj-1",
        "1718787248.100\t-\t-\tn=1\n"
        "1718787248.200\t-\t-\tn=2\n");
  write_gzip(d / "out/year=2024/month=06/day=19/hour=09/obj-2.gz", "1718790848.300\t-\t-\tn=3\n");
  write(d / "out/year=2024/month=06/day=19/hour=09/.obj-3.tmp", "1718790848.300\t-\t-\tn=99\n");
  write(d / "single", "1718790849.000\t-\t-\tn=4\n");
  const auto recs = read_all({(d / "out").string(), (d / "single").string()}, {});
  ASSERT_EQ(recs.size(), 4u);
  for (std::size_t i = 0; i < recs.size(); ++i) {
    EXPECT_EQ(*recs[i].param("n"), std::to_string(i + 1));
  }
  auto missing = reader::open({(d / "nope").string()}, {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message(), "no such file or folder: " + (d / "nope").string());
}

TEST(log_reader, malformed_lines_reported_with_file_and_line_and_skipped) {
  temp_dir d;
  write(d / "a",
        "1.000\t-\t-\tn=1\nbroken line\n2.000\t-\t-\tn=2\n3.000\t-\t-\tn=%25\n"
        "4.000\t-\t-\tn=4\n5.000\t-\t-\tn=5");  // the last has no newline
  std::vector<problem> problems;
  const auto recs = read_all({(d / "a").string()}, {}, &problems);
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(*recs[2].param("n"), "4");
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(problems[0].file, (d / "a").string());
  EXPECT_EQ(problems[0].line, 2u);
  EXPECT_EQ(problems[0].message, "1 fields, expected 4");
  EXPECT_EQ(problems[1].line, 4u);
  EXPECT_EQ(problems[2].line, 6u);
  EXPECT_EQ(problems[2].message, "last line has no newline");
}

TEST(log_reader, long_lines_and_binary_garbage) {
  temp_dir d;
  std::string text = "1.000\t-\t-\tn=" + std::string(5000, 'x') + "\n";
  text += std::string("\x1f\x8b\x00\xff\n", 5);
  text += "2.000\t-\t-\tn=2\n";
  write(d / "a", text);
  std::vector<problem> problems;
  reader_options o;
  o.max_line = 1000;
  const auto recs = read_all({(d / "a").string()}, o, &problems);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(*recs[0].param("n"), "2");
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].line, 1u);
  EXPECT_EQ(problems[0].message, "line longer than 1000 bytes");
  EXPECT_EQ(problems[1].line, 2u);
  // A truncated gzip object: what was readable is returned, the error reported.
  std::string gz;
  {
    write_gzip(d / "full.gz", std::string(200, 'y'));
    std::ifstream in(d / "full.gz", std::ios::binary);
    gz.assign(std::istreambuf_iterator<char>(in), {});
  }
  write(d / "cut.gz", gz.substr(0, gz.size() / 2));
  problems.clear();
  EXPECT_TRUE(read_all({(d / "cut.gz").string()}, {}, &problems).empty());
  EXPECT_FALSE(problems.empty());
}

TEST(log_reader, dedupe_keeps_the_first_delivered_attempt) {
  temp_dir d;
  auto f = parse_fields("timestamp,sc-status,cs-uri-query");
  ASSERT_TRUE(f);
  write(d / "a",
        "1.000\t503\teid=A&n=1\n"  // failed attempt of A
        "2.000\t200\teid=A&n=2\n"  // A delivered
        "3.000\t200\teid=B&n=3\n"
        "4.000\t200\teid=A&n=4\n"  // A again (ambiguous failure retried)
        "5.000\t200\tn=5\n"        // no event id: kept
        "6.000\t200\tn=6\n");
  reader_options o;
  o.fields = *f;
  auto all = read_all({(d / "a").string()}, o);
  EXPECT_EQ(all.size(), 6u);
  o.dedupe = true;
  auto r = reader::open({(d / "a").string()}, o);
  ASSERT_TRUE(r);
  std::vector<std::string> ns;
  record rec;
  while (r->next(rec)) ns.push_back(*rec.param("n"));
  EXPECT_EQ(ns, (std::vector<std::string>{"2", "3", "5", "6"}));
  EXPECT_EQ(r->duplicates(), 2u);
  // Another key name.
  write(d / "b", "1.000\t200\tid=X\n2.000\t200\tid=X\n");
  o.event_id_key = "id";
  EXPECT_EQ(read_all({(d / "b").string()}, o).size(), 1u);
}

TEST(log_reader, since_and_until) {
  temp_dir d;
  write(d / "a", "10.000\t-\t-\tn=1\n20.000\t-\t-\tn=2\n30.000\t-\t-\tn=3\n");
  reader_options o;
  o.since_ms = 20000;
  o.until_ms = 30000;
  const auto recs = read_all({(d / "a").string()}, o);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(*recs[0].param("n"), "2");
}

TEST(log_reader, streams_many_records) {
  temp_dir d;
  {
    gzFile g = gzopen((d / "big.gz").c_str(), "wb");
    ASSERT_NE(g, nullptr);
    for (int i = 0; i < 100000; ++i) {
      const std::string l = "1718787248.000\t10.0.0.1\tUA\teid=" + std::to_string(i) + "&v=%2520\n";
      gzwrite(g, l.data(), static_cast<unsigned>(l.size()));
    }
    gzclose(g);
  }
  reader_options o;
  o.dedupe = true;
  auto r = reader::open({(d / "big.gz").string()}, o);
  ASSERT_TRUE(r);
  record rec;
  std::size_t n = 0;
  while (r->next(rec)) {
    ASSERT_EQ(*rec.param("eid"), std::to_string(n));
    ASSERT_EQ(*rec.param("v"), " ");
    ++n;
  }
  EXPECT_EQ(n, 100000u);
  EXPECT_EQ(r->malformed(), 0u);
}

}  // namespace
