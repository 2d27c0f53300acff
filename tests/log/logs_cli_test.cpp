// `pixel logs` as a user runs it: JSON keys and values, standard logs, unknown fields,
// exit statuses and the messages on stderr.
// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "pixel/log.hpp"
#include "run_process.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class temp_dir {
 public:
  temp_dir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("pixel-logs-cli-" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string operator/(const std::string& s) const { return (path_ / s).string(); }

 private:
  fs::path path_;
};

void write(const std::string& p, const std::string& text) {
  fs::create_directories(fs::path(p).parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

void write_gzip(const std::string& p, const std::string& text) {
  gzFile f = gzopen(p.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  gzwrite(f, text.data(), static_cast<unsigned>(text.size()));
  gzclose(f);
}

pixel_test::process_result logs(std::vector<std::string> args) {
  args.insert(args.begin(), "logs");
  return pixel_test::run_process(PIXEL_BIN, args);
}

std::vector<json> lines_of(const std::string& out) {
  std::vector<json> v;
  std::istringstream s(out);
  std::string l;
  while (std::getline(s, l)) v.push_back(json::parse(l));
  return v;
}

TEST(pixel_logs, default_fields_as_the_distribution_writes_them) {
  temp_dir d;
  // timestamp c-ip sc-status cs-uri-stem x-edge-request-id cs-user-agent cs-referer
  // cs-uri-query, an empty value written as nothing.
  write(d / "a",
        "1718787248.530\t203.0.113.9\t200\t/1x1.png%3Fa=1%2520\tid1==\tUA%20x\t\ta=1%2520&eid=E\n");
  const auto r = logs({d / "a"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out,
            "{\"timestamp\": 1718787248.53, \"c_ip\": \"203.0.113.9\", \"user_agent\": \"UA x\", "
            "\"query\": \"a=1%20&eid=E\", \"params\": {\"a\": \"1 \", \"eid\": \"E\"}, "
            "\"sc_status\": 200, \"cs_uri_stem\": \"/1x1.png?a=1%20\", \"x_edge_request_id\": "
            "\"id1==\", \"cs_referer\": null}\n");
}

TEST(pixel_logs, every_catalog_field_typed_and_unescaped_once) {
  temp_dir d;
  std::string line, list;
  std::vector<std::string> values;
  for (std::size_t i = 0; i < pixel::log::field_count; ++i) {
    const auto f = static_cast<pixel::log::field>(i);
    const auto t = pixel::log::type_of(f);
    std::string v;
    switch (t) {
      case pixel::log::field_type::epoch_time:
        v = "1718787248.005";
        break;
      case pixel::log::field_type::ip:
        v = "2001:db8::" + std::to_string(i);
        break;
      case pixel::log::field_type::integer:
        v = i % 2 ? "0" + std::to_string(i) : std::to_string(i);  // "041" is 41
        break;
      case pixel::log::field_type::decimal:
        v = "0.0" + std::to_string(i);
        break;
      case pixel::log::field_type::text:
        // A value that really holds "%20" and a space: sent so, log-escaped once.
        v = pixel::log::is_escaped(f) ? "v%2520" + std::to_string(i) + "%20x"
                                      : "v" + std::to_string(i);
        break;
    }
    if (f == pixel::log::field::cs_uri_query) v = "k=%2520";
    if (f == pixel::log::field::sc_status) v = "000";
    line += (i ? "\t" : "") + v;
    list += (i ? "," : "") + std::string(pixel::log::field_name(f));
    values.push_back(v);
  }
  write(d / "all", line + "\n" + std::string(pixel::log::field_count - 1, '\t') + "\n");
  const auto r = logs({"--fields", list, d / "all"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto recs = lines_of(r.out);
  ASSERT_EQ(recs.size(), 2u);
  const json& j = recs[0];
  EXPECT_EQ(j.at("timestamp"), 1718787248.005);
  EXPECT_EQ(j.at("user_agent"),
            "v%20" + std::to_string(static_cast<int>(pixel::log::field::cs_user_agent)) + " x");
  EXPECT_EQ(j.at("query"), "k=%20");
  EXPECT_EQ(j.at("params"), json({{"k", " "}}));
  EXPECT_EQ(j.at("sc_status"), 0);
  EXPECT_EQ(j.at("closed"), true);
  for (std::size_t i = 0; i < pixel::log::field_count; ++i) {
    const auto f = static_cast<pixel::log::field>(i);
    if (f == pixel::log::field::timestamp || f == pixel::log::field::c_ip ||
        f == pixel::log::field::cs_user_agent || f == pixel::log::field::cs_uri_query ||
        f == pixel::log::field::sc_status) {
      continue;
    }
    std::string key(pixel::log::field_name(f));
    std::replace(key.begin(), key.end(), '-', '_');
    ASSERT_TRUE(j.contains(key)) << key;
    const json& v = j.at(key);
    switch (pixel::log::type_of(f)) {
      case pixel::log::field_type::integer:
        EXPECT_TRUE(v.is_number_integer()) << key << " " << v;
        EXPECT_EQ(v, static_cast<int>(i)) << key;
        break;
      case pixel::log::field_type::decimal:
        EXPECT_TRUE(v.is_number_float()) << key;
        EXPECT_DOUBLE_EQ(v.get<double>(), std::stod(values[i])) << key;
        break;
      case pixel::log::field_type::ip:
        EXPECT_EQ(v, values[i]) << key;
        break;
      default:
        EXPECT_EQ(v, pixel::log::is_escaped(f) ? "v%20" + std::to_string(i) + " x"
                                               : "v" + std::to_string(i))
            << key;
    }
  }
  // The all-empty record: every field null, no params, no closed flag.
  const json& e = recs[1];
  EXPECT_EQ(e.at("params"), json::object());
  EXPECT_FALSE(e.contains("closed"));
  for (const auto& [k, v] : e.items()) {
    if (k != "params") {
      EXPECT_TRUE(v.is_null()) << k;
    }
  }
}

TEST(pixel_logs, unknown_fields_with_the_order_given) {
  temp_dir d;
  write(d / "a", "1.000\t198.51.100.1\tfuture%20value\ta=1\n");
  auto refused = logs({"--fields", "timestamp,c-ip,new-field,cs-uri-query", d / "a"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("'new-field'"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--fields-order as-given"), std::string::npos) << refused.err;
  auto read = logs(
      {"--fields", "timestamp,c-ip,new-field,cs-uri-query", "--fields-order", "as-given", d / "a"});
  EXPECT_EQ(read.exit_code, 0) << read.err;
  EXPECT_EQ(read.out,
            "{\"timestamp\": 1.0, \"c_ip\": \"198.51.100.1\", \"query\": \"a=1\", \"params\": "
            "{\"a\": \"1\"}, \"new_field\": \"future value\"}\n");
}

TEST(pixel_logs, standard_logs_plain_gzip_and_header_less) {
  temp_dir d;
  const std::string header =
      "#Version: 1.0\n#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) "
      "cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie)\n";
  const std::string row =
      "2019-12-04\t21:02:31\tLAX1\t392\t192.0.2.100\tGET\td1.cloudfront.net\t/1x1.png\t200\t"
      "https://ex.com/\tMozilla/5.0%2520(X11)\tcampaign=spring&eid=E1\ts=1\n";
  write(d / "plain.log", header + row);
  write_gzip(d / "EXXXX.2019-12-04-21.abcd1234.gz", header + row);
  const std::string expected =
      "{\"timestamp\": 1575493351.0, \"c_ip\": \"192.0.2.100\", \"user_agent\": "
      "\"Mozilla/5.0 (X11)\", \"query\": \"campaign=spring&eid=E1\", \"params\": {\"campaign\": "
      "\"spring\", \"eid\": \"E1\"}, \"x_edge_location\": \"LAX1\", \"sc_bytes\": 392, "
      "\"cs_method\": \"GET\", \"cs_host\": \"d1.cloudfront.net\", \"cs_uri_stem\": "
      "\"/1x1.png\", \"sc_status\": 200, \"cs_referer\": \"https://ex.com/\", \"cs_cookie\": "
      "\"s=1\"}\n";
  for (const auto& f : {d / "plain.log", d / "EXXXX.2019-12-04-21.abcd1234.gz"}) {
    const auto r = logs({f});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, expected);
  }
  const auto st = logs({"--stats", "--group-by", "campaign", "--dedupe", d / "plain.log",
                        d / "EXXXX.2019-12-04-21.abcd1234.gz"});
  EXPECT_EQ(st.exit_code, 0) << st.err;
  EXPECT_EQ(st.out, "{\"campaign\":\"spring\",\"count\":1}\n");
  const auto until = logs({"--until", "2019-12-04T21:02:31Z", d / "plain.log"});
  EXPECT_EQ(until.exit_code, 0);
  EXPECT_EQ(until.out, "");
  // Header-less lines: --input standard, the documented field list.
  std::string bare =
      "2019-12-04\t21:02:31\tLAX1\t392\t192.0.2.100\tGET\td1.cloudfront.net\t/1x1.png\t200\t-\t"
      "UA\teid=E2\t-\tHit\tid==\td1.cloudfront.net\thttps\t23\t0.001\t-\tTLSv1.2\tC\tHit\t"
      "HTTP/2.0\t-\t-\t11040\t0.001\tHit\timage/png\t68\t-\t-\n";
  write(d / "bare", bare);
  const auto plain = logs({d / "bare"});
  EXPECT_EQ(plain.exit_code, 1);
  EXPECT_NE(plain.err.find("looks like a CloudFront standard log"), std::string::npos) << plain.err;
  const auto as_std = logs({"--input", "standard", "--format", "csv", d / "bare"});
  EXPECT_EQ(as_std.exit_code, 0) << as_std.err;
  EXPECT_EQ(as_std.out.substr(0, as_std.out.find("\r\n")),
            "timestamp,c_ip,user_agent,query,params,x_edge_location,sc_bytes,cs_method,cs_host,"
            "cs_uri_stem,sc_status,cs_referer,cs_cookie,x_edge_result_type,x_edge_request_id,"
            "x_host_header,cs_protocol,cs_bytes,time_taken,x_forwarded_for,ssl_protocol,"
            "ssl_cipher,x_edge_response_result_type,cs_protocol_version,fle_status,"
            "fle_encrypted_fields,c_port,time_to_first_byte,x_edge_detailed_result_type,"
            "sc_content_type,sc_content_len,sc_range_start,sc_range_end");
}

TEST(pixel_logs, dedupe_keeps_the_delivered_retry_after_a_closed_attempt) {
  temp_dir d;
  write(d / "a",
        "1.000\t-\t000\t-\t-\t-\t-\teid=A&try=1\n"
        "2.000\t-\t200\t-\t-\t-\t-\teid=A&try=2\n");
  const auto r = logs({"--dedupe", d / "a"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto recs = lines_of(r.out);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].at("params").at("try"), "2");
  const auto all = lines_of(logs({d / "a"}).out);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].at("sc_status"), 0);
  EXPECT_EQ(all[0].at("closed"), true);
}

TEST(pixel_logs, exit_status_0_1_3_and_quoted_problems) {
  temp_dir d;
  const std::string good = "1.000\t-\t-\tn=1\n";
  write(d / "good", good + good);
  write(d / "empty", "");
  write(d / "bad", "nonsense\nmore nonsense\n");
  std::string mixed = good;
  for (int i = 0; i < 12; ++i) mixed += "junk\tline " + std::to_string(i) + "\n";
  write(d / "mixed", mixed);
  const std::vector<std::string> four = {"--fields", "timestamp,c-ip,cs-user-agent,cs-uri-query"};
  const auto with = [&](std::vector<std::string> a) {
    a.insert(a.begin(), four.begin(), four.end());
    return logs(a);
  };
  EXPECT_EQ(with({d / "good"}).exit_code, 0);
  const auto empty = with({d / "empty"});
  EXPECT_EQ(empty.exit_code, 0);
  EXPECT_EQ(empty.out, "");
  const auto bad = with({d / "bad"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find(d / "bad" + ":1: has 1 field, the field list has 4"), std::string::npos)
      << bad.err;
  EXPECT_NE(bad.err.find("  line: nonsense\n"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("pixel: 2 of 2 lines skipped (2 shown above); 0 records read\n"),
            std::string::npos)
      << bad.err;
  const auto mixed_r = with({d / "mixed"});
  EXPECT_EQ(mixed_r.exit_code, 3);
  EXPECT_EQ(lines_of(mixed_r.out).size(), 1u);
  EXPECT_NE(mixed_r.err.find("  line: junk\\tline 9\n"), std::string::npos) << mixed_r.err;
  EXPECT_EQ(mixed_r.err.find("line 10"), std::string::npos) << "only the first 10 quoted";
  EXPECT_NE(mixed_r.err.find("pixel: 12 of 13 lines skipped (10 shown above); 1 records read\n"),
            std::string::npos)
      << mixed_r.err;
  EXPECT_EQ(with({"--stats", d / "mixed"}).exit_code, 3);
  EXPECT_EQ(with({d / "missing"}).exit_code, 1);
  const auto help = logs({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("3 some lines were skipped"), std::string::npos);
}

TEST(pixel_logs, standard_logging_v2_w3c_json_and_a_chosen_order) {
  temp_dir d;
  // The developer guide's S3 example (W3C, '#Fields:' without '#Version:'), tab-separated.
  write(d / "s3/a.log",
        "#Fields: date time x-edge-location asn timestamp(ms) x-host-header cs(Cookie)\n"
        "2024-11-14\t22:30:25\tSOF50-P2\t16509\t1731623425421\td111111abcdef8.cloudfront.net\t"
        "examplecookie=value2\n");
  const auto w3c = logs({d / "s3"});
  EXPECT_EQ(w3c.exit_code, 0) << w3c.err;
  EXPECT_EQ(
      w3c.out,
      "{\"timestamp\": 1731623425.421, \"x_edge_location\": \"SOF50-P2\", \"asn\": 16509, "
      "\"timestamp_ms\": 1731623425421, \"x_host_header\": \"d111111abcdef8.cloudfront.net\", "
      "\"cs_cookie\": \"examplecookie=value2\"}\n");
  const auto since = logs({"--since", "1731623425.42", d / "s3"});
  EXPECT_EQ(lines_of(since.out).size(), 1u);
  EXPECT_EQ(logs({"--since", "1731623425.422", d / "s3"}).out, "");
  // The Firehose example (JSON Lines), gzip, found without a flag; forced with one.
  const std::string json_lines =
      "{\"date\":\"2024-11-15\",\"time\":\"19:45:51\",\"x-edge-location\":\"SOF50-P2\",\"asn\":"
      "\"16509\",\"timestamp(ms)\":\"1731699951183\",\"origin-fbl\":\"0.254\",\"origin-lbl\":"
      "\"0.254\",\"x-host-header\":\"d111111abcdef8.cloudfront.net\",\"cs(Cookie)\":"
      "\"examplecookie=value\"}\n";
  write_gzip(d / "fh.gz", json_lines);
  const std::string want =
      "{\"timestamp\": 1731699951.183, \"x_edge_location\": \"SOF50-P2\", \"asn\": 16509, "
      "\"timestamp_ms\": 1731699951183, \"origin_fbl\": 0.254, \"origin_lbl\": 0.254, "
      "\"x_host_header\": \"d111111abcdef8.cloudfront.net\", \"cs_cookie\": "
      "\"examplecookie=value\"}\n";
  for (const char* input : {"realtime", "v2-json"}) {
    const auto j = logs({"--input", input, d / "fh.gz"});
    EXPECT_EQ(j.exit_code, 0) << j.err;
    EXPECT_EQ(j.out, want) << input;
  }
  // Plain output in the order the user chose, named with v2's names.
  write(d / "plain", "eid=A&v=a%2520b\t1738535441041\t192.0.2.1\tMozilla/5.0%20(X11)\t200\n");
  const auto plain =
      logs({"--fields", "cs-uri-query,timestamp(ms),c-ip,cs(User-Agent),sc-status", d / "plain"});
  EXPECT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(plain.out,
            "{\"timestamp\": 1738535441.041, \"c_ip\": \"192.0.2.1\", \"user_agent\": "
            "\"Mozilla/5.0 (X11)\", \"query\": \"eid=A&v=a%20b\", \"params\": {\"eid\": \"A\", "
            "\"v\": \"a b\"}, \"timestamp_ms\": 1738535441041, \"sc_status\": 200}\n");
}

TEST(pixel_logs, a_last_line_without_newline_and_a_cut_gzip) {
  temp_dir d;
  write(d / "a", "1.000\t-\t-\tn=1\n2.000\t-\t-\tn=2");
  const std::vector<std::string> four = {"--fields", "timestamp,c-ip,cs-user-agent,cs-uri-query"};
  auto args = four;
  args.push_back(d / "a");
  const auto r = logs(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(lines_of(r.out).size(), 2u);
  EXPECT_EQ(r.err, "pixel: note: " + d / "a" +
                       ":2: no final newline: the last line was read as a record\n");
  // A cut gzip object: the records before the cut, the error with its offset, exit 3.
  std::string text;
  for (int i = 0; i < 3000; ++i) text += "1.000\t-\t-\tn=" + std::to_string(i) + "\n";
  write_gzip(d / "full.gz", text);
  std::string gz;
  {
    std::ifstream in(d / "full.gz", std::ios::binary);
    gz.assign(std::istreambuf_iterator<char>(in), {});
  }
  write(d / "cut.gz", gz.substr(0, gz.size() - 20));
  args = four;
  args.push_back(d / "cut.gz");
  const auto cut = logs(args);
  EXPECT_EQ(cut.exit_code, 3) << cut.err;
  EXPECT_GT(lines_of(cut.out).size(), 0u);
  EXPECT_NE(cut.err.find(d / "cut.gz" + ":"), std::string::npos) << cut.err;
  EXPECT_NE(cut.err.find("truncated gzip data: the object ends at byte " +
                         std::to_string(gz.size() - 20)),
            std::string::npos)
      << cut.err;
  // Lines no field list can help with say what they are, and do not ask for --fields.
  write(d / "other", "<Error><Code>AccessDenied</Code></Error>\n{\n");
  const auto other = logs({d / "other"});
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_NE(other.err.find("looks like XML or HTML"), std::string::npos) << other.err;
  EXPECT_NE(other.err.find("pretty-printed JSON"), std::string::npos) << other.err;
  EXPECT_EQ(other.err.find("--fields"), std::string::npos) << other.err;
}

// A corrupt gzip member after a good one: the good member's records are all written, the
// error names the file and the byte where inflating stopped, exit 3.
TEST(pixel_logs, a_corrupt_gzip_member_keeps_the_records_before_it) {
  temp_dir d;
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "1.000\t-\t-\tn=" + std::to_string(i) + "\n";
  write_gzip(d / "good.gz", text);
  std::string gz;
  {
    std::ifstream in(d / "good.gz", std::ios::binary);
    gz.assign(std::istreambuf_iterator<char>(in), {});
  }
  // A second member: its 10-byte header, then deflate data whose first block header has
  // the reserved type 3 (0xFF: final block, type 11b), which no inflater accepts.
  const std::string member2 = gz.substr(0, 10) + "\xFF" + gz.substr(11);
  write(d / "bad.gz", gz + member2);
  const auto r = logs({"--fields", "timestamp,c-ip,cs-user-agent,cs-uri-query", d / "bad.gz"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  const auto recs = lines_of(r.out);
  ASSERT_EQ(recs.size(), 1000u) << r.err;
  for (std::size_t i = 0; i < recs.size(); ++i) {
    EXPECT_EQ(recs[i]["params"]["n"], std::to_string(i));
  }
  EXPECT_EQ(r.err, "pixel: error: " + d / "bad.gz" + ":1001: corrupt gzip data near byte " +
                       std::to_string(gz.size() + 11) +
                       ": invalid block type\npixel: 1 of 1001 lines skipped (1 shown above); "
                       "1000 records read\n");
  // Cut inside the first member, before any complete line: nothing read, still exit 3.
  write(d / "early.gz", gz.substr(0, 12));
  const auto early = logs({d / "early.gz"});
  EXPECT_EQ(early.exit_code, 3) << early.err;
  EXPECT_EQ(early.out, "");
  EXPECT_NE(early.err.find("pixel: error: " + d / "early.gz" +
                           ":1: truncated gzip data: the object ends at byte 12 "),
            std::string::npos)
      << early.err;
}

TEST(pixel_logs, stats_counts_distinct_event_ids_exactly) {
  temp_dir d;
  // 30,000 records of 7,001 ids in a shuffled order (the table grows several times), ids
  // that differ in one byte, and records without an id.
  std::vector<std::string> ids;
  for (int i = 0; i < 7000; ++i) ids.push_back("01J" + std::to_string(1000000 + i) + "ABCDEFGHJKM");
  ids.push_back("01J1000000ABCDEFGHJKN");
  std::mt19937 rng(7);
  std::string text;
  for (int i = 0; i < 30000; ++i) {
    const std::string& id = i < 7001 ? ids[static_cast<std::size_t>(i)] : ids[rng() % ids.size()];
    text += "1.000\t-\t-\teid=" + id + "\n";
  }
  text += "2.000\t-\t-\tn=1\n";
  write(d / "a", text);
  const auto r =
      logs({"--stats", "--fields", "timestamp,c-ip,cs-user-agent,cs-uri-query", d / "a"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"records\":30001,\"events\":7001,\"duplicates\":0,\"malformed\":0}\n");
}

TEST(pixel_logs, stats_weigh_sampled_records_by_their_rate) {
  temp_dir d;
  // sr=0.25 stands for 4, sr=0.5 for 2, no sr for 1; an sr that is not a rate in (0, 1]
  // counts as 1 and is named. eid E1 twice (one event, weighed once).
  write(d / "a",
        "1.000\t-\t-\tc=x&eid=E1&sr=0.25\n"
        "1.000\t-\t-\tc=x&eid=E1&sr=0.25\n"
        "1.000\t-\t-\tc=y&eid=E2&sr=0.5\n"
        "1.000\t-\t-\tc=y&eid=E3\n"
        "1.000\t-\t-\tc=y&eid=E4&sr=0\n"
        "1.000\t-\t-\tc=y&eid=E5&sr=abc\n");
  const std::vector<std::string> fields = {"--fields", "timestamp,c-ip,cs-user-agent,cs-uri-query"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.end(), fields.begin(), fields.end());
    extra.push_back(d / "a");
    return logs(extra);
  };
  const auto all = with({"--stats"});
  EXPECT_EQ(all.exit_code, 0) << all.err;
  EXPECT_EQ(all.out,
            "{\"records\":6,\"events\":5,\"duplicates\":0,\"malformed\":0,"
            "\"sampled_records\":5,\"bad_rates\":2,\"estimated_records\":13.0,"
            "\"estimated_events\":9.0}\n");
  const auto groups = with({"--stats", "--group-by", "c", "--format", "csv"});
  EXPECT_EQ(groups.exit_code, 0) << groups.err;
  EXPECT_EQ(groups.out, "c,count,estimated\r\ny,4,5\r\nx,2,8\r\n");
}

}  // namespace
