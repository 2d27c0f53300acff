// The tracker's event store: where events wait between track() and a transfer, and between
// attempts. Behind an interface so that a durable (on-disk) store can replace the memory
// one without touching track() or the worker.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_SRC_TRACKER_QUEUE_HPP
#define PIXEL_SRC_TRACKER_QUEUE_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pixel/url.hpp"

namespace pixel::detail {

using steady_clock = std::chrono::steady_clock;

// One event and its delivery state. Moved around, never copied on the hot path.
struct queued_event {
  std::string url;         // built once by track(); replaced by a followed redirect
  std::string user_agent;  // per-event User-Agent; empty: the tracker's
  pixel::event_id id;
  std::uint64_t seq = 0;                // acceptance order, for flush()
  steady_clock::time_point created;     // for retry_policy::max_age
  steady_clock::time_point not_before;  // earliest next attempt
  std::uint32_t attempts = 0;           // requests sent
  std::uint32_t budget_used = 0;        // attempts counted against max_attempts (not probes)
  std::uint32_t redirects = 0;
  long last_status = 0;
  int last_curl = 0;
};

// Thread-compatible, not thread-safe: the tracker calls it under its own mutex. Capacity
// is the tracker's business (it counts events in flight too); a store only needs room for
// `capacity` events.
class event_queue {
 public:
  virtual ~event_queue() = default;

  virtual std::size_t size() const noexcept = 0;
  // A new event from track(). Must not allocate beyond what the event carries.
  virtual void push(queued_event&& e) = 0;
  // An event to try again at e.not_before (after a failed attempt).
  virtual void push_retry(queued_event&& e) = 0;
  // The next event due at `now` (retries first, then new events in order); false if none.
  virtual bool pop_due(steady_clock::time_point now, queued_event& out) = 0;
  // The event that has waited longest (for overflow_policy::drop_oldest and draining).
  virtual bool pop_oldest(queued_event& out) = 0;
  // When the next event falls due; nothing when empty.
  virtual std::optional<steady_clock::time_point> next_due() const = 0;
  // Makes every waiting event due at `now` (an outage ended).
  virtual void release_all(steady_clock::time_point now) = 0;
  // Moves out every event created before `cutoff` (too old to send).
  virtual void take_expired(steady_clock::time_point cutoff, std::vector<queued_event>& out) = 0;
};

// In memory: a preallocated ring of new events (FIFO, so push never allocates) and a heap of
// retries ordered by due time.
std::unique_ptr<event_queue> make_memory_queue(std::size_t capacity);

}  // namespace pixel::detail

#endif  // PIXEL_SRC_TRACKER_QUEUE_HPP
