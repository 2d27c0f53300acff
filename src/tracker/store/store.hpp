// The event store: where events live between track() and their outcome. It owns capacity,
// the overflow policy, the ready and waiting sets and the one ledger of event states; the
// tracker and the worker only ask it for work and tell it what happened. The in-memory
// store (make_memory_store) is the first implementation; a durable one implements the same
// interface.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_SRC_TRACKER_STORE_STORE_HPP
#define PIXEL_SRC_TRACKER_STORE_STORE_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pixel/tracker.hpp"
#include "pixel/url.hpp"
#include "tracker/clock.hpp"

namespace pixel::detail {

// One event and its delivery state. Moved around, never copied on the hot path.
struct stored_event {
  std::string url;              // built once by track(); replaced by a followed redirect
  std::string user_agent;       // per-event User-Agent; empty: the tracker's
  pixel::event_id id;           // the eid in the URL
  std::uint64_t seq = 0;        // acceptance order (assigned by the tracker; flush() uses it)
  std::int64_t created_ms = 0;  // wall clock, ms since the Unix epoch: max_age
  steady_clock::time_point not_before;  // earliest next attempt (monotonic)
  std::uint32_t attempts = 0;           // requests sent
  std::uint32_t budget_used = 0;        // attempts counted against max_attempts (not probes)
  std::uint32_t redirects = 0;          // redirects followed so far
  long last_status = 0;                 // last HTTP status, 0 when none
  transport_error last_error = transport_error::none;
};

// The states of the ledger. An accepted event is in exactly one of them.
enum class event_state : std::uint8_t {
  queued,     // waiting (new, or for a retry at not_before)
  in_flight,  // taken by the worker for an attempt
  delivered,
  failed,
  expired,
  dropped,
};

constexpr event_state state_of(outcome o) noexcept {
  switch (o) {
    case outcome::delivered:
      return event_state::delivered;
    case outcome::failed:
      return event_state::failed;
    case outcome::expired:
      return event_state::expired;
    case outcome::dropped:
    case outcome::suppressed:  // never in a store: track() reports it without queueing
      break;
  }
  return event_state::dropped;
}

// The counts of events per state, changed only through move(). Not synchronised: a store
// keeps it under its own lock. Every implementation of event_store uses this one.
class ledger {
 public:
  // `n` events enter `to`: from `from`, or (nothing) newly accepted. `retry`: the move is
  // an event taken for an attempt after its first (counted in tracker_stats::retried).
  void move(std::optional<event_state> from, event_state to, std::uint64_t n = 1,
            bool retry = false) noexcept {
    if (from) counts_[index(*from)] -= n;
    counts_[index(to)] += n;
    if (retry) retried_ += n;
  }

  std::uint64_t count(event_state s) const noexcept { return counts_[index(s)]; }
  // Waiting or in flight: what the capacity limits.
  std::uint64_t outstanding() const noexcept {
    return count(event_state::queued) + count(event_state::in_flight);
  }
  std::uint64_t accepted() const noexcept {
    std::uint64_t n = 0;
    for (auto c : counts_) n += c;
    return n;
  }
  tracker_stats stats() const noexcept {
    tracker_stats s;
    s.queued = count(event_state::queued);
    s.in_flight = count(event_state::in_flight);
    s.delivered = count(event_state::delivered);
    s.retried = retried_;
    s.failed = count(event_state::failed);
    s.expired = count(event_state::expired);
    s.dropped = count(event_state::dropped);
    return s;
  }

 private:
  static constexpr std::size_t index(event_state s) noexcept { return static_cast<std::size_t>(s); }
  std::uint64_t counts_[6] = {};
  std::uint64_t retried_ = 0;
};

// What put() did with an event.
enum class put_status {
  accepted,    // queued (the event was moved from)
  full,        // no room (drop_new, block timed out, or drop_oldest with everything in
               // flight): counted as dropped; the event is left with the caller to report
  closed,      // the store no longer accepts events (shutdown): not counted
  unwritable,  // its journal could not keep it (a full disk...): counted as dropped, the
               // reason in put()'s `why`; the event is left with the caller to report
};

class store_journal;  // journal.hpp

struct store_options {
  std::size_t capacity = 10'000;  // events queued or in flight, at most
  overflow_policy overflow = overflow_policy::drop_new;
  // Durable delivery: a journal keeps a copy of every event without an outcome. Events it
  // recovers are queued at construction; events left at shutdown stay in it.
  std::shared_ptr<store_journal> journal;
  std::uint64_t max_bytes = 0;  // URL + User-Agent bytes of waiting events, at most; 0: none
};

// Internally synchronised: every member may be called from any thread. put() may block
// (overflow_policy::block, or a durable store waiting for its commit), so callers must not
// hold a lock of their own across it. Events handed out (take_*) are in flight until they
// come back through settle() or requeue().
class event_store {
 public:
  virtual ~event_store() = default;

  // Events found when the store was opened (a durable store's earlier run). They are
  // counted as accepted and queued, and carry seq 0 .. recovered() - 1; the tracker numbers
  // new events after them and after those dropped at open.
  virtual std::size_t recovered() const noexcept = 0;
  // Events found at open beyond the store's bounds (capacity, max_bytes), newest first to
  // go: settled as dropped and gone from the journal, with seq recovered() onwards, for the
  // caller to report. Moved into `out` once; later calls add nothing.
  virtual void take_dropped_at_open(std::vector<stored_event>& out) { (void)out; }

  // A new event (seq, created_ms, not_before set by the caller). At capacity, applies the
  // overflow policy: overflow_policy::block waits until `block_until` at most (real
  // steady_clock time, not the tracker's clock; a time in the past never waits). Events evicted by
  // drop_oldest are appended to `evicted`, already settled as dropped, for the caller to report.
  // put_status::unwritable sets *why. `e` is moved from only when accepted: a refused event
  // is left whole for the caller to report.
  virtual put_status put(stored_event&& e, steady_clock::time_point block_until,
                         std::vector<stored_event>& evicted, error* why = nullptr) = 0;

  // Moves up to `max` events due at `now` into `out` (retries first, then new events in
  // order), now in flight. Returns how many.
  virtual std::size_t take_ready(steady_clock::time_point now, std::size_t max,
                                 std::vector<stored_event>& out) = 0;
  // The event that has waited longest, due or not (an outage probe), now in flight.
  virtual bool take_oldest(stored_event& out) = 0;

  // An event in flight has its outcome.
  virtual void settle(const stored_event& e, outcome o) = 0;
  // An event in flight goes back to wait until e.not_before, with its attempt counts and
  // (after a followed redirect) its new URL as the caller updated them.
  virtual void requeue(stored_event&& e) = 0;
  // Makes every waiting event due at `now` (an outage ended).
  virtual void release_all(steady_clock::time_point now) = 0;
  // Moves every waiting event created before `cutoff_ms` (Unix ms) into `out`, settled as
  // expired. Returns how many.
  virtual std::size_t take_expired(std::int64_t cutoff_ms, std::vector<stored_event>& out) = 0;

  // When the next waiting event falls due; nothing when none waits.
  virtual std::optional<steady_clock::time_point> next_deadline() const = 0;
  // The creation time (Unix ms) of the oldest waiting event, for the next expiry; nothing
  // when none waits.
  virtual std::optional<std::int64_t> oldest_created_ms() const = 0;

  // Shutdown, step one: put() returns closed from now on and blocked put() calls return.
  virtual void stop_accepting() = 0;
  // Shutdown: an event whose transfer was aborted. True: settled as dropped (report it);
  // false: kept for a later run (a durable store).
  virtual bool abandon(const stored_event& e) = 0;
  // Shutdown, last step (the worker has stopped): every waiting event the store does not
  // keep goes into `dropped`, settled as dropped.
  virtual void close(std::vector<stored_event>& dropped) = 0;

  virtual tracker_stats stats() const = 0;
  // Queued plus in flight.
  virtual std::size_t outstanding() const = 0;
};

// In memory: a preallocated ring of new events (FIFO, so put never allocates) and a heap of
// retries ordered by due time.
std::unique_ptr<event_store> make_memory_store(const store_options& options);

}  // namespace pixel::detail

#endif  // PIXEL_SRC_TRACKER_STORE_STORE_HPP
