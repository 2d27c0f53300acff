// pixel edge over HTTPS (certificate made by the openssl program, an outside program).
// SPDX-License-Identifier: MIT
#include <gtest/gtest.h>
#include <httplib.h>

#include "edge_support.hpp"

namespace {

using pixel::test::child;
using pixel::test::temp_dir;

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

TEST(edge_tls, serves_and_logs_over_https) {
  temp_dir dir;
  const auto cert = dir.path() / "cert.pem", key = dir.path() / "key.pem";
  {
    child gen(OPENSSL_BIN,
              {"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key.string(), "-out",
               cert.string(), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
               "subjectAltName=IP:127.0.0.1"},
              dir.path() / "openssl.stderr");
    ASSERT_EQ(gen.wait(), 0) << gen.stderr_text();
  }
  child edge(PIXEL_BIN,
             {"edge", "--listen", "127.0.0.1:0", "--out", (dir.path() / "out").string(),
              "--tls-cert", cert.string(), "--tls-key", key.string(), "--fields",
              "sc-status,cs-protocol,cs-uri-query,ssl-protocol"},
             dir.path() / "edge.stderr");
  const std::string first = edge.read_line();
  const std::string prefix = "listening on https://127.0.0.1:";
  ASSERT_EQ(first.rfind(prefix, 0), 0u) << first << edge.stderr_text();
  const int port = std::stoi(first.substr(prefix.size()));

  httplib::SSLClient c("127.0.0.1", port);
  c.set_ca_cert_path(cert.c_str());
  c.enable_server_certificate_verification(true);
  c.set_keep_alive(true);
  auto r = c.Get("/1x1.png?a=%20");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body.size(), 68u);
  EXPECT_EQ(r->get_header_value("Content-Type"), "image/png");
  const std::string head = "/1x1.png?x=";
  auto at = c.Get(head + std::string(8192 - head.size(), 'a'));
  ASSERT_TRUE(at);
  EXPECT_EQ(at->status, 200);
  auto over = c.Get(head + std::string(8193 - head.size(), 'a'));
  ASSERT_TRUE(over);
  EXPECT_EQ(over->status, 413);

  edge.signal(SIGTERM);
  EXPECT_EQ(edge.wait(), 0);
  const auto lines = pixel::test::records_under(dir.path() / "out");
  ASSERT_EQ(lines.size(), 2u);
  const auto f = split_tabs(lines[0]);
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0], "200");
  EXPECT_EQ(f[1], "https");
  EXPECT_EQ(f[2], "a=%2520");
  EXPECT_EQ(f[3].rfind("TLSv1.", 0), 0u) << f[3];
}

}  // namespace
