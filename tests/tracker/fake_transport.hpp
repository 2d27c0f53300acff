// A deterministic in-memory transport for tracker tests: each request is answered by a
// function the test gives (status, transport error, headers), at once or when the test
// releases it. No sockets; with a manual clock, no real waiting for backoff or outages.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_TESTS_TRACKER_FAKE_TRANSPORT_HPP
#define PIXEL_TESTS_TRACKER_FAKE_TRANSPORT_HPP

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tracker/clock.hpp"
#include "tracker/transport/transport.hpp"

namespace pixel::test {

struct fake_response {
  transport_error error = transport_error::none;
  long status = 200;
  std::string location;
  std::string retry_after;
  bool hold = false;  // answer only when the test calls release_held()
};

struct fake_request {
  std::string url;
  std::string user_agent;  // as sent: the event's, or the tracker's
  std::string event_id;
  std::uint32_t attempts;  // requests sent for the event, this one included
  detail::instant at;
};

// What the test and the transport share. The transport holds a shared_ptr to it.
class fake_network {
 public:
  using responder = std::function<fake_response(const fake_request&)>;

  explicit fake_network(detail::clock_source& clock, responder respond = {})
      : clock_(clock), respond_(std::move(respond)) {}

  void set_responder(responder r) {
    std::lock_guard<std::mutex> lock(mutex_);
    respond_ = std::move(r);
  }

  std::vector<fake_request> requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }
  std::size_t request_count() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_.size();
  }
  std::size_t max_in_flight_seen() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return max_running_;
  }
  std::uint64_t polls() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return polls_;
  }

  // Waits (up to `timeout`, real time) until `n` requests were sent.
  bool wait_requests(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
  }

  // Waits until the worker has gone round its loop twice since the call: whatever it does
  // with the current time (a clock advance just made) it has done.
  bool settle(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    std::unique_lock<std::mutex> lock(mutex_);
    const std::uint64_t target = polls_ + 2;
    kicks_ = 2;  // the next two polls return at once
    woken_ = true;
    wake_.notify_all();
    return changed_.wait_for(lock, timeout, [&] { return polls_ >= target; });
  }

  void release_held() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& c : held_) ready_.push_back(std::move(c));
    held_.clear();
    wake_.notify_all();
  }

  std::size_t held() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return held_.size();
  }

 private:
  friend class fake_transport;

  void start(detail::stored_event&& e, const std::string& default_ua) {
    std::lock_guard<std::mutex> lock(mutex_);
    fake_request r{e.url, e.user_agent.empty() ? default_ua : e.user_agent, e.id.str(), e.attempts,
                   clock_.now()};
    const fake_response answer = respond_ ? respond_(r) : fake_response{};
    requests_.push_back(std::move(r));
    detail::completion c;
    c.event = std::move(e);
    c.result.error = answer.error;
    c.result.status = answer.error == transport_error::none ? answer.status : 0;
    c.result.location = answer.location;
    c.result.retry_after = answer.retry_after;
    if (answer.error != transport_error::none) c.result.error_text = "fake";
    (answer.hold ? held_ : ready_).push_back(std::move(c));
    ++running_;
    max_running_ = std::max(max_running_, running_);
    changed_.notify_all();
  }

  void poll(std::chrono::milliseconds timeout, std::vector<detail::completion>& out) {
    std::unique_lock<std::mutex> lock(mutex_);
    ++polls_;
    changed_.notify_all();
    if (kicks_ > 0) {
      --kicks_;
    } else if (ready_.empty() && timeout.count() > 0) {
      wake_.wait_for(lock, timeout, [&] { return !ready_.empty() || woken_; });
    }
    woken_ = false;
    running_ -= ready_.size();
    for (auto& c : ready_) out.push_back(std::move(c));
    ready_.clear();
  }

  void wake() {
    std::lock_guard<std::mutex> lock(mutex_);
    woken_ = true;
    wake_.notify_all();
  }

  void abort_all(std::vector<detail::stored_event>& out) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& c : held_) out.push_back(std::move(c.event));
    for (auto& c : ready_) out.push_back(std::move(c.event));
    held_.clear();
    ready_.clear();
    running_ = 0;
  }

  std::size_t running() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return running_;
  }

  detail::clock_source& clock_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;     // to the worker's poll
  std::condition_variable changed_;  // to the test
  responder respond_;
  std::vector<fake_request> requests_;
  std::vector<detail::completion> ready_;
  std::vector<detail::completion> held_;
  std::size_t running_ = 0;
  std::size_t max_running_ = 0;
  std::uint64_t polls_ = 0;
  bool woken_ = false;
  int kicks_ = 0;
};

class fake_transport final : public detail::transport {
 public:
  fake_transport(std::shared_ptr<fake_network> net, std::string user_agent, std::size_t capacity)
      : net_(std::move(net)), user_agent_(std::move(user_agent)), capacity_(capacity) {}

  std::size_t capacity() const noexcept override { return capacity_; }
  std::size_t in_flight() const noexcept override { return net_->running(); }
  void start(detail::stored_event&& e) override { net_->start(std::move(e), user_agent_); }
  void poll(std::chrono::milliseconds timeout, std::vector<detail::completion>& out) override {
    net_->poll(timeout, out);
  }
  void wake() noexcept override { net_->wake(); }
  void abort_all(std::vector<detail::stored_event>& out) override { net_->abort_all(out); }

 private:
  std::shared_ptr<fake_network> net_;
  std::string user_agent_;
  std::size_t capacity_;
};

}  // namespace pixel::test

#endif  // PIXEL_TESTS_TRACKER_FAKE_TRANSPORT_HPP
