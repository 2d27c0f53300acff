// Buffers log records and writes them as Firehose delivers to S3: one object per buffer
// interval or buffer size, under DIR/year=yyyy/month=MM/day=dd/hour=HH/ (UTC).
// SPDX-License-Identifier: MIT
#ifndef PIXEL_TOOLS_EDGE_FIREHOSE_WRITER_HPP
#define PIXEL_TOOLS_EDGE_FIREHOSE_WRITER_HPP

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "pixel/error.hpp"

namespace pixel::edge {

class firehose_writer {
 public:
  // `dir` empty: records only go to `echo`.
  firehose_writer(std::string dir, std::chrono::milliseconds interval, std::size_t size_limit,
                  std::function<void(std::string_view)> echo);
  ~firehose_writer();
  firehose_writer(const firehose_writer&) = delete;
  firehose_writer& operator=(const firehose_writer&) = delete;

  // Creates the root folder and starts the flushing thread.
  result<void> start();
  // Adds one record (ending in '\n') stamped `ts_ms` (epoch ms, picks the hour folder).
  // Thread-safe.
  void append(std::string_view line, std::int64_t ts_ms);
  // Writes everything buffered and stops the thread; the first write error, if any.
  result<void> close();

  std::uint64_t records() const;

 private:
  struct sealed {
    std::int64_t hour;  // epoch hours
    std::string data;
  };
  void seal_locked();
  void run();
  void write_object(const sealed& s);

  std::string dir_;
  std::chrono::milliseconds interval_;
  std::size_t size_limit_;
  std::function<void(std::string_view)> echo_;

  mutable std::mutex m_;
  std::condition_variable cv_;
  std::string buf_;
  std::int64_t buf_hour_ = -1;
  std::chrono::steady_clock::time_point buf_opened_;
  std::deque<sealed> sealed_;
  bool closing_ = false;
  bool started_ = false;
  std::uint64_t records_ = 0;
  std::uint64_t seq_ = 0;  // only touched by the flushing thread
  std::string error_;      // first write error
  std::thread thread_;
};

}  // namespace pixel::edge

#endif  // PIXEL_TOOLS_EDGE_FIREHOSE_WRITER_HPP
