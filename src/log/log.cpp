// The real-time log reader: fields, log escaping, records, Firehose objects.
// SPDX-License-Identifier: MIT
#include "pixel/log.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <unordered_set>

#include "pixel/url.hpp"

namespace pixel::log {
namespace {

constexpr std::array<std::string_view, field_count> names = {
    "timestamp",
    "c-ip",
    "time-to-first-byte",
    "sc-status",
    "sc-bytes",
    "cs-method",
    "cs-protocol",
    "cs-host",
    "cs-uri-stem",
    "cs-bytes",
    "x-edge-location",
    "x-edge-request-id",
    "x-host-header",
    "time-taken",
    "cs-protocol-version",
    "c-ip-version",
    "cs-user-agent",
    "cs-referer",
    "cs-cookie",
    "cs-uri-query",
    "x-edge-response-result-type",
    "x-forwarded-for",
    "ssl-protocol",
    "ssl-cipher",
    "x-edge-result-type",
    "fle-encrypted-fields",
    "fle-status",
    "sc-content-type",
    "sc-content-len",
    "sc-range-start",
    "sc-range-end",
    "c-port",
    "x-edge-detailed-result-type",
    "c-country",
    "cs-accept-encoding",
    "cs-accept",
    "cache-behavior-path-pattern",
    "cs-headers",
    "cs-header-names",
    "cs-headers-count",
};

// Bytes CloudFront writes as %XX in log-escaped fields.
constexpr bool must_escape(unsigned char c) noexcept {
  if (c <= 0x20 || c >= 0x7F) return true;
  switch (c) {
    case '<':
    case '>':
    case '"':
    case '#':
    case '%':
    case '{':
    case '}':
    case '|':
    case '\\':
    case '^':
    case '~':
    case '[':
    case ']':
    case '`':
    case '\'':
      return true;
    default:
      return false;
  }
}

int hex(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Epoch seconds with up to three decimals, as milliseconds.
bool parse_timestamp(std::string_view s, std::int64_t& ms) {
  if (s.empty() || s.size() > 20) return false;
  std::int64_t secs = 0;
  std::size_t i = 0;
  for (; i < s.size() && s[i] != '.'; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    // More than 12 digits of seconds (past the year 33658) is not a timestamp, and would
    // overflow once scaled to milliseconds.
    if (i == 12) return false;
    secs = secs * 10 + (s[i] - '0');
  }
  if (i == 0) return false;
  std::int64_t frac = 0;
  int digits = 0;
  if (i < s.size()) {
    ++i;
    if (i == s.size()) return false;
    for (; i < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9' || digits == 3) return false;
      frac = frac * 10 + (s[i] - '0');
      ++digits;
    }
  }
  for (; digits < 3; ++digits) frac *= 10;
  ms = secs * 1000 + frac;
  return true;
}

bool parse_status(std::string_view s, int& status) {
  if (s.size() != 3) return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  status = v;
  return true;
}

}  // namespace

std::string_view field_name(field f) noexcept {
  const auto i = static_cast<std::size_t>(f);
  return i < field_count ? names[i] : std::string_view("unknown");
}

std::optional<field> field_from_name(std::string_view name) noexcept {
  for (std::size_t i = 0; i < field_count; ++i) {
    if (names[i] == name) return static_cast<field>(i);
  }
  return std::nullopt;
}

bool is_escaped(field f) noexcept {
  switch (f) {
    case field::cs_uri_stem:
    case field::cs_user_agent:
    case field::cs_referer:
    case field::cs_cookie:
    case field::cs_uri_query:
    case field::x_forwarded_for:
    case field::cs_host:
    case field::x_host_header:
    case field::cs_accept_encoding:
    case field::cs_accept:
    case field::cs_headers:
    case field::cs_header_names:
      return true;
    default:
      return false;
  }
}

result<std::vector<field>> parse_fields(std::string_view list) {
  std::array<bool, field_count> on{};
  std::size_t pos = 0;
  while (pos <= list.size()) {
    std::size_t comma = list.find(',', pos);
    if (comma == std::string_view::npos) comma = list.size();
    std::string_view name = list.substr(pos, comma - pos);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    const auto f = field_from_name(name);
    if (!f) {
      return error(errc::invalid_argument, name.empty()
                                               ? std::string("empty field name in field list")
                                               : "unknown log field '" + std::string(name) + "'");
    }
    on[static_cast<std::size_t>(*f)] = true;
    pos = comma + 1;
  }
  std::vector<field> out;
  for (std::size_t i = 0; i < field_count; ++i) {
    if (on[i]) out.push_back(static_cast<field>(i));
  }
  return out;
}

const std::vector<field>& default_fields() {
  static const std::vector<field> f = {field::timestamp, field::c_ip, field::cs_user_agent,
                                       field::cs_uri_query};
  return f;
}

void log_escape_append(std::string_view in, std::string& out) {
  static constexpr char digits[] = "0123456789ABCDEF";
  for (char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    if (must_escape(c)) {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 0xF]);
    } else {
      out.push_back(ch);
    }
  }
}

std::string log_escape(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  log_escape_append(in, out);
  return out;
}

result<std::string> log_unescape(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    const int hi = i + 1 < in.size() ? hex(in[i + 1]) : -1;
    const int lo = i + 2 < in.size() ? hex(in[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      return error(errc::invalid_argument, "malformed log escape at byte " + std::to_string(i));
    }
    out.push_back(static_cast<char>((hi << 4) | lo));
    i += 2;
  }
  return out;
}

std::optional<std::string_view> record::raw(field f) const noexcept {
  for (std::size_t i = 0; i < fields.size() && i < values.size(); ++i) {
    if (fields[i] == f) return std::string_view(values[i]);
  }
  return std::nullopt;
}

const std::string* record::param(std::string_view key) const noexcept {
  for (const auto& p : params) {
    if (p.first == key) return &p.second;
  }
  return nullptr;
}

result<void> parse_record_into(std::string_view line, const std::vector<field>& fields,
                               record& out) {
  out.fields = fields;
  out.values.resize(fields.size());
  out.timestamp_ms = 0;
  out.c_ip.clear();
  out.user_agent.clear();
  out.query.clear();
  out.params.clear();
  out.status = 0;
  if (fields.empty()) return error(errc::invalid_argument, "empty field list");

  std::size_t pos = 0;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    std::size_t tab = line.find('\t', pos);
    const bool last = i + 1 == fields.size();
    if (last) {
      if (tab != std::string_view::npos) {
        return error(errc::invalid_argument,
                     "more than " + std::to_string(fields.size()) + " fields");
      }
      tab = line.size();
    } else if (tab == std::string_view::npos) {
      return error(errc::invalid_argument,
                   std::to_string(i + 1) + " fields, expected " + std::to_string(fields.size()));
    }
    const std::string_view v = line.substr(pos, tab - pos);
    pos = tab + 1;
    if (v.empty()) {
      return error(errc::invalid_argument,
                   "empty " + std::string(field_name(fields[i])) + " (expected '-')");
    }
    out.values[i].assign(v.data(), v.size());
    if (v.find_first_of(std::string_view("\r\n", 2)) != std::string_view::npos ||
        v.find('\0') != std::string_view::npos) {
      return error(errc::invalid_argument,
                   "control character in " + std::string(field_name(fields[i])));
    }
    const bool empty = v == "-";
    switch (fields[i]) {
      case field::timestamp:
        if (!parse_timestamp(v, out.timestamp_ms)) {
          return error(errc::invalid_argument, "bad timestamp '" + std::string(v) + "'");
        }
        break;
      case field::c_ip:
        if (!empty) out.c_ip.assign(v.data(), v.size());
        break;
      case field::sc_status:
        if (!empty && !parse_status(v, out.status)) {
          return error(errc::invalid_argument, "bad sc-status '" + std::string(v) + "'");
        }
        break;
      case field::cs_user_agent:
        if (!empty) {
          auto ua = log_unescape(v);
          if (!ua) return error(errc::invalid_argument, "cs-user-agent: " + ua.error().message());
          out.user_agent = std::move(*ua);
        }
        break;
      case field::cs_uri_query:
        if (!empty) {
          auto q = log_unescape(v);
          if (!q) return error(errc::invalid_argument, "cs-uri-query: " + q.error().message());
          out.query = std::move(*q);
          auto p = decode_query(out.query);
          if (!p) return error(errc::invalid_argument, "cs-uri-query: " + p.error().message());
          out.params = std::move(*p);
        }
        break;
      default:
        if (!empty && is_escaped(fields[i])) {
          // Validate the escaping; the raw value stays available through raw().
          auto u = log_unescape(v);
          if (!u) {
            return error(errc::invalid_argument,
                         std::string(field_name(fields[i])) + ": " + u.error().message());
          }
        }
        break;
    }
  }
  return {};
}

result<record> parse_record(std::string_view line, const std::vector<field>& fields) {
  record r;
  auto ok = parse_record_into(line, fields, r);
  if (!ok) return ok.error();
  return r;
}

// ---------------------------------------------------------------------------------------
// Streaming reader.

class reader::impl {
 public:
  impl(std::vector<std::string> files, reader_options o)
      : files_(std::move(files)), opt_(std::move(o)) {
    buf_.resize(64 * 1024);
  }
  ~impl() { close_file(); }

  bool next(record& out) {
    std::string_view line;
    for (;;) {
      if (!gz_) {
        if (next_file_ >= files_.size()) return false;
        open_file(files_[next_file_++]);
        continue;
      }
      const int got = read_line();
      if (got == 0) {
        close_file();
        continue;
      }
      if (got < 0) continue;  // reported
      line = line_;
      auto ok = parse_record_into(line, opt_.fields, out);
      if (!ok) {
        report(ok.error().message());
        continue;
      }
      if (opt_.since_ms && out.timestamp_ms < *opt_.since_ms) continue;
      if (opt_.until_ms && out.timestamp_ms >= *opt_.until_ms) continue;
      if (opt_.dedupe) {
        const bool delivered = out.status == 0 || (out.status >= 200 && out.status < 400);
        const std::string* id = out.param(opt_.event_id_key);
        if (id) {
          if (!delivered || !seen_.insert(*id).second) {
            ++duplicates_;
            continue;
          }
        }
      }
      return true;
    }
  }

  std::uint64_t malformed() const noexcept { return malformed_; }
  std::uint64_t duplicates() const noexcept { return duplicates_; }

 private:
  void report(std::string message) {
    ++malformed_;
    if (opt_.on_problem) opt_.on_problem(problem{file_, line_no_, std::move(message)});
  }

  void open_file(const std::string& path) {
    file_ = path;
    line_no_ = 0;
    begin_ = end_ = 0;
    eof_ = false;
    gz_ = gzopen(path.c_str(), "rb");
    if (!gz_) {
      report(std::string("cannot open: ") + std::strerror(errno));
      return;
    }
    gzbuffer(gz_, 128 * 1024);
  }

  void close_file() {
    if (gz_) gzclose(gz_);
    gz_ = nullptr;
  }

  // 1: a line in line_; 0: end of file; -1: a line was reported and skipped.
  int read_line() {
    line_.clear();
    bool too_long = false;
    for (;;) {
      if (begin_ == end_) {
        if (eof_) break;
        const int n = gzread(gz_, buf_.data(), static_cast<unsigned>(buf_.size()));
        if (n < 0) {
          int err = 0;
          const char* msg = gzerror(gz_, &err);
          ++line_no_;
          report(std::string("read error: ") + (msg ? msg : "unknown"));
          eof_ = true;
          return -1;
        }
        if (n == 0) {
          eof_ = true;
          break;
        }
        begin_ = 0;
        end_ = static_cast<std::size_t>(n);
      }
      const char* start = buf_.data() + begin_;
      const void* nl = std::memchr(start, '\n', end_ - begin_);
      const std::size_t take =
          nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - start) : end_ - begin_;
      if (!too_long) {
        if (line_.size() + take > opt_.max_line) {
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
        if (too_long) {
          report("line longer than " + std::to_string(opt_.max_line) + " bytes");
          return -1;
        }
        return 1;
      }
    }
    // End of file: a last line without '\n' is a partial record.
    if (too_long || !line_.empty()) {
      ++line_no_;
      report("last line has no newline");
      line_.clear();
      return -1;
    }
    return 0;
  }

  std::vector<std::string> files_;
  reader_options opt_;
  std::size_t next_file_ = 0;
  gzFile gz_ = nullptr;
  std::string file_;
  std::uint64_t line_no_ = 0;
  std::vector<char> buf_;
  std::size_t begin_ = 0, end_ = 0;
  bool eof_ = false;
  std::string line_;
  std::unordered_set<std::string> seen_;
  std::uint64_t malformed_ = 0;
  std::uint64_t duplicates_ = 0;
};

result<reader> reader::open(const std::vector<std::string>& paths, reader_options options) {
  namespace fs = std::filesystem;
  if (options.fields.empty()) return error(errc::invalid_argument, "empty field list");
  std::vector<std::string> files;
  for (const auto& p : paths) {
    std::error_code ec;
    const auto st = fs::status(p, ec);
    if (ec || !fs::exists(st)) {
      return error(errc::invalid_argument, "no such file or folder: " + p);
    }
    if (!fs::is_directory(st)) {
      files.push_back(p);
      continue;
    }
    std::vector<std::string> found;
    fs::recursive_directory_iterator it(p, ec), end;
    if (ec) return error(errc::invalid_argument, "cannot read folder " + p + ": " + ec.message());
    for (; it != end; it.increment(ec)) {
      if (ec) return error(errc::invalid_argument, "cannot read folder " + p + ": " + ec.message());
      const auto name = it->path().filename().string();
      if (!name.empty() && name[0] == '.') {
        if (it->is_directory()) it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file()) found.push_back(it->path().string());
    }
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  return reader(std::make_unique<impl>(std::move(files), std::move(options)));
}

reader::reader(std::unique_ptr<impl> p) noexcept : impl_(std::move(p)) {}
reader::reader(reader&&) noexcept = default;
reader& reader::operator=(reader&&) noexcept = default;
reader::~reader() = default;

bool reader::next(record& out) {
  return impl_->next(out);
}
std::uint64_t reader::malformed() const noexcept {
  return impl_->malformed();
}
std::uint64_t reader::duplicates() const noexcept {
  return impl_->duplicates();
}

}  // namespace pixel::log
