// How a transfer thread waits: the poller drives one libcurl multi handle and lets any
// thread wake it; a signal lets one thread wait for others. Chosen at build time
// (PIXEL_POLLER): `epoll` (Linux: libcurl's socket interface over an epoll set and an
// eventfd, run only for the sockets that are ready) or `curl` (curl_multi_poll and
// curl_multi_wakeup, libcurl 7.68+, on every platform libcurl supports; curl_multi_perform
// runs every transfer on each wake-up). Nothing outside poller_*.cpp sees epoll or eventfd.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_SRC_TRACKER_TRANSPORT_POLLER_HPP
#define PIXEL_SRC_TRACKER_TRANSPORT_POLLER_HPP

#include <curl/curl.h>

#include <chrono>
#include <memory>

#include "pixel/error.hpp"

namespace pixel::detail {

// Used by the thread that owns the multi handle, except wake().
class poller {
 public:
  virtual ~poller() = default;
  // Runs libcurl for what is due now (timers; transfers just added), without waiting.
  virtual void drive() = 0;
  // Waits up to `timeout` (less when a libcurl timer falls due sooner) for a socket or
  // wake(), then runs libcurl for what is ready. Lets go of the fork gate while waiting.
  virtual void wait_and_drive(std::chrono::milliseconds timeout) = 0;
  // Makes a wait in progress (or the next one) return early. Any thread; cheap.
  virtual void wake() noexcept = 0;
};

// A poller for `multi` (it installs libcurl's socket and timer callbacks where it needs
// them). Must be destroyed after curl_multi_cleanup(multi). Errors: errc::internal.
result<std::unique_ptr<poller>> make_poller(CURLM* multi);

// "epoll" or "curl": the poller this build uses.
const char* poller_name() noexcept;

// A flag that any thread raises and one thread waits for.
class wake_signal {
 public:
  wake_signal();
  ~wake_signal();
  wake_signal(const wake_signal&) = delete;
  wake_signal& operator=(const wake_signal&) = delete;

  bool valid() const noexcept;
  void raise() noexcept;
  // Waits until raised or `timeout` passes, then lowers it.
  void wait(std::chrono::milliseconds timeout) noexcept;

 private:
  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace pixel::detail

#endif  // PIXEL_SRC_TRACKER_TRANSPORT_POLLER_HPP
