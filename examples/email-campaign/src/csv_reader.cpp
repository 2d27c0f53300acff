// SPDX-License-Identifier: MIT
#include "csv_reader.hpp"

#include <csv.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace email_campaign {

struct csv_reader::parser_state {
  csv_parser p;
};

namespace {
void field_cb(void* data, std::size_t size, void* self) {
  static_cast<csv_reader*>(self)->on_field(static_cast<const char*>(data), size);
}
void row_cb(int /*terminator*/, void* self) {
  static_cast<csv_reader*>(self)->on_row_end();
}

// Strict: a quote inside an unquoted field or text after a closing quote is an error
// (instead of being taken literally), and so is a quoted field left open at the end.
constexpr unsigned char parser_options = CSV_STRICT | CSV_STRICT_FINI;
}  // namespace

csv_reader::csv_reader(row_handler on_row, error_handler on_error)
    : parser_(new parser_state), on_row_(std::move(on_row)), on_error_(std::move(on_error)) {
  csv_init(&parser_->p, parser_options);
}

csv_reader::~csv_reader() {
  csv_free(&parser_->p);
  delete parser_;
}

void csv_reader::reset_parser() {
  csv_free(&parser_->p);
  csv_init(&parser_->p, parser_options);
  count_ = 0;
  in_row_ = false;
  quote_open_ = false;
}

void csv_reader::on_field(const char* data, std::size_t size) {
  if (fields_.size() <= count_) fields_.emplace_back();
  if (data == nullptr) size = 0;
  fields_[count_].assign(data == nullptr ? "" : data, size);
  ++count_;
}

void csv_reader::on_row_end() {
  csv_row row;
  row.fields = &fields_;
  row.count = count_;
  row.line = row_start_;
  count_ = 0;
  quote_open_ = false;
  in_row_ = false;
  on_row_(row);
}

void csv_reader::feed_line(const char* data, std::size_t size) {
  ++line_;
  if (first_line_) {
    first_line_ = false;
    if (size >= 3 && std::memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
      data += 3;
      size -= 3;
    }
  }
  if (!in_row_) row_start_ = line_;
  for (const char* q = static_cast<const char*>(std::memchr(data, '"', size)); q != nullptr;
       q = static_cast<const char*>(
           std::memchr(q + 1, '"', size - static_cast<std::size_t>(q + 1 - data)))) {
    quote_open_ = !quote_open_;
  }
  const std::size_t used = csv_parse(&parser_->p, data, size, field_cb, row_cb, this);
  if (used < size) {
    std::string where = "line " + std::to_string(row_start_);
    if (row_start_ != line_) where += " (to line " + std::to_string(line_) + ")";
    on_error_(row_start_, where + ": malformed CSV (" + csv_strerror(csv_error(&parser_->p)) +
                              ": a quote inside an unquoted field or text after a closing quote); "
                              "row skipped");
    reset_parser();
    return;
  }
  in_row_ = quote_open_ || count_ > 0;
}

void csv_reader::feed(const char* data, std::size_t size) {
  while (size > 0) {
    const auto* nl = static_cast<const char*>(std::memchr(data, '\n', size));
    if (nl == nullptr) {
      pending_.append(data, size);
      return;
    }
    const auto len = static_cast<std::size_t>(nl - data) + 1;
    if (pending_.empty()) {
      feed_line(data, len);
    } else {
      pending_.append(data, len);
      feed_line(pending_.data(), pending_.size());
      pending_.clear();
    }
    data += len;
    size -= len;
  }
}

void csv_reader::finish() {
  if (!pending_.empty()) {
    feed_line(pending_.data(), pending_.size());
    pending_.clear();
  }
  if (csv_fini(&parser_->p, field_cb, row_cb, this) != 0) {
    on_error_(row_start_, "line " + std::to_string(row_start_) +
                              ": malformed CSV (a quoted field is never closed); row skipped");
  }
  reset_parser();
}

bool csv_reader::read(std::FILE* in, const volatile std::sig_atomic_t* stop) {
  auto stopped = [stop] { return stop != nullptr && *stop != 0; };
  // read(2), not fread: rows are taken as they arrive (a pipe that stays open included),
  // and a signal's EINTR is seen.
  const int fd = ::fileno(in);
  std::vector<char> buffer(1 << 20);
  for (;;) {
    if (stopped()) return true;
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      on_error_(line_, std::string("read error: ") + std::strerror(errno));
      return false;
    }
    if (n == 0) break;
    feed(buffer.data(), static_cast<std::size_t>(n));
  }
  finish();
  return true;
}

}  // namespace email_campaign
