// SPDX-License-Identifier: MIT
#include "test_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <cstring>

// Debian's libcpp-httplib is a compiled, uninstrumented library: TSan reports races on
// memory that only its own pool threads touch (no frame of ours on either side), which it
// cannot judge without seeing the library's code. Only reports with a frame in that module
// are silenced (the tracker itself never calls into it).
#if defined(__SANITIZE_THREAD__)
#define PIXEL_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PIXEL_TEST_TSAN 1
#endif
#endif
#if defined(PIXEL_TEST_TSAN)
extern "C" const char* __tsan_default_suppressions() {  // NOLINT(bugprone-reserved-identifier)
  return "race:libcpp-httplib.so\n";
}
#endif

namespace pixel_test {

namespace {
// The classic 43-byte transparent GIF: what a pixel endpoint answers.
const char k_gif[] =
    "GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff\x21\xf9\x04\x01\x00\x00\x00"
    "\x00\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b";

std::string loopback_url(int port, const char* path) {
  return "http://127.0.0.1:" + std::to_string(port) + path;
}
}  // namespace

std::string recorded_request::param(const std::string& key) const {
  for (const auto& p : params) {
    if (p.first == key) return p.second;
  }
  return {};
}

struct http_server::state {
  httplib::Server server;
  mutable std::mutex mutex;
  mutable std::condition_variable cv;  // requests arrived, or stalls released
  std::deque<response_step> script;
  response_step fallback;
  std::vector<recorded_request> requests;
  std::uint64_t release_generation = 0;
  bool stopping = false;
  int listen_fd = -1;
};

http_server::http_server(int port) : state_(std::make_shared<state>()) {
  // Raw pointer in the callbacks: the server lives inside the state (a shared_ptr capture
  // would be a cycle), and stop() joins everything before the state goes away.
  state* st = state_.get();
  // Every keep-alive connection holds a pool thread: leave room for many of them.
  st->server.new_task_queue = [] { return new httplib::ThreadPool(48); };
  st->server.set_keep_alive_timeout(2);
  st->server.set_keep_alive_max_count(1000);  // like nginx's keepalive_requests
  st->server.set_read_timeout(std::chrono::seconds(5));
  st->server.set_tcp_nodelay(true);
  st->server.set_socket_options([st](int sock) {
    int one = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    st->listen_fd = sock;
  });
  st->server.Get(R"(.*)", [st](const httplib::Request& req, httplib::Response& res) {
    response_step step;
    std::uint64_t generation = 0;
    {
      std::lock_guard<std::mutex> lock(st->mutex);
      recorded_request r;
      r.method = req.method;
      r.path = req.path;
      const auto q = req.target.find('?');
      if (q != std::string::npos) r.query = req.target.substr(q + 1);
      for (const auto& p : req.params) r.params.emplace_back(p.first, p.second);
      // httplib keeps params in a multimap: restore the order of the query.
      std::vector<std::pair<std::string, std::string>> ordered;
      std::size_t pos = 0;
      while (pos <= r.query.size() && !r.query.empty()) {
        std::size_t amp = r.query.find('&', pos);
        if (amp == std::string::npos) amp = r.query.size();
        const std::string part = r.query.substr(pos, amp - pos);
        const std::size_t eq = part.find('=');
        const std::string k = httplib::detail::decode_url(part.substr(0, eq), false);
        const std::string v =
            eq == std::string::npos ? "" : httplib::detail::decode_url(part.substr(eq + 1), false);
        ordered.emplace_back(k, v);
        pos = amp + 1;
      }
      r.params = std::move(ordered);
      for (const auto& h : req.headers) r.headers.emplace(h.first, h.second);
      r.user_agent = req.get_header_value("User-Agent");
      r.remote_port = req.remote_port;
      r.received = steady::now();
      st->requests.push_back(std::move(r));
      if (!st->script.empty()) {
        step = st->script.front();
        st->script.pop_front();
      } else {
        step = st->fallback;
      }
      generation = st->release_generation;
    }
    st->cv.notify_all();
    if (step.delay.count() > 0) {
      std::unique_lock<std::mutex> lock(st->mutex);
      st->cv.wait_for(lock, step.delay,
                      [&] { return st->stopping || st->release_generation != generation; });
    }
    res.status = step.status;
    if (!step.retry_after.empty()) res.set_header("Retry-After", step.retry_after);
    if (!step.location.empty()) res.set_header("Location", step.location);
    if (step.close_connection) res.set_header("Connection", "close");
    res.set_content(std::string(k_gif, sizeof k_gif - 1), "image/gif");
  });
  bool bound = false;
  if (port == 0) {
    port_ = st->server.bind_to_any_port("127.0.0.1");
    bound = port_ > 0;
  } else {
    port_ = port;
    bound = st->server.bind_to_port("127.0.0.1", port);
  }
  if (!bound) {
    ADD_FAILURE() << "test http_server cannot bind 127.0.0.1:" << port;
    return;
  }
  // httplib listens with a backlog of 5: a burst of new connections (a tracker opening 16
  // at once) would lose SYNs and stall a second. Raise it on the same socket.
  if (st->listen_fd >= 0) ::listen(st->listen_fd, 1024);
  thread_ = std::thread([st] { st->server.listen_after_bind(); });
  // stop() is a no-op until the accept loop runs: wait for it (it starts at once).
  while (!st->server.is_running()) std::this_thread::yield();
}

http_server::~http_server() {
  stop();
}

void http_server::stop() {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->stopping = true;
  }
  state_->cv.notify_all();
  state_->server.stop();
  if (thread_.joinable()) thread_.join();
}

std::string http_server::base_url() const {
  return loopback_url(port_, "");
}
std::string http_server::url() const {
  return loopback_url(port_, "/1x1.png");
}

void http_server::script(std::vector<response_step> steps) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  for (auto& s : steps) state_->script.push_back(std::move(s));
}

void http_server::set_default(response_step step) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->fallback = std::move(step);
}

void http_server::release_stalls() {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    ++state_->release_generation;
  }
  state_->cv.notify_all();
}

std::vector<recorded_request> http_server::requests() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->requests;
}

std::size_t http_server::request_count() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->requests.size();
}

void http_server::clear_requests() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->requests.clear();
}

bool http_server::wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(state_->mutex);
  return state_->cv.wait_for(lock, timeout, [&] { return state_->requests.size() >= n; });
}

// ---------------------------------------------------------------------------------------

namespace {
int bind_loopback(int& port_out) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port_out = ntohs(addr.sin_port);
  return fd;
}
}  // namespace

raw_server::raw_server(mode m) : mode_(m) {
  listen_fd_ = bind_loopback(port_);
  if (listen_fd_ < 0 || ::listen(listen_fd_, 1024) != 0 || ::pipe2(wake_fd_, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "raw_server cannot listen: " << std::strerror(errno);
    return;
  }
  thread_ = std::thread([this] { run(); });
}

raw_server::~raw_server() {
  stop();
}

std::string raw_server::url() const {
  return loopback_url(port_, "/1x1.png");
}

void raw_server::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
  }
  if (wake_fd_[1] >= 0) {
    const char c = 'x';
    (void)!::write(wake_fd_[1], &c, 1);
  }
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  for (int fd : wake_fd_) {
    if (fd >= 0) ::close(fd);
  }
  listen_fd_ = -1;
  wake_fd_[0] = wake_fd_[1] = -1;
}

bool raw_server::wait_for_connections(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mutex_);
  return cv_.wait_for(lock, timeout, [&] { return connections_.load() >= n; });
}

void raw_server::run() {
  std::vector<pollfd> fds;
  fds.push_back({wake_fd_[0], POLLIN, 0});
  fds.push_back({listen_fd_, POLLIN, 0});
  char buf[4096];
  for (;;) {
    for (auto& p : fds) p.revents = 0;
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents != 0) break;
    if (fds[1].revents & POLLIN) {
      const int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) {
        {
          std::lock_guard<std::mutex> lock(mutex_);
          connections_.fetch_add(1);
        }
        cv_.notify_all();
        fds.push_back({c, POLLIN, 0});
      }
    }
    for (std::size_t i = 2; i < fds.size();) {
      if (fds[i].revents == 0) {
        ++i;
        continue;
      }
      const ssize_t n = ::recv(fds[i].fd, buf, sizeof buf, 0);
      const bool closed = n <= 0;
      if (closed || mode_ == mode::reset) {
        if (!closed && mode_ == mode::reset) {
          linger lg{1, 0};  // close with RST instead of FIN
          ::setsockopt(fds[i].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        ::close(fds[i].fd);
        fds.erase(fds.begin() + static_cast<std::ptrdiff_t>(i));
        continue;
      }
      ++i;  // blackhole: swallow the bytes, never answer
    }
  }
  for (std::size_t i = 2; i < fds.size(); ++i) ::close(fds[i].fd);
}

// ---------------------------------------------------------------------------------------

refused_port::refused_port() {
  fd_ = bind_loopback(port_);
  if (fd_ < 0) ADD_FAILURE() << "refused_port cannot bind: " << std::strerror(errno);
}

refused_port::~refused_port() {
  release();
}

std::string refused_port::url() const {
  return loopback_url(port_, "/1x1.png");
}

void refused_port::release() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace pixel_test
