// SPDX-License-Identifier: MIT
#include "campaign.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/resource.h>
#include <unistd.h>

#include <pixel/consent.hpp>
#include <pixel/html.hpp>
#include <pixel/url.hpp>

#include <csv.h>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <vector>

#include "csv_reader.hpp"
#include "manifest.hpp"
#include "merge_template.hpp"
#include "mime.hpp"
#include "opener.hpp"

namespace email_campaign {

namespace {
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

// Gmail clips an HTML body past about 102 KB ("View entire message"); a pixel past the clip
// is never fetched.
constexpr std::size_t gmail_clip_bytes = 102 * 1024;
// A pixel this far into the template is at risk once merge values lengthen the message.
constexpr std::size_t late_pixel_bytes = 32 * 1024;
// Marks the pixel while the template is compiled; never left in any output.
constexpr std::string_view pixel_marker = "\x01pixel\x01";
constexpr std::size_t max_listed = 5;  // warnings of one kind printed before a summary
// The merge field --optout-url fills in every message.
constexpr std::string_view optout_field = "tracking_optout";

double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool read_file(const std::string& path, std::string& out, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot open " + path + ": " + std::strerror(errno);
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  out = std::move(ss).str();
  if (out.compare(0, 3, "\xEF\xBB\xBF") == 0) out.erase(0, 3);  // a UTF-8 byte order mark
  return true;
}

// "Name <addr>" or "addr".
void split_from(std::string_view from, std::string& display, std::string& address) {
  const std::size_t lt = from.rfind('<');
  if (lt != std::string_view::npos && !from.empty() && from.back() == '>') {
    address = std::string(trim(from.substr(lt + 1, from.size() - lt - 2)));
    std::string_view name = trim(from.substr(0, lt));
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
      name = name.substr(1, name.size() - 2);
    }
    display = std::string(name);
  } else {
    address = std::string(trim(from));
    display.clear();
  }
}

std::string hmac_hex(const std::string& key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out += hex[mac[i] >> 4];
    out += hex[mac[i] & 0xF];
  }
  return out;
}

// Rewrites "{{ pixel }}" spellings to "{{pixel}}", the placeholder place_pixel looks for.
std::string normalise_pixel_placeholder(std::string text) {
  std::size_t pos = 0;
  while ((pos = text.find("{{", pos)) != std::string::npos) {
    const std::size_t close = text.find("}}", pos + 2);
    if (close == std::string::npos) break;
    if (trim(std::string_view(text).substr(pos + 2, close - pos - 2)) == "pixel") {
      text.replace(pos, close + 2 - pos, "{{pixel}}");
      pos += 9;
    } else {
      pos += 2;
    }
  }
  return text;
}

std::string remove_pixel_placeholders(std::string text) {
  std::size_t pos;
  while ((pos = text.find("{{pixel}}")) != std::string::npos) text.erase(pos, 9);
  return text;
}

void write_csv_field(std::FILE* f, std::string_view s, bool last) {
  csv_fwrite(f, s.data(), s.size());
  std::fputc(last ? '\n' : ',', f);
}

// User agents of mail clients and image proxies, for simulated opens.
constexpr std::array<std::string_view, 4> client_agents = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0 Safari/537.36 Edge/120.0 (via ggpht.com GoogleImageProxy)",
    "Mozilla/5.0",  // Apple Mail Privacy Protection's prefetch
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17126; Pro)",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148",
};

class generator {
 public:
  generator(const options& opts, std::FILE* log, summary& s) : opts_(opts), log_(log), sum_(s) {}

  int run();

 private:
  void warn(const std::string& message) {
    std::fprintf(log_, "email-campaign: warning: %s\n", message.c_str());
  }
  void row_error(const std::string& message) {
    ++sum_.malformed;
    std::fprintf(log_, "email-campaign: %s: %s\n", opts_.recipients_path.c_str(), message.c_str());
  }
  bool prepare(std::string& error);
  bool stopped() const noexcept { return opts_.stop != nullptr && *opts_.stop != 0; }
  bool on_header(const csv_row& row, std::string& error);
  void on_recipient(const csv_row& row);
  pixel::event_id next_event_id();
  void progress(bool final);
  bool write_file(std::string_view body);

  const options& opts_;
  std::FILE* log_;
  summary& sum_;

  std::string html_source_, text_source_;
  std::string from_display_, from_address_, sender_domain_, message_id_domain_;
  std::string thirdpartyname_;
  std::string date_;
  std::uint64_t now_ms_ = 0;
  std::optional<pixel::url_builder> builder_;
  std::mt19937_64 id_rng_, open_rng_;
  std::unique_ptr<opener> opener_;

  bool header_seen_ = false;
  bool fatal_ = false;
  std::string fatal_message_;
  std::vector<std::string> columns_;
  std::size_t email_col_ = 0;
  std::optional<std::size_t> userid_col_, name_col_, first_col_, last_col_, consent_col_;
  pixel::tracking_mode default_mode_ = pixel::tracking_mode::identified;
  const std::vector<std::string> identity_ = pixel::default_identity_params();
  std::vector<pixel::param> sent_params_;
  std::vector<std::string> pseudonyms_;
  merge_template html_, text_, subject_, optout_;
  std::string optout_out_;
  std::size_t template_pixel_offset_ = 0;

  std::string url_, message_, canonical_, html_out_, text_out_, subject_out_, display_, path_;
  std::FILE* manifest_ = nullptr;
  manifest_writer sent_;  // manifest.jsonl (not in --dry-run: nothing is handed off)
  clock_type::time_point start_, last_progress_;
};

pixel::event_id generator::next_event_id() {
  if (!opts_.seed) return pixel::event_id::generate();
  const std::uint64_t hi = id_rng_();
  const std::uint64_t lo = id_rng_();
  return pixel::event_id::from_parts(now_ms_, static_cast<std::uint16_t>(hi >> 48), lo);
}

bool generator::prepare(std::string& error) {
  if (opts_.campaign.empty()) {
    error = "--campaign must not be empty";
    return false;
  }
  if (auto u = pixel::check_utf8(opts_.campaign); !u.ok()) {
    error = "--campaign is not valid UTF-8";
    return false;
  }
  pixel::endpoint_options eopts;
  eopts.allow_http = opts_.allow_http;
  auto ep = pixel::endpoint::parse(opts_.endpoint, eopts);
  if (!ep) {
    error = "--endpoint: " + ep.error().message();
    return false;
  }
  // The URL is fixed when the message is written, so a client timestamp would record the
  // send time, not the open: the open time is the log record's own timestamp.
  pixel::url_options uopts;
  uopts.timestamp = false;
  uopts.signer = opts_.signer;
  auto b = pixel::url_builder::create(std::move(*ep), uopts);
  if (!b) {
    error = b.error().message();
    return false;
  }
  builder_.emplace(std::move(*b));

  default_mode_ = opts_.default_mode             ? *opts_.default_mode
                  : opts_.consent_column.empty() ? pixel::tracking_mode::identified
                                                 : pixel::tracking_mode::off;
  if (default_mode_ == pixel::tracking_mode::pseudonymous && !opts_.pseudonym_key) {
    error = "--default-mode pseudonymous needs --pseudonym-key FILE";
    return false;
  }
  if (!opts_.optout_url.empty()) {
    const std::string_view u = opts_.optout_url;
    if (u.compare(0, 8, "https://") != 0 && u.compare(0, 7, "http://") != 0 &&
        u.compare(0, 7, "mailto:") != 0) {
      error = "--optout-url must start with https://, http:// or mailto:";
      return false;
    }
    if (auto ok = pixel::check_utf8(u); !ok.ok()) {
      error = "--optout-url is not valid UTF-8";
      return false;
    }
    for (const char c : u) {
      if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) {
        error = "--optout-url must not contain spaces or control characters";
        return false;
      }
    }
  }

  split_from(opts_.from, from_display_, from_address_);
  if (auto problem = check_address(from_address_); !problem.empty()) {
    error = "--from '" + opts_.from + "': " + problem;
    return false;
  }
  sender_domain_ = ascii_lower(from_address_.substr(from_address_.find('@') + 1));
  message_id_domain_ = has_non_ascii(sender_domain_) ? "localhost" : sender_domain_;
  thirdpartyname_ = opts_.thirdpartyname.empty() ? sender_domain_ : opts_.thirdpartyname;

  if (!read_file(opts_.template_path, html_source_, error)) return false;
  if (auto u = pixel::check_utf8(html_source_); !u.ok()) {
    error = opts_.template_path + ": not valid UTF-8 at byte " + std::to_string(u.offset);
    return false;
  }
  if (!opts_.text_template_path.empty()) {
    if (!read_file(opts_.text_template_path, text_source_, error)) return false;
    if (auto u = pixel::check_utf8(text_source_); !u.ok()) {
      error = opts_.text_template_path + ": not valid UTF-8 at byte " + std::to_string(u.offset);
      return false;
    }
  }

  now_ms_ =
      opts_.now_ms
          ? *opts_.now_ms
          : static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count());
  date_ = rfc5322_date(static_cast<std::int64_t>(now_ms_ / 1000));
  if (opts_.seed) {
    id_rng_.seed(*opts_.seed);
    open_rng_.seed(*opts_.seed ^ 0x9E3779B97F4A7C15ULL);
  } else {
    std::random_device rd;
    open_rng_.seed((static_cast<std::uint64_t>(rd()) << 32) ^ rd());
  }

  std::error_code ec;
  fs::create_directories(opts_.out_dir, ec);
  if (ec) {
    error = "cannot create " + opts_.out_dir + ": " + ec.message();
    return false;
  }
  const std::string manifest_path = (fs::path(opts_.out_dir) / "manifest.csv").string();
  manifest_ = std::fopen(manifest_path.c_str(), "wb");
  if (manifest_ == nullptr) {
    error = "cannot create " + manifest_path + ": " + std::strerror(errno);
    return false;
  }
  write_csv_field(manifest_, "file", false);
  write_csv_field(manifest_, "email", false);
  write_csv_field(manifest_, "userid", false);
  write_csv_field(manifest_, "eid", false);
  write_csv_field(manifest_, "url", false);
  write_csv_field(manifest_, "opens", false);
  write_csv_field(manifest_, "mode", true);
  if (!opts_.dry_run && !sent_.open((fs::path(opts_.out_dir) / "manifest.jsonl").string(), error)) {
    return false;
  }

  if (opts_.open_rate) {
    opener_ = make_tracker_opener(opts_.endpoint, opts_.allow_http, error);
    if (!opener_) return false;
  }
  return true;
}

bool generator::on_header(const csv_row& row, std::string& error) {
  columns_.clear();
  for (std::size_t i = 0; i < row.count; ++i) {
    std::string name(trim((*row.fields)[i]));
    if (name.empty()) {
      error = "header column " + std::to_string(i + 1) + " has no name";
      return false;
    }
    for (const auto& c : columns_) {
      if (ascii_lower(c) == ascii_lower(name)) {
        error = "header names column '" + name + "' twice";
        return false;
      }
    }
    columns_.push_back(std::move(name));
  }
  auto find = [&](std::string_view want) -> std::optional<std::size_t> {
    for (std::size_t i = 0; i < columns_.size(); ++i) {
      if (ascii_lower(columns_[i]) == want) return i;
    }
    return std::nullopt;
  };
  auto email = find("email");
  if (!email) {
    error = "the header has no 'email' column";
    return false;
  }
  email_col_ = *email;
  userid_col_ = find("userid");
  if (!opts_.name_column.empty()) {
    name_col_ = find(ascii_lower(opts_.name_column));
    if (!name_col_) {
      error = "--name-column: no column '" + opts_.name_column + "'";
      return false;
    }
  } else {
    name_col_ = find("name");
    if (!name_col_) name_col_ = find("full_name");
    if (!name_col_) {
      for (std::string_view c : {"first_name", "firstname", "first name", "given_name"}) {
        if (!first_col_) first_col_ = find(c);
      }
      for (std::string_view c : {"last_name", "lastname", "last name", "family_name", "surname"}) {
        if (!last_col_) last_col_ = find(c);
      }
    }
  }

  if (!opts_.consent_column.empty()) {
    consent_col_ = find(ascii_lower(opts_.consent_column));
    if (!consent_col_) {
      error = "--consent-column: no column '" + opts_.consent_column + "'";
      return false;
    }
  }
  // {{tracking_optout}} is one more merge value, after the recipients' columns.
  std::vector<std::string> merge_columns = columns_;
  if (!opts_.optout_url.empty()) {
    if (find(optout_field)) {
      error = "a column is named '" + std::string(optout_field) +
              "', the merge field --optout-url fills: rename the column";
      return false;
    }
    std::vector<std::string> unknown_in_url;
    optout_ = merge_template::compile(opts_.optout_url, columns_, {}, unknown_in_url);
    for (const auto& u : unknown_in_url) {
      warn("--optout-url: merge field {{" + u + "}} names no column of " + opts_.recipients_path +
           ": it is left empty");
    }
    merge_columns.emplace_back(optout_field);
  }

  std::vector<std::string> unknown;
  // The pixel is placed in the template, before merging: no recipient's value can move it.
  const std::string normalised = normalise_pixel_placeholder(html_source_);
  const pixel::placed_document placed = pixel::place_pixel(normalised, pixel_marker);
  if (placed.where == pixel::placement::appended) {
    warn(opts_.template_path +
         ": the template has neither <body> nor {{pixel}}: the pixel goes at the very end");
  }
  if (placed.count > 1) {
    warn(opts_.template_path + ": {{pixel}} appears " + std::to_string(placed.count) +
         " times: every copy carries the same URL (one event id per message)");
  }
  template_pixel_offset_ = placed.offset;
  if (placed.offset > late_pixel_bytes) {
    warn(opts_.template_path + ": the pixel is placed late (byte " + std::to_string(placed.offset) +
         " of " + std::to_string(normalised.size()) +
         "); Gmail clips HTML past about 102 KB: put {{pixel}} near the top");
  }
  html_ = merge_template::compile(placed.html, merge_columns, pixel_marker, unknown);

  if (opts_.format == output_format::eml) {
    std::string text = text_source_.empty()
                           ? html_to_text(remove_pixel_placeholders(normalised))
                           : remove_pixel_placeholders(normalise_pixel_placeholder(text_source_));
    text_ = merge_template::compile(std::move(text), merge_columns, {}, unknown);
    std::string subject = opts_.subject ? *opts_.subject : html_title(html_source_);
    if (subject.empty()) {
      warn("no --subject and no <title> in the template: the subject is the campaign id");
      subject = opts_.campaign;
    }
    subject_ = merge_template::compile(std::move(subject), merge_columns, {}, unknown);
  }
  for (const auto& u : unknown) {
    warn("merge field {{" + u + "}} names no column of " + opts_.recipients_path +
         (u == optout_field ? " and no --optout-url is given" : "") + ": it is left empty");
  }
  if (!opts_.optout_url.empty() && html_source_.find(optout_field) == std::string::npos) {
    warn(opts_.template_path + " has no {{tracking_optout}}: messages carry no opt-out link");
  }
  return true;
}

void generator::on_recipient(const csv_row& row) {
  std::vector<std::string>& f = *row.fields;
  const std::string line = "line " + std::to_string(row.line);
  // Every value is trimmed, quoted or not: a mail merge never wants "Hello   Carol ,".
  for (std::size_t i = 0; i < row.count; ++i) {
    const std::string_view t = trim(f[i]);
    if (t.size() != f[i].size()) f[i] = std::string(t);
  }
  if (row.count == 1 && trim(f[0]).empty() && columns_.size() > 1) return;  // blank line
  if (row.count != columns_.size()) {
    row_error(line + ": expected " + std::to_string(columns_.size()) + " fields, found " +
              std::to_string(row.count) + "; row skipped");
    return;
  }
  for (std::size_t i = 0; i < row.count; ++i) {
    if (auto u = pixel::check_utf8(f[i]); !u.ok()) {
      row_error(line + ": column '" + columns_[i] + "' is not valid UTF-8 (byte " +
                std::to_string(u.offset) + ": " + pixel::utf8_problem_name(u.problem) +
                "); row skipped");
      return;
    }
  }
  const std::string email(trim(f[email_col_]));
  if (email.empty()) {
    row_error(line + ": empty email; row skipped");
    return;
  }
  if (auto problem = check_address(email); !problem.empty()) {
    row_error(line + ": email '" + pixel::detail::printable(email) + "': " + problem +
              "; row skipped");
    return;
  }
  pixel::tracking_mode mode = default_mode_;
  if (consent_col_ && !f[*consent_col_].empty()) {
    const auto m = pixel::parse_tracking_mode(ascii_lower(f[*consent_col_]));
    if (!m) {
      row_error(line + ": column '" + columns_[*consent_col_] + "': unknown tracking mode '" +
                pixel::detail::printable(f[*consent_col_]) +
                "' (expected off, aggregate, pseudonymous or identified); row skipped");
      return;
    }
    mode = *m;
  }
  if (mode == pixel::tracking_mode::pseudonymous && !opts_.pseudonym_key) {
    row_error(line + ": mode pseudonymous needs --pseudonym-key FILE; row skipped");
    return;
  }
  std::string userid = userid_col_ && !trim(f[*userid_col_]).empty()
                           ? std::string(trim(f[*userid_col_]))
                           : ascii_lower(email);
  if (opts_.hash_key && mode == pixel::tracking_mode::identified) {
    userid = hmac_hex(*opts_.hash_key, userid);
  }

  // Off: no pixel, no event id. Aggregate: an event id that nothing written links to the
  // recipient, so the Message-ID and MIME boundary (kept by mail servers' logs along with
  // the address) come from another random id.
  const bool has_pixel = mode != pixel::tracking_mode::off;
  const pixel::event_id eid = has_pixel ? next_event_id() : pixel::event_id{};
  const pixel::event_id message_key =
      mode == pixel::tracking_mode::off || mode == pixel::tracking_mode::aggregate ? next_event_id()
                                                                                   : eid;
  const pixel::param params[] = {{"userid", userid},
                                 {"thirdpartyname", thirdpartyname_},
                                 {"campaign", opts_.campaign},
                                 {"channel", "email"}};
  if (auto ok = pixel::apply_tracking_mode(mode, pixel::params_view(params, 4), identity_,
                                           opts_.pseudonym_key.value_or(std::string()),
                                           sent_params_, pseudonyms_);
      !ok) {
    row_error(line + ": " + ok.error().message() + "; row skipped");
    return;
  }
  // The userid the pixel carries (none in aggregate and off).
  std::string_view sent_userid;
  for (const auto& p : sent_params_) {
    if (p.key == "userid") sent_userid = p.value;
  }
  url_.clear();
  std::optional<std::string> tag;
  if (has_pixel) {
    if (auto ok = builder_->build_with(pixel::params_view(sent_params_.data(), sent_params_.size()),
                                       eid.view(), now_ms_, url_);
        !ok) {
      row_error(line + ": pixel URL: " + ok.error().message() + "; row skipped");
      return;
    }
    auto t = pixel::img_tag(url_, pixel::img_style::email);
    if (!t) {
      row_error(line + ": pixel tag: " + t.error().message() + "; row skipped");
      return;
    }
    tag = std::move(*t);
  }
  if (!opts_.optout_url.empty()) {
    optout_out_.clear();
    optout_.render_url(f, {}, optout_out_);
    if (f.size() <= columns_.size()) f.resize(columns_.size() + 1);
    f[columns_.size()] = optout_out_;
  }

  html_out_.clear();
  const std::size_t pixel_at = html_.render_html(f, tag ? *tag : std::string(), html_out_);
  const std::uint64_t seq = sum_.generated + 1;
  if (html_out_.size() > gmail_clip_bytes && ++sum_.oversized <= max_listed) {
    warn(line + ": the HTML is " + std::to_string(html_out_.size()) +
         " bytes, over Gmail's ~102 KB clip");
  }
  if (has_pixel && pixel_at != std::string::npos && pixel_at > gmail_clip_bytes &&
      ++sum_.pixel_after_clip <= max_listed) {
    warn(line + ": the pixel is at byte " + std::to_string(pixel_at) +
         ", after Gmail's ~102 KB clip: Gmail will not fetch it");
  }

  char name_buf[32];
  std::snprintf(name_buf, sizeof name_buf, "%06llu.%s", static_cast<unsigned long long>(seq),
                opts_.format == output_format::eml ? "eml" : "html");
  path_.assign(opts_.out_dir);
  path_ += '/';
  path_ += name_buf;

  std::string_view body = html_out_;
  if (opts_.format == output_format::eml) {
    display_.clear();
    if (name_col_) {
      display_ = trim(f[*name_col_]);
    } else {
      if (first_col_) display_ += trim(f[*first_col_]);
      if (last_col_) {
        const std::string_view last = trim(f[*last_col_]);
        if (!display_.empty() && !last.empty()) display_ += ' ';
        display_ += last;
      }
    }
    subject_out_.clear();
    subject_.render_raw(f, {}, subject_out_);
    text_out_.clear();
    text_.render_raw(f, {}, text_out_);

    const std::string boundary = "=_pixel_" + std::string(message_key.view());
    message_.clear();
    append_mailbox_header("From", from_display_, from_address_, message_);
    append_mailbox_header("To", display_, email, message_);
    append_text_header("Subject", subject_out_, message_);
    message_ += "Date: ";
    message_ += date_;
    message_ += "\r\nMessage-ID: <";
    message_ += message_key.view();
    message_ += '@';
    message_ += message_id_domain_;
    message_ += ">\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative;\r\n boundary=\"";
    message_ += boundary;
    message_ += "\"\r\n\r\nThis is a multi-part message in MIME format.\r\n";
    const char* cte = opts_.encoding == transfer_encoding::base64 ? "base64" : "quoted-printable";
    auto part = [&](const char* type, std::string_view content) {
      message_ += "\r\n--";
      message_ += boundary;
      message_ += "\r\nContent-Type: ";
      message_ += type;
      message_ += "; charset=utf-8\r\nContent-Transfer-Encoding: ";
      message_ += cte;
      message_ += "\r\n\r\n";
      if (opts_.encoding == transfer_encoding::base64) {
        // Text is encoded in its canonical form, with CRLF line breaks (RFC 2046 4.1.1).
        canonical_.clear();
        for (std::size_t i = 0; i < content.size(); ++i) {
          if (content[i] == '\n' && (i == 0 || content[i - 1] != '\r')) canonical_ += '\r';
          canonical_ += content[i];
        }
        base64_lines_append(canonical_, message_);
        message_.resize(message_.size() - 2);  // the delimiter's CRLF ends the last line
      } else {
        qp_encode_append(content, message_);
      }
    };
    part("text/plain", text_out_);
    part("text/html", html_out_);
    message_ += "\r\n--";
    message_ += boundary;
    message_ += "--\r\n";
    body = message_;
  }

  if (opts_.dry_run) {
    sum_.bytes += body.size();
    ++sum_.generated;
  } else if (!write_file(body)) {
    return;
  }
  ++sum_.per_mode[static_cast<std::size_t>(mode)];

  // Opens: a Bernoulli draw per recipient; an opener may fetch again (a second device, or a
  // proxy's prefetch and then the real view), which the edge logs as a duplicate event id.
  unsigned opens = 0;
  if (opener_ && has_pixel) {
    std::uniform_real_distribution<double> u(0.0, 1.0);
    if (u(open_rng_) < *opts_.open_rate) {
      opens = u(open_rng_) < opts_.reopen_rate ? 2 : 1;
      ++sum_.openers;
      // What the message's URL carries: the parameters its mode lets out, and the event id.
      pixel::param fired[8];
      std::size_t n_fired = 0;
      for (const auto& p : sent_params_) fired[n_fired++] = p;
      fired[n_fired++] = {"eid", eid.view()};
      if (opts_.signer) {
        // The message's URL ends in kid, exp and sig (unreserved text): the open sends them.
        std::string_view tail(url_);
        tail.remove_prefix(tail.rfind("&kid=") + 1);
        for (const char* name : {"kid", "exp", "sig"}) {
          const std::size_t eq = tail.find('='), amp = std::min(tail.find('&'), tail.size());
          fired[n_fired++] = {name, tail.substr(eq + 1, amp - eq - 1)};
          tail.remove_prefix(std::min(amp + 1, tail.size()));
        }
      }
      for (unsigned k = 0; k < opens; ++k) {
        const std::string_view ua = opts_.user_agent.empty()
                                        ? client_agents[open_rng_() % client_agents.size()]
                                        : std::string_view(opts_.user_agent);
        std::string error;
        if (!opener_->fire(pixel::params_view(fired, n_fired), ua, error)) {
          warn(line + ": simulated open not queued: " + error);
          ++sum_.dropped;
        } else {
          ++sum_.pixels_fired;
        }
      }
    }
  }

  // An aggregate message's event id is written nowhere next to the recipient: manifest.csv
  // lists the message without it, manifest.jsonl lists it without the recipient.
  const bool linked =
      mode == pixel::tracking_mode::pseudonymous || mode == pixel::tracking_mode::identified;
  write_csv_field(manifest_, name_buf, false);
  write_csv_field(manifest_, email, false);
  write_csv_field(manifest_, sent_userid, false);
  write_csv_field(manifest_, linked ? eid.view() : std::string_view(), false);
  write_csv_field(manifest_, linked ? std::string_view(url_) : std::string_view(), false);
  write_csv_field(manifest_, std::to_string(opens), false);
  write_csv_field(manifest_, pixel::to_string(mode), true);
  // `sent`: --sent-at, else when the message was written (--now-ms for tests).
  sent_.add(opts_.campaign, has_pixel ? std::optional<std::string_view>(eid.view()) : std::nullopt,
            linked ? std::optional<std::string_view>(sent_userid) : std::nullopt,
            opts_.sent_at_ms ? *opts_.sent_at_ms
            : opts_.now_ms   ? *opts_.now_ms
                             : static_cast<std::uint64_t>(
                                 std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count()),
            mode);

  if ((sum_.generated & 1023) == 0) progress(false);
}

bool generator::write_file(std::string_view body) {
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    fatal_ = true;
    fatal_message_ = "cannot create " + path_ + ": " + std::strerror(errno);
    return false;
  }
  std::size_t done = 0;
  while (done < body.size()) {
    const ssize_t n = ::write(fd, body.data() + done, body.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      fatal_ = true;
      fatal_message_ = "cannot write " + path_ + ": " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  sum_.bytes += body.size();
  ++sum_.generated;
  return true;
}

void generator::progress(bool final) {
  if (!opts_.progress) return;
  const auto now = clock_type::now();
  if (!final && now - last_progress_ < std::chrono::milliseconds(200)) return;
  last_progress_ = now;
  const double s = std::chrono::duration<double>(now - start_).count();
  if (final) {
    std::fprintf(log_, "\r\033[K");
  } else {
    std::fprintf(log_, "\r\033[Kemail-campaign: %llu messages (%.0f/s)",
                 static_cast<unsigned long long>(sum_.generated),
                 s > 0 ? static_cast<double>(sum_.generated) / s : 0.0);
  }
  std::fflush(log_);
}

int generator::run() {
  start_ = last_progress_ = clock_type::now();
  const double cpu_start = process_cpu_seconds();
  std::string error;
  if (!prepare(error)) {
    std::fprintf(log_, "email-campaign: %s\n", error.c_str());
    if (manifest_) std::fclose(manifest_);
    return 2;
  }
  std::FILE* in =
      opts_.recipients_path == "-" ? stdin : std::fopen(opts_.recipients_path.c_str(), "rb");
  if (in == nullptr) {
    std::fprintf(log_, "email-campaign: cannot open %s: %s\n", opts_.recipients_path.c_str(),
                 std::strerror(errno));
    std::fclose(manifest_);
    return 2;
  }
  csv_reader reader(
      [&](const csv_row& row) {
        if (fatal_ || stopped()) return;
        if (!header_seen_) {
          header_seen_ = true;
          std::string herr;
          if (!on_header(row, herr)) {
            fatal_ = true;
            fatal_message_ =
                opts_.recipients_path + ": line " + std::to_string(row.line) + ": " + herr;
          }
          return;
        }
        on_recipient(row);
      },
      [&](std::size_t, const std::string& message) {
        if (!header_seen_) {
          fatal_ = true;
          fatal_message_ = opts_.recipients_path + ": the header row is malformed: " + message;
          return;
        }
        row_error(message);
      });
  const bool read_ok = reader.read(in, opts_.stop) || stopped();
  if (in != stdin) std::fclose(in);
  std::fclose(manifest_);
  manifest_ = nullptr;
  if (!sent_.close() && !fatal_) {
    fatal_ = true;
    fatal_message_ = "cannot write " + opts_.out_dir + "/manifest.jsonl";
  }
  progress(true);
  if (!header_seen_ && !fatal_ && !stopped()) {
    fatal_ = true;
    fatal_message_ = opts_.recipients_path + ": empty: no header row";
  }

  // Generation ends here; waiting for simulated opens to be delivered is timed apart.
  sum_.seconds = std::chrono::duration<double>(clock_type::now() - start_).count();
  sum_.cpu_seconds = process_cpu_seconds() - cpu_start;
  double open_wait = 0;
  if (opener_) {
    const auto wait_start = clock_type::now();
    const opener::totals t = opener_->finish(opts_.stop, opts_.stop_grace);
    open_wait = std::chrono::duration<double>(clock_type::now() - wait_start).count();
    sum_.delivered = t.delivered;
    sum_.failed = t.failed;
    sum_.dropped += t.dropped;
    sum_.left = t.left;
  }
  if (stopped()) sum_.stopped_by = static_cast<int>(*opts_.stop);
  if (fatal_) {
    std::fprintf(log_, "email-campaign: %s\n", fatal_message_.c_str());
    return 2;
  }
  if (sum_.oversized > max_listed) {
    warn(std::to_string(sum_.oversized) + " messages in all are over Gmail's ~102 KB clip");
  }
  if (sum_.pixel_after_clip > max_listed) {
    warn(std::to_string(sum_.pixel_after_clip) + " messages in all have the pixel after the clip");
  }
  const double rate = sum_.seconds > 0 ? static_cast<double>(sum_.generated) / sum_.seconds : 0.0;
  std::fprintf(log_,
               "email-campaign: %llu messages in %.2f s (%.0f messages/s, %.1f MB/s; %.2f s CPU, "
               "%.0f messages per CPU second) %s %s\n",
               static_cast<unsigned long long>(sum_.generated), sum_.seconds, rate,
               sum_.seconds > 0 ? static_cast<double>(sum_.bytes) / 1e6 / sum_.seconds : 0.0,
               sum_.cpu_seconds,
               sum_.cpu_seconds > 0 ? static_cast<double>(sum_.generated) / sum_.cpu_seconds : 0.0,
               opts_.dry_run ? "checked, not written (--dry-run), manifest in" : "in",
               opts_.out_dir.c_str());
  std::fprintf(log_,
               "email-campaign: messages per tracking mode: off %llu, aggregate %llu, "
               "pseudonymous %llu, identified %llu\n",
               static_cast<unsigned long long>(sum_.per_mode[0]),
               static_cast<unsigned long long>(sum_.per_mode[1]),
               static_cast<unsigned long long>(sum_.per_mode[2]),
               static_cast<unsigned long long>(sum_.per_mode[3]));
  int status = read_ok ? 0 : 1;
  if (sum_.malformed > 0) {
    std::fprintf(log_, "email-campaign: %llu malformed rows skipped\n",
                 static_cast<unsigned long long>(sum_.malformed));
    status = 1;
  }
  if (opener_) {
    std::fprintf(log_,
                 "email-campaign: simulated opens: %llu recipients opened, %llu pixels fired: "
                 "%llu delivered, %llu failed, %llu dropped (%.2f s waiting for delivery)\n",
                 static_cast<unsigned long long>(sum_.openers),
                 static_cast<unsigned long long>(sum_.pixels_fired),
                 static_cast<unsigned long long>(sum_.delivered),
                 static_cast<unsigned long long>(sum_.failed),
                 static_cast<unsigned long long>(sum_.dropped), open_wait);
    if (sum_.delivered != sum_.pixels_fired) status = 1;
  }
  if (sum_.stopped_by != 0) {
    // Every message written is in the manifests; every open fired is delivered, failed,
    // dropped or left.
    std::fprintf(log_,
                 "email-campaign: stopped by %s after %llu messages (the rest of %s not read): "
                 "%llu simulated opens fired, %llu delivered, %llu failed, %llu dropped, "
                 "%llu left undelivered\n",
                 sum_.stopped_by == SIGINT ? "SIGINT" : "SIGTERM",
                 static_cast<unsigned long long>(sum_.generated), opts_.recipients_path.c_str(),
                 static_cast<unsigned long long>(sum_.pixels_fired),
                 static_cast<unsigned long long>(sum_.delivered),
                 static_cast<unsigned long long>(sum_.failed),
                 static_cast<unsigned long long>(sum_.dropped),
                 static_cast<unsigned long long>(sum_.left));
    return 128 + sum_.stopped_by;
  }
  return status;
}
}  // namespace

int run(const options& opts, std::FILE* log, summary& result) {
  generator g(opts, log, result);
  return g.run();
}

}  // namespace email_campaign
