// Test support: Debian's nginx as a local pixel endpoint, in its own prefix directory.
// SPDX-License-Identifier: MIT
//
//   pixel_test::nginx_server nginx;                       // plain HTTP/1.1 on 127.0.0.1
//   pixel_test::nginx_options o;  o.tls = o.http2 = true;  o.cert_file = ...;  o.key_file = ...;
//   pixel_test::nginx_server h2(o);                       // HTTPS offering h2 by ALPN
//   ... send requests to nginx.pixel_url() ...
//   auto records = nginx.wait_for_records(n, std::chrono::seconds(30));
//
// nginx runs in the foreground (`daemon off`, `master_process off`) on a port chosen by the
// OS, serves /1x1.png (68 bytes, image/png, no-cache) with keep-alive, and writes an access
// log shaped like a CloudFront real-time log record (timestamp, c-ip, user agent, query),
// followed by the protocol, connection serial, request number on that connection, status
// and request time.
// The destructor stops it; a start failure throws with nginx's error log.
#ifndef PIXEL_TEST_NGINX_HPP
#define PIXEL_TEST_NGINX_HPP

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "spawn.hpp"

namespace pixel_test {

// The 68-byte transparent 1x1 PNG that the CloudFront distribution serves.
inline std::string pixel_png() {
  static const unsigned char png[] = {
      0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48,
      0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x04, 0x00, 0x00,
      0x00, 0xB5, 0x1C, 0x0C, 0x02, 0x00, 0x00, 0x00, 0x0B, 0x49, 0x44, 0x41, 0x54, 0x78,
      0xDA, 0x63, 0x60, 0x60, 0x00, 0x00, 0x00, 0x03, 0x00, 0x01, 0x2B, 0x09, 0x4D, 0x84,
      0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82};
  return std::string(reinterpret_cast<const char*>(png), sizeof png);
}

// A port on 127.0.0.1 that was free a moment ago (bound to port 0, then released). The
// caller retries when someone else takes it first.
inline std::uint16_t free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot bind 127.0.0.1:0");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// True when something accepts TCP connections on 127.0.0.1:port.
inline bool loopback_accepts(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

struct nginx_options {
  bool tls = false;
  bool http2 = false;  // with tls: offer h2 by ALPN (nginx 1.22: `listen ... ssl http2`)
  std::string cert_file;
  std::string key_file;
  unsigned keepalive_requests = 1'000'000;  // requests per connection before nginx closes it
  bool buffered_log = false;                // buffer the access log (benchmarks)
  // Answer /1x1.png only after this long (the echo module's echo_sleep): an endpoint at
  // internet distance. Needs libnginx-mod-http-echo.
  std::chrono::milliseconds response_delay{0};
  std::chrono::milliseconds start_timeout{30'000};
};

// One line of the access log.
struct access_record {
  std::string msec;  // $msec: epoch seconds with three decimals, like CloudFront
  std::string remote_addr;
  std::string user_agent;        // "-" when absent; nginx escapes '"', '\' and non-ASCII as \xXX
  std::string args;              // the query as sent, "-" when empty
  std::string protocol;          // HTTP/1.1, HTTP/2.0
  std::uint64_t connection = 0;  // connection serial number
  std::uint64_t connection_requests = 0;  // this request's number on its connection
  int status = 0;
  double request_time = 0;  // $request_time: seconds from the first byte read to the log
};

// The value of `key` in a query string (no decoding), or "" when absent.
inline std::string query_value(std::string_view query, std::string_view key) {
  std::size_t pos = 0;
  while (pos <= query.size()) {
    std::size_t end = query.find('&', pos);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view part = query.substr(pos, end - pos);
    const std::size_t eq = part.find('=');
    if (part.substr(0, eq) == key) {
      return eq == std::string_view::npos ? std::string() : std::string(part.substr(eq + 1));
    }
    pos = end + 1;
  }
  return {};
}

class nginx_server {
 public:
  explicit nginx_server(nginx_options options = {}) : options_(std::move(options)) {
    if (options_.http2 && !options_.tls) {
      throw std::invalid_argument("nginx_server: http2 is offered over TLS only");
    }
    std::filesystem::create_directories(dir_ / "html");
    std::filesystem::create_directories(dir_ / "tmp");
    write_file(dir_ / "html" / "1x1.png", pixel_png());
    // The port is free when chosen but may be taken before nginx binds it: retry.
    std::string last_error;
    for (int attempt = 0; attempt < 8; ++attempt) {
      port_ = free_loopback_port();
      write_file(dir_ / "nginx.conf", config());
      std::filesystem::remove(dir_ / "error.log");
      std::filesystem::remove(dir_ / "stderr.log");
      process_.start({nginx_binary(), "-p", dir_.path().string(), "-c",
                      (dir_ / "nginx.conf").string(), "-e", (dir_ / "error.log").string()},
                     dir_ / "stderr.log");
      if (wait_ready()) return;
      process_.stop(SIGKILL, std::chrono::seconds(5));
      last_error = read_file(dir_ / "error.log") + read_file(dir_ / "stderr.log");
      if (last_error.find("Address already in use") == std::string::npos) break;
    }
    throw std::runtime_error("nginx did not start:\n" + last_error + "\nconfig:\n" +
                             read_file(dir_ / "nginx.conf"));
  }

  ~nginx_server() { process_.stop(SIGTERM, std::chrono::seconds(10)); }
  nginx_server(const nginx_server&) = delete;
  nginx_server& operator=(const nginx_server&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  // "http://127.0.0.1:<port>" or "https://127.0.0.1:<port>"
  std::string base_url() const {
    return std::string(options_.tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
  }
  std::string pixel_url() const { return base_url() + "/1x1.png"; }
  std::filesystem::path access_log_path() const { return dir_ / "access.log"; }
  std::string error_log() const { return read_file(dir_ / "error.log"); }
  pid_t pid() const noexcept { return process_.pid(); }

  // Size of the access log now: pass it to records() to read only what comes after.
  std::uintmax_t log_offset() const {
    std::error_code ec;
    const auto n = std::filesystem::file_size(access_log_path(), ec);
    return ec ? 0 : n;
  }

  // Every complete record written so far, from byte `from` of the log on.
  std::vector<access_record> records(std::uintmax_t from = 0) const {
    std::vector<access_record> out;
    std::ifstream in(access_log_path(), std::ios::binary);
    in.seekg(static_cast<std::streamoff>(from));
    std::string line;
    while (std::getline(in, line)) {
      if (in.eof()) break;  // no newline yet: a line still being written
      out.push_back(parse_record(line));
    }
    return out;
  }

  // The records once at least `n` have been written, or what there is at the deadline.
  // nginx logs a request after sending its response, so a client can see the response a
  // moment before the line exists: poll the file (an outside process) with a deadline.
  std::vector<access_record> wait_for_records(std::size_t n, std::chrono::milliseconds timeout,
                                              std::uintmax_t from = 0) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto r = records(from);
      if (r.size() >= n || std::chrono::steady_clock::now() >= deadline) return r;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  static access_record parse_record(std::string_view line) {
    std::vector<std::string_view> f;
    std::size_t pos = 0;
    for (;;) {
      const std::size_t tab = line.find('\t', pos);
      f.push_back(line.substr(pos, tab == std::string_view::npos ? tab : tab - pos));
      if (tab == std::string_view::npos) break;
      pos = tab + 1;
    }
    if (f.size() != 9) {
      throw std::runtime_error("unexpected access log line: " + std::string(line));
    }
    access_record r;
    r.msec = f[0];
    r.remote_addr = f[1];
    r.user_agent = f[2];
    r.args = f[3];
    r.protocol = f[4];
    r.connection = std::stoull(std::string(f[5]));
    r.connection_requests = std::stoull(std::string(f[6]));
    r.status = std::stoi(std::string(f[7]));
    r.request_time = std::stod(std::string(f[8]));
    return r;
  }

 private:
  static std::string nginx_binary() {
    if (const char* env = std::getenv("PIXEL_NGINX")) return env;
    // Debian installs it in /usr/sbin, which is not on every user's PATH.
    if (std::filesystem::exists("/usr/sbin/nginx")) return "/usr/sbin/nginx";
    return "nginx";
  }

  // Debian's libnginx-mod-http-echo (scripts/install-deps.sh installs it).
  static std::string echo_module() {
    const char* path = "/usr/lib/nginx/modules/ngx_http_echo_module.so";
    if (!std::filesystem::exists(path)) {
      throw std::runtime_error(std::string("nginx_server: response_delay needs ") + path +
                               " (apt-get install libnginx-mod-http-echo)");
    }
    return path;
  }

  bool wait_ready() {
    const auto deadline = std::chrono::steady_clock::now() + options_.start_timeout;
    // Polling an outside process with a deadline: connect until it accepts or exits.
    while (std::chrono::steady_clock::now() < deadline) {
      if (!process_.running()) return false;
      if (loopback_accepts(port_)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  std::string config() const {
    const std::string d = dir_.path().string();
    std::string listen = "127.0.0.1:" + std::to_string(port_);
    if (options_.tls) listen += " ssl";
    if (options_.http2) listen += " http2";
    std::string c;
    if (options_.response_delay.count() > 0) c += "load_module " + echo_module() + ";\n";
    c += "daemon off;\nmaster_process off;\nworker_processes 1;\n";
    c += "pid " + d + "/nginx.pid;\n";
    c += "error_log " + d + "/error.log warn;\n";
    c += "events { worker_connections 4096; }\n";
    c += "http {\n";
    // Compiled-in temp paths are under /var/lib/nginx: keep everything in the prefix.
    for (const char* t : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"}) {
      c += std::string("  ") + t + "_temp_path " + d + "/tmp/" + t + ";\n";
    }
    c += "  types { image/png png; }\n  default_type application/octet-stream;\n";
    // CloudFront's record (timestamp, c-ip, cs-user-agent, cs-uri-query), then what the
    // tests check about the transport.
    c += "  log_format pixel_cf \"$msec\\t$remote_addr\\t$http_user_agent\\t$args"
         "\\t$server_protocol\\t$connection\\t$connection_requests\\t$status\\t$request_time\";\n";
    c += "  access_log " + d + "/access.log pixel_cf" +
         (options_.buffered_log ? " buffer=256k flush=1s" : "") + ";\n";
    c += "  keepalive_timeout 65s;\n";
    c += "  keepalive_requests " + std::to_string(options_.keepalive_requests) + ";\n";
    c += "  sendfile on;\n  tcp_nodelay on;\n  etag off;\n  server_tokens off;\n";
    c += "  server {\n    listen " + listen + ";\n";
    if (options_.tls) {
      c += "    ssl_certificate " + options_.cert_file + ";\n";
      c += "    ssl_certificate_key " + options_.key_file + ";\n";
      c += "    ssl_protocols TLSv1.2 TLSv1.3;\n";
    }
    c += "    root " + d + "/html;\n";
    const std::string png_headers =
        "      if_modified_since off;\n"
        "      add_header Cache-Control \"no-cache, no-store, must-revalidate\" always;\n";
    if (options_.response_delay.count() > 0) {
      // Sleep, then serve the file from a named location (the query is kept for the log).
      char secs[32];
      std::snprintf(secs, sizeof secs, "%.3f",
                    static_cast<double>(options_.response_delay.count()) / 1000.0);
      c += "    location = /1x1.png {\n      echo_sleep " + std::string(secs) +
           ";\n      echo_exec @png;\n    }\n";
      c += "    location @png {\n" + png_headers + "      try_files /1x1.png =404;\n    }\n";
    } else {
      c += "    location = /1x1.png {\n" + png_headers + "    }\n";
    }
    c += "    location / { return 404; }\n";
    c += "  }\n}\n";
    return c;
  }

  nginx_options options_;
  temp_dir dir_{"pixel-nginx"};
  std::uint16_t port_ = 0;
  child_process process_;
};

}  // namespace pixel_test

#endif  // PIXEL_TEST_NGINX_HPP
