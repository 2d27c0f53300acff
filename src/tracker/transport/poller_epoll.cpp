// SPDX-License-Identifier: MIT
// The epoll poller: libcurl's socket interface (curl_multi_socket_action) over an epoll
// set, woken through an eventfd. libcurl says which sockets it waits on and when its next
// timer is due, and is then run only for the sockets that are ready and the timers that
// are due. (curl_multi_perform would run every transfer on each call, each with a poll()
// of its own socket: hundreds of system calls per wake-up with hundreds of transfers.)
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "tracker/fork.hpp"
#include "tracker/transport/poller.hpp"

namespace pixel::detail {

namespace {
using clock = std::chrono::steady_clock;

class epoll_poller final : public poller {
 public:
  explicit epoll_poller(CURLM* multi) : multi_(multi) {}

  ~epoll_poller() override {
    if (wake_fd_ >= 0) ::close(wake_fd_);
    if (epoll_ >= 0) ::close(epoll_);
  }

  result<void> init() {
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) {
      return error(errc::internal, std::string("epoll_create1: ") + std::strerror(errno));
    }
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) return error(errc::internal, std::string("eventfd: ") + std::strerror(errno));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = wake_fd_;
    if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
      return error(errc::internal, std::string("epoll_ctl: ") + std::strerror(errno));
    }
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &on_socket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &on_timer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
    return {};
  }

  void drive() override { run_timers(); }

  void wait_and_drive(std::chrono::milliseconds timeout) override {
    timeout = std::max(timeout, std::chrono::milliseconds(0));
    if (timer_set_) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(timer_due_ - clock::now());
      timeout = std::clamp(left, std::chrono::milliseconds(0), timeout);
    }
    std::array<epoll_event, 64> ready{};
    int n = 0;
    {
      const idle_scope waiting;  // a fork may happen meanwhile
      n = ::epoll_wait(epoll_, ready.data(), static_cast<int>(ready.size()),
                       static_cast<int>(timeout.count()));
    }
    for (int i = 0; i < n; ++i) {
      const epoll_event& ev = ready[static_cast<std::size_t>(i)];
      if (ev.data.fd == wake_fd_) {
        std::uint64_t value = 0;
        [[maybe_unused]] const ssize_t r = ::read(wake_fd_, &value, sizeof value);
        continue;
      }
      // An error or a hang-up is read (or written) to find out what it was.
      int bits = 0;
      if ((ev.events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) bits |= CURL_CSELECT_IN;
      if ((ev.events & (EPOLLOUT | EPOLLERR)) != 0) bits |= CURL_CSELECT_OUT;
      int running = 0;
      curl_multi_socket_action(multi_, ev.data.fd, bits, &running);
    }
    run_timers();
  }

  void wake() noexcept override {
    const std::uint64_t one = 1;
    // Fails only when the counter would overflow: a wake-up is pending already.
    [[maybe_unused]] const ssize_t r = ::write(wake_fd_, &one, sizeof one);
  }

 private:
  // libcurl: wait for `what` on `s` (CURL_POLL_*), or no longer.
  static int on_socket(CURL*, curl_socket_t s, int what, void* self, void*) {
    const int ep = static_cast<epoll_poller*>(self)->epoll_;
    if (what == CURL_POLL_REMOVE) {
      ::epoll_ctl(ep, EPOLL_CTL_DEL, s, nullptr);  // it may be closed already: no matter
      return 0;
    }
    epoll_event ev{};
    ev.events =
        ((what & CURL_POLL_IN) != 0 ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) != 0 ? EPOLLOUT : 0u);
    ev.data.fd = s;
    if (::epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev) != 0 && errno == ENOENT) {
      ::epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
    }
    return 0;
  }

  // libcurl: run the timers in `ms` milliseconds (-1: no timer).
  static int on_timer(CURLM*, long ms, void* self) {
    auto* p = static_cast<epoll_poller*>(self);
    p->timer_set_ = ms >= 0;
    if (ms >= 0) p->timer_due_ = clock::now() + std::chrono::milliseconds(ms);
    return 0;
  }

  // Runs libcurl's timers when due (new transfers are due at once), then asks for the
  // next one: the timer callback tells only changes.
  void run_timers() {
    if (!timer_set_ || clock::now() < timer_due_) return;
    int running = 0;
    curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
    long ms = -1;
    curl_multi_timeout(multi_, &ms);
    on_timer(multi_, ms, this);
  }

  CURLM* const multi_;
  int epoll_ = -1;          // the sockets libcurl waits on, and wake_fd_
  int wake_fd_ = -1;        // wake(): an eventfd
  bool timer_set_ = false;  // libcurl's next timer, when set
  clock::time_point timer_due_{};
};
}  // namespace

result<std::unique_ptr<poller>> make_poller(CURLM* multi) {
  auto p = std::make_unique<epoll_poller>(multi);
  if (auto ok = p->init(); !ok) return ok.error();
  return std::unique_ptr<poller>(std::move(p));
}

const char* poller_name() noexcept {
  return "epoll";
}

// ---- wake_signal: an eventfd ----

struct wake_signal::state {
  int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ~state() {
    if (fd >= 0) ::close(fd);
  }
};

wake_signal::wake_signal() : state_(std::make_unique<state>()) {}
wake_signal::~wake_signal() = default;

bool wake_signal::valid() const noexcept {
  return state_->fd >= 0;
}

void wake_signal::raise() noexcept {
  const std::uint64_t one = 1;
  // Fails only when the counter would overflow: it is raised already.
  [[maybe_unused]] const ssize_t n = ::write(state_->fd, &one, sizeof one);
}

void wake_signal::wait(std::chrono::milliseconds timeout) noexcept {
  pollfd p{state_->fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) > 0) {
    std::uint64_t value = 0;
    [[maybe_unused]] const ssize_t n = ::read(state_->fd, &value, sizeof value);
  }
}

}  // namespace pixel::detail
