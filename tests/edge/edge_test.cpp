// pixel edge, driven as a child process over real HTTP.
// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>

#include <atomic>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "edge_support.hpp"
#include "pixel/log.hpp"

namespace {

using pixel::test::connection;
using pixel::test::edge_process;
using pixel::test::records_under;
using pixel::test::temp_dir;

const std::string png_b64_decoded = [] {
  // The 68-byte PNG of the facts file, byte for byte.
  const unsigned char b[] = {0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d,
                             0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
                             0x08, 0x04, 0x00, 0x00, 0x00, 0xb5, 0x1c, 0x0c, 0x02, 0x00, 0x00, 0x00,
                             0x0b, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x60, 0x60, 0x00, 0x00,
                             0x00, 0x03, 0x00, 0x01, 0x2b, 0x09, 0x4d, 0x84, 0x00, 0x00, 0x00, 0x00,
                             0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};
  return std::string(reinterpret_cast<const char*>(b), sizeof b);
}();

// Columns of the default layout (timestamp, c-ip, sc-status, cs-uri-stem,
// x-edge-request-id, cs-user-agent, cs-referer, cs-uri-query).
constexpr std::size_t ua_col = 5, query_col = 7;

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  for (;;) {
    const auto tab = line.find('\t', pos);
    out.push_back(line.substr(pos, tab == std::string::npos ? std::string::npos : tab - pos));
    if (tab == std::string::npos) return out;
    pos = tab + 1;
  }
}

// Digits, '.', then exactly three digits (epoch or duration seconds as CloudFront logs them);
// `int_digits` > 0 also fixes the number of integer digits.
bool is_seconds_3dp(const std::string& s, std::size_t int_digits = 0) {
  const auto dot = s.find('.');
  if (dot == std::string::npos || dot == 0 || s.size() - dot - 1 != 3) return false;
  if (int_digits && dot != int_digits) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i != dot && (s[i] < '0' || s[i] > '9')) return false;
  }
  return true;
}

// Polls a predicate on files an external process writes, with a generous deadline.
template <class F>
bool eventually(F pred) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

TEST(edge, first_line_and_pixel_response) {
  temp_dir dir;
  edge_process edge(dir.path());
  EXPECT_EQ(edge.first_line(), "listening on " + edge.url());
  connection c(edge.port());
  const auto r = c.request("GET", "/1x1.png?a=1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, png_b64_decoded);
  EXPECT_EQ(r.body.size(), 68u);
  EXPECT_EQ(r.header("Content-Type"), "image/png");
  EXPECT_EQ(r.header("Cache-Control"), "no-cache, no-store, must-revalidate");
  // HEAD on the same keep-alive connection: headers only.
  const auto h = c.request("HEAD", "/1x1.png");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.header("Content-Length"), "68");
  EXPECT_EQ(h.header("Content-Type"), "image/png");
  EXPECT_EQ(h.header("Cache-Control"), "no-cache, no-store, must-revalidate");
  EXPECT_TRUE(h.body.empty());
  EXPECT_EQ(c.request("GET", "/1x1.png?b=2").status, 200);
  EXPECT_EQ(edge.stop(), 0);
  const auto lines = records_under(edge.out());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(split_tabs(lines[0])[query_col], "a=1");
  EXPECT_EQ(split_tabs(lines[1])[query_col], "-");
  EXPECT_EQ(split_tabs(lines[2])[query_col], "b=2");
}

TEST(edge, other_paths_are_404_and_not_logged) {
  temp_dir dir;
  edge_process edge(dir.path());
  connection c(edge.port());
  EXPECT_EQ(c.request("GET", "/").status, 404);
  EXPECT_EQ(c.request("GET", "/1x1.gif?a=1").status, 404);
  EXPECT_EQ(c.request("GET", "/1x1.png/x").status, 404);
  EXPECT_EQ(c.request("GET", "/1x1.png?logged=1").status, 200);
  EXPECT_EQ(edge.stop(), 0);
  const auto lines = records_under(edge.out());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(split_tabs(lines[0])[query_col], "logged=1");
}

TEST(edge, url_length_limit_is_8192_bytes_of_target) {
  temp_dir dir;
  edge_process edge(dir.path(), {"--fields", "cs-uri-query,sc-status"});
  const std::string head = "/1x1.png?x=";
  const std::string at_limit = head + std::string(8192 - head.size(), 'a');
  const std::string over = head + std::string(8193 - head.size(), 'b');
  ASSERT_EQ(at_limit.size(), 8192u);
  {
    connection c(edge.port());
    const auto r = c.request("GET", at_limit);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body.size(), 68u);
    // Still open for the next request.
    EXPECT_EQ(c.request("GET", "/1x1.png?after=1").status, 200);
  }
  {
    connection c(edge.port());
    const auto r = c.request("GET", over);
    EXPECT_EQ(r.status, 413);
    EXPECT_TRUE(c.closed_by_peer());
  }
  {
    // Far over, and a path that is not the pixel: 413 before routing.
    connection c(edge.port());
    EXPECT_EQ(c.request("GET", "/x?" + std::string(20000, 'c')).status, 413);
    EXPECT_TRUE(c.closed_by_peer());
  }
  EXPECT_EQ(edge.stop(), 0);
  const auto lines = records_under(edge.out());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "200\t" + at_limit.substr(9));
  EXPECT_EQ(lines[1], "200\tafter=1");
}

TEST(edge, record_is_log_escaped_like_cloudfront) {
  temp_dir dir;
  edge_process edge(dir.path());
  connection c(edge.port());
  const std::string ua = "Mozilla/5.0 (X11; \"q\") 100% <ok> {x}|\\^~[]`'#\xC3\xA9";
  // %20 sent must appear as %2520; a raw UTF-8 byte is escaped too.
  const std::string target = "/1x1.png?a=a%20b&u=%C3%A9&t=~x&q='\"&r=\xC3\xA9";
  EXPECT_EQ(c.request("GET", target, "User-Agent: " + ua + "\r\n").status, 200);
  EXPECT_EQ(c.request("GET", "/1x1.png", "User-Agent: \r\n").status, 200);
  EXPECT_EQ(edge.stop(), 0);
  const auto lines = records_under(edge.out());
  ASSERT_EQ(lines.size(), 2u);
  const auto f = split_tabs(lines[0]);
  ASSERT_EQ(f.size(), 8u);
  EXPECT_TRUE(is_seconds_3dp(f[0], 10)) << f[0];
  const double ts = std::stod(f[0]);
  EXPECT_NEAR(ts, static_cast<double>(std::time(nullptr)), 600.0);
  EXPECT_EQ(f[1], "127.0.0.1");
  EXPECT_EQ(
      f[ua_col],
      "Mozilla/5.0%20(X11;%20%22q%22)%20100%25%20%3Cok%3E%20%7Bx%7D%7C%5C%5E%7E%5B%5D%60%27%23"
      "%C3%A9");
  EXPECT_EQ(f[query_col], "a=a%2520b&u=%25C3%25A9&t=%7Ex&q=%27%22&r=%C3%A9");
  // Empty user agent and no query: '-'.
  const auto g = split_tabs(lines[1]);
  ASSERT_EQ(g.size(), 8u);
  EXPECT_EQ(g[ua_col], "-");
  EXPECT_EQ(g[query_col], "-");
}

TEST(edge, fields_come_in_canonical_order) {
  temp_dir dir;
  edge_process edge(
      dir.path(), {"--fields",
                   "cs-uri-query,sc-status,timestamp,cs-method,cs-protocol-version,time-taken,"
                   "x-edge-request-id,cs-uri-stem,cs-referer,c-ip,cs-user-agent,sc-content-type"});
  connection c(edge.port());
  EXPECT_EQ(c.request("GET", "/1x1.png?k=v%2Fw", "Referer: https://ex.com/a b\r\n").status, 200);
  EXPECT_EQ(c.request("HEAD", "/1x1.png?k=2").status, 200);
  EXPECT_EQ(edge.stop(), 0);
  const auto lines = records_under(edge.out());
  ASSERT_EQ(lines.size(), 2u);
  // timestamp, c-ip, sc-status, cs-method, cs-uri-stem, x-edge-request-id, time-taken,
  // cs-protocol-version, cs-user-agent, cs-referer, cs-uri-query, sc-content-type
  const auto f = split_tabs(lines[0]);
  ASSERT_EQ(f.size(), 12u);
  EXPECT_TRUE(is_seconds_3dp(f[0])) << f[0];
  EXPECT_EQ(f[1], "127.0.0.1");
  EXPECT_EQ(f[2], "200");
  EXPECT_EQ(f[3], "GET");
  EXPECT_EQ(f[4], "/1x1.png?k=v%252Fw");
  EXPECT_GE(f[5].size(), 20u);
  EXPECT_TRUE(is_seconds_3dp(f[6])) << f[6];
  EXPECT_EQ(f[7], "HTTP/1.1");
  EXPECT_EQ(f[8], "-");
  EXPECT_EQ(f[9], "https://ex.com/a%20b");
  EXPECT_EQ(f[10], "k=v%252Fw");
  EXPECT_EQ(f[11], "image/png");
  const auto g = split_tabs(lines[1]);
  EXPECT_EQ(g[3], "HEAD");
  EXPECT_EQ(g[10], "k=2");
  EXPECT_NE(g[5], f[5]);  // request ids differ
}

TEST(edge, firehose_layout_and_buffer_interval) {
  temp_dir dir;
  edge_process edge(dir.path(), {"--buffer-interval", "100"});
  connection c(edge.port());
  EXPECT_EQ(c.request("GET", "/1x1.png?n=1").status, 200);
  // Written within the buffer interval, while the edge keeps running.
  ASSERT_TRUE(eventually([&] { return pixel::test::objects_under(edge.out()).size() == 1; }));
  EXPECT_EQ(c.request("GET", "/1x1.png?n=2").status, 200);
  ASSERT_TRUE(eventually([&] { return pixel::test::objects_under(edge.out()).size() == 2; }));
  EXPECT_EQ(edge.stop(), 0);
  const auto objects = pixel::test::objects_under(edge.out());
  ASSERT_EQ(objects.size(), 2u);
  for (const auto& p : objects) {
    const auto line = pixel::test::read_file(p);
    ASSERT_FALSE(line.empty());
    EXPECT_EQ(line.back(), '\n');
    const std::time_t t = static_cast<std::time_t>(std::stod(split_tabs(line)[0]));
    std::tm tm{};
    gmtime_r(&t, &tm);
    char want[64];
    std::snprintf(want, sizeof want, "year=%04d/month=%02d/day=%02d/hour=%02d", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour);
    const auto rel = std::filesystem::relative(p.parent_path(), edge.out()).string();
    EXPECT_EQ(rel, want);
  }
}

TEST(edge, buffer_size_starts_new_objects) {
  temp_dir dir;
  edge_process edge(dir.path(), {"--buffer-size", "1", "--buffer-interval", "3600000"});
  connection c(edge.port());
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(c.request("GET", "/1x1.png?n=" + std::to_string(i)).status, 200);
  }
  EXPECT_EQ(edge.stop(), 0);
  const auto objects = pixel::test::objects_under(edge.out());
  ASSERT_EQ(objects.size(), 5u);
  std::set<std::string> seen;
  for (const auto& p : objects) {
    const auto text = pixel::test::read_file(p);
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);
    seen.insert(split_tabs(text.substr(0, text.size() - 1))[query_col]);
  }
  EXPECT_EQ(seen.size(), 5u);
}

TEST(edge, sigterm_writes_every_record) {
  temp_dir dir;
  // Nothing is due before the stop: every record must come from the shutdown path.
  edge_process edge(dir.path(), {"--buffer-interval", "3600000"});
  constexpr int threads = 4, per_thread = 100;
  std::atomic<int> ok{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      connection c(edge.port());
      for (int i = 0; i < per_thread; ++i) {
        if (c.request("GET", "/1x1.png?t=" + std::to_string(t) + "&i=" + std::to_string(i))
                .status == 200) {
          ++ok;
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), threads * per_thread);
  EXPECT_EQ(edge.stop(), 0);
  const auto lines = records_under(edge.out());
  std::set<std::string> queries;
  for (const auto& l : lines) queries.insert(split_tabs(l)[query_col]);
  EXPECT_EQ(lines.size(), static_cast<std::size_t>(threads * per_thread));
  EXPECT_EQ(queries.size(), static_cast<std::size_t>(threads * per_thread));
}

TEST(edge, sigterm_finishes_in_flight_requests) {
  temp_dir dir;
  edge_process edge(dir.path(), {"--delay-ms", "300", "--buffer-interval", "3600000"});
  connection c(edge.port());
  // The first answer proves the connection is being served.
  EXPECT_EQ(c.request("GET", "/1x1.png?n=1").status, 200);
  c.send_request("GET", "/1x1.png?n=2");
  edge.proc().signal(SIGTERM);
  const auto r = c.read_response();
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_EQ(edge.proc().wait(), 0);
  const auto lines = records_under(edge.out());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(split_tabs(lines[1])[query_col], "n=2");
}

TEST(edge, sigint_also_stops_cleanly) {
  temp_dir dir;
  edge_process edge(dir.path());
  connection c(edge.port());
  EXPECT_EQ(c.request("GET", "/1x1.png?n=1").status, 200);
  edge.proc().signal(SIGINT);
  EXPECT_EQ(edge.proc().wait(), 0);
  EXPECT_EQ(records_under(edge.out()).size(), 1u);
}

// Status sequence of `n` sequential requests on one connection (0 for a reset).
std::vector<int> statuses(int port, int n, std::vector<std::string>* retry_after = nullptr) {
  std::vector<int> out;
  auto c = std::make_unique<connection>(port);
  for (int i = 0; i < n; ++i) {
    const auto r = c->request("GET", "/1x1.png?i=" + std::to_string(i));
    out.push_back(r.status);
    if (retry_after && r.status != 200) retry_after->push_back(r.header("Retry-After"));
    if (r.status == 0) c = std::make_unique<connection>(port);  // reset: reconnect
  }
  return out;
}

TEST(edge, fault_injection_is_deterministic_with_a_seed) {
  std::vector<int> first, second, other;
  std::vector<std::string> retry_after;
  std::vector<std::string> logged;
  {
    temp_dir dir;
    edge_process edge(dir.path(), {"--seed", "42", "--fail-rate", "0.5", "--retry-after", "3",
                                   "--fields", "sc-status,cs-uri-query"});
    first = statuses(edge.port(), 60, &retry_after);
    EXPECT_EQ(edge.stop(), 0);
    logged = records_under(edge.out());
  }
  {
    temp_dir dir;
    edge_process edge(dir.path(), {"--seed", "42", "--fail-rate", "0.5", "--retry-after", "3"});
    second = statuses(edge.port(), 60);
    EXPECT_EQ(edge.stop(), 0);
  }
  {
    temp_dir dir;
    edge_process edge(dir.path(), {"--seed", "43", "--fail-rate", "0.5", "--retry-after", "3"});
    other = statuses(edge.port(), 60);
    EXPECT_EQ(edge.stop(), 0);
  }
  EXPECT_EQ(first, second);
  EXPECT_NE(first, other);
  const auto fails = std::count(first.begin(), first.end(), 503);
  EXPECT_GT(fails, 10);
  EXPECT_LT(fails, 50);
  EXPECT_EQ(std::count(first.begin(), first.end(), 200) + fails, 60);
  for (const auto& ra : retry_after) EXPECT_EQ(ra, "3");
  // Every request logged, with the status it got.
  ASSERT_EQ(logged.size(), 60u);
  for (std::size_t i = 0; i < logged.size(); ++i) {
    EXPECT_EQ(logged[i], std::to_string(first[i]) + "\ti=" + std::to_string(i));
  }
}

TEST(edge, fail_status_is_configurable) {
  temp_dir dir;
  edge_process edge(dir.path(), {"--fail-rate", "1", "--fail-status", "502"});
  connection c(edge.port());
  const auto r = c.request("GET", "/1x1.png?a=1");
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.header("Retry-After"), "");
  EXPECT_EQ(edge.stop(), 0);
  EXPECT_EQ(records_under(edge.out()).size(), 1u);
}

TEST(edge, resets_are_logged_as_served) {
  std::vector<int> first, second;
  std::vector<std::string> logged;
  {
    temp_dir dir;
    edge_process edge(dir.path(),
                      {"--seed", "7", "--reset-rate", "0.3", "--fields", "sc-status,cs-uri-query"});
    first = statuses(edge.port(), 40);
    EXPECT_EQ(edge.stop(), 0);
    logged = records_under(edge.out());
  }
  {
    temp_dir dir;
    edge_process edge(dir.path(), {"--seed", "7", "--reset-rate", "0.3"});
    second = statuses(edge.port(), 40);
    EXPECT_EQ(edge.stop(), 0);
  }
  EXPECT_EQ(first, second);
  const auto resets = std::count(first.begin(), first.end(), 0);
  EXPECT_GT(resets, 3);
  EXPECT_LT(resets, 25);
  EXPECT_EQ(std::count(first.begin(), first.end(), 200) + resets, 40);
  // The ambiguous failure: the client saw a reset, the log has the request as served.
  ASSERT_EQ(logged.size(), 40u);
  for (std::size_t i = 0; i < logged.size(); ++i) {
    EXPECT_EQ(logged[i], "200\ti=" + std::to_string(i));
  }
}

TEST(edge, command_line_errors) {
  temp_dir dir;
  {
    pixel::test::child p(PIXEL_BIN,
                         {"edge", "--listen", "127.0.0.1:0", "--out", dir.path().string(),
                          "--fields", "timestamp,nope"},
                         dir.path() / "err1");
    EXPECT_EQ(p.wait(), 1);
    EXPECT_EQ(p.stderr_text().rfind("pixel: --fields: unknown log field 'nope': ", 0), 0u)
        << p.stderr_text();
  }
  {
    pixel::test::child p(PIXEL_BIN, {"edge", "--listen", "localhost", "--out", dir.path().string()},
                         dir.path() / "err2");
    EXPECT_EQ(p.wait(), 1);
    EXPECT_EQ(p.stderr_text(), "pixel: --listen: expected HOST:PORT, got 'localhost'\n");
  }
  {
    pixel::test::child p(
        PIXEL_BIN,
        {"edge", "--listen", "127.0.0.1:0", "--out", dir.path().string(), "--fail-rate", "2"},
        dir.path() / "err3");
    EXPECT_EQ(p.wait(), 2);
  }
  {
    pixel::test::child p(PIXEL_BIN, {"edge", "--listen", "127.0.0.1:0"}, dir.path() / "err4");
    EXPECT_EQ(p.wait(), 1);
    EXPECT_EQ(p.stderr_text(), "pixel: --out DIR is required (or --stdout)\n");
  }
}

// A second edge on a port the first listens on exits 1 and takes none of its traffic:
// without --reuse-port the port is not shared.
TEST(edge, a_taken_port_is_refused) {
  temp_dir dir;
  edge_process first(dir.path());
  std::filesystem::create_directories(dir.path() / "second");
  pixel::test::child second(PIXEL_BIN,
                            {"edge", "--listen", "127.0.0.1:" + std::to_string(first.port()),
                             "--out", (dir.path() / "second" / "out").string()},
                            dir.path() / "second" / "stderr");
  EXPECT_EQ(second.wait(), 1);
  EXPECT_NE(second.stderr_text().find("address in use"), std::string::npos) << second.stderr_text();
  // Each on a connection of its own, so a shared port would spread them.
  constexpr int n = 50;
  for (int i = 0; i < n; ++i) {
    connection c(first.port());
    ASSERT_EQ(c.request("GET", "/1x1.png?i=" + std::to_string(i)).status, 200);
  }
  EXPECT_EQ(first.stop(), 0);
  EXPECT_EQ(records_under(first.out()).size(), static_cast<std::size_t>(n));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "second" / "out"));
}

TEST(edge, stdout_echoes_records) {
  temp_dir dir;
  edge_process edge(dir.path(), {"--stdout"});
  connection c(edge.port());
  EXPECT_EQ(c.request("GET", "/1x1.png?echo=1", "User-Agent: t\r\n").status, 200);
  const std::string line = edge.proc().read_line();
  const auto f = split_tabs(line);
  ASSERT_EQ(f.size(), 8u);
  EXPECT_EQ(f[ua_col], "t");
  EXPECT_EQ(f[query_col], "echo=1");
  EXPECT_EQ(edge.stop(), 0);
  EXPECT_EQ(records_under(edge.out()), std::vector<std::string>{line});
}

// `pixel logs` over the edge's output folder: one JSON object per record.
std::vector<nlohmann::json> read_back(const temp_dir& dir, const std::filesystem::path& out,
                                      std::vector<std::string> args) {
  args.insert(args.begin(), "logs");
  args.push_back(out.string());
  pixel::test::child p(PIXEL_BIN, args, dir.path() / "logs.stderr");
  const std::string text = p.read_rest();
  EXPECT_EQ(p.wait(), 0) << p.stderr_text();
  std::vector<nlohmann::json> v;
  std::istringstream s(text);
  std::string l;
  while (std::getline(s, l)) v.push_back(nlohmann::json::parse(l));
  return v;
}

TEST(edge, writes_every_catalog_field_and_the_reader_reads_it_back) {
  std::string all;
  for (std::size_t i = 0; i < pixel::log::field_count; ++i) {
    // Given backwards: written in the catalog's order all the same.
    if (i) all += ',';
    all += pixel::log::field_name(static_cast<pixel::log::field>(pixel::log::field_count - 1 - i));
  }
  temp_dir dir;
  edge_process edge(dir.path(),
                    {"--fields", all, "--asn", "64500", "--primary-distribution-id", "E2PRIMARY",
                     "--primary-distribution-dns-name", "d2.cloudfront.net"});
  connection c(edge.port());
  EXPECT_EQ(c.request("GET", "/1x1.png?u=a%20b&CMCD=br%3D3200%2Cbs%2Cot%3Dv",
                      "User-Agent: UA x\r\nReferer: https://ex.com/p q\r\nCookie: s=1; t=2\r\n"
                      "X-Forwarded-For: 198.51.100.2\r\nAccept: image/*\r\n"
                      "CMCD-Session: sid=\"6e2f\",cid=\"film 1\"\r\n")
                .status,
            200);
  EXPECT_EQ(edge.stop(), 0);
  const auto lines = records_under(edge.out());
  ASSERT_EQ(lines.size(), 1u);
  ASSERT_EQ(split_tabs(lines[0]).size(), pixel::log::field_count);
  const auto recs = read_back(dir, edge.out(), {"--fields", all});
  ASSERT_EQ(recs.size(), 1u);
  const auto& j = recs[0];
  EXPECT_EQ(j.at("c_ip"), "127.0.0.1");
  EXPECT_EQ(j.at("s_ip"), "127.0.0.1");
  EXPECT_EQ(j.at("user_agent"), "UA x");
  EXPECT_EQ(j.at("query"), "u=a%20b&CMCD=br%3D3200%2Cbs%2Cot%3Dv");
  EXPECT_EQ(j.at("params").at("u"), "a b");
  EXPECT_EQ(j.at("sc_status"), 200);
  EXPECT_FALSE(j.contains("closed"));
  EXPECT_EQ(j.at("cs_referer"), "https://ex.com/p q");
  EXPECT_EQ(j.at("cs_cookie"), "s=1; t=2");
  EXPECT_EQ(j.at("x_forwarded_for"), "198.51.100.2");
  EXPECT_EQ(j.at("cs_accept"), "image/*");
  EXPECT_EQ(j.at("cs_uri_stem"), "/1x1.png?u=a%20b&CMCD=br%3D3200%2Cbs%2Cot%3Dv");
  EXPECT_EQ(j.at("sc_content_type"), "image/png");
  EXPECT_EQ(j.at("sc_content_len"), 68);
  EXPECT_TRUE(j.at("sc_bytes").is_number_integer());
  EXPECT_TRUE(j.at("cs_bytes").is_number_integer());
  EXPECT_TRUE(j.at("time_taken").is_number());
  EXPECT_TRUE(j.at("c_port").is_number_integer());
  EXPECT_EQ(j.at("cs_headers_count"), 7);  // Host is added by the test client
  EXPECT_EQ(j.at("cache_behavior_path_pattern"), "/1x1.png");
  EXPECT_EQ(j.at("primary_distribution_id"), "E2PRIMARY");
  EXPECT_EQ(j.at("primary_distribution_dns_name"), "d2.cloudfront.net");
  EXPECT_EQ(j.at("asn"), 64500);
  EXPECT_EQ(j.at("cmcd_encoded_bitrate"), 3200);
  EXPECT_EQ(j.at("cmcd_buffer_starvation"), "true");
  EXPECT_EQ(j.at("cmcd_object_type"), "v");
  EXPECT_EQ(j.at("cmcd_session_id"), "6e2f");
  EXPECT_EQ(j.at("cmcd_content_id"), "film 1");
  EXPECT_TRUE(j.at("origin_fbl").is_null());
  EXPECT_TRUE(j.at("c_country").is_null());
  EXPECT_TRUE(j.at("connection_id").is_null());
  EXPECT_EQ(j.size(), pixel::log::field_count + 1);  // query and params from one field
}

// --no-client-ip: what CloudFront writes when c-ip is not in the configuration's fields;
// `pixel logs` reads it with that field list.
TEST(edge, no_client_ip_writes_no_viewer_address) {
  temp_dir dir;
  edge_process edge(dir.path(), {"--no-client-ip", "--asn", "64500"});
  connection c(edge.port());
  EXPECT_EQ(c.request("GET", "/1x1.png?eid=e1", "User-Agent: UA\r\nX-Forwarded-For: 127.0.0.1\r\n")
                .status,
            200);
  EXPECT_EQ(edge.stop(), 0);
  const auto lines = records_under(edge.out());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].find("127.0.0.1"), std::string::npos) << lines[0];
  const std::string fields =
      "timestamp,sc-status,cs-uri-stem,x-edge-request-id,cs-user-agent,cs-referer,cs-uri-query,"
      "c-country,asn";
  ASSERT_EQ(split_tabs(lines[0]).size(), 9u);
  const auto recs = read_back(dir, edge.out(), {"--fields", fields});
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_FALSE(recs[0].contains("c_ip"));
  EXPECT_EQ(recs[0].at("params").at("eid"), "e1");
  EXPECT_EQ(recs[0].at("user_agent"), "UA");
  EXPECT_EQ(recs[0].at("asn"), 64500);
  EXPECT_TRUE(recs[0].at("c_country").is_null());

  // Asking for c-ip as well is a contradiction, not a silent choice.
  pixel::test::child p(PIXEL_BIN,
                       {"edge", "--listen", "127.0.0.1:0", "--no-client-ip", "--fields",
                        "timestamp,c-ip", "--out", (dir.path() / "x").string()},
                       dir.path() / "contradiction.stderr");
  EXPECT_EQ(p.wait(), 1);
  EXPECT_EQ(p.stderr_text(), "pixel: --no-client-ip: --fields names c-ip, a viewer's address\n");
}

TEST(edge, a_viewer_that_hangs_up_is_logged_000_and_dedupe_keeps_its_retry) {
  temp_dir dir;
  edge_process edge(dir.path(), {"--delay-ms", "400"});
  {
    connection gone(edge.port());
    gone.send_request("GET", "/1x1.png?eid=E1&try=1");
  }  // closed while the edge is still waiting to answer
  connection c(edge.port());
  EXPECT_EQ(c.request("GET", "/1x1.png?eid=E1&try=2").status, 200);
  EXPECT_EQ(edge.stop(), 0);
  auto lines = records_under(edge.out());
  ASSERT_EQ(lines.size(), 2u);
  std::sort(lines.begin(), lines.end(), [](const std::string& a, const std::string& b) {
    return split_tabs(a)[query_col] < split_tabs(b)[query_col];
  });
  EXPECT_EQ(split_tabs(lines[0])[2], "000");
  EXPECT_EQ(split_tabs(lines[1])[2], "200");
  const auto all = read_back(dir, edge.out(), {});
  ASSERT_EQ(all.size(), 2u);
  const auto kept = read_back(dir, edge.out(), {"--dedupe"});
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].at("params").at("try"), "2");
  EXPECT_EQ(kept[0].at("sc_status"), 200);
}

TEST(edge, identity_flags_are_checked) {
  temp_dir dir;
  pixel::test::child p(
      PIXEL_BIN, {"edge", "--listen", "127.0.0.1:0", "--out", dir.path().string(), "--asn", "AS1"},
      dir.path() / "err");
  EXPECT_EQ(p.wait(), 2);
  pixel::test::child q(PIXEL_BIN,
                       {"edge", "--listen", "127.0.0.1:0", "--out", dir.path().string(),
                        "--primary-distribution-id", "E1 X"},
                       dir.path() / "err2");
  EXPECT_EQ(q.wait(), 2);
}

}  // namespace
