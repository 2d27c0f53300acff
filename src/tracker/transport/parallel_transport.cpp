// SPDX-License-Identifier: MIT
#include "tracker/transport/parallel_transport.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "tracker/fork.hpp"
#include "tracker/transport/poller.hpp"

namespace pixel::detail {

namespace {
// The longest a lane with nothing to do waits before it looks at its inbox again (a guard:
// the worker wakes it for every batch it hands over).
constexpr std::chrono::milliseconds k_lane_idle_wait{250};

struct lane {
  std::unique_ptr<transport> inner;
  std::size_t capacity = 0;
  std::thread thread;

  // Shared by this lane's thread and the worker, under `mutex`.
  std::mutex mutex;
  std::vector<stored_event> inbox;
  std::vector<completion> outbox;
  std::size_t limit = 1;  // this lane's share of the in-flight limit
  bool limit_changed = false;
  bool stop = false;
  std::atomic<bool> has_output{false};  // outbox not empty: the worker need not lock to see it

  // The worker's own: transfers handed to this lane and not yet collected.
  std::size_t running = 0;
};

class parallel_transport final : public transport {
 public:
  ~parallel_transport() override { stop_lanes(); }

  result<void> init(std::size_t count, std::size_t capacity, const lane_factory& make_lane) {
    if (!signal_.valid()) {
      return error(errc::internal,
                   std::string("cannot make a wake-up signal: ") + std::strerror(errno));
    }
    capacity_ = capacity;
    lanes_.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      auto l = std::make_unique<lane>();
      l->capacity = lane_share(capacity, count, i);
      auto inner = make_lane(i, l->capacity);
      if (!inner) return inner.error();
      l->inner = std::move(*inner);
      l->limit = l->capacity;
      lanes_.push_back(std::move(l));
    }
    for (auto& l : lanes_) {
      try {
        lane* raw = l.get();
        l->thread = std::thread([this, raw] { run(*raw); });
      } catch (const std::system_error& e) {
        return error(errc::internal, std::string("cannot start a transfer thread: ") + e.what());
      }
    }
    return {};
  }

  std::size_t capacity() const noexcept override { return capacity_; }
  std::size_t in_flight() const noexcept override { return running_; }

  void set_in_flight_limit(std::size_t limit) noexcept override {
    const std::size_t n = lanes_.size();
    for (std::size_t i = 0; i < n; ++i) {
      lane& l = *lanes_[i];
      const std::size_t share = std::min(lane_share(limit, n, i), l.capacity);
      std::lock_guard<std::mutex> guard(l.mutex);
      if (l.limit == share) continue;
      l.limit = share;
      l.limit_changed = true;
    }
  }

  // To the lane with the fewest transfers running (the first such one): the lanes fill
  // evenly, each near its share of the limit.
  void start(stored_event&& e) override {
    lane* best = nullptr;
    for (auto& l : lanes_) {
      if (l->running >= l->capacity) continue;
      if (best == nullptr || l->running < best->running) best = l.get();
    }
    if (best == nullptr) best = lanes_.front().get();  // over capacity: the caller's error
    bool was_empty = false;
    {
      std::lock_guard<std::mutex> guard(best->mutex);
      was_empty = best->inbox.empty();
      best->inbox.push_back(std::move(e));
    }
    ++best->running;
    ++running_;
    // A lane takes its whole inbox when woken: one wake-up per batch is enough.
    if (was_empty) best->inner->wake();
  }

  void poll(std::chrono::milliseconds timeout, std::vector<completion>& out) override {
    const std::size_t before = out.size();
    collect(out);
    if (out.size() != before || timeout.count() <= 0) return;
    {
      const idle_scope waiting;  // a fork may happen meanwhile
      signal_.wait(timeout);
    }
    collect(out);
  }

  void wake() noexcept override { signal_.raise(); }

  void abort_all(std::vector<stored_event>& out) override {
    stop_lanes();
    for (auto& l : lanes_) {
      l->inner->abort_all(out);
      for (auto& e : l->inbox) out.push_back(std::move(e));
      l->inbox.clear();
      for (auto& c : l->outbox) out.push_back(std::move(c.event));
      l->outbox.clear();
      l->has_output.store(false);
      l->running = 0;
    }
    running_ = 0;
  }

 private:
  // A lane's thread: start what was handed over, drive the transfers, hand back what ended.
  void run(lane& l) {
    // Inside the fork gate except while waiting in the lane's transport.
    const active_scope active;
    std::vector<stored_event> todo;
    std::vector<completion> done;
    for (;;) {
      std::size_t limit = 0;
      {
        std::lock_guard<std::mutex> guard(l.mutex);
        if (l.stop) return;
        todo.swap(l.inbox);
        if (l.limit_changed) limit = l.limit;
        l.limit_changed = false;
      }
      if (limit > 0) l.inner->set_in_flight_limit(limit);
      for (auto& e : todo) l.inner->start(std::move(e));
      todo.clear();
      l.inner->poll(k_lane_idle_wait, done);
      if (done.empty()) continue;
      {
        std::lock_guard<std::mutex> guard(l.mutex);
        for (auto& c : done) l.outbox.push_back(std::move(c));
        l.has_output.store(true, std::memory_order_release);
      }
      done.clear();
      signal_.raise();
    }
  }

  void collect(std::vector<completion>& out) {
    for (auto& l : lanes_) {
      if (!l->has_output.load(std::memory_order_acquire)) continue;
      std::size_t n = 0;
      {
        std::lock_guard<std::mutex> guard(l->mutex);
        n = l->outbox.size();
        for (auto& c : l->outbox) out.push_back(std::move(c));
        l->outbox.clear();
        l->has_output.store(false, std::memory_order_relaxed);
      }
      l->running -= n;
      running_ -= n;
    }
  }

  void stop_lanes() noexcept {
    for (auto& l : lanes_) {
      if (!l->thread.joinable()) continue;
      {
        std::lock_guard<std::mutex> guard(l->mutex);
        l->stop = true;
      }
      l->inner->wake();
      l->thread.join();
    }
  }

  wake_signal signal_;  // raised by the lanes for the worker
  std::size_t capacity_ = 0;
  std::size_t running_ = 0;  // the worker's: handed to a lane, not yet collected
  std::vector<std::unique_ptr<lane>> lanes_;
};
}  // namespace

result<std::unique_ptr<transport>> make_parallel_transport(std::size_t lanes, std::size_t capacity,
                                                           const lane_factory& make_lane) {
  if (lanes == 0 || lanes > capacity) {
    return error(errc::invalid_argument, "transfer threads must be between 1 and the capacity");
  }
  auto t = std::make_unique<parallel_transport>();
  if (auto ok = t->init(lanes, capacity, make_lane); !ok) return ok.error();
  return std::unique_ptr<transport>(std::move(t));
}

}  // namespace pixel::detail
