// Reading CloudFront real-time log records back into events.
// SPDX-License-Identifier: MIT
//
// A record is one line of tab-separated fields in CloudFront's canonical order, `-` for
// an empty value; `cs-user-agent`, `cs-uri-query` (and the other free-text fields) are
// log-escaped: bytes 0x00-0x20, >= 0x7F and `<>"#%{}|\^~[]`'` written as %XX. Decoding a
// query undoes the log escaping once (the query exactly as the client sent it), then
// splits on '&' and the first '=' and percent-decodes each key and value as UTF-8.
//
//   pixel::log::reader_options o;                 // default fields: the published four
//   o.dedupe = true;                              // one record per event id
//   auto r = pixel::log::reader::open({"out/"}, o);
//   pixel::log::record rec;
//   while (r && r->next(rec)) use(rec.params);
#ifndef PIXEL_LOG_HPP
#define PIXEL_LOG_HPP

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pixel/config.hpp"
#include "pixel/error.hpp"

namespace pixel::log {

// Every real-time log field, in CloudFront's canonical order (the order on disk).
enum class field : std::uint8_t {
  timestamp,
  c_ip,
  time_to_first_byte,
  sc_status,
  sc_bytes,
  cs_method,
  cs_protocol,
  cs_host,
  cs_uri_stem,
  cs_bytes,
  x_edge_location,
  x_edge_request_id,
  x_host_header,
  time_taken,
  cs_protocol_version,
  c_ip_version,
  cs_user_agent,
  cs_referer,
  cs_cookie,
  cs_uri_query,
  x_edge_response_result_type,
  x_forwarded_for,
  ssl_protocol,
  ssl_cipher,
  x_edge_result_type,
  fle_encrypted_fields,
  fle_status,
  sc_content_type,
  sc_content_len,
  sc_range_start,
  sc_range_end,
  c_port,
  x_edge_detailed_result_type,
  c_country,
  cs_accept_encoding,
  cs_accept,
  cache_behavior_path_pattern,
  cs_headers,
  cs_header_names,
  cs_headers_count,
};
inline constexpr std::size_t field_count = 40;

// CloudFront's name for a field ("cs-uri-query").
PIXEL_CXX_API std::string_view field_name(field f) noexcept;
// The field called `name` (CloudFront's spelling), if any.
PIXEL_CXX_API std::optional<field> field_from_name(std::string_view name) noexcept;
// True for the fields CloudFront log-escapes (free text taken from the request).
PIXEL_CXX_API bool is_escaped(field f) noexcept;

// A comma-separated list of field names, returned in canonical order without duplicates.
// Unknown or empty names are an error (errc::invalid_argument) naming the field.
PIXEL_CXX_API result<std::vector<field>> parse_fields(std::string_view list);
// timestamp, c-ip, cs-user-agent, cs-uri-query: the published distribution's fields.
PIXEL_CXX_API const std::vector<field>& default_fields();

// Log escaping as CloudFront writes it, and its inverse (a bad %XX is invalid_argument).
PIXEL_CXX_API void log_escape_append(std::string_view in, std::string& out);
PIXEL_CXX_API std::string log_escape(std::string_view in);
PIXEL_CXX_API result<std::string> log_unescape(std::string_view in);

// One record, decoded.
struct PIXEL_CXX_API record {
  std::vector<field> fields;                                // the layout it was parsed with
  std::vector<std::string> values;                          // raw field values as on disk, `-` kept
  std::int64_t timestamp_ms = 0;                            // 0 when the timestamp field is absent
  std::string c_ip;                                         // empty when absent or `-`
  std::string user_agent;                                   // log escaping undone
  std::string query;                                        // exactly as the client sent it
  std::vector<std::pair<std::string, std::string>> params;  // decoded, in order
  int status = 0;                                           // sc-status, 0 when absent

  // The raw value of `f` (`-` for empty), or nullopt when `f` is not in the layout.
  std::optional<std::string_view> raw(field f) const noexcept;
  // The timestamp as epoch seconds.
  double timestamp() const noexcept { return static_cast<double>(timestamp_ms) / 1000.0; }
  // The value of the first parameter called `key`, if any.
  const std::string* param(std::string_view key) const noexcept;
};

// Parses one line (without its '\n'; a trailing '\r' is not allowed) laid out as `fields`.
// Errors (errc::invalid_argument) say what is wrong: field count, a bad timestamp or
// status, a malformed escape, a query that does not decode to UTF-8.
PIXEL_CXX_API result<record> parse_record(std::string_view line, const std::vector<field>& fields);
// Same, reusing `out`'s storage.
PIXEL_CXX_API result<void> parse_record_into(std::string_view line,
                                             const std::vector<field>& fields, record& out);

// A line that could not be read, reported and skipped.
struct problem {
  std::string file;
  std::uint64_t line = 0;  // 1-based
  std::string message;
};

struct reader_options {
  std::vector<field> fields = default_fields();
  // One record per event id: the first record of each id that was answered with a 2xx or
  // 3xx (when sc-status is logged; the first record otherwise). Records of failed
  // attempts are dropped, records without the id are kept. Memory grows with the number
  // of distinct ids.
  bool dedupe = false;
  std::string event_id_key = "eid";
  std::optional<std::int64_t> since_ms;  // keep records with timestamp >= since
  std::optional<std::int64_t> until_ms;  // keep records with timestamp < until
  std::size_t max_line = 1 << 20;        // longer lines are reported and skipped
  // Called for each malformed line; when empty, problems are only counted.
  std::function<void(const problem&)> on_problem;
};

// Streams records from files and folders of Firehose objects (plain or gzip, detected by
// content), in constant memory apart from de-duplication. Folders are walked recursively
// in path order; names starting with '.' (objects being written) are skipped.
class PIXEL_CXX_API reader {
 public:
  // Fails (errc::invalid_argument) when a path does not exist.
  static result<reader> open(const std::vector<std::string>& paths, reader_options options);

  reader(reader&&) noexcept;
  reader& operator=(reader&&) noexcept;
  ~reader();

  // Reads the next record into `out`; false at the end. A file that cannot be opened or
  // read is reported as a problem (line 0) and skipped.
  bool next(record& out);

  std::uint64_t malformed() const noexcept;   // lines reported as problems
  std::uint64_t duplicates() const noexcept;  // records dropped by dedupe

  class impl;

 private:
  explicit reader(std::unique_ptr<impl> p) noexcept;
  std::unique_ptr<impl> impl_;
};

}  // namespace pixel::log

#endif  // PIXEL_LOG_HPP
