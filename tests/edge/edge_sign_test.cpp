// Signed URLs at the local edge (`pixel edge --verify-key`) and from `pixel url --sign-key`:
// the Python-computed vectors pass, tampered, expired, unsigned and unknown-key hits get 403
// and are logged with it, keys rotate without losing a valid hit, and no key text leaks.
// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "edge_support.hpp"
#include "pixel/url.hpp"

namespace {

using pixel::test::connection;
using pixel::test::edge_process;
using pixel::test::records_under;
using pixel::test::temp_dir;

constexpr std::size_t status_col = 2, query_col = 7;

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

nlohmann::json vectors() {
  std::ifstream in(PIXEL_SIGNATURE_VECTORS);
  return nlohmann::json::parse(in);
}

// Writes `b64` into dir/name with mode 0600 and returns "KID:PATH".
std::string key_file(const std::filesystem::path& dir, const std::string& kid,
                     const std::string& b64, mode_t mode = 0600) {
  const auto path = dir / (kid + ".key");
  pixel::test::write_file(path, b64 + "\n");
  ::chmod(path.c_str(), mode);
  return kid + ":" + path.string();
}

std::string target_of(const std::string& url) {
  return url.substr(url.find('/', url.find("://") + 3));
}

// A builder signing with `kid`/`key` (raw) for the edge's /1x1.png.
pixel::url_builder signing_builder(const std::string& kid, const std::string& key,
                                   std::chrono::seconds lifetime = std::chrono::hours(1)) {
  pixel::url_options o;
  o.signer = *pixel::make_url_signer(kid, key, lifetime);
  return *pixel::url_builder::create(*pixel::endpoint::parse("http://127.0.0.1/1x1.png"), o);
}

TEST(edge_sign, vectors_pass_and_every_tampering_is_403_and_logged) {
  temp_dir dir;
  const auto doc = vectors();
  std::vector<std::string> args;
  std::set<std::string> kids;
  for (const auto& v : doc["vectors"]) {
    if (!kids.insert(v["kid"].get<std::string>()).second) continue;
    args.push_back("--verify-key");
    args.push_back(key_file(dir.path(), v["kid"], v["key"]));
  }
  edge_process edge(dir.path(), args);
  connection c(edge.port());
  std::vector<std::string> expect_ok, expect_403;
  for (const auto& v : doc["vectors"]) {
    const std::string target = target_of(v["url"]);
    if (target.rfind("/1x1.png?", 0) != 0) continue;  // the edge serves /1x1.png only
    expect_ok.push_back(target);
  }
  ASSERT_GE(expect_ok.size(), 4u);
  const std::string t = expect_ok[0];  // typical: userid=aws_user&...
  std::string one_byte = t;
  one_byte[one_byte.find("aws_user")] = 'b';
  std::string later = t;
  const auto e = later.find("exp=") + 4;
  later.replace(e, later.find('&', e) - e, "4102444801");
  std::string removed = t;
  removed.erase(removed.find("userid=aws_user&"), 16);
  expect_403 = {one_byte,
                later,
                removed,
                t + "&extra=1",
                t.substr(0, t.find("&sig=")),
                "/1x1.png?userid=aws_user",
                "/1x1.png"};
  // An unknown key, and a genuine URL that expired more than the leeway ago.
  std::string url;
  ASSERT_TRUE(signing_builder("stranger", std::string(32, 's'))
                  .build_with({{"userid", "u"}}, "01JEXAMPLE0000000000000000", 0, 2000000000, url));
  expect_403.push_back(target_of(url));
  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  ASSERT_TRUE(signing_builder(
                  "k2026a", *pixel::decode_signing_key(doc["vectors"][0]["key"].get<std::string>()))
                  .build_with({{"userid", "u"}}, "01JEXAMPLE0000000000000000", 0,
                              static_cast<std::uint64_t>(now_s - 400), url));
  const std::string expired = target_of(url);
  expect_403.push_back(expired);

  for (const auto& target : expect_ok) EXPECT_EQ(c.request("GET", target).status, 200) << target;
  for (const auto& target : expect_403) {
    const auto r = c.request("GET", target);
    EXPECT_EQ(r.status, 403) << target;
    EXPECT_TRUE(r.body.empty());
  }
  EXPECT_EQ(edge.stop(), 0);
  const auto lines = records_under(edge.out());
  ASSERT_EQ(lines.size(), expect_ok.size() + expect_403.size());
  std::size_t ok = 0, refused = 0;
  for (const auto& l : lines) {
    const auto cols = split_tabs(l);
    if (cols[status_col] == "200") ++ok;
    if (cols[status_col] == "403") ++refused;
  }
  EXPECT_EQ(ok, expect_ok.size());
  EXPECT_EQ(refused, expect_403.size());
  const std::string err = edge.proc().stderr_text();
  EXPECT_NE(err.find("403 bad_signature: /1x1.png?"), std::string::npos) << err;
  EXPECT_NE(err.find("403 missing: /1x1.png?userid=aws_user"), std::string::npos) << err;
  EXPECT_NE(err.find("403 unknown_key: "), std::string::npos) << err;
  EXPECT_NE(err.find("403 expired: " + expired), std::string::npos) << err;
  for (const auto& v : doc["vectors"]) {
    EXPECT_EQ(err.find(v["key"].get<std::string>()), std::string::npos);
  }
}

// A campaign is opened while the producer rotates: the edge takes the new key next to the
// old one, the producer switches, the old key goes once its URLs have expired. Every valid
// hit gets 200 through all three phases.
TEST(edge_sign, rotation_while_a_campaign_is_opened_loses_no_valid_hit) {
  temp_dir dir;
  const std::string old_key(32, 'o'), new_key(32, 'n');
  const std::string old_b64 = "b29vb29vb29vb29vb29vb29vb29vb29vb29vb29vb28=";  // 32 x 'o'
  const std::string new_b64 = "bm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm5ubm4=";  // 32 x 'n'
  ASSERT_EQ(*pixel::decode_signing_key(old_b64), old_key);
  ASSERT_EQ(*pixel::decode_signing_key(new_b64), new_key);
  const auto old_spec = key_file(dir.path(), "old", old_b64);
  const auto new_spec = key_file(dir.path(), "new", new_b64);
  const auto old_builder = signing_builder("old", old_key);
  const auto new_builder = signing_builder("new", new_key);

  std::vector<std::string> sent;  // every URL the producer made, opened again and again
  int valid_hits = 0, refused = 0;
  auto open_all = [&](edge_process& edge) {
    connection c(edge.port());
    for (const auto& target : sent) {
      const int s = c.request("GET", target).status;
      if (s == 200) {
        ++valid_hits;
      } else {
        ++refused;
        ADD_FAILURE() << "refused " << s << ": " << target;
      }
    }
  };
  auto produce = [&](const pixel::url_builder& b, int n) {
    for (int i = 0; i < n; ++i) {
      sent.push_back(target_of(*b.build({{"userid", "u" + std::to_string(sent.size())}})));
    }
  };
  {
    temp_dir d1;
    edge_process edge(d1.path(), {"--verify-key", old_spec});
    produce(old_builder, 20);
    open_all(edge);
    EXPECT_EQ(edge.stop(), 0);
  }
  {
    temp_dir d2;  // step 1: the edge knows both keys; step 2: the producer switches
    edge_process edge(d2.path(), {"--verify-key", old_spec, "--verify-key", new_spec});
    open_all(edge);
    produce(new_builder, 20);
    open_all(edge);
    EXPECT_EQ(edge.stop(), 0);
  }
  {
    temp_dir d3;  // step 3, after the old URLs' lifetime: only the new key
    edge_process edge(d3.path(), {"--verify-key", new_spec});
    connection c(edge.port());
    for (std::size_t i = 0; i < sent.size(); ++i) {
      EXPECT_EQ(c.request("GET", sent[i]).status, i < 20 ? 403 : 200);
    }
    EXPECT_EQ(edge.stop(), 0);
  }
  EXPECT_EQ(valid_hits, 20 + 20 + 40);
  EXPECT_EQ(refused, 0);
}

// pixel logs --verify-key: each record says what the verifier makes of it, judged at the
// hit's own time (a URL that expired since is still "valid" for a hit made in time).
TEST(logs_sign, each_record_gets_its_signature_verdict) {
  temp_dir dir;
  const std::string key(32, 'L');
  const auto spec = key_file(dir.path(), "logs1", "TExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTEw=");
  ASSERT_EQ(*pixel::decode_signing_key("TExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTEw="), key);
  edge_process edge(dir.path());  // no --verify-key: every hit is logged with 200
  connection c(edge.port());
  const auto builder = signing_builder("logs1", key);
  const std::string valid = target_of(*builder.build({{"userid", "a"}}));
  std::string forged = valid;
  forged.replace(forged.find("userid=a"), 8, "userid=b");
  const std::string stranger =
      target_of(*signing_builder("stranger", std::string(16, 's')).build({{"userid", "a"}}));
  std::string url;
  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  ASSERT_TRUE(builder.build_with({{"userid", "a"}}, "01JEXAMPLE0000000000000000", 0,
                                 static_cast<std::uint64_t>(now_s - 1000), url));
  const std::string expired = target_of(url);
  for (const auto& t : {valid, forged, std::string("/1x1.png?userid=a"), stranger, expired}) {
    ASSERT_EQ(c.request("GET", t).status, 200) << t;
  }
  ASSERT_EQ(edge.stop(), 0);
  const auto out = pixel::test::run_checked(
      {PIXEL_BIN, "logs", "--verify-key", spec, edge.out().string()}, dir.path() / "logs.txt");
  std::vector<std::string> verdicts;
  for (std::size_t pos = 0; (pos = out.find("\"signature\": \"", pos)) != std::string::npos;) {
    pos += 14;
    verdicts.push_back(out.substr(pos, out.find('"', pos) - pos));
  }
  EXPECT_EQ(verdicts, (std::vector<std::string>{"valid", "bad_signature", "missing", "unknown_key",
                                                "expired"}))
      << out;

  // A hit made in time stays valid when the log is read after its URL expired.
  const auto lines = records_under(edge.out());
  ASSERT_EQ(lines.size(), 5u);
  auto cols = split_tabs(lines[0]);
  ASSERT_TRUE(builder.build_with({{"userid", "a"}}, "01JEXAMPLE0000000000000000", 0,
                                 static_cast<std::uint64_t>(now_s - 1000), url));
  cols[0] = std::to_string(now_s - 2000) + ".000";  // the hit, 1,000 s before exp
  cols[query_col] = url.substr(url.find('?') + 1);
  std::string line;
  for (const auto& col : cols) line += (line.empty() ? "" : "\t") + col;
  pixel::test::write_file(dir.path() / "old.tsv", line + "\n");
  const auto old = pixel::test::run_checked(
      {PIXEL_BIN, "logs", "--verify-key", spec, (dir.path() / "old.tsv").string()},
      dir.path() / "old.txt");
  EXPECT_NE(old.find("\"signature\": \"valid\""), std::string::npos) << old;
}

TEST(edge_sign, bad_key_files_are_refused_without_showing_the_key) {
  temp_dir dir;
  const auto short_spec = key_file(dir.path(), "short", "c2VjcmV0LXRleHQ=");  // "secret-text"
  const auto r = pixel::test::run_command(
      {PIXEL_BIN, "edge", "--listen", "127.0.0.1:0", "--stdout", "--verify-key", short_spec},
      dir.path() / "out.txt");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("at least 16"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("c2VjcmV0LXRleHQ"), std::string::npos) << r.output;
  const auto r2 = pixel::test::run_command(
      {PIXEL_BIN, "edge", "--listen", "127.0.0.1:0", "--stdout", "--verify-key", "nocolon"},
      dir.path() / "out2.txt");
  EXPECT_EQ(r2.exit_code, 1);
  EXPECT_NE(r2.output.find("--verify-key: expected KID:FILE"), std::string::npos) << r2.output;
}

TEST(cli_sign, url_is_signed_verifiable_and_the_key_never_shows) {
  temp_dir dir;
  const std::string b64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
  const auto private_spec = key_file(dir.path(), "k2026a", b64);
  const auto open_spec = key_file(dir.path(), "shared", b64, 0644);
  pixel::keyring ring;
  ASSERT_TRUE(ring.add("k2026a", *pixel::decode_signing_key(b64)));
  ASSERT_TRUE(ring.add("shared", *pixel::decode_signing_key(b64)));

  auto r = pixel::test::run_command(
      {PIXEL_BIN, "url", "--endpoint", "https://d111111abcdef8.cloudfront.net", "--sign-key",
       private_spec, "--ttl", "120", "userid=aws_user"},
      dir.path() / "url.txt");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string url = r.output.substr(0, r.output.find('\n'));
  EXPECT_EQ(r.output, url + "\n");  // no warning for a 0600 file
  const auto now = std::chrono::system_clock::now();
  EXPECT_EQ(pixel::verify(url, ring, now), pixel::signature_status::valid) << url;
  EXPECT_EQ(pixel::verify(url, ring, now + std::chrono::seconds(120 + 300 + 5)),
            pixel::signature_status::expired);
  EXPECT_NE(url.find("&kid=k2026a&exp="), std::string::npos);

  r = pixel::test::run_command(
      {PIXEL_BIN, "img", "--endpoint", "https://d111111abcdef8.cloudfront.net", "--sign-key",
       open_spec, "userid=aws_user"},
      dir.path() / "img.txt");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("pixel: warning: key file"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("accessible to other users"), std::string::npos);
  EXPECT_NE(r.output.find("&amp;kid=shared&amp;exp="), std::string::npos);

  r = pixel::test::run_command(
      {PIXEL_BIN, "url", "--endpoint", "https://d111111abcdef8.cloudfront.net", "--sign-key",
       private_spec, "sig=1"},
      dir.path() / "reserved.txt");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("reserved for the signature"), std::string::npos) << r.output;

  for (const char* cmd : {"url", "img", "edge"}) {
    r = pixel::test::run_command({PIXEL_BIN, cmd, "--help"}, dir.path() / "help.txt");
    EXPECT_EQ(r.output.find(b64.substr(0, 12)), std::string::npos);
    EXPECT_NE(r.output.find("KID:FILE"), std::string::npos) << cmd;
  }
}

}  // namespace
