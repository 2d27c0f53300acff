// The transport: how an attempt reaches the endpoint, behind a small interface. The curl
// multi transport (curl_transport.hpp) is the production one; tests drive the tracker with
// a deterministic fake. Transport types never reach the policy, the store or a public
// header.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_SRC_TRACKER_TRANSPORT_TRANSPORT_HPP
#define PIXEL_SRC_TRACKER_TRANSPORT_TRANSPORT_HPP

#include <chrono>
#include <cstddef>
#include <vector>

#include "pixel/tracker.hpp"
#include "tracker/attempt.hpp"
#include "tracker/store/store.hpp"

namespace pixel::detail {

// A finished attempt: the event back, and what happened to it (judged as it is by the
// policy).
struct completion {
  stored_event event;
  attempt_result result;
};

// Used by the worker thread only, except wake().
class transport {
 public:
  virtual ~transport() = default;

  // Transfers it can run at once (at least the policy's in-flight limit).
  virtual std::size_t capacity() const noexcept = 0;
  // Transfers running now.
  virtual std::size_t in_flight() const noexcept = 0;
  // Starts an attempt for `e` (its URL and User-Agent; `default_user_agent` when the event
  // has none). The transport holds the event until it comes back in a completion.
  virtual void start(stored_event&& e) = 0;
  // Drives the transfers and appends those that finished to `out`. When none finished,
  // waits up to `timeout` for progress or wake(), then looks once more.
  virtual void poll(std::chrono::milliseconds timeout, std::vector<completion>& out) = 0;
  // The policy's in-flight limit now (the curl transport sizes its HTTP/2 connections by
  // it). Never more than capacity().
  virtual void set_in_flight_limit(std::size_t) noexcept {}
  // Makes a poll in progress (or the next one) return early. Any thread; cheap.
  virtual void wake() noexcept = 0;
  // Aborts every transfer and hands their events back.
  virtual void abort_all(std::vector<stored_event>& out) = 0;
};

}  // namespace pixel::detail

#endif  // PIXEL_SRC_TRACKER_TRANSPORT_TRANSPORT_HPP
