// Test support for the edge: run `pixel edge` as a child process, talk raw HTTP/1.1 to it,
// read what it wrote. Shared by tests/edge, tests/e2e and others; temp_dir, read_file and
// the child process come from spawn.hpp.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_TESTS_EDGE_SUPPORT_HPP
#define PIXEL_TESTS_EDGE_SUPPORT_HPP

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <strings.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "spawn.hpp"

namespace pixel_test {

// Regular files under `dir`, sorted, hidden ones (being written) left out.
inline std::vector<std::filesystem::path> objects_under(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  if (!std::filesystem::exists(dir)) return out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().filename().string()[0] != '.') out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// All record lines under `dir`, in object order.
inline std::vector<std::string> records_under(const std::filesystem::path& dir) {
  std::vector<std::string> lines;
  for (const auto& p : objects_under(dir)) {
    std::istringstream s(read_file(p));
    std::string l;
    while (std::getline(s, l)) lines.push_back(l);
  }
  return lines;
}

// `pixel edge` on port 0 writing under dir/out.
class edge_process {
 public:
  edge_process(const std::filesystem::path& dir, std::vector<std::string> extra = {})
      : out_(dir / "out"),
        proc_(
            PIXEL_BIN,
            [&] {
              std::vector<std::string> a = {"edge", "--listen", "127.0.0.1:0", "--out",
                                            (dir / "out").string()};
              a.insert(a.end(), extra.begin(), extra.end());
              return a;
            }(),
            dir / "edge.stderr") {
    first_line_ = proc_.read_line();
    const std::string prefix = "listening on http://127.0.0.1:";
    if (first_line_.rfind(prefix, 0) != 0) {
      throw std::runtime_error("edge did not start: '" + first_line_ +
                               "' stderr: " + proc_.stderr_text());
    }
    port_ = std::stoi(first_line_.substr(prefix.size()));
  }

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& first_line() const { return first_line_; }
  const std::filesystem::path& out() const { return out_; }
  child& proc() { return proc_; }

  // SIGTERM and wait: the exit status.
  int stop() {
    proc_.signal(SIGTERM);
    return proc_.wait();
  }

 private:
  std::filesystem::path out_;
  child proc_;
  std::string first_line_;
  int port_ = 0;
};

struct response {
  int status = 0;  // 0: no response (reset or closed)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string header(const std::string& name) const {
    for (const auto& [k, v] : headers) {
      if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
    }
    return "";
  }
};

// One HTTP/1.1 connection to 127.0.0.1, raw bytes in and out.
class connection {
 public:
  explicit connection(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      throw std::runtime_error("connect failed");
    }
    timeval tv{60, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~connection() {
    if (fd_ >= 0) close(fd_);
  }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  bool send_all(const std::string& s) {
    std::size_t done = 0;
    while (done < s.size()) {
      const ssize_t n = ::send(fd_, s.data() + done, s.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<std::size_t>(n);
    }
    return true;
  }

  void send_request(const std::string& method, const std::string& target,
                    const std::string& extra_headers = "") {
    send_all(method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers + "\r\n");
  }

  // Reads one response (body by Content-Length; none for HEAD).
  response read_response(bool head = false) {
    response r;
    std::string line;
    if (!read_line(line)) return r;
    if (line.rfind("HTTP/1.1 ", 0) != 0) return r;
    r.status = std::atoi(line.c_str() + 9);
    for (;;) {
      if (!read_line(line)) return response{};
      if (line.empty()) break;
      const auto colon = line.find(':');
      std::string v = line.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.erase(0, 1);
      r.headers.emplace_back(line.substr(0, colon), v);
    }
    const std::string cl = r.header("Content-Length");
    std::size_t len = head || cl.empty() ? 0 : std::stoul(cl);
    while (r.body.size() < len) {
      if (buf_.empty() && !fill()) return response{};
      const std::size_t take = std::min(len - r.body.size(), buf_.size());
      r.body.append(buf_, 0, take);
      buf_.erase(0, take);
    }
    return r;
  }

  response request(const std::string& method, const std::string& target,
                   const std::string& extra_headers = "") {
    send_request(method, target, extra_headers);
    return read_response(method == "HEAD");
  }

  // True when the server has closed (end of stream or reset) with nothing more to read.
  bool closed_by_peer() {
    if (!buf_.empty()) return false;
    char c;
    const ssize_t n = ::recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE));
  }

 private:
  bool fill() {
    char tmp[4096];
    const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }
  bool read_line(std::string& line) {
    for (;;) {
      const auto nl = buf_.find("\r\n");
      if (nl != std::string::npos) {
        line = buf_.substr(0, nl);
        buf_.erase(0, nl + 2);
        return true;
      }
      if (!fill()) return false;
    }
  }

  int fd_ = -1;
  std::string buf_;
};

}  // namespace pixel_test

#endif  // PIXEL_TESTS_EDGE_SUPPORT_HPP
