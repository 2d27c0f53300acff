// --simulate-opens fetches exactly the pixel URL of the messages it picks, through the
// tracker, against a loopback HTTP server started here.
// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <strings.h>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "campaign.hpp"
#include "csv_reader.hpp"
#include "pixel/url.hpp"

namespace ec = email_campaign;
namespace fs = std::filesystem;

namespace {
// A one-thread HTTP/1.1 server on 127.0.0.1 (port chosen by the OS) that answers every
// request 200 with keep-alive and records its target and User-Agent. poll() over all
// connections: no library threads whose synchronisation the sanitizers cannot see.
class loopback_server {
 public:
  struct request {
    std::string target;
    std::string user_agent;
  };

  loopback_server() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(listen_fd_, 128) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
        ::pipe(wake_) != 0) {
      ADD_FAILURE() << "cannot listen on 127.0.0.1";
      return;
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~loopback_server() {
    if (thread_.joinable()) {
      const char x = 'x';
      EXPECT_EQ(::write(wake_[1], &x, 1), 1);
      thread_.join();
    }
    for (int fd : {listen_fd_, wake_[0], wake_[1]}) {
      if (fd >= 0) ::close(fd);
    }
  }
  loopback_server(const loopback_server&) = delete;
  loopback_server& operator=(const loopback_server&) = delete;

  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  bool wait_for_requests(std::size_t n, std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
  }
  std::vector<request> requests() {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

 private:
  void run() {
    std::map<int, std::string> conns;  // fd -> bytes not yet parsed
    for (;;) {
      std::vector<pollfd> fds = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      for (const auto& c : conns) fds.push_back({c.first, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), -1) < 0) continue;
      if (fds[1].revents != 0) break;
      if (fds[0].revents & POLLIN) {
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) conns[fd];
      }
      for (std::size_t i = 2; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        const int fd = fds[i].fd;
        char buf[8192];
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) {
          ::close(fd);
          conns.erase(fd);
          continue;
        }
        std::string& pending = conns[fd];
        pending.append(buf, static_cast<std::size_t>(n));
        std::size_t end;
        while ((end = pending.find("\r\n\r\n")) != std::string::npos) {
          const std::string head = pending.substr(0, end);
          pending.erase(0, end + 4);
          request r;
          const std::size_t sp1 = head.find(' ');
          const std::size_t sp2 = head.find(' ', sp1 + 1);
          r.target = head.substr(sp1 + 1, sp2 - sp1 - 1);
          std::size_t pos = head.find("\r\n");
          while (pos != std::string::npos) {
            const std::size_t next = head.find("\r\n", pos + 2);
            const std::string line = head.substr(
                pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
            if (line.size() > 11 && strncasecmp(line.c_str(), "User-Agent:", 11) == 0) {
              r.user_agent = line.substr(line.find_first_not_of(' ', 11));
            }
            pos = next;
          }
          static constexpr char response[] =
              "HTTP/1.1 200 OK\r\nContent-Type: image/gif\r\nContent-Length: 0\r\n\r\n";
          EXPECT_EQ(::write(fd, response, sizeof response - 1),
                    static_cast<ssize_t>(sizeof response - 1));
          {
            std::lock_guard<std::mutex> lock(mutex_);
            requests_.push_back(std::move(r));
          }
          cv_.notify_all();
        }
      }
    }
    for (const auto& c : conns) ::close(c.first);
  }

  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<request> requests_;
};

std::vector<std::vector<std::string>> read_manifest(const fs::path& p) {
  std::vector<std::vector<std::string>> rows;
  ec::csv_reader reader(
      [&](const ec::csv_row& row) {
        rows.emplace_back(row.fields->begin(),
                          row.fields->begin() + static_cast<std::ptrdiff_t>(row.count));
      },
      [&](std::size_t line, const std::string& m) { ADD_FAILURE() << line << ": " << m; });
  std::FILE* f = std::fopen(p.string().c_str(), "rb");
  EXPECT_NE(f, nullptr);
  if (f != nullptr) {
    reader.read(f);
    std::fclose(f);
  }
  return rows;
}
}  // namespace

TEST(SimulateOpens, FiresTheMessagesOwnUrls) {
  loopback_server server;
  const fs::path source = EMAIL_CAMPAIGN_SOURCE_DIR;
  const fs::path work =
      fs::temp_directory_path() / ("email-campaign-opens-" + std::to_string(::getpid()));
  fs::remove_all(work);
  fs::create_directories(work);
  {
    std::ofstream csv(work / "r.csv", std::ios::binary);
    csv << "email,name\r\n";
    for (int i = 0; i < 400; ++i) {
      csv << "user" << i << "@example.com,\"Name " << i << ", \xE5\xB1\xB1\"\r\n";
    }
  }
  ec::options o;
  o.template_path = (source / "templates/newsletter.html").string();
  o.recipients_path = (work / "r.csv").string();
  o.campaign = "opens test";
  o.endpoint = server.base_url();
  o.out_dir = (work / "out").string();
  o.open_rate = 0.5;
  o.reopen_rate = 0.25;
  o.seed = 7;
  ec::summary s;
  std::FILE* log = std::tmpfile();
  ASSERT_NE(log, nullptr);
  ASSERT_EQ(ec::run(o, log, s), 0);
  std::fclose(log);

  EXPECT_EQ(s.generated, 400u);
  EXPECT_GT(s.openers, 100u);  // 400 draws at 0.5: far from both ends
  EXPECT_LT(s.openers, 300u);
  EXPECT_GT(s.pixels_fired, s.openers);  // some re-opens
  EXPECT_EQ(s.delivered, s.pixels_fired);
  EXPECT_EQ(s.failed, 0u);
  EXPECT_EQ(s.dropped, 0u);

  // Every open is a GET of the URL in the message, as many times as the manifest says.
  std::map<std::string, std::size_t> expected;  // query -> opens
  const auto manifest = read_manifest(work / "out/manifest.csv");
  ASSERT_EQ(manifest.size(), 401u);
  std::uint64_t fired = 0;
  for (std::size_t i = 1; i < manifest.size(); ++i) {
    const std::string& url = manifest[i][4];
    const std::size_t opens = std::stoul(manifest[i][5]);
    fired += opens;
    if (opens > 0) expected[url.substr(url.find('?') + 1)] = opens;
  }
  EXPECT_EQ(fired, s.pixels_fired);
  ASSERT_TRUE(server.wait_for_requests(fired, std::chrono::seconds(60)));
  std::map<std::string, std::size_t> got;
  for (const auto& r : server.requests()) {
    const std::size_t q = r.target.find('?');
    EXPECT_EQ(r.target.substr(0, q), "/1x1.png");
    EXPECT_FALSE(r.user_agent.empty());
    ++got[r.target.substr(q + 1)];
  }
  EXPECT_EQ(got, expected);
  fs::remove_all(work);
}

// --sign-key: every pixel in the messages is signed, and every open the edge sees verifies
// with the campaign's key until 30 days after the send.
TEST(SimulateOpens, SignedPixelsVerify) {
  loopback_server server;
  const fs::path source = EMAIL_CAMPAIGN_SOURCE_DIR;
  const fs::path work =
      fs::temp_directory_path() / ("email-campaign-signed-" + std::to_string(::getpid()));
  fs::remove_all(work);
  fs::create_directories(work);
  {
    std::ofstream csv(work / "r.csv", std::ios::binary);
    csv << "email,userid\r\n";
    for (int i = 0; i < 50; ++i) csv << "user" << i << "@example.com,u" << i << "\r\n";
  }
  const std::string key(32, 'c');
  ec::options o;
  o.template_path = (source / "templates/newsletter.html").string();
  o.recipients_path = (work / "r.csv").string();
  o.campaign = "signed";
  o.endpoint = server.base_url();
  o.out_dir = (work / "out").string();
  o.open_rate = 1.0;
  o.seed = 3;
  o.now_ms = 1796400000000;
  o.signer = *pixel::make_url_signer("camp1", key);
  ec::summary s;
  std::FILE* log = std::tmpfile();
  ASSERT_NE(log, nullptr);
  ASSERT_EQ(ec::run(o, log, s), 0);
  std::fclose(log);
  ASSERT_EQ(s.pixels_fired, 50u);
  ASSERT_TRUE(server.wait_for_requests(50, std::chrono::seconds(60)));
  pixel::keyring ring;
  ASSERT_TRUE(ring.add("camp1", key));
  const auto sent = std::chrono::system_clock::time_point(std::chrono::seconds(1796400000));
  for (const auto& r : server.requests()) {
    EXPECT_EQ(pixel::verify(r.target, ring, sent + std::chrono::hours(24 * 30)),
              pixel::signature_status::valid)
        << r.target;
    EXPECT_EQ(pixel::verify(r.target, ring, sent + std::chrono::hours(24 * 31)),
              pixel::signature_status::expired);
    EXPECT_NE(r.target.find("&kid=camp1&exp=1798992000&sig="), std::string::npos) << r.target;
  }
  // The messages carry the same signed URLs (manifest column 4).
  const auto manifest = read_manifest(work / "out/manifest.csv");
  ASSERT_EQ(manifest.size(), 51u);
  for (std::size_t i = 1; i < manifest.size(); ++i) {
    EXPECT_EQ(pixel::verify(manifest[i][4], ring, sent), pixel::signature_status::valid);
  }
  fs::remove_all(work);
}
