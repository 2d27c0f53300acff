// email-campaign: streaming RFC 4180 reader on libcsv, with line numbers for errors.
// SPDX-License-Identifier: MIT
#ifndef EMAIL_CAMPAIGN_CSV_READER_HPP
#define EMAIL_CAMPAIGN_CSV_READER_HPP

#include <csignal>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace email_campaign {

// One parsed row. The field strings belong to the reader and are reused for the next row:
// the handler may modify them, and copies what must outlive the call.
struct csv_row {
  std::vector<std::string>* fields = nullptr;
  std::size_t count = 0;  // fields[0..count) belong to this row
  std::size_t line = 0;   // 1-based line where the row starts
};

// Reads a CSV file row by row in constant memory (a row is held, never the file).
// Quoted fields may hold commas, doubled quotes and newlines; spaces and tabs around
// unquoted fields are trimmed; a UTF-8 byte order mark at the start is skipped; blank
// lines are ignored. A row that breaks the quoting rules is reported through on_error
// with its line number and skipped: reading resumes on the next line.
class csv_reader {
 public:
  using row_handler = std::function<void(const csv_row&)>;
  using error_handler = std::function<void(std::size_t line, const std::string& message)>;

  csv_reader(row_handler on_row, error_handler on_error);
  ~csv_reader();
  csv_reader(const csv_reader&) = delete;
  csv_reader& operator=(const csv_reader&) = delete;

  // Feeds the whole stream as it arrives, or until `*stop` is non-zero (checked before each
  // read; a signal interrupting a read ends it). False only on an I/O error (reported through
  // on_error); a stop is not one.
  bool read(std::FILE* in, const volatile std::sig_atomic_t* stop = nullptr);
  // Feeds a buffer (tests); call finish() after the last one.
  void feed(const char* data, std::size_t size);
  void finish();

  // libcsv callbacks (public for the C trampolines).
  void on_field(const char* data, std::size_t size);
  void on_row_end();

 private:
  void feed_line(const char* data, std::size_t size);
  void reset_parser();

  struct parser_state;
  parser_state* parser_;
  row_handler on_row_;
  error_handler on_error_;
  std::vector<std::string> fields_;
  std::size_t count_ = 0;
  std::string pending_;        // a line split across buffers
  std::size_t line_ = 0;       // current physical line, 1-based once reading starts
  std::size_t row_start_ = 0;  // line where the current row began
  bool in_row_ = false;        // a row has started and not yet ended
  bool quote_open_ = false;    // an odd number of quotes seen since the row began
  bool first_line_ = true;
};

}  // namespace email_campaign

#endif  // EMAIL_CAMPAIGN_CSV_READER_HPP
