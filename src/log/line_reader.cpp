// The gzip line reader: zlib's gzread (plain files pass through), lines found with memchr.
// SPDX-License-Identifier: MIT
#include "line_reader.hpp"

#include <zlib.h>

#include <cerrno>
#include <cstring>

namespace pixel::log::detail {

namespace {
gzFile gz(void* p) {
  return static_cast<gzFile>(p);
}
}  // namespace

bool line_reader::open(const std::string& path) {
  close();
  begin_ = end_ = 0;
  eof_ = unterminated_ = false;
  line_no_ = 0;
  line_.clear();
  cur_ = {};
  error_.clear();
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) {
    error_ = std::string("cannot open: ") + std::strerror(errno);
    return false;
  }
  gzbuffer(f, 128 * 1024);
  gz_ = f;
  return true;
}

void line_reader::close() noexcept {
  if (gz_) gzclose(gz(gz_));
  gz_ = nullptr;
}

bool line_reader::fill() {
  const int n = gzread(gz(gz_), buf_.data(), static_cast<unsigned>(buf_.size()));
  int err = Z_OK;
  const char* msg = gzerror(gz(gz_), &err);
  // gzread returns the bytes it could inflate before an error, and reports a member cut
  // short (Z_BUF_ERROR) as an ordinary end: both are asked of gzerror.
  if (n > 0) {
    begin_ = 0;
    end_ = static_cast<std::size_t>(n);
    return true;
  }
  eof_ = true;
  if (n == 0 && err == Z_OK) return false;
  const long long at = static_cast<long long>(gzoffset(gz(gz_)));
  if (err == Z_BUF_ERROR) {
    error_ = "truncated gzip data: the object ends at byte " + std::to_string(at) +
             " inside a compressed member (an incomplete download or upload?)";
  } else if (err == Z_DATA_ERROR) {
    error_ = "corrupt gzip data near byte " + std::to_string(at) + ": " +
             (msg && *msg ? msg : "invalid data");
  } else {
    error_ = std::string("read error near byte ") + std::to_string(at) + ": " +
             (msg && *msg ? msg : std::strerror(errno));
  }
  return false;
}

line_reader::status line_reader::next() {
  line_.clear();
  cur_ = {};
  unterminated_ = false;
  if (!gz_) return status::end;
  // Most lines lie whole in the buffer: read them in place.
  if (begin_ < end_) {
    const char* start = buf_.data() + begin_;
    if (const void* nl = std::memchr(start, '\n', end_ - begin_)) {
      const auto take = static_cast<std::size_t>(static_cast<const char*>(nl) - start);
      begin_ += take + 1;
      ++line_no_;
      if (take > max_line_) return status::too_long;
      cur_ = std::string_view(start, take);
      return status::line;
    }
  }
  bool too_long = false;
  for (;;) {
    if (begin_ == end_) {
      if (eof_ || !fill()) break;
    }
    const char* start = buf_.data() + begin_;
    const void* nl = std::memchr(start, '\n', end_ - begin_);
    const std::size_t take =
        nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - start) : end_ - begin_;
    if (!too_long) {
      if (line_.size() + take > max_line_) {
        too_long = true;
        line_.clear();
      } else {
        line_.append(start, take);
      }
    }
    begin_ += take;
    if (nl) {
      ++begin_;
      ++line_no_;
      if (too_long) return status::too_long;
      cur_ = line_;
      return status::line;
    }
  }
  if (!error_.empty()) {
    ++line_no_;    // the line being read when the data broke
    cur_ = line_;  // the part of it that was readable
    return status::error;
  }
  // The end of the file: a last line without '\n'.
  if (too_long || !line_.empty()) {
    ++line_no_;
    if (too_long) return status::too_long;
    cur_ = line_;
    unterminated_ = true;
    return status::line;
  }
  return status::end;
}

}  // namespace pixel::log::detail
