// Standard logging v2's JSON output (one flat object per line, field names as keys), and
// what other lines look like when they are not records.
// SPDX-License-Identifier: MIT
#include <algorithm>
#include <string>
#include <vector>

#include "log_internal.hpp"

namespace pixel::log {
namespace {

result<void> bad(std::string m) {
  return error(errc::invalid_argument, std::move(m));
}

// A cursor over one line of JSON. Strings are decoded into UTF-8; other scalars are kept
// as their text.
class json_line {
 public:
  explicit json_line(std::string_view s) : s_(s) {}

  void ws() noexcept {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\r')) ++i_;
  }
  bool at_end() const noexcept { return i_ >= s_.size(); }
  char peek() const noexcept { return i_ < s_.size() ? s_[i_] : '\0'; }
  bool eat(char c) noexcept {
    if (peek() != c) return false;
    ++i_;
    return true;
  }
  std::size_t pos() const noexcept { return i_; }

  // After the opening quote.
  bool string(std::string& out) {
    out.clear();
    while (i_ < s_.size()) {
      const char c = s_[i_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (i_ >= s_.size()) return false;
      const char e = s_[i_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out.push_back(e);
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!hex4(cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {  // a surrogate pair
            std::uint32_t lo = 0;
            if (!eat('\\') || !eat('u') || !hex4(lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return false;
          }
          utf8(cp, out);
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }

  // A number, true, false or null, as its text.
  bool scalar(std::string& out) {
    const std::size_t start = i_;
    while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != '}' && s_[i_] != ' ' && s_[i_] != '\t' &&
           s_[i_] != '\r') {
      ++i_;
    }
    out.assign(s_.substr(start, i_ - start));
    if (out == "true" || out == "false" || out == "null") return true;
    if (out.empty()) return false;
    return out.find_first_not_of("0123456789+-.eE") == std::string::npos;
  }

 private:
  bool hex4(std::uint32_t& v) {
    if (s_.size() - i_ < 4) return false;
    v = 0;
    for (int k = 0; k < 4; ++k) {
      const int d = detail::hex_digit(s_[i_++]);
      if (d < 0) return false;
      v = v * 16 + static_cast<std::uint32_t>(d);
    }
    return true;
  }
  static void utf8(std::uint32_t cp, std::string& out) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

constexpr std::string_view one_per_line =
    "standard logging v2's JSON output has one flat object per line";

std::string not_json_at(const json_line& j) {
  return "not valid JSON at byte " + std::to_string(j.pos() + 1) + " (" +
         std::string(one_per_line) + ")";
}

}  // namespace

result<void> parse_json_record_into(std::string_view line, record& out) {
  return parse_json_record_into(line, out, record_decoding());
}

result<void> parse_json_record_into(std::string_view line, record& out,
                                    const record_decoding& decode) {
  json_line j(line);
  j.ws();
  if (!j.eat('{')) return bad("not a JSON object (" + std::string(one_per_line) + ")");
  j.ws();
  if (j.at_end()) {
    return bad(
        "a '{' alone on its line: pretty-printed JSON (one object over several lines, as "
        "CloudWatch Logs shows records) is not read; " +
        std::string(one_per_line));
  }
  std::vector<std::string> keys;
  std::string text, key, value;
  for (;;) {
    j.ws();
    if (j.peek() == '}' && keys.empty()) return bad("an empty JSON object: no field to read");
    if (!j.eat('"') || !j.string(key)) return bad(not_json_at(j));
    j.ws();
    if (!j.eat(':')) return bad(not_json_at(j));
    j.ws();
    const char c = j.peek();
    bool absent = false;
    if (c == '{' || c == '[') {
      return bad("the value of \"" + key + "\" is a JSON " + (c == '{' ? "object" : "array") +
                 ": a nested object (a CloudWatch Logs subscription envelope, or another "
                 "service's log?) is not a CloudFront record; " +
                 std::string(one_per_line));
    }
    if (j.eat('"')) {
      if (!j.string(value)) return bad(not_json_at(j));
      absent = value.empty() || value == "-";
    } else {
      if (!j.scalar(value)) return bad(not_json_at(j));
      absent = value == "null";
    }
    keys.push_back(key);
    if (!text.empty() || keys.size() > 1) text.push_back('\t');
    if (absent) {
      text.push_back('-');
    } else if (value.find_first_of("\t\n\r") == std::string::npos) {
      text += value;
    } else if (is_escaped(standard_column(key))) {
      // Written as CloudFront's escapes, which the record undoes.
      for (char ch : value) {
        if (ch == '\t') {
          text += "%09";
        } else if (ch == '\n') {
          text += "%0A";
        } else if (ch == '\r') {
          text += "%0D";
        } else {
          text.push_back(ch);
        }
      }
    } else {
      return bad("the value of \"" + key + "\" holds a tab or a line break");
    }
    j.ws();
    if (j.eat(',')) continue;
    if (j.eat('}')) break;
    return bad(not_json_at(j));
  }
  j.ws();
  if (!j.at_end()) {
    if (j.peek() == '{') {
      return bad(
          "several JSON objects on one line (records delivered without a newline between "
          "them?): " +
          std::string(one_per_line));
    }
    return bad("text after the JSON object: " + std::string(one_per_line));
  }
  // The layout of the keys: the record's own while they stay the same.
  bool same =
      out.layout && out.layout->kind() == log_kind::standard && out.layout->size() == keys.size();
  for (std::size_t i = 0; same && i < keys.size(); ++i) same = out.layout->name(i) == keys[i];
  if (!same) {
    auto l = std::make_shared<field_list>();
    l->set_kind(log_kind::standard);
    for (const auto& k : keys) {
      auto ok = detail::add_column(*l, k, "the JSON object");
      if (!ok) return ok;
    }
    return parse_record_into(text, std::shared_ptr<const field_list>(std::move(l)), out, decode);
  }
  return parse_record_into(text, out.layout, out, decode);
}

namespace detail {

std::string looks_like(std::string_view line, const field_list& layout) {
  std::size_t lead = 0;
  while (lead < line.size() && (line[lead] == ' ' || line[lead] == '\t')) ++lead;
  const std::string_view s = line.substr(lead);
  if (s.substr(0, 4) == "PAR1") {
    return "the file is Parquet (standard logging v2's Parquet output), which is not read: "
           "deliver the logs as JSON, w3c or plain";
  }
  if (!s.empty() && (s.front() == '{' || s.front() == '[')) {
    return "the line is JSON but not one flat object per line (" + std::string(one_per_line) + ")";
  }
  if (!s.empty() && s.front() == '<') {
    return "the line looks like XML or HTML (an S3 error response saved in place of the "
           "object?), not a CloudFront log";
  }
  if (line.find('\t') != std::string_view::npos) return {};
  // No tab: which other separator splits it into as many fields as the layout has?
  for (char sep : {',', '|', ';', ' '}) {
    const auto n = static_cast<std::size_t>(std::count(line.begin(), line.end(), sep));
    if (sep == ',' && n > 0) {
      bool header = false;
      for (std::string_view name : {"timestamp", "c-ip", "date", "cs-uri-query", "c_ip",
                                    "user_agent", "cs(User-Agent)", "sc-status"}) {
        if (line.find(name) != std::string_view::npos) header = true;
      }
      if (header) {
        return "the line looks like the header row of a CSV file: CloudFront writes no CSV; "
               "read the log objects as CloudFront delivered them (tab-separated or JSON)";
      }
      if (n + 1 == layout.size()) {
        return "the line has commas and no tab: CSV (or a v2 delivery with ',' as its field "
               "delimiter) is not read; CloudFront's default delimiter is a tab";
      }
    }
    if (sep != ',' && n > 0 && n + 1 == layout.size()) {
      return std::string("the fields look separated by '") + sep +
             "' instead of a tab (a v2 delivery with another field delimiter?): only "
             "tab-separated fields are read";
    }
  }
  return {};
}

}  // namespace detail
}  // namespace pixel::log
