// Lines from a plain or gzip file (detected by content), read in place where they lie in
// one buffer; not installed.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_SRC_LOG_LINE_READER_HPP
#define PIXEL_SRC_LOG_LINE_READER_HPP

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace pixel::log::detail {

class line_reader {
 public:
  enum class status : std::uint8_t {
    line,      // line() holds a line (without its '\n'); unterminated() says if it had one
    end,       // the end of the file
    too_long,  // a line longer than max_line was skipped
    error,     // the file cannot be read on (error() says why): unreadable, truncated, corrupt
  };

  explicit line_reader(std::size_t max_line);
  ~line_reader();
  line_reader(const line_reader&) = delete;
  line_reader& operator=(const line_reader&) = delete;

  // False (error() set) when the file cannot be opened.
  bool open(const std::string& path);
  void close() noexcept;
  bool is_open() const noexcept { return src_ != nullptr; }

  status next();
  std::string_view line() const noexcept { return cur_; }
  // The line returned last was the file's last and had no '\n'.
  bool unterminated() const noexcept { return unterminated_; }
  // 1-based number of the line returned last (of the error: the line it cut).
  std::uint64_t line_no() const noexcept { return line_no_; }
  const std::string& error() const noexcept { return error_; }

 private:
  bool fill();  // false at the end or on an error (error_ set)

  std::size_t max_line_;
  struct source;  // the file, and zlib's inflate state when it is gzip
  std::unique_ptr<source> src_;
  std::vector<char> buf_;
  std::size_t begin_ = 0, end_ = 0;
  bool eof_ = false, unterminated_ = false;
  std::uint64_t line_no_ = 0;
  std::string line_;      // a line that spans buffer refills
  std::string_view cur_;  // the current line: in buf_ or in line_
  std::string error_;
};

}  // namespace pixel::log::detail

#endif  // PIXEL_SRC_LOG_LINE_READER_HPP
