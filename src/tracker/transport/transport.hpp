// The transport: how an attempt reaches the endpoint, behind a small interface. The curl
// multi transport (curl_transport.hpp) is the production one; tests drive the tracker with
// a deterministic fake. Transport types never reach the policy, the store or a public
// header.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_SRC_TRACKER_TRANSPORT_TRANSPORT_HPP
#define PIXEL_SRC_TRACKER_TRANSPORT_TRANSPORT_HPP

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "pixel/tracker.hpp"
#include "tracker/store/store.hpp"

namespace pixel::detail {

// A finished attempt: the event back, and what happened to it.
struct completion {
  stored_event event;
  transport_error error = transport_error::none;  // none: a response (see status)
  long status = 0;
  std::string location;     // a redirect's absolute target; "" when none
  std::string retry_after;  // the Retry-After header's value; "" when none
  std::string error_text;   // the transport's words for `error`
  // Sent on a connection the server had already closed: it cannot have processed it.
  bool unprocessed = false;
  // An https:// endpoint answered the TLS handshake with something else: final.
  bool misconfigured = false;
  std::chrono::steady_clock::duration latency{0};  // from start() to the completion
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
