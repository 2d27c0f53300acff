// Reading CloudFront logs back into events: real-time records (Firehose objects) and
// standard access logs (legacy W3C files; standard logging v2 in W3C, plain or JSON).
// SPDX-License-Identifier: MIT
//
// A real-time record is one line of tab-separated fields in CloudFront's catalog order; an
// absent value is `-` or nothing at all between two tabs. Free-text fields (user agent,
// query, referer, headers, content type, ...) are log-escaped: bytes 0x00-0x20, >= 0x7F
// and `<>"#%{}|\^~[]`'` written as %XX. Decoding a query undoes the log escaping once (the
// query exactly as the client sent it), then splits on '&' and the first '=' and
// percent-decodes each key and value.
//
//   pixel::log::reader_options o;                 // default fields: default_fields()
//   o.dedupe = true;                              // one record per event id
//   auto r = pixel::log::reader::open({"out/"}, o);
//   pixel::log::record rec;
//   while (r && r->next(rec)) use(rec.params);
#ifndef PIXEL_LOG_HPP
#define PIXEL_LOG_HPP

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pixel/config.hpp"
#include "pixel/error.hpp"
#include "pixel/log_fields.hpp"  // generated from src/log/fields.json: field, field_catalog

namespace pixel::log {

// Columns outside the catalog (generated with it, in pixel/log_fields.hpp): unknown_field, a
// name the catalog does not know (read only when the field order is given explicitly or
// named by a header), opaque log-escaped text under its own name; and the standard-log
// columns of their own: standard_date and standard_time (legacy files carry the date and
// the time of day as two columns), standard_timestamp_ms (v2's "timestamp(ms)", epoch
// milliseconds), standard_distribution_id (v2's "DistributionId").

// CloudFront's name for a catalog field ("cs-uri-query"); the standard name for the
// standard columns ("date", "timestamp(ms)"), "" for unknown_field.
PIXEL_CXX_API std::string_view field_name(field f) noexcept;
// The catalog field called `name` (CloudFront's spelling), if any.
PIXEL_CXX_API std::optional<field> field_from_name(std::string_view name) noexcept;
// True for the fields CloudFront log-escapes (and for unknown fields).
PIXEL_CXX_API bool is_escaped(field f) noexcept;
// text for unknown_field; the standard columns' own types (timestamp(ms) is an integer).
PIXEL_CXX_API field_type type_of(field f) noexcept;

// Which kind of log a layout describes: it changes how a few fields are decoded (standard
// logs escape cs(User-Agent) twice and split the timestamp into date and time).
enum class log_kind : std::uint8_t { realtime, standard };

// A record layout: the columns of each line, in the order they are on disk.
class PIXEL_CXX_API field_list {
 public:
  field_list() = default;
  field_list(std::initializer_list<field> fields);
  explicit field_list(std::vector<field> fields, log_kind kind = log_kind::realtime);

  // Appends a column; `name` is kept for unknown_field columns (and for standard-log names
  // such as "cs(User-Agent)"), otherwise the catalog name is used.
  void push_back(field f, std::string_view name = {});

  std::size_t size() const noexcept { return ids_.size(); }
  bool empty() const noexcept { return ids_.empty(); }
  field operator[](std::size_t i) const noexcept { return ids_[i]; }
  std::vector<field>::const_iterator begin() const noexcept { return ids_.begin(); }
  std::vector<field>::const_iterator end() const noexcept { return ids_.end(); }
  bool contains(field f) const noexcept;
  // The column's name as configured or as in the #Fields line.
  std::string_view name(std::size_t i) const noexcept;
  // The column's output key: its catalog name (or its own) with '-' turned into '_'.
  std::string key(std::size_t i) const;
  log_kind kind() const noexcept { return kind_; }
  void set_kind(log_kind k) noexcept { kind_ = k; }
  // The fields as a comma-separated list (names as in name()).
  std::string to_string() const;

  friend bool operator==(const field_list& a, const field_list& b) noexcept {
    return a.kind_ == b.kind_ && a.ids_ == b.ids_ && a.names_ == b.names_;
  }
  friend bool operator!=(const field_list& a, const field_list& b) noexcept { return !(a == b); }

 private:
  std::vector<field> ids_;
  std::vector<std::string> names_;  // per column; empty for catalog fields
  log_kind kind_ = log_kind::realtime;
};

// How a field list given by a user maps to the records' columns.
enum class field_order : std::uint8_t {
  canonical,  // any order, any duplicates: the columns come in catalog order
  as_given,   // the columns are exactly the list, in its order; unknown names are read as text
};

// A comma-separated list of field names. canonical: unknown or empty names are an error
// (errc::invalid_argument) naming the field. as_given: duplicates and empty names are
// errors, unknown names become unknown_field columns.
PIXEL_CXX_API result<field_list> parse_fields(std::string_view list,
                                              field_order order = field_order::canonical);
// The catalog's default list (fields.json "default"): timestamp, c-ip, sc-status,
// cs-uri-stem, x-edge-request-id, cs-user-agent, cs-referer, cs-uri-query.
PIXEL_CXX_API const field_list& default_fields();

// Standard (legacy) access logs. The documented field list of a file without headers.
PIXEL_CXX_API const field_list& standard_default_fields();
// The layout of a "#Fields: date time ..." line (names separated by spaces or tabs), legacy
// or v2: date, time, timestamp(ms) and DistributionId become the standard columns;
// cs(User-Agent), cs(Host), cs(Referer) and cs(Cookie) the real-time fields of the same
// meaning (fields.json "standard"); other names their catalog field or unknown_field.
PIXEL_CXX_API result<field_list> parse_standard_fields_line(std::string_view line);
// The column a standard-log (legacy or v2) name stands for: a standard column, a catalog
// field, or unknown_field.
PIXEL_CXX_API field standard_column(std::string_view name) noexcept;
// A v2 field list as the user chose it ("date,time,timestamp(ms),c-ip,cs(User-Agent)"),
// comma-separated, in record order: a standard layout (errc::invalid_argument for an empty
// or repeated name).
PIXEL_CXX_API result<field_list> parse_standard_fields(std::string_view list);
// True when `list` (comma-separated) names a column only standard logs have (date, time,
// timestamp(ms), DistributionId, cs(...)): such a list is read with parse_standard_fields.
PIXEL_CXX_API bool names_standard_columns(std::string_view list) noexcept;
// True for a W3C header line ("#Version:", "#Fields:", or any line starting with '#').
inline bool is_header_line(std::string_view line) noexcept {
  return !line.empty() && line.front() == '#';
}

// Log escaping as CloudFront writes it, and its inverse. log_unescape fails
// (errc::invalid_argument) on a '%' without two hex digits; log_unescape_append keeps such
// a '%' as it is (CloudFront never writes one; other writers do).
PIXEL_CXX_API void log_escape_append(std::string_view in, std::string& out);
PIXEL_CXX_API std::string log_escape(std::string_view in);
PIXEL_CXX_API result<std::string> log_unescape(std::string_view in);
PIXEL_CXX_API void log_unescape_append(std::string_view in, std::string& out);

// One record, decoded. The raw line is kept; the fields every event has are decoded (all
// of them unless a record_decoding, below, leaves some out).
struct PIXEL_CXX_API record {
  std::shared_ptr<const field_list> layout;  // the columns it was parsed with
  std::string text;                          // the line as read
  std::vector<std::uint32_t> starts;         // where column i starts in text (size()+1 ends)
  std::int64_t timestamp_ms = 0;             // 0 when absent
  std::string c_ip;                          // empty when absent
  std::string user_agent;                    // log escaping undone; empty if absent or left out
  std::string query;                         // exactly as the client sent it; empty when absent
  std::vector<std::pair<std::string, std::string>> params;  // decoded, in order
  int status = 0;                                           // sc-status; 0 when absent or 000
  bool closed = false;  // sc-status 000: the viewer closed the connection before a response

  const field_list& fields() const noexcept;
  std::size_t size() const noexcept { return starts.empty() ? 0 : starts.size() - 1; }
  // Column i as on disk ("-" or "" when absent).
  std::string_view value(std::size_t i) const noexcept {
    return std::string_view(text).substr(starts[i], starts[i + 1] - 1 - starts[i]);
  }
  // True when column i is `-` or empty.
  bool absent(std::size_t i) const noexcept {
    const std::string_view v = value(i);
    return v.empty() || v == "-";
  }
  // The raw value of `f`, or nullopt when `f` is not in the layout.
  std::optional<std::string_view> raw(field f) const noexcept;
  // True when sc-status is in the layout and says 2xx or 3xx; also true when it is not
  // logged (nothing says the attempt failed).
  bool delivered() const noexcept;
  // The timestamp as epoch seconds.
  double timestamp() const noexcept { return static_cast<double>(timestamp_ms) / 1000.0; }
  // The value of the first parameter called `key`, if any.
  const std::string* param(std::string_view key) const noexcept;
};

// Which of a record's decoded members are filled, for callers that never read some of them
// (`pixel logs --stats` counts without decoding user agents). A member left out stays empty;
// its column is still in text, value() and raw(). Everything by default.
struct record_decoding {
  bool user_agent = true;  // record::user_agent
};

// Parses one line (without its '\n') laid out as `fields`. Errors
// (errc::invalid_argument) say what is wrong: the field count (with the count expected, and
// a hint when the line looks like a standard log), a bad timestamp, status or number.
PIXEL_CXX_API result<record> parse_record(std::string_view line, const field_list& fields);
// Same, reusing `out`'s storage.
PIXEL_CXX_API result<void> parse_record_into(std::string_view line, const field_list& fields,
                                             record& out);
PIXEL_CXX_API result<void> parse_record_into(std::string_view line,
                                             std::shared_ptr<const field_list> fields, record& out);
PIXEL_CXX_API result<void> parse_record_into(std::string_view line,
                                             std::shared_ptr<const field_list> fields, record& out,
                                             const record_decoding& decode);

// A line that could not be read, reported and skipped (or, through on_note, a remark on a
// line that was read).
struct problem {
  std::string file;
  std::uint64_t line = 0;  // 1-based; 0 for the file as a whole
  std::string message;
  std::string text;  // the line (at most 200 bytes), when there is one
  // The file could not be read on from here (truncated or corrupt gzip data, a read error;
  // `message` names the byte offset): what came after it is lost, what came before was read.
  bool file_cut = false;
};

// Parses one line of standard logging v2's JSON output: a flat JSON object, field names as
// keys ("date", "time", "timestamp(ms)", "cs(User-Agent)", real-time names), values as
// strings (numbers, true/false and null accepted; "-", "" and null are absent), laid out
// by its own keys. `out.text` holds the values joined by tabs (a tab or line break inside
// a log-escaped value is written as %09/%0A/%0D). Errors (errc::invalid_argument) say what
// the line is instead (pretty-printed, nested, several objects on one line, not JSON).
PIXEL_CXX_API result<void> parse_json_record_into(std::string_view line, record& out);
PIXEL_CXX_API result<void> parse_json_record_into(std::string_view line, record& out,
                                                  const record_decoding& decode);

// What a file holds when it has no header telling.
enum class input_kind : std::uint8_t {
  realtime,  // records laid out as reader_options::fields
  standard,  // standard-log lines laid out as the documented default field list
  v2_json,   // standard logging v2's JSON output, every line (found by itself otherwise)
};

struct reader_options {
  // The layout of real-time records. Files that start with a standard log's "#Version:"
  // or "#Fields:" line are read with the layout of their own #Fields line instead.
  field_list fields = default_fields();
  // For lines without a header telling: a line that starts with '{' is v2 JSON whatever
  // this says; input_kind::v2_json reads every line as JSON.
  input_kind input = input_kind::realtime;
  // One record per event id: the first attempt answered with a 2xx or 3xx, else (when no
  // attempt was) the first attempt. Without sc-status every record counts as delivered.
  // Records without the id are kept. Records of ids with no delivered attempt yet are
  // held back until one arrives or the input ends (then they come last, in input order).
  // Memory grows with the number of distinct ids.
  bool dedupe = false;
  std::string event_id_key = "eid";
  // The decoded members the records get (record_decoding): all unless told otherwise.
  record_decoding decode;
  std::optional<std::int64_t> since_ms;  // keep records with timestamp >= since
  std::optional<std::int64_t> until_ms;  // keep records with timestamp < until
  std::size_t max_line = 1 << 20;        // longer lines are reported and skipped
  // Called for each malformed line; when empty, problems are only counted.
  std::function<void(const problem&)> on_problem;
  // Called for remarks on lines that were read, once per file: a last line without a final
  // '\n' that has the right number of fields is a record ("no final newline"); not counted
  // as malformed.
  std::function<void(const problem&)> on_note;
};

// Streams records from files and folders of Firehose objects or standard logs (plain or
// gzip, detected by content), in constant memory apart from de-duplication. Folders are walked
// recursively in path order; names starting with '.' (objects being written) are skipped.
class PIXEL_CXX_API reader {
 public:
  // Fails (errc::invalid_argument) when a path does not exist.
  static result<reader> open(const std::vector<std::string>& paths, reader_options options);

  reader(reader&&) noexcept;
  reader& operator=(reader&&) noexcept;
  ~reader();

  // Reads the next record into `out`; false at the end. A file that cannot be opened or
  // read is reported as a problem (line 0) and skipped; a truncated or corrupt gzip
  // object is reported with the byte offset where it breaks, after the records before it.
  bool next(record& out);

  std::uint64_t malformed() const noexcept;   // lines reported as problems
  std::uint64_t duplicates() const noexcept;  // records dropped by dedupe
  std::uint64_t lines() const noexcept;       // record lines seen (header lines not counted)
  std::uint64_t records() const noexcept;     // lines read as records (before filters)

  class impl;

 private:
  explicit reader(std::unique_ptr<impl> p) noexcept;
  std::unique_ptr<impl> impl_;
};

}  // namespace pixel::log

#endif  // PIXEL_LOG_HPP
