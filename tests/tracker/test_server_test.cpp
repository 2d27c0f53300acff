// The test servers themselves: a fault injector that silently misbehaves makes every
// other test meaningless.
// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <httplib.h>

#include "test_server.hpp"

namespace {
using namespace std::chrono_literals;
using pixel::test::http_server;
using pixel::test::raw_server;

TEST(TestServer, RecordsQueryAndAnswersScript) {
  http_server server;
  server.script({{503, "1"}, {404}});
  httplib::Client client("127.0.0.1", server.port());
  auto r1 = client.Get("/1x1.png?a=1&b=x%20y&a=2");
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->status, 503);
  EXPECT_EQ(r1->get_header_value("Retry-After"), "1");
  auto r2 = client.Get("/1x1.png");
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 404);
  auto r3 = client.Get("/1x1.png");
  ASSERT_TRUE(r3);
  EXPECT_EQ(r3->status, 200);
  EXPECT_EQ(r3->body.size(), 43u);
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].query, "a=1&b=x%20y&a=2");
  ASSERT_EQ(reqs[0].params.size(), 3u);
  EXPECT_EQ(reqs[0].params[1].second, "x y");
  EXPECT_EQ(reqs[0].params[2].second, "2");
  EXPECT_EQ(reqs[0].param("a"), "1");
}

TEST(TestServer, ReleaseStallsEndsDelay) {
  http_server server;
  server.script({pixel::test::response_step(200)});
  pixel::test::response_step stall(204);
  stall.delay = 60s;
  server.set_default(stall);
  httplib::Client client("127.0.0.1", server.port());
  EXPECT_EQ(client.Get("/")->status, 200);
  std::thread releaser([&] {
    ASSERT_TRUE(server.wait_for_requests(2, 30s));
    server.release_stalls();
  });
  const auto start = std::chrono::steady_clock::now();
  auto r = client.Get("/");
  releaser.join();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 30s);
}

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

TEST(TestServer, RawResetAndRefused) {
  raw_server reset(raw_server::mode::reset);
  const int fd = connect_to(reset.port());
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::send(fd, "GET / HTTP/1.1\r\n\r\n", 18, 0), 18);
  char buf[16];
  const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  EXPECT_LT(n, 0);
  EXPECT_EQ(errno, ECONNRESET);
  ::close(fd);
  EXPECT_EQ(reset.connections(), 1u);

  pixel::test::refused_port refused;
  EXPECT_LT(connect_to(refused.port()), 0);
  EXPECT_EQ(errno, ECONNREFUSED);
}
}  // namespace
