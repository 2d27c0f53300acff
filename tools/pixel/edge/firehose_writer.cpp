// SPDX-License-Identifier: MIT
#include "firehose_writer.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <system_error>

namespace pixel::edge {
namespace {

std::tm utc(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

}  // namespace

firehose_writer::firehose_writer(std::string dir, std::chrono::milliseconds interval,
                                 std::size_t size_limit, std::function<void(std::string_view)> echo)
    : dir_(std::move(dir)), interval_(interval), size_limit_(size_limit), echo_(std::move(echo)) {}

firehose_writer::~firehose_writer() {
  (void)close();
}

result<void> firehose_writer::start() {
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) return error(errc::invalid_argument, "cannot create " + dir_ + ": " + ec.message());
  }
  std::lock_guard<std::mutex> lock(m_);
  started_ = true;
  thread_ = std::thread([this] { run(); });
  return {};
}

void firehose_writer::append(std::string_view line, std::int64_t ts_ms) {
  const std::int64_t hour = ts_ms / 3'600'000;
  std::lock_guard<std::mutex> lock(m_);
  ++records_;
  if (echo_) echo_(line);
  if (dir_.empty()) return;
  if (!buf_.empty() && hour != buf_hour_) seal_locked();
  if (buf_.empty()) {
    buf_hour_ = hour;
    buf_opened_ = std::chrono::steady_clock::now();
    cv_.notify_one();  // the flusher now has a deadline
  }
  buf_.append(line.data(), line.size());
  if (buf_.size() >= size_limit_) {
    seal_locked();
    cv_.notify_one();
  }
}

void firehose_writer::seal_locked() {
  if (buf_.empty()) return;
  sealed_.push_back({buf_hour_, std::move(buf_)});
  buf_.clear();
}

void firehose_writer::run() {
  std::unique_lock<std::mutex> lock(m_);
  for (;;) {
    if (sealed_.empty() && !closing_) {
      if (buf_.empty()) {
        cv_.wait(lock, [&] { return closing_ || !sealed_.empty() || !buf_.empty(); });
      } else {
        const auto deadline = buf_opened_ + interval_;
        if (cv_.wait_until(lock, deadline, [&] { return closing_ || !sealed_.empty(); }) == false) {
          seal_locked();
        }
      }
    }
    if (closing_) seal_locked();
    while (!sealed_.empty()) {
      sealed s = std::move(sealed_.front());
      sealed_.pop_front();
      lock.unlock();
      write_object(s);
      lock.lock();
    }
    if (closing_ && buf_.empty() && sealed_.empty()) return;
  }
}

void firehose_writer::write_object(const sealed& s) {
  // Folder from the records' hour; object name from the delivery time, as Firehose
  // names them (stream-version-yyyy-MM-dd-HH-mm-ss-id), with a sequence number so that
  // names sort in delivery order.
  const std::tm h = utc(static_cast<std::time_t>(s.hour * 3600));
  char folder[64];
  std::snprintf(folder, sizeof folder, "year=%04d/month=%02d/day=%02d/hour=%02d", h.tm_year + 1900,
                h.tm_mon + 1, h.tm_mday, h.tm_hour);
  const std::tm now = utc(std::time(nullptr));
  char name[128];
  std::snprintf(name, sizeof name, "pixel-edge-1-%04d-%02d-%02d-%02d-%02d-%02d-%08llu-%d",
                now.tm_year + 1900, now.tm_mon + 1, now.tm_mday, now.tm_hour, now.tm_min,
                now.tm_sec, static_cast<unsigned long long>(++seq_), static_cast<int>(getpid()));
  const std::filesystem::path dir = std::filesystem::path(dir_) / folder;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const auto tmp = dir / (std::string(".") + name + ".tmp");
  const auto final_path = dir / name;
  std::string err;
  if (ec) {
    err = "cannot create " + dir.string() + ": " + ec.message();
  } else if (std::FILE* f = std::fopen(tmp.c_str(), "wb")) {
    const bool ok = std::fwrite(s.data.data(), 1, s.data.size(), f) == s.data.size();
    const bool closed = std::fclose(f) == 0;
    if (!ok || !closed) {
      err = "cannot write " + tmp.string() + ": " + std::strerror(errno);
    } else {
      // Appears whole, as an S3 object does.
      std::filesystem::rename(tmp, final_path, ec);
      if (ec) err = "cannot rename " + tmp.string() + ": " + ec.message();
    }
  } else {
    err = "cannot create " + tmp.string() + ": " + std::strerror(errno);
  }
  if (!err.empty()) {
    std::lock_guard<std::mutex> lock(m_);
    if (error_.empty()) error_ = err;
  }
}

result<void> firehose_writer::close() {
  std::thread t;
  {
    std::lock_guard<std::mutex> lock(m_);
    closing_ = true;
    cv_.notify_all();
    t = std::move(thread_);
  }
  if (t.joinable()) t.join();
  std::lock_guard<std::mutex> lock(m_);
  if (!error_.empty()) return error(errc::internal, error_);
  return {};
}

std::uint64_t firehose_writer::records() const {
  std::lock_guard<std::mutex> lock(m_);
  return records_;
}

}  // namespace pixel::edge
