// SPDX-License-Identifier: MIT
// The portable poller: curl_multi_poll waits on libcurl's own sockets and timers (and
// curl_multi_wakeup ends the wait, from any thread), curl_multi_perform runs the
// transfers. Every platform libcurl 7.68+ supports; each wake-up runs every transfer in
// flight, which costs more per event than the epoll poller once many are in flight.
#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "tracker/fork.hpp"
#include "tracker/transport/poller.hpp"

namespace pixel::detail {

namespace {
class curl_poller final : public poller {
 public:
  explicit curl_poller(CURLM* multi) : multi_(multi) {}

  void drive() override {
    int running = 0;
    curl_multi_perform(multi_, &running);
  }

  void wait_and_drive(std::chrono::milliseconds timeout) override {
    const long ms = std::max<long>(0, static_cast<long>(timeout.count()));
    {
      const idle_scope waiting;  // a fork may happen meanwhile
      int ready = 0;
      // Also returns when libcurl's next timer is due.
      curl_multi_poll(multi_, nullptr, 0, static_cast<int>(ms), &ready);
    }
    drive();
  }

  void wake() noexcept override { curl_multi_wakeup(multi_); }

 private:
  CURLM* const multi_;
};
}  // namespace

result<std::unique_ptr<poller>> make_poller(CURLM* multi) {
  return std::unique_ptr<poller>(std::make_unique<curl_poller>(multi));
}

const char* poller_name() noexcept {
  return "curl";
}

// ---- wake_signal: a condition variable ----

struct wake_signal::state {
  std::mutex mutex;
  std::condition_variable cv;
  bool raised = false;
};

wake_signal::wake_signal() : state_(std::make_unique<state>()) {}
wake_signal::~wake_signal() = default;

bool wake_signal::valid() const noexcept {
  return true;
}

void wake_signal::raise() noexcept {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->raised = true;
  }
  state_->cv.notify_one();
}

void wake_signal::wait(std::chrono::milliseconds timeout) noexcept {
  std::unique_lock<std::mutex> lock(state_->mutex);
  state_->cv.wait_for(lock, timeout, [&] { return state_->raised; });
  state_->raised = false;
}

}  // namespace pixel::detail
