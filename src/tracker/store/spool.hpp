// The on-disk spool: events kept in a SQLite database (WAL mode) inside a directory that
// one tracker owns at a time (an flock on `spool.lock`). Writes are staged in memory and
// committed together: a writer thread commits every `commit_interval` or `commit_batch`
// staged events (synchronous=NORMAL), and insert_durable() callers share one transaction
// and one fsync per group (synchronous=FULL): whoever arrives while a commit runs joins the
// next one.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_SRC_TRACKER_STORE_SPOOL_HPP
#define PIXEL_SRC_TRACKER_STORE_SPOOL_HPP

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "pixel/error.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace pixel::detail {

// One event as the spool keeps it: what the event is, not where it was going (the query
// of its URL, not the endpoint or a redirect target), so that a later run sends it to the
// endpoint configured then. Times are wall-clock Unix milliseconds, so that ages carry over
// a restart.
struct spool_row {
  std::uint64_t key = 0;   // unique; 0 on insert: the spool assigns the next free one
  std::string id;          // event id text
  std::string query;       // the URL's query (after '?'), percent-encoded as sent
  std::string user_agent;  // empty: the tracker's
  std::uint32_t attempts = 0;
  std::uint32_t budget_used = 0;
  std::int64_t created_ms = 0;
  std::int64_t not_before_ms = 0;
};

struct spool_config {
  std::string dir;  // created if missing
  // A damaged database is renamed to events.db.corrupt-<unix ms> and a fresh one started
  // (its events are lost); otherwise open() fails with errc::spool_corrupt.
  bool recreate_if_corrupt = false;
  std::chrono::milliseconds commit_interval{10};  // longest a staged write waits
  std::size_t commit_batch = 1'000;               // staged inserts that start a commit at once
};

// What open() found.
struct spool_recovery {
  std::vector<spool_row> rows;  // events from an earlier run, in key order
  std::string moved_aside;      // the path a corrupt database was moved to; empty if none
};

// Thread-safe. Every method that can fail returns a typed errc::spool_* error.
class spool {
 public:
  static result<std::unique_ptr<spool>> open(const spool_config& config, spool_recovery& found);
  // Commits what is staged (synchronous=FULL), closes the database and releases the lock.
  ~spool();
  spool(const spool&) = delete;
  spool& operator=(const spool&) = delete;

  // Stages a new event for the writer thread; returns its key (row.key, or the next free
  // one when that is 0). While the last commit
  // failed, nothing is staged and that commit's error is returned: the caller refuses the
  // event rather than promise a durability it cannot give.
  result<std::uint64_t> insert(spool_row row);
  // Stages a new event and returns once it is committed with fsync (group commit).
  result<std::uint64_t> insert_durable(spool_row row);
  // An event settled (delivered, failed, expired, dropped): its row goes. A row whose insert
  // is still staged is never written.
  void remove(std::uint64_t key);
  // An event goes back to wait: its attempt counts and next attempt time. (A redirect
  // target is not kept: the next run starts again from its endpoint.)
  void update(std::uint64_t key, std::uint32_t attempts, std::uint32_t budget_used,
              std::int64_t not_before_ms);
  // Commits everything staged now (durable: with fsync) and returns the outcome.
  result<void> commit(bool durable);

  // Committed rows, read from the database (for tests and tools).
  result<std::vector<spool_row>> read_all();
  // One more than the largest key found or inserted.
  std::uint64_t next_key() const;

  struct counters {
    std::uint64_t commits = 0;  // transactions committed
    std::uint64_t durable_commits = 0;
    std::uint64_t rows_written = 0;       // inserts that reached the database
    std::uint64_t inserts_cancelled = 0;  // settled before their insert was committed
  };
  counters stats() const;

 private:
  struct update_op {
    std::uint64_t key;
    std::uint32_t attempts;
    std::uint32_t budget_used;
    std::int64_t not_before_ms;
  };
  // A batch of staged writes and the callers waiting for it.
  struct group {
    std::vector<spool_row> inserts;                        // key 0: cancelled
    std::unordered_map<std::uint64_t, std::size_t> index;  // key -> position in inserts
    std::vector<update_op> updates;
    std::vector<std::uint64_t> removes;
    std::size_t live_inserts = 0;
    bool durable = false;
    bool done = false;
    result<void> outcome;
  };

  spool(spool_config config, int lock_fd, sqlite3* db, std::string db_path, std::uint64_t next_key);
  result<void> prepare();
  // Takes the open group and writes it; `lock` is held on entry and exit, released while
  // writing. Only one caller at a time (committing_).
  void lead(std::unique_lock<std::mutex>& lock, bool durable);
  result<void> write(group& g, bool durable);
  result<void> check_file() const;
  result<std::uint64_t> stage(spool_row row, bool durable);
  spool_row* staged(std::uint64_t key);     // a staged insert, under mutex_
  void note_work(bool wake_writer = true);  // a write staged into open_, under mutex_
  std::shared_ptr<group> new_group() const;
  void run_writer();

  spool_config config_;
  int lock_fd_ = -1;
  sqlite3* db_ = nullptr;
  std::string db_path_;
  sqlite3_stmt* insert_stmt_ = nullptr;
  sqlite3_stmt* update_stmt_ = nullptr;
  sqlite3_stmt* delete_stmt_ = nullptr;
  int synchronous_ = -1;  // the PRAGMA synchronous in force (1 NORMAL, 2 FULL)
  // The database file as opened: a commit first checks that it is still this file with a
  // spool's header (SQLite would not notice it overwritten until it next reads a page).
  std::uint64_t file_dev_ = 0;
  std::uint64_t file_ino_ = 0;

  mutable std::mutex mutex_;
  std::condition_variable done_cv_;    // a commit finished
  std::condition_variable writer_cv_;  // work for the writer thread
  std::shared_ptr<group> open_;        // collecting writes
  std::shared_ptr<group> spare_;       // the next open_, allocated by the last leader
  std::shared_ptr<group> retired_;     // the last group written, freed by the next leader
  std::chrono::steady_clock::time_point open_since_;  // first write staged in open_
  bool committing_ = false;
  bool stopping_ = false;
  result<void> failing_;  // the last background commit's outcome
  std::uint64_t next_key_ = 1;
  counters stats_;
  std::thread writer_;
};

}  // namespace pixel::detail

#endif  // PIXEL_SRC_TRACKER_STORE_SPOOL_HPP
