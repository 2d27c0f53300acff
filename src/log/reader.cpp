// The streaming reader: files and folders, headers, the kind of each line, de-duplication.
// SPDX-License-Identifier: MIT
#include <algorithm>
#include <cstring>
#include <deque>
#include <filesystem>
#include <system_error>
#include <unordered_map>

#include "line_reader.hpp"
#include "log_internal.hpp"

namespace pixel::log {

class reader::impl {
 public:
  impl(std::vector<std::string> files, reader_options o)
      : files_(std::move(files)), opt_(std::move(o)), lines_in_(opt_.max_line) {
    realtime_ = std::make_shared<field_list>(opt_.fields);
  }

  bool next(record& out) {
    using st = detail::line_reader::status;
    for (;;) {
      if (!lines_in_.is_open()) {
        if (next_file_ < files_.size()) {
          open_file(files_[next_file_++]);
          continue;
        }
        return release_held(out);
      }
      const st got = lines_in_.next();
      cur_ = lines_in_.line();
      if (got == st::end) {
        lines_in_.close();
        continue;
      }
      if (got == st::too_long) {
        ++lines_;
        report("line longer than " + std::to_string(opt_.max_line) + " bytes");
        continue;
      }
      if (got == st::error) {
        ++lines_;
        report(lines_in_.error(), true);
        lines_in_.close();
        continue;
      }
      // A file written with CRLF line ends: the CR is not part of the record.
      if (!cur_.empty() && cur_.back() == '\r') cur_.remove_suffix(1);
      if (lines_in_.line_no() == 1 && is_parquet(cur_)) {
        ++lines_;
        report(
            "a Parquet file (standard logging v2's Parquet output), which is not read: "
            "deliver the logs as JSON, w3c or plain, or convert the file to JSON Lines");
        lines_in_.close();
        continue;
      }
      if (header(cur_)) continue;
      ++lines_;
      auto ok = parse_line(out);
      if (!ok) {
        if (lines_in_.unterminated()) {
          report("last line has no newline and " + ok.error().message() +
                 " (a partial record: an object cut while being written?)");
        } else {
          report(ok.error().message());
        }
        continue;
      }
      if (lines_in_.unterminated() && opt_.on_note) {
        opt_.on_note(problem{file_,
                             lines_in_.line_no(),
                             "no final newline: the last line was read as a record",
                             {}});
      }
      ++records_;
      if (opt_.since_ms && out.timestamp_ms < *opt_.since_ms) continue;
      if (opt_.until_ms && out.timestamp_ms >= *opt_.until_ms) continue;
      if (opt_.dedupe && !keep(out)) continue;
      return true;
    }
  }

  std::uint64_t malformed() const noexcept { return malformed_; }
  std::uint64_t duplicates() const noexcept { return duplicates_; }
  std::uint64_t lines() const noexcept { return lines_; }
  std::uint64_t records() const noexcept { return records_; }

 private:
  static bool is_parquet(std::string_view first_line) noexcept {
    return first_line.substr(0, 4) == "PAR1";
  }

  // A record line: JSON (v2's JSON output) or columns laid out as the current layout.
  result<void> parse_line(record& out) {
    if (opt_.input == input_kind::v2_json || (!cur_.empty() && cur_.front() == '{')) {
      return parse_json_record_into(cur_, out, opt_.decode);
    }
    if (!layout_) {
      return error(errc::invalid_argument, "no usable '#Fields:' line before this record");
    }
    return parse_record_into(cur_, layout_, out, opt_.decode);
  }

  // De-duplication. An id is `done` once a record of it was passed on; an id whose
  // attempts so far all failed has its first attempt held back in held_.
  struct id_state {
    bool done = false;
    std::size_t held = 0;  // index into held_ (minus held_base_) while !done
  };

  bool keep(const record& r) {
    const std::string* id = r.param(opt_.event_id_key);
    if (!id) return true;
    auto [it, fresh] = ids_.try_emplace(*id);
    id_state& s = it->second;
    if (r.delivered()) {
      if (!fresh && s.done) {
        ++duplicates_;
        return false;
      }
      if (!fresh) {  // a held failed attempt loses to this delivered one
        held_[s.held - held_base_].reset();
        ++duplicates_;
      }
      s.done = true;
      return true;
    }
    if (!fresh) {
      ++duplicates_;
      return false;
    }
    s.held = held_base_ + held_.size();
    held_.push_back(std::make_unique<record>(r));
    return false;
  }

  bool release_held(record& out) {
    while (!held_.empty()) {
      std::unique_ptr<record> r = std::move(held_.front());
      held_.pop_front();
      ++held_base_;
      if (r) {
        out = std::move(*r);
        return true;
      }
    }
    return false;
  }

  // Header lines of standard logs: "#Version:" starts one, "#Fields:" gives the layout.
  bool header(std::string_view line) {
    if (!is_header_line(line)) return false;
    if (line.rfind("#Fields:", 0) == 0) {
      auto f = parse_standard_fields_line(line);
      if (!f) {
        ++lines_;
        report(f.error().message());
        layout_ = nullptr;
        return true;
      }
      layout_ = std::make_shared<field_list>(std::move(*f));
      return true;
    }
    if (line.rfind("#Version:", 0) == 0) {
      if (layout_ == realtime_) layout_ = standard_default();
      return true;
    }
    return layout_ != realtime_;  // other comment lines belong to standard logs only
  }

  std::shared_ptr<const field_list> standard_default() {
    if (!standard_) standard_ = std::make_shared<field_list>(standard_default_fields());
    return standard_;
  }

  void report(std::string message, bool file_cut = false) {
    ++malformed_;
    if (opt_.on_problem) {
      opt_.on_problem(problem{file_, lines_in_.line_no(), std::move(message),
                              std::string(cur_.substr(0, 200)), file_cut});
    }
  }

  void open_file(const std::string& path) {
    file_ = path;
    cur_ = {};
    layout_ = opt_.input == input_kind::standard ? standard_default() : realtime_;
    if (!lines_in_.open(path)) report(lines_in_.error());
  }

  std::vector<std::string> files_;
  reader_options opt_;
  std::shared_ptr<const field_list> realtime_, standard_, layout_;
  std::size_t next_file_ = 0;
  detail::line_reader lines_in_;
  std::string file_;
  std::string_view cur_;  // the current line
  std::unordered_map<std::string, id_state> ids_;
  std::deque<std::unique_ptr<record>> held_;
  std::size_t held_base_ = 0;
  std::uint64_t malformed_ = 0, duplicates_ = 0, lines_ = 0, records_ = 0;
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
std::uint64_t reader::lines() const noexcept {
  return impl_->lines();
}
std::uint64_t reader::records() const noexcept {
  return impl_->records();
}

}  // namespace pixel::log
