// SPDX-License-Identifier: MIT
#include "tracker/receipts.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace pixel::detail {

result<std::unique_ptr<receipts_writer>> receipts_writer::open(std::string path,
                                                               std::uint64_t max_bytes) {
  if (path.empty()) return error(errc::invalid_argument, "receipts_path is empty");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return error(errc::invalid_argument,
                 "cannot open receipts file '" + path + "': " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return error(errc::invalid_argument, "receipts file '" + path + "' is not a regular file");
  }
  return std::unique_ptr<receipts_writer>(
      new receipts_writer(std::move(path), fd, static_cast<std::uint64_t>(st.st_size), max_bytes));
}

receipts_writer::receipts_writer(std::string path, int fd, std::uint64_t size,
                                 std::uint64_t max_bytes)
    : path_(std::move(path)), max_bytes_(max_bytes), fd_(fd), size_(size) {}

receipts_writer::~receipts_writer() {
  if (fd_ >= 0) ::close(fd_);
}

void receipts_writer::add(std::string_view eid, outcome what, long status, std::uint32_t attempts,
                          std::int64_t at_ms) {
  // The event id is a ULID (or an id the caller gave, validated as URL-safe text): no
  // byte of it needs JSON escaping.
  char tail[160];
  const int n =
      std::snprintf(tail, sizeof tail,
                    "\",\"outcome\":\"%s\",\"status\":%ld,\"attempts\":%u,"
                    "\"at\":%lld.%03lld}\n",
                    outcome_name(what), status, static_cast<unsigned>(attempts),
                    static_cast<long long>(at_ms / 1000), static_cast<long long>(at_ms % 1000));
  std::lock_guard<std::mutex> lock(mutex_);
  pending_ += "{\"eid\":\"";
  pending_.append(eid.data(), eid.size());
  pending_.append(tail, static_cast<std::size_t>(n));
  ++pending_lines_;
}

bool receipts_writer::rotate() {
  for (unsigned k = 1; k < 1'000'000; ++k) {
    const std::string to = path_ + "." + std::to_string(k);
    if (::access(to.c_str(), F_OK) == 0) continue;
    if (::rename(path_.c_str(), to.c_str()) != 0) return false;
    const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return false;
    ::close(fd_);
    fd_ = fd;
    size_ = 0;
    return true;
  }
  return false;
}

bool receipts_writer::write(bool sync) {
  std::uint64_t lines = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (pending_.empty()) return true;
    writing_.swap(pending_);
    lines = pending_lines_;
    pending_lines_ = 0;
  }
  if (max_bytes_ > 0 && size_ > 0 && size_ + writing_.size() > max_bytes_) {
    rotate();  // on failure the current file grows past the bound: no receipt is lost
  }
  const char* p = writing_.data();
  std::size_t left = writing_.size();
  bool ok = true;
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
    size_ += static_cast<std::uint64_t>(n);
  }
  if (ok && sync && ::fdatasync(fd_) != 0) ok = false;
  writing_.clear();
  if (!ok) {
    std::lock_guard<std::mutex> lock(mutex_);
    unwritten_ += lines;
  }
  return ok;
}

std::uint64_t receipts_writer::unwritten() const noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  return unwritten_;
}

}  // namespace pixel::detail
