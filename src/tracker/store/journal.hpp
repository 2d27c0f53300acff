// The event store's journal: a copy of every event that has no outcome yet, kept outside
// the process, so that a new process finds them after a crash. The memory store keeps the
// ready and waiting sets, capacity and the ledger, and tells its journal (store_options::
// journal) of each change; the SQLite journal (store_sqlite.hpp) is the one implementation.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_SRC_TRACKER_STORE_JOURNAL_HPP
#define PIXEL_SRC_TRACKER_STORE_JOURNAL_HPP

#include <vector>

#include "pixel/error.hpp"
#include "tracker/store/store.hpp"

namespace pixel::detail {

// What the store tells its journal. Thread-safe. Only append() may block.
class store_journal {
 public:
  virtual ~store_journal() = default;
  // The events found at open, oldest first, numbered seq 0 .. n-1, each with its URL on the
  // current endpoint. The store keeps those that fit its bounds and settles the others as
  // dropped (settled()). Called once, by the store's constructor.
  virtual std::vector<stored_event> recover() = 0;
  // A new event is about to be accepted. Batched: staged for the next commit; sync:
  // returns once the event is on disk (group commit). An error refuses the event. Called
  // without the store's lock held.
  virtual result<void> append(const stored_event& e) = 0;
  // An event goes back to wait (attempt counts, not_before, perhaps a new URL).
  virtual void requeued(const stored_event& e) = 0;
  // An event has its outcome (delivered, failed, expired, dropped): forgotten.
  virtual void settled(const stored_event& e) = 0;
};

}  // namespace pixel::detail

#endif  // PIXEL_SRC_TRACKER_STORE_JOURNAL_HPP
