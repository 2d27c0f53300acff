// The log reader against hand-written records and objects.
// SPDX-License-Identifier: MIT
#include "pixel/log.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace pixel::log;
namespace fs = std::filesystem;

// The published distribution's original four fields.
const field_list four = {field::timestamp, field::c_ip, field::cs_user_agent, field::cs_uri_query};

reader_options four_fields() {
  reader_options o;
  o.fields = four;
  return o;
}

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

TEST(log_fields, names) {
  EXPECT_EQ(field_name(field::timestamp), "timestamp");
  EXPECT_EQ(field_name(field::cs_uri_query), "cs-uri-query");
  EXPECT_EQ(field_name(field::cmcd_requested_maximum_throughput),
            "cmcd-requested-maximum-throughput");
  EXPECT_EQ(field_from_name("x-edge-request-id"), field::x_edge_request_id);
  EXPECT_FALSE(field_from_name("cs_uri_query").has_value());
}

TEST(log_fields, the_catalog_is_fields_json) {
  std::ifstream in(PIXEL_FIELDS_JSON);
  ASSERT_TRUE(in) << PIXEL_FIELDS_JSON;
  const auto j = nlohmann::json::parse(in);
  const auto& rt = j.at("realtime");
  ASSERT_EQ(rt.size(), field_count);
  const std::map<std::string, field_type> types = {{"text", field_type::text},
                                                   {"integer", field_type::integer},
                                                   {"decimal", field_type::decimal},
                                                   {"ip", field_type::ip},
                                                   {"epoch_time", field_type::epoch_time}};
  for (std::size_t i = 0; i < field_count; ++i) {
    const auto f = static_cast<field>(i);
    EXPECT_EQ(field_name(f), rt[i].at("name").get<std::string>()) << i;
    EXPECT_EQ(type_of(f), types.at(rt[i].at("type").get<std::string>())) << field_name(f);
    EXPECT_EQ(is_escaped(f), rt[i].at("escaped").get<bool>()) << field_name(f);
    EXPECT_EQ(field_from_name(rt[i].at("name").get<std::string>()), f);
  }
  std::vector<std::string> def;
  for (std::size_t i = 0; i < default_fields().size(); ++i) {
    def.emplace_back(default_fields().name(i));
  }
  EXPECT_EQ(def, j.at("default").get<std::vector<std::string>>());
  // Standard-log names: a column of its own (type and output key) or a real-time field.
  const auto& std_cols = j.at("standard").at("columns");
  ASSERT_EQ(std_cols.size(), std::size(standard_columns));
  for (const auto& c : std_cols) {
    const auto name = c.at("name").get<std::string>();
    const field f = standard_column(name);
    EXPECT_EQ(field_name(f), c.contains("field") ? c.at("field").get<std::string>() : name);
    if (c.contains("column")) {
      EXPECT_GE(static_cast<std::size_t>(f), field_count + 1) << name;
      EXPECT_EQ(type_of(f), types.at(c.at("type").get<std::string>())) << name;
      EXPECT_EQ(is_escaped(f), c.at("escaped").get<bool>()) << name;
      field_list l;
      l.push_back(f, name);
      EXPECT_EQ(l.key(0), c.at("column").get<std::string>());
    }
  }
  std::vector<std::string> sdef;
  for (std::size_t i = 0; i < standard_default_fields().size(); ++i) {
    sdef.emplace_back(standard_default_fields().name(i));
  }
  EXPECT_EQ(sdef, j.at("standard").at("default").get<std::vector<std::string>>());
}

TEST(log_fields, order_agrees_with_real_records) {
  // Real records carry s-ip right after c-ip, and primary-distribution-id and asn after
  // cache-behavior-path-pattern; the configurable default is written in catalog order.
  EXPECT_EQ(static_cast<int>(field::s_ip), static_cast<int>(field::c_ip) + 1);
  EXPECT_GT(field::primary_distribution_id, field::cache_behavior_path_pattern);
  EXPECT_GT(field::asn, field::primary_distribution_id);
  EXPECT_GT(field::origin_lbl, field::origin_fbl);
  EXPECT_EQ(default_fields().to_string(),
            "timestamp,c-ip,sc-status,cs-uri-stem,x-edge-request-id,cs-user-agent,cs-referer,"
            "cs-uri-query");
  auto f = parse_fields("cs-uri-query,timestamp,sc-status,cs-user-agent,c-ip,timestamp,s-ip");
  ASSERT_TRUE(f);
  EXPECT_EQ(*f, (field_list{field::timestamp, field::c_ip, field::s_ip, field::sc_status,
                            field::cs_user_agent, field::cs_uri_query}));
}

TEST(log_fields, unknown_names_need_the_order_given) {
  auto bad = parse_fields("timestamp,bogus-field");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.code(), pixel::errc::invalid_argument);
  EXPECT_NE(bad.error().message().find("'bogus-field'"), std::string::npos);
  // The library names no option of the command-line tool (pixel logs adds its own hint).
  EXPECT_EQ(bad.error().message(),
            "unknown log field 'bogus-field': not a CloudFront real-time field this version knows");
  EXPECT_FALSE(parse_fields("timestamp,,c-ip"));
  auto given = parse_fields("c-ip,timestamp,new-field", field_order::as_given);
  ASSERT_TRUE(given) << given.error().message();
  ASSERT_EQ(given->size(), 3u);
  EXPECT_EQ((*given)[0], field::c_ip);
  EXPECT_EQ((*given)[1], field::timestamp);
  EXPECT_EQ((*given)[2], unknown_field);
  EXPECT_EQ(given->name(2), "new-field");
  EXPECT_EQ(given->key(2), "new_field");
  EXPECT_FALSE(parse_fields("c-ip,c-ip", field_order::as_given));
  auto r = parse_record("203.0.113.9\t1.5\ta%20b%09c", *given);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->timestamp_ms, 1500);
  EXPECT_EQ(r->value(2), "a%20b%09c");
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
  // The reader's own unescaping keeps a '%' that starts no escape.
  std::string kept;
  log_unescape_append("a%2%zz%41%", kept);
  EXPECT_EQ(kept, "a%2%zzA%");
}

TEST(log_record, the_2520_case_decodes_once) {
  auto r = parse_record("1718787248.530\t203.0.113.9\tMozilla/5.0%20(X11)\tv=a%2520b&w=%25C3%25A9",
                        four);
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
  auto lit = parse_record("1.000\t-\t-\tv=100%252520", four);
  ASSERT_TRUE(lit);
  EXPECT_EQ(lit->query, "v=100%2520");
  EXPECT_EQ(*lit->param("v"), "100%20");
}

TEST(log_record, the_query_splits_on_ampersands_and_the_first_equals_sign) {
  // Keys and values of 7, 8 and 9 bytes and marks on either side of 8-byte boundaries;
  // empty parts skipped, a part without '=' a key with an empty value, '%' decoded in keys
  // and values alike (a '%' without two hex digits kept), '+' kept.
  auto r = parse_record(
      "1.000\t-\t-\t&&abcdefg=1234567&abcdefgh=12345678&&abcdefghi==x=y&=v&k%253D=%2526&"
      "novalue&longer-key-without-marks&e=%25zz%25&p=a+b&last=%2541",
      four);
  ASSERT_TRUE(r) << r.error().message();
  const std::vector<std::pair<std::string, std::string>> want = {{"abcdefg", "1234567"},
                                                                 {"abcdefgh", "12345678"},
                                                                 {"abcdefghi", "=x=y"},
                                                                 {"", "v"},
                                                                 {"k=", "&"},
                                                                 {"novalue", ""},
                                                                 {"longer-key-without-marks", ""},
                                                                 {"e", "%zz%"},
                                                                 {"p", "a+b"},
                                                                 {"last", "A"}};
  EXPECT_EQ(r->params, want);
  auto only = parse_record("1.000\t-\t-\t&", four);
  ASSERT_TRUE(only);
  EXPECT_TRUE(only->params.empty());
  auto tail = parse_record("1.000\t-\t-\ta=1&", four);
  ASSERT_TRUE(tail);
  EXPECT_EQ(tail->params, (std::vector<std::pair<std::string, std::string>>{{"a", "1"}}));
}

TEST(log_record, dash_and_empty_fields_are_absent) {
  auto r = parse_record("1718787248.000\t-\t-\t-", four);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->c_ip, "");
  EXPECT_EQ(r->user_agent, "");
  EXPECT_EQ(r->query, "");
  EXPECT_TRUE(r->params.empty());
  EXPECT_EQ(r->raw(field::cs_uri_query), "-");
  EXPECT_TRUE(r->absent(3));
  EXPECT_FALSE(r->raw(field::sc_status).has_value());
  // CloudFront writes some absent values as nothing between two tabs (x-forwarded-for):
  // read like '-', never a malformed record.
  auto fields =
      parse_fields("timestamp,c-ip,sc-status,x-forwarded-for,sc-content-len,cs-uri-query");
  ASSERT_TRUE(fields);
  auto e = parse_record("1718787248.000\t\t\t\t\t", *fields);
  ASSERT_TRUE(e) << e.error().message();
  for (std::size_t i = 1; i < 6; ++i) EXPECT_TRUE(e->absent(i)) << i;
  EXPECT_EQ(e->status, 0);
  EXPECT_FALSE(e->closed);
  EXPECT_TRUE(e->params.empty());
  EXPECT_TRUE(e->delivered() == false);             // sc-status logged but absent: not a 2xx/3xx
  auto t = parse_record("\t\t\tv=1\t\t", *fields);  // cs-uri-query comes 4th
  ASSERT_TRUE(t);
  EXPECT_EQ(t->timestamp_ms, 0);
  EXPECT_EQ(*t->param("v"), "1");
}

TEST(log_record, status_000_is_closed) {
  auto f = parse_fields("timestamp,sc-status");
  ASSERT_TRUE(f);
  auto closed = parse_record("1.000\t000", *f);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->status, 0);
  EXPECT_TRUE(closed->closed);
  EXPECT_FALSE(closed->delivered());
  auto ok = parse_record("1.000\t304", *f);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 304);
  EXPECT_FALSE(ok->closed);
  EXPECT_TRUE(ok->delivered());
  auto no_status = parse_record("1.000\t-\t-\t-", four);
  ASSERT_TRUE(no_status);
  EXPECT_TRUE(no_status->delivered());  // nothing says it failed
}

// One hand-written value for every catalog field, as the developer guide describes each:
// epoch seconds, addresses, decimals of seconds, integers, free text log-escaped.
const std::vector<std::pair<field, std::string>>& every_field_values() {
  static const std::vector<std::pair<field, std::string>> v = {
      {field::timestamp, "1718787248.5"},
      {field::c_ip, "2001:db8::1"},
      {field::s_ip, "198.51.100.7"},
      {field::time_to_first_byte, "0.001"},
      {field::sc_status, "503"},
      {field::sc_bytes, "312"},
      {field::cs_method, "GET"},
      {field::cs_protocol, "https"},
      {field::cs_host, "d1.cloudfront.net"},
      {field::cs_uri_stem, "/1x1.png?a=%2520"},
      {field::cs_bytes, "120"},
      {field::x_edge_location, "FRA56-C1"},
      {field::x_edge_request_id, "abcDEF=="},
      {field::x_host_header, "pixel.example.com"},
      {field::time_taken, "0.002"},
      {field::cs_protocol_version, "HTTP/2.0"},
      {field::c_ip_version, "IPv6"},
      {field::cs_user_agent, "UA%201"},
      {field::cs_referer, "https://ex.com/a%20b"},
      {field::cs_cookie, "-"},
      {field::cs_uri_query, "a=%2520&b"},
      {field::x_edge_response_result_type, "Error"},
      {field::x_forwarded_for, ""},
      {field::ssl_protocol, "TLSv1.3"},
      {field::ssl_cipher, "TLS_AES_128_GCM_SHA256"},
      {field::x_edge_result_type, "Error"},
      {field::fle_encrypted_fields, "-"},
      {field::fle_status, "-"},
      {field::sc_content_type, "application/json;%20charset=utf-8"},
      {field::sc_content_len, "0"},
      {field::sc_range_start, "-"},
      {field::sc_range_end, "-"},
      {field::c_port, "50123"},
      {field::x_edge_detailed_result_type, "Error"},
      {field::c_country, "DE"},
      {field::cs_accept_encoding, "gzip,%20br"},
      {field::cs_accept, "image/webp,*/*"},
      {field::cache_behavior_path_pattern, "/1x1.png"},
      {field::cs_headers, "Host:x%0A"},
      {field::cs_header_names, "Host%0A"},
      {field::cs_headers_count, "1"},
      {field::primary_distribution_id, "E1PRIMARY"},
      {field::primary_distribution_dns_name, "d111111abcdef8.cloudfront.net"},
      {field::origin_fbl, "0.015"},
      {field::origin_lbl, "0.020"},
      {field::asn, "64496"},
      {field::cmcd_encoded_bitrate, "3200"},
      {field::cmcd_buffer_length, "21300"},
      {field::cmcd_buffer_starvation, "true"},
      {field::cmcd_content_id, "faec5fc2-ac30-11ea-bb37-0242ac130002"},
      {field::cmcd_object_duration, "4004"},
      {field::cmcd_deadline, "500"},
      {field::cmcd_measured_throughput, "25400"},
      {field::cmcd_next_object_request, "..%2F300kbps%2Ftrack.m4v"},
      {field::cmcd_next_range_request, "12323-48763"},
      {field::cmcd_object_type, "v"},
      {field::cmcd_playback_rate, "1.25"},
      {field::cmcd_requested_maximum_throughput, "12000"},
      {field::cmcd_streaming_format, "d"},
      {field::cmcd_session_id, "6e2fb550-c457-11e9-bb97-0800200c9a66"},
      {field::cmcd_stream_type, "v"},
      {field::cmcd_startup, "true"},
      {field::cmcd_top_bitrate, "6000"},
      {field::cmcd_version, "1"},
      {field::r_host, "origin.example.com"},
      {field::sr_reason, "-"},
      {field::x_edge_mqcs, "87"},
      {field::distribution_tenant_id, "dt_2wjDZi3hD1ivOXf6rpZJOSNE1AB"},
      {field::connection_id, "-"},
  };
  return v;
}

TEST(log_record, every_catalog_field) {
  const auto& values = every_field_values();
  ASSERT_EQ(values.size(), field_count);
  field_list fields;
  std::string line;
  for (std::size_t i = 0; i < values.size(); ++i) {
    ASSERT_EQ(values[i].first, static_cast<field>(i)) << "catalog order";
    fields.push_back(values[i].first);
    line += (i ? "\t" : "") + values[i].second;
  }
  auto r = parse_record(line, fields);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->timestamp_ms, 1718787248500);
  EXPECT_EQ(r->c_ip, "2001:db8::1");
  EXPECT_EQ(r->status, 503);
  EXPECT_FALSE(r->delivered());
  EXPECT_EQ(r->user_agent, "UA 1");
  EXPECT_EQ(r->query, "a=%20&b");
  ASSERT_EQ(r->params.size(), 2u);
  EXPECT_EQ(r->params[0].second, " ");
  EXPECT_EQ(r->params[1], (std::pair<std::string, std::string>{"b", ""}));
  for (std::size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(r->raw(values[i].first), values[i].second) << field_name(values[i].first);
    EXPECT_EQ(r->absent(i), values[i].second.empty() || values[i].second == "-");
  }
}

TEST(log_record, a_44_field_record) {
  // The first 44 catalog fields: timestamp through origin-fbl, as a 2024 configuration.
  field_list fields;
  std::string line;
  for (std::size_t i = 0; i < 44; ++i) {
    fields.push_back(every_field_values()[i].first);
    line += (i ? "\t" : "") + every_field_values()[i].second;
  }
  auto r = parse_record(line, fields);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->size(), 44u);
  EXPECT_EQ(r->raw(field::origin_fbl), "0.015");
  EXPECT_EQ(r->raw(field::s_ip), "198.51.100.7");
  auto short_line = parse_record(line.substr(0, line.rfind('\t')), fields);
  ASSERT_FALSE(short_line);
  EXPECT_NE(short_line.error().message().find("has 43 fields, the field list has 44"),
            std::string::npos)
      << short_line.error().message();
}

TEST(log_record, malformed_lines_are_errors_not_crashes) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"abc\t-\t-\t-", "bad timestamp 'abc'"},
      {"1.0001\t-\t-\t-", "bad timestamp '1.0001'"},
      {"1.\t-\t-\t-", "bad timestamp '1.'"},
      {"171871878711114960.530\t-\t-\t-", "bad timestamp '171871878711114960.530'"},
  };
  for (const auto& [line, message] : bad) {
    auto r = parse_record(line, four);
    ASSERT_FALSE(r) << line;
    EXPECT_EQ(r.code(), pixel::errc::invalid_argument);
    EXPECT_EQ(r.error().message(), message) << line;
  }
  // Control characters are data (CloudFront escapes them; a JSON writer escapes them again).
  auto cr = parse_record(std::string("1.000\t-\tUA\r\0\t-", 14), four);
  ASSERT_TRUE(cr);
  EXPECT_EQ(cr->user_agent, std::string("UA\r\0", 4));
  // Wrong field counts say how many, how many expected, and what to do.
  const std::string hint =
      " (timestamp,c-ip,cs-user-agent,cs-uri-query); give the fields the records were "
      "written with (--fields, as in the real-time log configuration or the v2 field "
      "selection, in order)";
  EXPECT_EQ(parse_record("1.000\t-\t-", four).error().message(),
            "has 3 fields, the field list has 4" + hint);
  EXPECT_EQ(parse_record("1.000\t-\t-\t-\textra", four).error().message(),
            "has 5 fields, the field list has 4" + hint);
  // No tab: no field list can help, so none is suggested.
  EXPECT_EQ(parse_record("", four).error().message(),
            "has 1 field, the field list has 4; the line has no tab: it is not a "
            "tab-separated CloudFront record");
  EXPECT_NE(parse_record("2019-12-04\t21:02:31\tLAX1\t392\t192.0.2.100", four)
                .error()
                .message()
                .find("looks like a CloudFront standard log"),
            std::string::npos);
  EXPECT_NE(parse_record("#Fields: date time", four).error().message().find("header line"),
            std::string::npos);
  // Malformed escapes are kept as written (other writers than CloudFront make them);
  // bytes that are not UTF-8 are kept too.
  auto lenient = parse_record("1.000\t-\tUA%2\ta=%25zz&b=%25FF", four);
  ASSERT_TRUE(lenient) << lenient.error().message();
  EXPECT_EQ(lenient->user_agent, "UA%2");
  EXPECT_EQ(*lenient->param("a"), "%zz");
  EXPECT_EQ(*lenient->param("b"), "\xFF");
  // Numbers are numbers.
  auto s = parse_fields("timestamp,sc-status,sc-bytes,time-taken");
  ASSERT_TRUE(s);
  EXPECT_EQ(parse_record("1.000\t20x\t1\t0.1", *s).error().message(), "bad sc-status '20x'");
  EXPECT_FALSE(parse_record("1.000\t2000\t1\t0.1", *s));
  EXPECT_EQ(parse_record("1.000\t200\t1k\t0.1", *s).error().message(),
            "bad sc-bytes '1k' (expected an integer)");
  EXPECT_EQ(parse_record("1.000\t200\t1\t.1", *s).error().message(),
            "bad time-taken '.1' (expected a number)");
  auto ok = parse_record("1.000\t-\t-\t-", *s);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 0);
}

TEST(log_standard, fields_line_with_tabs_or_spaces) {
  auto sp = parse_standard_fields_line(
      "#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem "
      "sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) new-thing");
  ASSERT_TRUE(sp) << sp.error().message();
  auto tab = parse_standard_fields_line(
      "#Fields:\tdate\ttime\tx-edge-location\tsc-bytes\tc-ip\tcs-method\tcs(Host)\tcs-uri-stem\t"
      "sc-status\tcs(Referer)\tcs(User-Agent)\tcs-uri-query\tcs(Cookie)\tnew-thing\r");
  ASSERT_TRUE(tab) << tab.error().message();
  EXPECT_EQ(*sp, *tab);
  EXPECT_EQ(sp->kind(), log_kind::standard);
  ASSERT_EQ(sp->size(), 14u);
  EXPECT_EQ((*sp)[0], standard_date);
  EXPECT_EQ((*sp)[1], standard_time);
  EXPECT_EQ((*sp)[6], field::cs_host);
  EXPECT_EQ(sp->name(6), "cs(Host)");
  EXPECT_EQ(sp->key(6), "cs_host");
  EXPECT_EQ((*sp)[9], field::cs_referer);
  EXPECT_EQ((*sp)[10], field::cs_user_agent);
  EXPECT_EQ((*sp)[12], field::cs_cookie);
  EXPECT_EQ((*sp)[13], unknown_field);
  EXPECT_EQ(sp->key(13), "new_thing");
  EXPECT_FALSE(parse_standard_fields_line("#Fields:"));
  EXPECT_FALSE(parse_standard_fields_line("#Fields: date date"));
  EXPECT_FALSE(parse_standard_fields_line("#Version: 1.0"));
  EXPECT_EQ(standard_default_fields().size(), 33u);
}

TEST(log_standard, date_time_and_the_doubly_escaped_user_agent) {
  const auto& f = standard_default_fields();
  const std::string line =
      "2019-12-04\t21:02:31\tLAX1\t392\t192.0.2.100\tGET\td111111abcdef8.cloudfront.net\t"
      "/index.html\t200\t-\tMozilla/5.0%2520(Windows%2520NT%252010.0;%2520Win64;%2520x64)"
      "\ta=b%2520c&eid=E1\t-\tHit\tSOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==\t"
      "d111111abcdef8.cloudfront.net\thttps\t23\t0.001\t-\tTLSv1.2\t"
      "ECDHE-RSA-AES128-GCM-SHA256\tHit\tHTTP/2.0\t-\t-\t11040\t0.001\tHit\ttext/html\t78\t-\t-";
  auto r = parse_record(line, f);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->timestamp_ms, 1575493351000);  // date -u -d 2019-12-04T21:02:31 +%s
  EXPECT_EQ(r->user_agent, "Mozilla/5.0 (Windows NT 10.0; Win64; x64)");
  EXPECT_EQ(r->c_ip, "192.0.2.100");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->query, "a=b%20c&eid=E1");
  EXPECT_EQ(*r->param("a"), "b c");
  EXPECT_FALSE(parse_record("2019-13-04\t21:02:31" + line.substr(19), f));
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

TEST(log_reader, a_decoding_left_out_leaves_its_member_empty) {
  temp_dir d;
  write(d / "rt", "1718787248.100\t203.0.113.9\tMozilla/5.0%20(X11)\teid=E1&c=a%2520b\n");
  write(d / "v2.json",
        "{\"timestamp(ms)\": \"1718787248100\", \"c-ip\": \"203.0.113.9\", \"cs(User-Agent)\": "
        "\"Mozilla/5.0%2520(X11)\", \"cs-uri-query\": \"eid=E2\"}\n");
  reader_options o = four_fields();
  const auto all = read_all({(d / "rt").string(), (d / "v2.json").string()}, o);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].user_agent, "Mozilla/5.0 (X11)");
  EXPECT_EQ(all[1].user_agent, "Mozilla/5.0 (X11)");
  o.decode.user_agent = false;
  const auto some = read_all({(d / "rt").string(), (d / "v2.json").string()}, o);
  ASSERT_EQ(some.size(), 2u);
  for (const record& r : some) {
    EXPECT_EQ(r.user_agent, "");
    EXPECT_EQ(r.c_ip, "203.0.113.9");
    EXPECT_EQ(r.timestamp_ms, 1718787248100);
  }
  EXPECT_EQ(some[0].raw(field::cs_user_agent), "Mozilla/5.0%20(X11)");
  EXPECT_EQ(some[1].raw(field::cs_user_agent), "Mozilla/5.0%2520(X11)");
  EXPECT_EQ(some[0].params, all[0].params);
  EXPECT_EQ(*some[0].param("c"), "a b");
  EXPECT_EQ(*some[1].param("eid"), "E2");
}

TEST(log_reader, folders_plain_and_gzip_in_path_order) {
  temp_dir d;
  write(d / "out/year=2024/month=06/day=19/hour=08/obj-1",
        "1718787248.100\t-\t-\tn=1\n"
        "1718787248.200\t-\t-\tn=2\n");
  write_gzip(d / "out/year=2024/month=06/day=19/hour=09/obj-2.gz", "1718790848.300\t-\t-\tn=3\n");
  write(d / "out/year=2024/month=06/day=19/hour=09/.obj-3.tmp", "1718790848.300\t-\t-\tn=99\n");
  write(d / "single", "1718790849.000\t-\t-\tn=4\n");
  const auto recs = read_all({(d / "out").string(), (d / "single").string()}, four_fields());
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
        "4.000\t-\t-\tn=4\n5.000\t-\t-");  // the last has no newline, and a field short
  std::vector<problem> problems;
  auto o = four_fields();
  o.on_problem = [&problems](const problem& p) { problems.push_back(p); };
  auto r = reader::open({(d / "a").string()}, o);
  ASSERT_TRUE(r);
  std::vector<std::string> ns;
  record rec;
  while (r->next(rec)) ns.push_back(*rec.param("n"));
  // A '%' that starts no escape is kept: line 4 is a record.
  EXPECT_EQ(ns, (std::vector<std::string>{"1", "2", "%", "4"}));
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].file, (d / "a").string());
  EXPECT_EQ(problems[0].line, 2u);
  EXPECT_EQ(problems[0].message.substr(0, 34), "has 1 field, the field list has 4;");
  EXPECT_EQ(problems[0].text, "broken line");
  EXPECT_EQ(problems[1].line, 6u);
  EXPECT_EQ(problems[1].message.substr(0, 67),
            "last line has no newline and has 3 fields, the field list has 4 (ti");
  EXPECT_NE(problems[1].message.find("(a partial record"), std::string::npos);
  EXPECT_EQ(problems[1].text, "5.000\t-\t-");
  EXPECT_EQ(r->lines(), 6u);
  EXPECT_EQ(r->records(), 4u);
  EXPECT_EQ(r->malformed(), 2u);
}

TEST(log_reader, a_complete_last_line_without_newline_is_a_record) {
  temp_dir d;
  write(d / "a", "1.000\t-\t-\tn=1\n2.000\t-\t-\tn=2");
  write_gzip(d / "b.gz", "3.000\t-\t-\tn=3");
  write(d / "c", "4.000\t-\t-\tn=4\n");
  std::vector<problem> problems, notes;
  auto o = four_fields();
  o.on_note = [&notes](const problem& p) { notes.push_back(p); };
  const auto recs =
      read_all({(d / "a").string(), (d / "b.gz").string(), (d / "c").string()}, o, &problems);
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(*recs[1].param("n"), "2");
  EXPECT_EQ(*recs[2].param("n"), "3");
  EXPECT_TRUE(problems.empty());
  ASSERT_EQ(notes.size(), 2u);  // once for each file that ends so
  EXPECT_EQ(notes[0].file, (d / "a").string());
  EXPECT_EQ(notes[0].line, 2u);
  EXPECT_EQ(notes[0].message, "no final newline: the last line was read as a record");
  EXPECT_EQ(notes[1].file, (d / "b.gz").string());
  EXPECT_EQ(notes[1].line, 1u);
}

TEST(log_reader, truncated_and_corrupt_gzip_name_the_byte_and_keep_the_records_before) {
  temp_dir d;
  std::string text;
  for (int i = 0; i < 3000; ++i) text += "1.000\t-\t-\tn=" + std::to_string(i) + "\n";
  write_gzip(d / "full.gz", text);
  std::string gz;
  {
    std::ifstream in(d / "full.gz", std::ios::binary);
    gz.assign(std::istreambuf_iterator<char>(in), {});
  }
  // Cut: the records that were readable come back, then the error with the offset.
  const std::size_t cut = gz.size() - 20;  // inside the deflate data, before the trailer
  write(d / "cut.gz", gz.substr(0, cut));
  std::vector<problem> problems;
  auto o = four_fields();
  auto r = reader::open({(d / "cut.gz").string()}, [&] {
    o.on_problem = [&problems](const problem& p) { problems.push_back(p); };
    return o;
  }());
  ASSERT_TRUE(r);
  record rec;
  std::size_t n = 0;
  while (r->next(rec)) {
    ASSERT_EQ(*rec.param("n"), std::to_string(n));
    ++n;
  }
  EXPECT_GT(n, 0u);
  EXPECT_LT(n, 3000u);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].file, (d / "cut.gz").string());
  EXPECT_EQ(problems[0].message, "truncated gzip data: the object ends at byte " +
                                     std::to_string(cut) +
                                     " inside a compressed member (an incomplete download or "
                                     "upload?)");
  EXPECT_EQ(r->malformed(), 1u);
  // Corrupt: a byte of the deflate data changed.
  std::string bad = gz;
  bad[gz.size() / 2] = static_cast<char>(bad[gz.size() / 2] ^ 0x55);
  write(d / "bad.gz", bad);
  problems.clear();
  const auto some = read_all({(d / "bad.gz").string()}, four_fields(), &problems);
  EXPECT_LT(some.size(), 3000u);
  ASSERT_FALSE(problems.empty());
  EXPECT_EQ(problems.back().message.rfind("corrupt gzip data near byte ", 0), 0u)
      << problems.back().message;
}

TEST(log_reader, long_lines_and_binary_garbage) {
  temp_dir d;
  std::string text = "1.000\t-\t-\tn=" + std::string(5000, 'x') + "\n";
  text += std::string("\x1f\x8b\x00\xff\n", 5);
  text += "2.000\t-\t-\tn=2\n";
  write(d / "a", text);
  std::vector<problem> problems;
  reader_options o = four_fields();
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
  EXPECT_TRUE(read_all({(d / "cut.gz").string()}, four_fields(), &problems).empty());
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
  // A viewer that hung up (000) before its retry was delivered: the delivered retry is
  // kept, wherever it comes; an event that never got through keeps its first attempt.
  write(d / "c",
        "1.000\t000\teid=C&n=1\n"
        "2.000\t000\teid=D&n=2\n"
        "3.000\t200\teid=E&n=3\n"
        "4.000\t200\teid=C&n=4\n"
        "5.000\t503\teid=D&n=5\n"
        "6.000\t000\teid=F&n=6\n");
  auto rc = reader::open({(d / "c").string()}, o);
  ASSERT_TRUE(rc);
  ns.clear();
  while (rc->next(rec)) ns.push_back(*rec.param("n") + (rec.closed ? " closed" : ""));
  EXPECT_EQ(ns, (std::vector<std::string>{"3", "4", "2 closed", "6 closed"}));
  EXPECT_EQ(rc->duplicates(), 2u);
  // Another key name.
  write(d / "b", "1.000\t200\tid=X\n2.000\t200\tid=X\n");
  o.event_id_key = "id";
  EXPECT_EQ(read_all({(d / "b").string()}, o).size(), 1u);
}

TEST(log_reader, since_and_until) {
  temp_dir d;
  write(d / "a", "10.000\t-\t-\tn=1\n20.000\t-\t-\tn=2\n30.000\t-\t-\tn=3\n");
  reader_options o = four_fields();
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
  reader_options o = four_fields();
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

TEST(log_reader, standard_logs_by_header_gzip_and_header_less) {
  temp_dir d;
  const std::string rows =
      "2019-12-04\t21:02:31\tLAX1\t392\t192.0.2.100\tGET\td1.cloudfront.net\t/1x1.png\t"
      "200\t-\tUA%25201\teid=A&n=1\n"
      "2019-12-04\t21:02:32\tLAX1\t392\t192.0.2.101\tGET\td1.cloudfront.net\t/1x1.png\t"
      "200\t-\tUA%25202\teid=A&n=2\n";
  const std::string tab_header =
      "#Version: 1.0\n#Fields:\tdate\ttime\tx-edge-location\tsc-bytes\tc-ip\tcs-method\t"
      "cs(Host)\tcs-uri-stem\tsc-status\tcs(Referer)\tcs(User-Agent)\tcs-uri-query\n";
  std::string space_header = tab_header;
  std::replace(space_header.begin() + 14, space_header.end() - 1, '\t', ' ');
  write(d / "logs/a.log", tab_header + rows);
  write_gzip(d / "logs/EXXXX.2019-12-04-21.abcd1234.gz", space_header + rows);
  std::vector<problem> problems;
  reader_options o;  // the real-time default: the headers decide
  o.dedupe = true;
  const auto recs = read_all({(d / "logs").string()}, o, &problems);
  EXPECT_TRUE(problems.empty()) << problems[0].message;
  ASSERT_EQ(recs.size(), 1u);  // eid A four times: one event
  EXPECT_EQ(recs[0].timestamp_ms, 1575493351000);
  EXPECT_EQ(recs[0].user_agent, "UA 1");
  EXPECT_EQ(recs[0].fields().kind(), log_kind::standard);
  o.dedupe = false;
  EXPECT_EQ(read_all({(d / "logs").string()}, o).size(), 4u);
  // Without a header: --input standard and the documented 33 fields.
  std::string full;
  for (int i = 0; i < 3; ++i) {
    full += "2019-12-04\t21:02:3" + std::to_string(i) +
            "\tLAX1\t392\t192.0.2.100\tGET\td1.cloudfront.net\t/1x1.png\t200\t-\tUA\tn=" +
            std::to_string(i) +
            "\t-\tHit\tid==\td1.cloudfront.net\thttps\t23\t0.001\t-\tTLSv1.2\tC\tHit\t"
            "HTTP/2.0\t-\t-\t11040\t0.001\tHit\timage/png\t68\t-\t-\n";
  }
  write(d / "bare", full);
  reader_options s;
  s.input = input_kind::standard;
  const auto bare = read_all({(d / "bare").string()}, s);
  ASSERT_EQ(bare.size(), 3u);
  EXPECT_EQ(*bare[2].param("n"), "2");
  EXPECT_EQ(bare[2].timestamp_ms, 1575493352000);
  // The same file read as real-time records: every line skipped, with the hint.
  problems.clear();
  EXPECT_TRUE(read_all({(d / "bare").string()}, four_fields(), &problems).empty());
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_NE(problems[0].message.find("--input standard"), std::string::npos);
}

// Standard logging v2, from the developer guide's examples ("Configure standard logging
// (v2)"): the S3 example in W3C form, the Firehose example in JSON.
const std::string v2_w3c =
    "#Fields: date time x-edge-location asn timestamp(ms) x-host-header cs(Cookie)\n"
    "2024-11-14\t22:30:25\tSOF50-P2\t16509\t1731623425421\td111111abcdef8.cloudfront.net\t"
    "examplecookie=value2\n";
const std::string v2_json =
    "{\"date\":\"2024-11-15\",\"time\":\"19:45:51\",\"x-edge-location\":\"SOF50-P2\",\"asn\":"
    "\"16509\",\"timestamp(ms)\":\"1731699951183\",\"origin-fbl\":\"0.254\",\"origin-lbl\":"
    "\"0.254\",\"x-host-header\":\"d111111abcdef8.cloudfront.net\",\"cs(Cookie)\":"
    "\"examplecookie=value\"}\n"
    "{\"date\":\"2024-11-15\",\"time\":\"19:45:52\",\"x-edge-location\":\"SOF50-P2\",\"asn\":"
    "\"16509\",\"timestamp(ms)\":\"1731699952950\",\"origin-fbl\":\"0.125\",\"origin-lbl\":"
    "\"0.125\",\"x-host-header\":\"d111111abcdef8.cloudfront.net\",\"cs(Cookie)\":"
    "\"examplecookie=value\"}\n";

TEST(log_v2, w3c_with_timestamp_ms_and_fields_without_version) {
  temp_dir d;
  write(d / "a.log", v2_w3c);
  std::vector<problem> problems;
  const auto recs = read_all({(d / "a.log").string()}, {}, &problems);
  EXPECT_TRUE(problems.empty()) << problems[0].message;
  ASSERT_EQ(recs.size(), 1u);
  // timestamp(ms) is the record's time, milliseconds kept (not date + time's 22:30:25.000).
  EXPECT_EQ(recs[0].timestamp_ms, 1731623425421);
  const field_list& l = recs[0].fields();
  EXPECT_EQ(l.kind(), log_kind::standard);
  EXPECT_EQ(l[3], field::asn);
  EXPECT_EQ(l[4], standard_timestamp_ms);
  EXPECT_EQ(l[6], field::cs_cookie);
  EXPECT_EQ(l.key(4), "timestamp_ms");
  EXPECT_EQ(type_of(l[4]), field_type::integer);
  EXPECT_EQ(recs[0].raw(field::cs_cookie), "examplecookie=value2");
  // --since 1731623425.42 keeps the request made at .421; .422 drops it.
  reader_options o;
  o.since_ms = 1731623425420;
  EXPECT_EQ(read_all({(d / "a.log").string()}, o).size(), 1u);
  o.since_ms = 1731623425422;
  EXPECT_EQ(read_all({(d / "a.log").string()}, o).size(), 0u);
  // A bad timestamp(ms) is refused by name.
  auto f = parse_standard_fields_line("#Fields: timestamp(ms) c-ip");
  ASSERT_TRUE(f);
  EXPECT_EQ(parse_record("17316234254.21\t-", *f).error().message(),
            "bad timestamp(ms) '17316234254.21' (expected epoch milliseconds)");
  // With timestamp (seconds) too, in either order, the milliseconds win.
  auto both = parse_standard_fields_line("#Fields: timestamp(ms) timestamp DistributionId");
  ASSERT_TRUE(both);
  auto r = parse_record("1731623425421\t1731623425.000\tE1TR1RHV123ABC", *both);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->timestamp_ms, 1731623425421);
  EXPECT_EQ(both->key(2), "distribution_id");
  EXPECT_EQ((*both)[2], standard_distribution_id);
}

TEST(log_v2, plain_output_with_a_user_chosen_field_order) {
  // v2 lets the user choose the fields and their order; plain output has no header.
  auto l = parse_standard_fields(
      "cs-uri-query, timestamp(ms), c-ip, cs(User-Agent), sc-status, DistributionId, c-country");
  ASSERT_TRUE(l) << l.error().message();
  EXPECT_EQ(l->kind(), log_kind::standard);
  EXPECT_EQ((*l)[0], field::cs_uri_query);
  EXPECT_EQ((*l)[3], field::cs_user_agent);
  EXPECT_TRUE(names_standard_columns("cs-uri-query,timestamp(ms)"));
  EXPECT_FALSE(names_standard_columns("cs-uri-query,timestamp"));
  EXPECT_EQ(parse_standard_fields("date,time,date").error().message(),
            "the field list lists date twice");
  temp_dir d;
  write(d / "plain",
        "eid=A&v=a%2520b\t1738535441041\t192.0.2.1\tMozilla/5.0%20(X11)\t200\tE1TR1\tDE\n");
  reader_options o;
  o.fields = *l;
  std::vector<problem> problems;
  const auto recs = read_all({(d / "plain").string()}, o, &problems);
  EXPECT_TRUE(problems.empty()) << problems[0].message;
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].timestamp_ms, 1738535441041);
  EXPECT_EQ(recs[0].c_ip, "192.0.2.1");
  EXPECT_EQ(recs[0].user_agent, "Mozilla/5.0 (X11)");
  EXPECT_EQ(recs[0].status, 200);
  EXPECT_EQ(*recs[0].param("v"), "a b");
}

TEST(log_v2, json_lines_from_firehose_plain_and_gzip) {
  temp_dir d;
  write(d / "fh/a.log", v2_json);
  write_gzip(d / "fh/b.gz", v2_json);
  std::vector<problem> problems;
  const auto recs = read_all({(d / "fh").string()}, {}, &problems);
  EXPECT_TRUE(problems.empty()) << problems[0].message;
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(recs[0].timestamp_ms, 1731699951183);
  EXPECT_EQ(recs[1].timestamp_ms, 1731699952950);
  EXPECT_EQ(recs[3].timestamp_ms, 1731699952950);
  EXPECT_EQ(recs[0].raw(field::origin_fbl), "0.254");
  EXPECT_EQ(recs[0].raw(field::x_host_header), "d111111abcdef8.cloudfront.net");
  EXPECT_EQ(recs[0].fields().key(8), "cs_cookie");
  // Lines with the same keys share one layout.
  EXPECT_EQ(recs[0].layout, recs[1].layout);
  // Without timestamp(ms), date and time give the time; real-time names are read too;
  // null, "-" and "" are absent; numbers and escapes as JSON writes them.
  record r;
  ASSERT_TRUE(parse_json_record_into(
      R"j({"date":"2024-11-15", "time":"19:45:51", "c-ip":null, "sc-status":200, )j"
      R"j("cs-uri-query":"a=1%2520\u00e9&eid=E", "cs(User-Agent)":"UA\tx", "cs-referer":"-"})j",
      r));
  EXPECT_EQ(r.timestamp_ms, 1731699951000);
  EXPECT_TRUE(r.c_ip.empty());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.query, "a=1%20\xC3\xA9&eid=E");
  EXPECT_EQ(*r.param("a"), "1 \xC3\xA9");
  EXPECT_EQ(r.user_agent, "UA\tx");  // a tab in a JSON string is data
  EXPECT_TRUE(r.absent(6));
  // --input v2-json: every line must be an object.
  write(d / "j", "2024-11-15\t19:45:51\n");
  reader_options o;
  o.input = input_kind::v2_json;
  problems.clear();
  EXPECT_TRUE(read_all({(d / "j").string()}, o, &problems).empty());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].message.rfind("not a JSON object", 0), 0u);
}

TEST(log_v2, lines_that_are_not_records_say_what_they_look_like) {
  record r;
  const auto msg = [&](std::string_view line) {
    auto ok = parse_json_record_into(line, r);
    return ok ? std::string() : ok.error().message();
  };
  EXPECT_EQ(msg("{").rfind("a '{' alone on its line: pretty-printed JSON", 0), 0u);
  EXPECT_EQ(msg(R"({"a":"1"}{"a":"2"})").rfind("several JSON objects on one line", 0), 0u);
  EXPECT_EQ(msg(R"({"messageType":"DATA_MESSAGE","logEvents":[{"message":"x"}]})")
                .rfind("the value of \"logEvents\" is a JSON array: a nested object", 0),
            0u);
  EXPECT_EQ(msg(R"({"a":)").rfind("not valid JSON at byte 6", 0), 0u);
  EXPECT_EQ(msg(R"({"date":"1","date":"2"})"), "the JSON object lists date twice");
  const auto count = [&](std::string_view line) {
    auto p = parse_record(line, four);
    return p ? std::string() : p.error().message();
  };
  EXPECT_NE(count("<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code></Error>")
                .find("looks like XML or HTML"),
            std::string::npos);
  EXPECT_NE(count("timestamp,c-ip,cs-user-agent,cs-uri-query").find("header row of a CSV"),
            std::string::npos);
  EXPECT_NE(count("1.0,1.2.3.4,UA,a=1").find("commas and no tab"), std::string::npos);
  EXPECT_NE(count("1.0|1.2.3.4|UA|a=1").find("separated by '|'"), std::string::npos);
  EXPECT_NE(count("[1,2]").find("JSON but not one flat object"), std::string::npos);
  for (const auto& m : {count("<x>"), count("a,b,c,d"), count("a|b|c|d"), msg("{")}) {
    EXPECT_EQ(m.find("--fields"), std::string::npos) << m;
  }
  // A Parquet object is refused as a whole, with what to do.
  temp_dir d;
  write(d / "p.parquet", std::string("PAR1\x15\x04\x15\x00\nrest\nmore\n", 18));
  std::vector<problem> problems;
  EXPECT_TRUE(read_all({(d / "p.parquet").string()}, four_fields(), &problems).empty());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].message,
            "a Parquet file (standard logging v2's Parquet output), which is not read: "
            "deliver the logs as JSON, w3c or plain, or convert the file to JSON Lines");
}

}  // namespace
