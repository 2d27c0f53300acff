// The line reader: plain files pass through, gzip files (told by their first two bytes)
// go through zlib's inflate, member after member; lines are found with memchr.
// SPDX-License-Identifier: MIT
#include "line_reader.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

namespace pixel::log::detail {

// inflate rather than gzread: gzread returns nothing of a read that ends in an error, so
// the records inflated just before a corrupt byte were lost, and it tells where an error
// lies only by the position it has read up to (a buffer ahead).
struct line_reader::source {
  std::FILE* file = nullptr;
  bool gzip = false;
  z_stream zs{};
  bool zs_ready = false;
  std::vector<unsigned char> in = std::vector<unsigned char>(64 * 1024);
  std::size_t plain_pending = 0;  // plain file: bytes of `in` read while telling the kind
  std::uint64_t read_bytes = 0;   // bytes read from the file so far
  bool file_end = false;
  bool in_member = false;     // inside a gzip member (its end not reached yet)
  bool after_member = false;  // a member ended: what follows must be another one
  std::string error;          // an error met after the bytes handed out last

  ~source() {
    if (zs_ready) inflateEnd(&zs);
    if (file) std::fclose(file);
  }

  // Bytes into `in` (after what is still unread there); false at the end or on an error.
  bool read_more() {
    if (file_end) return false;
    const std::size_t keep = zs.avail_in;
    if (keep > 0 && zs.next_in != in.data()) std::memmove(in.data(), zs.next_in, keep);
    const std::size_t n = std::fread(in.data() + keep, 1, in.size() - keep, file);
    if (n == 0) {
      file_end = true;
      if (std::ferror(file)) {
        error = "read error at byte " + std::to_string(read_bytes) + ": " + std::strerror(errno);
      }
      return false;
    }
    read_bytes += n;
    zs.next_in = in.data();
    zs.avail_in = static_cast<uInt>(keep + n);
    return true;
  }

  // The compressed byte inflate has reached: the file offset of the next unread byte.
  std::uint64_t offset() const { return read_bytes - zs.avail_in; }

  // Inflates into [out, out + size): the bytes written. Errors are kept in `error` and
  // come after the bytes inflated before them.
  std::size_t inflate_into(char* out, std::size_t size) {
    zs.next_out = reinterpret_cast<Bytef*>(out);
    zs.avail_out = static_cast<uInt>(size);
    while (zs.avail_out > 0 && error.empty()) {
      if (zs.avail_in < 2 && !file_end) read_more();
      if (!error.empty()) break;
      if (after_member) {
        // gzip allows members one after another (as `cat a.gz b.gz`); anything else after
        // the last member is ignored, as gzip(1) and zlib's gzread ignore it.
        if (zs.avail_in < 2 || zs.next_in[0] != 0x1f || zs.next_in[1] != 0x8b) {
          zs.avail_in = 0;
          file_end = true;
          break;
        }
        inflateReset(&zs);
        after_member = false;
      }
      if (zs.avail_in == 0) {
        if (in_member) {
          error = "truncated gzip data: the object ends at byte " + std::to_string(read_bytes) +
                  " inside a compressed member (an incomplete download or upload?)";
        }
        break;
      }
      in_member = true;
      const int rc = inflate(&zs, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        in_member = false;
        after_member = true;
      } else if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT) {
        error = "corrupt gzip data near byte " + std::to_string(offset()) + ": " +
                (zs.msg ? zs.msg : "invalid data");
      } else if (rc == Z_MEM_ERROR) {
        error = "out of memory inflating gzip data at byte " + std::to_string(offset());
      } else if (rc != Z_OK && (rc != Z_BUF_ERROR || zs.avail_in > 0)) {
        error = "gzip data at byte " + std::to_string(offset()) + " cannot be inflated (zlib " +
                std::to_string(rc) + ")";
      }
    }
    return size - zs.avail_out;
  }

  std::size_t read_plain(char* out, std::size_t size) {
    if (plain_pending > 0) {
      const std::size_t n = std::min(plain_pending, size);
      std::memcpy(out, in.data() + (in.size() - plain_pending), n);
      plain_pending -= n;
      return n;
    }
    if (file_end) return 0;
    const std::size_t n = std::fread(out, 1, size, file);
    read_bytes += n;
    if (n == 0) {
      file_end = true;
      if (std::ferror(file)) {
        error = "read error at byte " + std::to_string(read_bytes) + ": " + std::strerror(errno);
      }
    }
    return n;
  }
};

line_reader::line_reader(std::size_t max_line) : max_line_(max_line) {
  buf_.resize(128 * 1024);
}

line_reader::~line_reader() = default;

bool line_reader::open(const std::string& path) {
  close();
  begin_ = end_ = 0;
  eof_ = unterminated_ = false;
  line_no_ = 0;
  line_.clear();
  cur_ = {};
  error_.clear();
  auto s = std::make_unique<source>();
  s->file = std::fopen(path.c_str(), "rb");
  if (!s->file) {
    error_ = std::string("cannot open: ") + std::strerror(errno);
    return false;
  }
  // The kind, by the first two bytes: gzip's magic number, or a plain file.
  s->read_more();
  if (!s->error.empty()) {
    error_ = s->error;
    return false;
  }
  if (s->zs.avail_in >= 2 && s->in[0] == 0x1f && s->in[1] == 0x8b) {
    if (inflateInit2(&s->zs, 15 + 16) != Z_OK) {  // 16: gzip wrapper only
      error_ = "cannot start zlib";
      return false;
    }
    s->zs_ready = true;
    s->gzip = true;
  } else {
    // What was read already is handed out first, from the end of `in`.
    const std::size_t n = s->zs.avail_in;
    std::memmove(s->in.data() + (s->in.size() - n), s->in.data(), n);
    s->plain_pending = n;
    s->zs.avail_in = 0;
  }
  src_ = std::move(s);
  return true;
}

void line_reader::close() noexcept {
  src_.reset();
}

bool line_reader::fill() {
  source& s = *src_;
  const std::size_t n =
      s.gzip ? s.inflate_into(buf_.data(), buf_.size()) : s.read_plain(buf_.data(), buf_.size());
  if (n > 0) {
    begin_ = 0;
    end_ = n;
    return true;
  }
  eof_ = true;
  error_ = s.error;
  return false;
}

line_reader::status line_reader::next() {
  line_.clear();
  cur_ = {};
  unterminated_ = false;
  if (!src_) return status::end;
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
