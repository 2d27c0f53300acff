// Receipts: one JSON line per settled event, appended to a file that `pixel reconcile`
// matches with the log records (docs/tracker.md, "Receipts"). The format is an interface:
//   {"eid":"01K...","outcome":"delivered","status":200,"attempts":1,"at":1795746757.547}
// SPDX-License-Identifier: MIT
#ifndef PIXEL_SRC_TRACKER_RECEIPTS_HPP
#define PIXEL_SRC_TRACKER_RECEIPTS_HPP

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "pixel/error.hpp"
#include "pixel/tracker.hpp"

namespace pixel::detail {

// add() formats a line into memory under a short lock (any thread, never I/O); write()
// appends what was added to the file (one thread at a time: the worker, or the tracker
// after the worker stopped). When the file would pass max_bytes it is renamed to the
// first free PATH.N (1, 2, ...) and a new one is started: nothing is ever deleted.
class receipts_writer {
 public:
  static result<std::unique_ptr<receipts_writer>> open(std::string path, std::uint64_t max_bytes);
  ~receipts_writer();
  receipts_writer(const receipts_writer&) = delete;
  receipts_writer& operator=(const receipts_writer&) = delete;

  void add(std::string_view eid, outcome what, long status, std::uint32_t attempts,
           std::int64_t at_ms);
  // Appends the lines added so far; with `sync`, they are on disk (fdatasync) when it
  // returns true. False when a write failed: those lines are counted in unwritten().
  bool write(bool sync);
  // Receipts that could not be written (disk full, file removed, ...).
  std::uint64_t unwritten() const noexcept;

 private:
  receipts_writer(std::string path, int fd, std::uint64_t size, std::uint64_t max_bytes);
  bool rotate();

  const std::string path_;
  const std::uint64_t max_bytes_;
  int fd_;
  std::uint64_t size_;  // bytes in the current file

  mutable std::mutex mutex_;
  std::string pending_;  // guarded by mutex_
  std::uint64_t pending_lines_ = 0;
  std::uint64_t unwritten_ = 0;
  std::string writing_;  // the writer's own buffer
};

}  // namespace pixel::detail

#endif  // PIXEL_SRC_TRACKER_RECEIPTS_HPP
