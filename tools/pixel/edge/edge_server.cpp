// SPDX-License-Identifier: MIT
//
// cpp-httplib parses headers, routes and writes responses; the connection loop is ours
// (process_and_close_socket) because CloudFront's limit is on the request target
// (8,192 bytes -> 413, connection closed, no record) while the packaged library's own
// check is a compile-time cap on the whole request line (414). The loop reads the request
// line itself, answers 413 past the limit, and hands cpp-httplib a short copy of the line
// with the real target restored before routing. Owning the loop also gives exact byte
// counts, connection resets for fault injection and a prompt, lossless shutdown.
#include "edge_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "firehose_writer.hpp"
#include "pixel/url.hpp"

namespace pixel::edge {

std::string_view pixel_png() noexcept {
  static constexpr unsigned char png[] = {
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48,
      0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x04, 0x00, 0x00,
      0x00, 0xb5, 0x1c, 0x0c, 0x02, 0x00, 0x00, 0x00, 0x0b, 0x49, 0x44, 0x41, 0x54, 0x78,
      0xda, 0x63, 0x60, 0x60, 0x00, 0x00, 0x00, 0x03, 0x00, 0x01, 0x2b, 0x09, 0x4d, 0x84,
      0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};
  return {reinterpret_cast<const char*>(png), sizeof png};
}

namespace {

using clock = std::chrono::steady_clock;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// splitmix64: the fault draw for request n under a seed.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}
double draw(std::uint64_t seed, std::uint64_t n, std::uint64_t lane) {
  const std::uint64_t v = mix(mix(seed) ^ mix(n * 2 + lane));
  return static_cast<double>(v >> 11) * (1.0 / 9007199254740992.0);
}
// The sink's draws (lanes 0 and 1 again), under a seed of their own so they are independent
// of the answer's faults.
double sink_draw(std::uint64_t seed, std::uint64_t n, std::uint64_t lane) {
  return draw(seed ^ 0x6A09E667F3BCC909ULL, n, lane);
}

void append_seconds(std::string& out, std::int64_t ms) {
  char b[32];
  std::snprintf(b, sizeof b, "%lld.%03lld", static_cast<long long>(ms / 1000),
                static_cast<long long>(ms % 1000));
  out += b;
}

void append_value(std::string& out, std::string_view v, bool escaped) {
  if (v.empty()) {
    out += '-';
  } else if (escaped) {
    log::log_escape_append(v, out);
  } else {
    out.append(v.data(), v.size());
  }
}

std::string endpoint_text(const sockaddr_storage& ss, int& port) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    port = ntohs(a->sin6_port);
  } else {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    port = ntohs(a->sin_port);
  }
  return buf;
}

// What the pixel handler saw; turned into a record once the response is out.
struct hit {
  bool present = false;
  std::uint64_t n = 0;  // the pixel request's number, for the draws
  std::int64_t ts_ms = 0;
  clock::time_point start;
  clock::time_point answered;
  int status = 0;
  bool reset = false;
  bool closed = false;  // the viewer closed the connection before the answer: sc-status 000
  std::string method, target, version, remote_ip, local_ip, request_id;
  int remote_port = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string content_type;
  std::size_t content_len = 0;
  class conn_stream* stream = nullptr;
};

// A connection's byte stream for cpp-httplib: a replayed request line first, then the
// socket (plain or TLS) through a read buffer; counts bytes both ways.
class conn_stream final : public httplib::Stream {
 public:
  conn_stream(int sock, SSL* ssl) : sock_(sock), ssl_(ssl) {}

  bool is_readable() const override { return true; }
  bool is_writable() const override { return true; }

  ssize_t read(char* ptr, std::size_t size) override {
    if (prefix_pos_ < prefix_.size()) {
      const std::size_t n = std::min(size, prefix_.size() - prefix_pos_);
      std::memcpy(ptr, prefix_.data() + prefix_pos_, n);
      prefix_pos_ += n;
      return static_cast<ssize_t>(n);
    }
    if (begin_ == end_ && fill() <= 0) return -1;
    const std::size_t n = std::min(size, end_ - begin_);
    std::memcpy(ptr, buf_ + begin_, n);
    begin_ += n;
    bytes_in_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, std::size_t size) override {
    if (discard_) return static_cast<ssize_t>(size);
    std::size_t done = 0;
    while (done < size) {
      ssize_t n;
      if (ssl_) {
        const int r = SSL_write(ssl_, ptr + done, static_cast<int>(size - done));
        n = r > 0 ? r : -1;
      } else {
        n = ::send(sock_, ptr + done, size - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
      }
      if (n <= 0) return -1;
      done += static_cast<std::size_t>(n);
    }
    bytes_out_ += size;
    return static_cast<ssize_t>(size);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (getpeername(sock_, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
      ip = endpoint_text(ss, port);
    }
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (getsockname(sock_, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
      ip = endpoint_text(ss, port);
    }
  }
  socket_t socket() const override { return sock_; }

  // Bytes already received but not consumed.
  bool has_buffered() const { return begin_ < end_ || (ssl_ && SSL_pending(ssl_) > 0); }

  // Reads one line ending in '\n' (kept) into `line`. 1: a line; 0: end of stream or
  // error before any byte; -1: error or end mid-line; -2: longer than `max` (the rest
  // of the line is left unread).
  int read_line(std::string& line, std::size_t max) {
    line.clear();
    for (;;) {
      if (begin_ == end_) {
        const ssize_t n = fill();
        if (n <= 0) return line.empty() ? 0 : -1;
      }
      const char* start = buf_ + begin_;
      const void* nl = std::memchr(start, '\n', end_ - begin_);
      const std::size_t take =
          nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - start) + 1 : end_ - begin_;
      if (line.size() + take > max) return -2;
      line.append(start, take);
      begin_ += take;
      bytes_in_ += take;
      if (nl) return 1;
    }
  }

  void replay(std::string line) {
    prefix_ = std::move(line);
    prefix_pos_ = 0;
  }

  std::uint64_t bytes_in() const { return bytes_in_; }
  std::uint64_t bytes_out() const { return bytes_out_; }
  void discard_writes(bool on) { discard_ = on; }

 private:
  ssize_t fill() {
    for (;;) {
      ssize_t n;
      if (ssl_) {
        const int r = SSL_read(ssl_, buf_, sizeof buf_);
        n = r > 0 ? r : (SSL_get_error(ssl_, r) == SSL_ERROR_ZERO_RETURN ? 0 : -1);
      } else {
        n = ::recv(sock_, buf_, sizeof buf_, 0);
        if (n < 0 && errno == EINTR) continue;
      }
      if (n > 0) {
        begin_ = 0;
        end_ = static_cast<std::size_t>(n);
      }
      return n;
    }
  }

  int sock_;
  SSL* ssl_;
  std::string prefix_;
  std::size_t prefix_pos_ = 0;
  char buf_[16 * 1024];
  std::size_t begin_ = 0, end_ = 0;
  std::uint64_t bytes_in_ = 0, bytes_out_ = 0;
  bool discard_ = false;
};

thread_local hit* current_hit = nullptr;

// True when the peer has closed its side (or the connection is gone).
bool viewer_gone(int sock) {
  pollfd p{sock, POLLRDHUP, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

// CMCD (CTA-5004) keys of a request, from the CMCD query parameter and the CMCD-Object,
// -Request, -Session and -Status headers: "br=3200,bs,cid=\"x\"" as key -> value
// (strings unquoted, a key without value is "true").
std::vector<std::pair<std::string, std::string>> cmcd_keys(
    std::string_view query, const std::vector<std::pair<std::string, std::string>>& headers) {
  std::vector<std::pair<std::string, std::string>> out;
  const auto add = [&out](std::string_view list) {
    std::size_t pos = 0;
    while (pos < list.size()) {
      std::size_t comma = pos;
      bool quoted = false;
      for (; comma < list.size() && (quoted || list[comma] != ','); ++comma) {
        if (list[comma] == '"') quoted = !quoted;
      }
      std::string_view item = list.substr(pos, comma - pos);
      pos = comma + 1;
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      if (item.empty()) continue;
      const std::size_t eq = item.find('=');
      std::string value = eq == std::string_view::npos ? "true" : std::string(item.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      out.emplace_back(std::string(item.substr(0, eq)), std::move(value));
    }
  };
  for (const auto& [k, v] : headers) {
    if (k.size() > 5 && strncasecmp(k.c_str(), "CMCD-", 5) == 0) add(v);
  }
  auto params = decode_query(query);
  if (params) {
    for (const auto& [k, v] : *params) {
      if (k == "CMCD") add(v);
    }
  }
  return out;
}

// A request from memory, its answer discarded: see edge_http::warm_up.
class memory_stream final : public httplib::Stream {
 public:
  explicit memory_stream(std::string in) : in_(std::move(in)) {}
  bool is_readable() const override { return true; }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, std::size_t size) override {
    const std::size_t n = std::min(size, in_.size() - pos_);
    std::memcpy(ptr, in_.data() + pos_, n);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char*, std::size_t size) override { return static_cast<ssize_t>(size); }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 0;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 0;
  }
  socket_t socket() const override { return INVALID_SOCKET; }

 private:
  std::string in_;
  std::size_t pos_ = 0;
};

}  // namespace

class server::impl {
 public:
  explicit impl(options o)
      : opt_(std::move(o)),
        writer_(opt_.out_dir, opt_.buffer_interval, opt_.buffer_size, opt_.on_record),
        rng_(std::random_device{}()) {}

  ~impl() {
    if (stop_fd_ >= 0) ::close(stop_fd_);
  }

  result<void> init();
  result<void> run();
  void stop();

  options opt_;
  firehose_writer writer_;
  std::unique_ptr<httplib::Server> http_;
  bool tls_ = false;
  int port_ = 0;
  int stop_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> seq_{0};
  std::mutex rng_m_;
  std::mt19937_64 rng_;
  // The sink's losses (options::sampling, drop_records, max_records_per_second).
  std::mutex sink_m_;
  std::map<std::int64_t, std::uint64_t> per_second_;  // records kept per second, recent ones
  std::atomic<std::uint64_t> lost_{0};

  // Hands request n's record to the log, or to on_lost_record when the sink loses it.
  void sink(std::uint64_t n, std::int64_t ts_ms, std::string line);

  // The connection loop, for both plain and TLS servers.
  void serve(int sock, SSL_CTX* ctx);
  void handle_pixel(const httplib::Request& req, httplib::Response& res);
  std::string format(const hit& h, const conn_stream& s, std::uint64_t in, std::uint64_t out,
                     SSL* ssl) const;
  std::string request_id();
  // True when the socket has bytes to read; false on idle timeout or stop (when nothing is
  // pending).
  bool wait_request(int sock, const conn_stream& s);
};

namespace {

template <class Base>
class edge_http final : public Base {
 public:
  template <class... A>
  explicit edge_http(server::impl& owner, A&&... a) : Base(std::forward<A>(a)...), owner_(owner) {}

  // Closes the listening socket even if the accept loop has not started yet.
  void halt() {
    const socket_t s = this->svr_sock_.exchange(INVALID_SOCKET);
    if (s != INVALID_SOCKET) {
      ::shutdown(s, SHUT_RDWR);
      ::close(s);
    }
  }

  // Runs one request (to a path that is not routed, so nothing is logged and no fault is
  // drawn) through cpp-httplib on the calling thread before the pool starts. The packaged
  // library initialises function-local statics on first use; done here, thread creation
  // orders them before every connection thread (ThreadSanitizer cannot see the guard
  // checks inside the uninstrumented library).
  void warm_up() {
    memory_stream m("GET /warm-up?a=1 HTTP/1.1\r\nHost: localhost\r\nUser-Agent: x\r\n\r\n");
    bool closed = false;
    this->process_request(m, true, closed, nullptr);
  }

  bool request(conn_stream& strm, bool close, bool& closed, const std::string& target) {
    return this->process_request(strm, close, closed,
                                 [&target](httplib::Request& r) { r.target = target; });
  }

 private:
  bool process_and_close_socket(socket_t sock) override;
  server::impl& owner_;
};

}  // namespace

// Writes a minimal response without cpp-httplib (the 413 path).
static void write_raw(conn_stream& s, std::string_view text) {
  s.write(text.data(), text.size());
}

template <class Base>
bool edge_http<Base>::process_and_close_socket(socket_t sock) {
  SSL_CTX* ctx = nullptr;
  if constexpr (std::is_same_v<Base, httplib::SSLServer>) ctx = this->ssl_context();
  SSL* ssl = nullptr;
  if (ctx) {
    ssl = SSL_new(ctx);
    if (!ssl || SSL_set_fd(ssl, sock) != 1 || SSL_accept(ssl) != 1) {
      if (ssl) SSL_free(ssl);
      ERR_clear_error();
      ::close(sock);
      return false;
    }
  }
  conn_stream strm(sock, ssl);
  bool reset = false;
  std::string line;
  for (;;) {
    if (!owner_.wait_request(sock, strm)) break;
    const std::uint64_t in0 = strm.bytes_in();
    const std::uint64_t out0 = strm.bytes_out();
    // Method, target, version and CRLF: allow for a target just past the limit.
    const int got = strm.read_line(line, max_target + 64);
    if (got == 0 || got == -1) break;
    const auto t0 = clock::now();
    const std::int64_t ts = now_ms();
    std::string_view l = line;
    std::string target;
    std::string method_sp, sp_version;
    bool too_long = got == -2;
    if (!too_long) {
      const std::size_t a = l.find(' ');
      const std::size_t b = l.rfind(' ');
      if (a != std::string_view::npos && b > a) {
        target.assign(l.substr(a + 1, b - a - 1));
        method_sp.assign(l.substr(0, a + 1));
        sp_version.assign(l.substr(b));
        too_long = target.size() > max_target;
      }
    }
    if (too_long) {
      // CloudFront: 413, connection closed, no record. Read the rest of the request
      // (bounded) so the client sees the answer rather than a reset.
      if (got == -2) {
        while (strm.read_line(line, 1 << 16) == -2) {
        }
      }
      for (int i = 0; i < 200 && strm.read_line(line, 1 << 16) == 1; ++i) {
        if (line == "\r\n" || line == "\n") break;
      }
      write_raw(strm,
                "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n"
                "Connection: close\r\n\r\n");
      break;
    }
    // cpp-httplib gets a short line; the real target is restored before routing.
    if (!target.empty() && line.size() > 1024) {
      const std::size_t q = target.find('?');
      std::string shortened = target.substr(0, std::min<std::size_t>(q, 512));
      strm.replay(method_sp + shortened + sp_version);
    } else {
      strm.replay(line);
    }

    hit h;
    h.start = t0;
    h.ts_ms = ts;
    h.stream = &strm;
    current_hit = &h;
    const bool last = owner_.stopping_.load(std::memory_order_relaxed);
    bool closed = false;
    const bool ok = this->request(strm, last, closed, target);
    current_hit = nullptr;
    if (h.present) {
      owner_.sink(h.n, h.ts_ms,
                  owner_.format(h, strm, strm.bytes_in() - in0, strm.bytes_out() - out0, ssl));
    }
    if (h.reset) {
      reset = true;
      break;
    }
    if (h.closed) break;
    if (!ok || closed || last) break;
  }
  if (reset) {
    // An abortive close: the client sees a reset instead of an answer.
    linger lg{1, 0};
    setsockopt(sock, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  } else if (ssl) {
    SSL_shutdown(ssl);
  }
  if (ssl) SSL_free(ssl);
  ::shutdown(sock, reset ? SHUT_RD : SHUT_RDWR);
  ::close(sock);
  return true;
}

result<void> server::impl::init() {
  stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) return error(errc::internal, "eventfd failed");
  if (!opt_.tls_cert.empty() || !opt_.tls_key.empty()) {
    if (opt_.tls_cert.empty() || opt_.tls_key.empty()) {
      return error(errc::invalid_argument, "--tls-cert and --tls-key go together");
    }
    auto s = std::make_unique<edge_http<httplib::SSLServer>>(*this, opt_.tls_cert.c_str(),
                                                             opt_.tls_key.c_str());
    if (!s->is_valid()) {
      return error(errc::invalid_argument,
                   "cannot load TLS certificate " + opt_.tls_cert + " or key " + opt_.tls_key);
    }
    http_ = std::move(s);
    tls_ = true;
  } else {
    http_ = std::make_unique<edge_http<httplib::Server>>(*this);
  }
  const std::size_t threads = std::max<std::size_t>(opt_.threads, 2);
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_->set_read_timeout(5, 0);
  http_->set_write_timeout(5, 0);
  http_->set_tcp_nodelay(true);
  // Only used for the Keep-Alive header cpp-httplib writes; the loop above enforces them.
  http_->set_keep_alive_timeout(static_cast<time_t>(opt_.idle_timeout.count()));
  http_->set_keep_alive_max_count(1'000'000);
  http_->Get("/1x1.png", [this](const httplib::Request& req, httplib::Response& res) {
    handle_pixel(req, res);
  });
  if (tls_) {
    static_cast<edge_http<httplib::SSLServer>*>(http_.get())->warm_up();
  } else {
    static_cast<edge_http<httplib::Server>*>(http_.get())->warm_up();
  }
  if (opt_.host.find(':') != std::string::npos) http_->set_address_family(AF_INET6);
  // cpp-httplib's default sets SO_REUSEPORT, which lets a second edge bind a port the first
  // one listens on and take a share of its connections. SO_REUSEADDR alone only allows a
  // port whose old connections linger in TIME_WAIT.
  http_->set_socket_options([reuse = opt_.reuse_port](int sock) {
    const int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (reuse) ::setsockopt(sock, SOL_SOCKET, SO_REUSEPORT, &yes, sizeof yes);
  });
  errno = 0;
  if (opt_.port == 0) {
    port_ = http_->bind_to_any_port(opt_.host);
  } else {
    port_ = http_->bind_to_port(opt_.host, opt_.port) ? opt_.port : -1;
  }
  if (port_ <= 0) {
    const int err = errno;
    const std::string where = "cannot listen on " + opt_.host + ":" + std::to_string(opt_.port);
    if (err == EADDRINUSE) {
      return error(errc::invalid_argument,
                   where +
                       ": address in use (another process listens on it; --reuse-port "
                       "shares it)");
    }
    return error(errc::invalid_argument,
                 where + ": " + (err != 0 ? std::strerror(err) : "cannot bind"));
  }
  return writer_.start();
}

bool server::impl::wait_request(int sock, const conn_stream& s) {
  if (s.has_buffered()) return true;
  pollfd fds[2] = {{sock, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
  const auto deadline = clock::now() + opt_.idle_timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
    if (left <= 0) return false;
    const int n = ::poll(fds, 2, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    if (fds[0].revents != 0) return true;
    // Stopping: serve what has already arrived, then close.
    pollfd only{sock, POLLIN, 0};
    return ::poll(&only, 1, 0) > 0 && only.revents != 0;
  }
}

std::string server::impl::request_id() {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string id(56, 'A');
  std::lock_guard<std::mutex> lock(rng_m_);
  for (std::size_t i = 0; i < id.size(); i += 10) {
    std::uint64_t v = rng_();
    for (std::size_t j = i; j < std::min(id.size(), i + 10); ++j, v >>= 6) id[j] = alphabet[v & 63];
  }
  id.back() = '=';
  id[id.size() - 2] = '=';
  return id;
}

void server::impl::sink(std::uint64_t n, std::int64_t ts_ms, std::string line) {
  bool keep = opt_.sampling >= 100 || sink_draw(opt_.seed, n, 0) * 100.0 < opt_.sampling;
  if (keep && opt_.drop_records > 0) keep = sink_draw(opt_.seed, n, 1) >= opt_.drop_records;
  if (keep && opt_.max_records_per_second > 0) {
    std::lock_guard<std::mutex> lock(sink_m_);
    // Seconds are counted by the record's timestamp; connections finish out of order, so a
    // few recent seconds are kept.
    const std::int64_t second = ts_ms / 1000;
    std::uint64_t& count = per_second_[second];
    keep = count < opt_.max_records_per_second;
    if (keep) ++count;
    while (!per_second_.empty() && per_second_.begin()->first < second - 10) {
      per_second_.erase(per_second_.begin());
    }
  }
  if (keep) {
    writer_.append(line, ts_ms);
    return;
  }
  lost_.fetch_add(1, std::memory_order_relaxed);
  if (opt_.on_lost_record) {
    std::lock_guard<std::mutex> lock(sink_m_);
    opt_.on_lost_record(line);
  }
}

void server::impl::handle_pixel(const httplib::Request& req, httplib::Response& res) {
  hit* h = current_hit;
  const std::uint64_t n = seq_.fetch_add(1, std::memory_order_relaxed);
  if (opt_.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(opt_.delay_ms));
  res.set_header("Cache-Control", "no-cache, no-store, must-revalidate");
  int status = 200;
  bool reset = false;
  signature_status verdict = signature_status::valid;
  if (opt_.verify_keys) {
    verify_options vo;
    vo.leeway = opt_.verify_leeway;
    verdict = verify(req.target, *opt_.verify_keys, std::chrono::system_clock::now(), vo);
  }
  if (verdict != signature_status::valid) {
    status = 403;  // what the CloudFront Function answers: no body, no fault drawn
    if (opt_.on_refused) opt_.on_refused(verdict, req.target);
  } else if (opt_.reset_rate > 0 && draw(opt_.seed, n, 0) < opt_.reset_rate) {
    reset = true;
  } else if (opt_.fail_rate > 0 && draw(opt_.seed, n, 1) < opt_.fail_rate) {
    status = opt_.fail_status;
  }
  if (status == 200) {
    res.status = 200;
    res.set_content(std::string(pixel_png()), "image/png");
  } else {
    res.status = status;
    if (opt_.retry_after >= 0 && verdict == signature_status::valid) {
      res.set_header("Retry-After", std::to_string(opt_.retry_after));
    }
  }
  if (!h) return;
  h->present = true;
  h->n = n;
  h->status = status;
  h->reset = reset;
  // A viewer that hung up while the answer was pending gets none and is logged 000.
  if (!reset && viewer_gone(h->stream->socket())) {
    h->closed = true;
    h->stream->discard_writes(true);
  }
  // A reset answers nothing: what cpp-httplib writes next goes nowhere.
  if (reset) h->stream->discard_writes(true);
  h->answered = clock::now();
  h->method = req.method;
  h->target = req.target;
  h->version = req.version;
  h->remote_ip = req.remote_addr;
  h->remote_port = req.remote_port;
  {
    int local_port = 0;
    h->stream->get_local_ip_and_port(h->local_ip, local_port);
  }
  h->content_type = status == 200 ? "image/png" : "";
  h->content_len = status == 200 ? pixel_png().size() : 0;
  for (const auto& [k, v] : req.headers) {
    if (k == "REMOTE_ADDR" || k == "REMOTE_PORT" || k == "LOCAL_ADDR" || k == "LOCAL_PORT") {
      continue;
    }
    h->headers.emplace_back(k, v);
  }
  if (std::find(opt_.fields.begin(), opt_.fields.end(), log::field::x_edge_request_id) !=
      opt_.fields.end()) {
    h->request_id = request_id();
  }
}

std::string server::impl::format(const hit& h, const conn_stream&, std::uint64_t in,
                                 std::uint64_t out, SSL* ssl) const {
  using log::field;
  auto header = [&h](std::string_view name) -> std::string_view {
    for (const auto& [k, v] : h.headers) {
      if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
    }
    return {};
  };
  const std::string_view target = h.target;
  const std::size_t q = target.find('?');
  const std::string_view query =
      q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  const auto ms_between = [](clock::time_point a, clock::time_point b) {
    return std::max<std::int64_t>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count());
  };
  const bool answered = !h.closed;
  const std::string_view result_type = h.closed || h.reset || h.status != 200 ? "Error" : "Hit";
  std::vector<std::pair<std::string, std::string>> cmcd;
  bool cmcd_read = false;
  const auto cmcd_value = [&](std::string_view key) -> std::string {
    if (!cmcd_read) {
      cmcd = cmcd_keys(query, h.headers);
      cmcd_read = true;
    }
    for (const auto& [k, v] : cmcd) {
      if (k == key) return v;
    }
    return {};
  };
  std::string line;
  line.reserve(256 + target.size() * 2);
  bool first = true;
  for (field f : opt_.fields) {
    if (!first) line += '\t';
    first = false;
    const bool esc = log::is_escaped(f);
    switch (f) {
      case field::timestamp:
        append_seconds(line, h.ts_ms);
        break;
      case field::c_ip:
        append_value(line, h.remote_ip, false);
        break;
      case field::s_ip:
        append_value(line, h.local_ip, false);
        break;
      case field::time_to_first_byte:
        if (answered) {
          append_seconds(line, ms_between(h.start, h.answered));
        } else {
          line += '-';
        }
        break;
      case field::sc_status:
        line += h.closed ? std::string("000") : std::to_string(h.status);
        break;
      case field::sc_bytes:
        line += std::to_string(out);
        break;
      case field::cs_method:
        append_value(line, h.method, false);
        break;
      case field::cs_protocol:
        line += tls_ ? "https" : "http";
        break;
      case field::cs_host:
      case field::x_host_header:
        append_value(line, header("Host"), esc);
        break;
      case field::cs_uri_stem:
        append_value(line, target, esc);
        break;
      case field::cs_bytes:
        line += std::to_string(in);
        break;
      case field::x_edge_location:
        line += "LOCAL";
        break;
      case field::x_edge_request_id:
        append_value(line, h.request_id, false);
        break;
      case field::time_taken:
        append_seconds(line, ms_between(h.start, clock::now()));
        break;
      case field::cs_protocol_version:
        append_value(line, h.version, false);
        break;
      case field::c_ip_version:
        line += h.remote_ip.find(':') != std::string::npos ? "IPv6" : "IPv4";
        break;
      case field::cs_user_agent:
        append_value(line, header("User-Agent"), esc);
        break;
      case field::cs_referer:
        append_value(line, header("Referer"), esc);
        break;
      case field::cs_cookie:
        append_value(line, header("Cookie"), esc);
        break;
      case field::cs_uri_query:
        append_value(line, query, esc);
        break;
      case field::x_edge_response_result_type:
      case field::x_edge_result_type:
      case field::x_edge_detailed_result_type:
        line += result_type;
        break;
      case field::x_forwarded_for:
        append_value(line, header("X-Forwarded-For"), esc);
        break;
      case field::ssl_protocol:
        append_value(line, ssl ? SSL_get_version(ssl) : "", false);
        break;
      case field::ssl_cipher:
        append_value(line, ssl ? SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)) : "", false);
        break;
      case field::sc_content_type:
        append_value(line, answered ? h.content_type : std::string(), esc);
        break;
      case field::sc_content_len:
        if (answered) {
          line += std::to_string(h.content_len);
        } else {
          line += '-';
        }
        break;
      case field::c_port:
        line += std::to_string(h.remote_port);
        break;
      case field::cs_accept_encoding:
        append_value(line, header("Accept-Encoding"), esc);
        break;
      case field::cs_accept:
        append_value(line, header("Accept"), esc);
        break;
      case field::cache_behavior_path_pattern:
        append_value(line, "/1x1.png", esc);
        break;
      case field::cs_headers: {
        std::string all;
        for (const auto& [k, v] : h.headers) {
          all += k;
          all += ':';
          all += v;
          all += '\n';
        }
        append_value(line, all, esc);
        break;
      }
      case field::cs_header_names: {
        std::string all;
        for (const auto& kv : h.headers) {
          if (!all.empty()) all += '\n';
          all += kv.first;
        }
        append_value(line, all, esc);
        break;
      }
      case field::cs_headers_count:
        line += std::to_string(h.headers.size());
        break;
      case field::primary_distribution_id:
        append_value(line, opt_.primary_distribution_id, false);
        break;
      case field::primary_distribution_dns_name:
        append_value(line, opt_.primary_distribution_dns_name, false);
        break;
      case field::asn:
        append_value(line, opt_.asn, false);
        break;
      case field::cmcd_encoded_bitrate:
        append_value(line, cmcd_value("br"), esc);
        break;
      case field::cmcd_buffer_length:
        append_value(line, cmcd_value("bl"), esc);
        break;
      case field::cmcd_buffer_starvation:
        append_value(line, cmcd_value("bs"), esc);
        break;
      case field::cmcd_content_id:
        append_value(line, cmcd_value("cid"), esc);
        break;
      case field::cmcd_object_duration:
        append_value(line, cmcd_value("d"), esc);
        break;
      case field::cmcd_deadline:
        append_value(line, cmcd_value("dl"), esc);
        break;
      case field::cmcd_measured_throughput:
        append_value(line, cmcd_value("mtp"), esc);
        break;
      case field::cmcd_next_object_request:
        append_value(line, cmcd_value("nor"), esc);
        break;
      case field::cmcd_next_range_request:
        append_value(line, cmcd_value("nrr"), esc);
        break;
      case field::cmcd_object_type:
        append_value(line, cmcd_value("ot"), esc);
        break;
      case field::cmcd_playback_rate:
        append_value(line, cmcd_value("pr"), esc);
        break;
      case field::cmcd_requested_maximum_throughput:
        append_value(line, cmcd_value("rtp"), esc);
        break;
      case field::cmcd_streaming_format:
        append_value(line, cmcd_value("sf"), esc);
        break;
      case field::cmcd_session_id:
        append_value(line, cmcd_value("sid"), esc);
        break;
      case field::cmcd_stream_type:
        append_value(line, cmcd_value("st"), esc);
        break;
      case field::cmcd_startup:
        append_value(line, cmcd_value("su"), esc);
        break;
      case field::cmcd_top_bitrate:
        append_value(line, cmcd_value("tb"), esc);
        break;
      case field::cmcd_version:
        append_value(line, cmcd_value("v"), esc);
        break;
      // Nothing a local edge has: no field-level encryption, ranges, origin (the pixel is
      // answered at the edge), geolocation, tenant, mTLS connection or media scoring.
      case field::fle_encrypted_fields:
      case field::fle_status:
      case field::sc_range_start:
      case field::sc_range_end:
      case field::c_country:
      case field::origin_fbl:
      case field::origin_lbl:
      case field::r_host:
      case field::sr_reason:
      case field::x_edge_mqcs:
      case field::distribution_tenant_id:
      case field::connection_id:
        line += '-';
        break;
      default:  // not a catalog field: refused by parse_fields before the edge starts
        line += '-';
        break;
    }
  }
  line += '\n';
  return line;
}

result<void> server::impl::run() {
  if (!stopping_.load()) http_->listen_after_bind();
  // Every connection thread has finished (the pool joined them): all records are in.
  return writer_.close();
}

void server::impl::stop() {
  if (stopping_.exchange(true)) return;
  const std::uint64_t one = 1;
  (void)!::write(stop_fd_, &one, sizeof one);
  if (tls_) {
    static_cast<edge_http<httplib::SSLServer>*>(http_.get())->halt();
  } else {
    static_cast<edge_http<httplib::Server>*>(http_.get())->halt();
  }
}

result<std::unique_ptr<server>> server::create(options o) {
  auto p = std::make_unique<impl>(std::move(o));
  if (auto ok = p->init(); !ok) return ok.error();
  return std::unique_ptr<server>(new server(std::move(p)));
}

server::server(std::unique_ptr<impl> p) noexcept : impl_(std::move(p)) {}
server::~server() {
  if (impl_) {
    impl_->stop();
  }
}

int server::port() const noexcept {
  return impl_->port_;
}

std::string server::url() const {
  std::string host = impl_->opt_.host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return std::string(impl_->tls_ ? "https://" : "http://") + host + ":" +
         std::to_string(impl_->port_);
}

result<void> server::run() {
  return impl_->run();
}
void server::stop() {
  impl_->stop();
}
std::uint64_t server::records() const noexcept {
  return impl_->writer_.records();
}
std::uint64_t server::lost_records() const noexcept {
  return impl_->lost_.load(std::memory_order_relaxed);
}

}  // namespace pixel::edge
