// Durable delivery: the SQLite journal (journal.hpp), over the on-disk spool (spool.hpp),
// and the tracker's store with it when a spool_dir is set.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_SRC_TRACKER_STORE_STORE_SQLITE_HPP
#define PIXEL_SRC_TRACKER_STORE_STORE_SQLITE_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "pixel/error.hpp"
#include "pixel/tracker.hpp"
#include "tracker/clock.hpp"
#include "tracker/store/journal.hpp"
#include "tracker/store/store.hpp"

namespace pixel::detail {

struct sqlite_journal_options {
  std::string dir;
  // The endpoint's URL without a query (endpoint::url()): recovered events go there.
  std::string endpoint_url;
  durability level = durability::batched;  // batched or sync
  std::chrono::milliseconds commit_interval{10};
  std::size_t commit_batch = 1'000;
  bool recreate_if_corrupt = false;
  const clock_source* clock = nullptr;  // null: the system clocks
};

// Opens (creating if needed) the spool in options.dir. Errors: errc::spool_*.
result<std::unique_ptr<store_journal>> open_sqlite_journal(const sqlite_journal_options& options);

// Checks the spool options (spool_dir and durability go together; positive commit bounds).
result<void> validate_spool(const tracker_options& options);

// The tracker's store for `options`: the memory store, with the SQLite journal when
// options.spool_dir is set.
result<std::unique_ptr<event_store>> make_store(const tracker_options& options,
                                                const store_options& store,
                                                const clock_source* clock);

}  // namespace pixel::detail

#endif  // PIXEL_SRC_TRACKER_STORE_STORE_SQLITE_HPP
