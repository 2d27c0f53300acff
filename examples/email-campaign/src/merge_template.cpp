// SPDX-License-Identifier: MIT
#include "merge_template.hpp"

#include <pixel/html.hpp>
#include <pixel/url.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace email_campaign {

namespace {
bool iequal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::size_t ifind(std::string_view hay, std::string_view needle, std::size_t from) noexcept {
  for (std::size_t i = from; i + needle.size() <= hay.size(); ++i) {
    if (iequal(hay.substr(i, needle.size()), needle)) return i;
  }
  return std::string_view::npos;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

void append_utf8(std::uint32_t cp, std::string& out) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool invisible(std::uint32_t cp) noexcept {
  // Zero-width characters that newsletters pad their preheaders with.
  return cp == 0x200B || cp == 0x200C || cp == 0x200D || cp == 0x034F || cp == 0xFEFF ||
         cp == 0x00AD;
}

// Decodes the character reference at html[i] ('&'). Appends the text and returns the
// offset after it; an unknown reference is kept as text.
std::size_t decode_entity(std::string_view html, std::size_t i, std::string& out) {
  const std::size_t semi = html.find(';', i);
  if (semi == std::string_view::npos || semi - i > 12) {
    out += '&';
    return i + 1;
  }
  const std::string_view name = html.substr(i + 1, semi - i - 1);
  std::uint32_t cp = 0;
  bool known = true;
  if (!name.empty() && name[0] == '#') {
    const bool hex = name.size() > 1 && (name[1] == 'x' || name[1] == 'X');
    const std::string_view digits = name.substr(hex ? 2 : 1);
    if (digits.empty()) known = false;
    for (char c : digits) {
      int v;
      if (c >= '0' && c <= '9') {
        v = c - '0';
      } else if (hex && c >= 'a' && c <= 'f') {
        v = c - 'a' + 10;
      } else if (hex && c >= 'A' && c <= 'F') {
        v = c - 'A' + 10;
      } else {
        known = false;
        break;
      }
      cp = cp * (hex ? 16u : 10u) + static_cast<std::uint32_t>(v);
      if (cp > 0x10FFFF) cp = 0x110000;
    }
  } else {
    static constexpr struct {
      const char* name;
      std::uint32_t cp;
    } table[] = {{"amp", '&'},      {"lt", '<'},       {"gt", '>'},       {"quot", '"'},
                 {"apos", '\''},    {"nbsp", ' '},     {"copy", 0xA9},    {"reg", 0xAE},
                 {"trade", 0x2122}, {"mdash", 0x2014}, {"ndash", 0x2013}, {"hellip", 0x2026},
                 {"lsquo", 0x2018}, {"rsquo", 0x2019}, {"ldquo", 0x201C}, {"rdquo", 0x201D},
                 {"bull", 0x2022},  {"middot", 0xB7},  {"euro", 0x20AC},  {"pound", 0xA3},
                 {"zwnj", 0x200C},  {"zwj", 0x200D},   {"shy", 0xAD}};
    known = false;
    for (const auto& e : table) {
      if (name == e.name) {
        cp = e.cp;
        known = true;
        break;
      }
    }
  }
  if (!known) {
    out += '&';
    return i + 1;
  }
  if (!invisible(cp)) append_utf8(cp, out);
  return semi + 1;
}

std::string decode_entities(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] == '&') {
      i = decode_entity(s, i, out);
    } else {
      out += s[i++];
    }
  }
  return out;
}

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

// Builds text with collapsed whitespace: runs of spaces become one, breaks are counted
// and at most two newlines (one blank line) are written in a row.
class text_sink {
 public:
  void text(std::string_view s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
      const char c = s[i];
      if (is_space(c)) {
        space_ = true;
        continue;
      }
      if (breaks_ > 0) {
        if (!out_.empty()) out_.append(std::min<std::size_t>(breaks_, 2), '\n');
      } else if (space_ && !out_.empty() && out_.back() != '\n') {
        out_ += ' ';
      }
      breaks_ = 0;
      space_ = false;
      out_ += c;
    }
  }
  void line_break(std::size_t n) {
    breaks_ = std::max(breaks_, n);
    space_ = false;
  }
  std::string finish() {
    if (!out_.empty()) out_ += '\n';
    return std::move(out_);
  }
  std::size_t size() const noexcept { return out_.size(); }
  std::string_view tail(std::size_t from) const noexcept {
    return std::string_view(out_).substr(std::min(from, out_.size()));
  }

 private:
  std::string out_;
  std::size_t breaks_ = 0;
  bool space_ = false;
};

std::string attribute_value(std::string_view tag, std::string_view attr) {
  std::size_t pos = 0;
  while ((pos = ifind(tag, attr, pos)) != std::string_view::npos) {
    const bool boundary = pos > 0 && is_space(tag[pos - 1]);
    std::size_t j = pos + attr.size();
    pos = j;
    if (!boundary) continue;
    while (j < tag.size() && is_space(tag[j])) ++j;
    if (j >= tag.size() || tag[j] != '=') continue;
    ++j;
    while (j < tag.size() && is_space(tag[j])) ++j;
    if (j >= tag.size()) return {};
    if (tag[j] == '"' || tag[j] == '\'') {
      const std::size_t end = tag.find(tag[j], j + 1);
      if (end == std::string_view::npos) return {};
      return decode_entities(tag.substr(j + 1, end - j - 1));
    }
    std::size_t end = j;
    while (end < tag.size() && !is_space(tag[end]) && tag[end] != '>') ++end;
    return decode_entities(tag.substr(j, end - j));
  }
  return {};
}
}  // namespace

merge_template merge_template::compile(std::string text, const std::vector<std::string>& columns,
                                       std::string_view pixel_marker,
                                       std::vector<std::string>& unknown) {
  merge_template t;
  t.text_ = std::move(text);
  const std::string_view s = t.text_;
  auto add_literal = [&](std::size_t b, std::size_t e) {
    if (e > b) {
      t.pieces_.push_back({kind::literal, b, e - b});
      t.literal_size_ += e - b;
    }
  };
  std::size_t from = 0;
  std::size_t scan = 0;
  while (scan < s.size()) {
    const std::size_t open = s.find("{{", scan);
    const std::size_t mark =
        pixel_marker.empty() ? std::string_view::npos : s.find(pixel_marker, scan);
    if (mark != std::string_view::npos && (open == std::string_view::npos || mark < open)) {
      add_literal(from, mark);
      t.pieces_.push_back({kind::pixel, 0, 0});
      ++t.pixel_slots_;
      from = scan = mark + pixel_marker.size();
      continue;
    }
    if (open == std::string_view::npos) break;
    const std::size_t close = s.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    const std::string_view name = trim(s.substr(open + 2, close - open - 2));
    // Only a plain name is a merge field; anything else ("{{ a b }}", "{{}}") is text.
    bool plain = !name.empty() && name.size() <= 128;
    for (char c : name) {
      if (c == '{' || c == '}' || c == '\n' || c == '\r' || c == '<' || c == '>') plain = false;
    }
    if (!plain) {
      scan = open + 1;
      continue;
    }
    add_literal(from, open);
    from = scan = close + 2;
    if (name == "pixel") {
      t.pieces_.push_back({kind::pixel, 0, 0});
      ++t.pixel_slots_;
      continue;
    }
    std::size_t index = columns.size();
    for (std::size_t i = 0; i < columns.size() && index == columns.size(); ++i) {
      if (columns[i] == name) index = i;
    }
    for (std::size_t i = 0; i < columns.size() && index == columns.size(); ++i) {
      if (iequal(columns[i], name)) index = i;
    }
    if (index == columns.size()) {
      if (std::find(unknown.begin(), unknown.end(), name) == unknown.end()) {
        unknown.emplace_back(name);
      }
      continue;  // renders empty
    }
    t.pieces_.push_back({kind::field, index, 0});
  }
  add_literal(from, s.size());
  return t;
}

template <merge_template::escaping Escape>
std::size_t merge_template::render(const std::vector<std::string>& values, std::string_view pixel,
                                   std::string& out) const {
  std::size_t first_pixel = std::string::npos;
  for (const piece& p : pieces_) {
    switch (p.k) {
      case kind::literal:
        out.append(text_, p.begin, p.size);
        break;
      case kind::field: {
        const std::string_view v = p.begin < values.size() ? values[p.begin] : std::string_view();
        if constexpr (Escape == escaping::html) {
          pixel::html_escape_append(v, out);
        } else if constexpr (Escape == escaping::url) {
          pixel::percent_encode_append(v, out);
        } else {
          out.append(v);
        }
        break;
      }
      case kind::pixel:
        if (first_pixel == std::string::npos) first_pixel = out.size();
        out.append(pixel);
        break;
    }
  }
  return first_pixel;
}

std::size_t merge_template::render_html(const std::vector<std::string>& values,
                                        std::string_view pixel, std::string& out) const {
  return render<escaping::html>(values, pixel, out);
}

std::size_t merge_template::render_raw(const std::vector<std::string>& values,
                                       std::string_view pixel, std::string& out) const {
  return render<escaping::none>(values, pixel, out);
}

std::size_t merge_template::render_url(const std::vector<std::string>& values,
                                       std::string_view pixel, std::string& out) const {
  return render<escaping::url>(values, pixel, out);
}

std::string html_to_text(std::string_view html) {
  static constexpr std::string_view skipped[] = {"head", "style", "script", "title", "noscript"};
  static constexpr std::string_view blocks[] = {
      "p",       "div",    "tr",     "table",  "h1",    "h2",         "h3",  "h4",
      "h5",      "h6",     "li",     "ul",     "ol",    "blockquote", "hr",  "section",
      "article", "header", "footer", "center", "tbody", "thead",      "pre", "address"};
  text_sink sink;
  std::string href;
  std::size_t link_start = 0;
  std::string piece;
  std::size_t i = 0;
  while (i < html.size()) {
    const char c = html[i];
    if (c == '&') {
      piece.clear();
      i = decode_entity(html, i, piece);
      sink.text(piece);
      continue;
    }
    if (c != '<') {
      std::size_t end = i;
      while (end < html.size() && html[end] != '<' && html[end] != '&') ++end;
      sink.text(html.substr(i, end - i));
      i = end;
      continue;
    }
    if (html.compare(i, 4, "<!--") == 0) {
      const std::size_t end = html.find("-->", i + 4);
      i = end == std::string_view::npos ? html.size() : end + 3;
      continue;
    }
    const bool closing = i + 1 < html.size() && html[i + 1] == '/';
    std::size_t name_begin = i + (closing ? 2 : 1);
    std::size_t name_end = name_begin;
    while (name_end < html.size() &&
           ((html[name_end] >= 'a' && html[name_end] <= 'z') ||
            (html[name_end] >= 'A' && html[name_end] <= 'Z') ||
            (html[name_end] >= '0' && html[name_end] <= '9') || html[name_end] == ':')) {
      ++name_end;
    }
    if (name_end == name_begin) {
      // "<!DOCTYPE", "<?xml", or a lone '<' in text.
      if (i + 1 < html.size() && (html[i + 1] == '!' || html[i + 1] == '?')) {
        const std::size_t end = html.find('>', i);
        i = end == std::string_view::npos ? html.size() : end + 1;
      } else {
        sink.text("<");
        ++i;
      }
      continue;
    }
    const std::string_view name = html.substr(name_begin, name_end - name_begin);
    // The tag ends at the first '>' outside a quoted attribute value.
    std::size_t end = name_end;
    char quote = 0;
    for (; end < html.size(); ++end) {
      if (quote) {
        if (html[end] == quote) quote = 0;
      } else if (html[end] == '"' || html[end] == '\'') {
        quote = html[end];
      } else if (html[end] == '>') {
        break;
      }
    }
    const std::string_view tag = html.substr(i, end - i);
    i = end == html.size() ? end : end + 1;
    if (!closing) {
      bool skip = false;
      for (std::string_view s : skipped) {
        if (iequal(name, s)) {
          std::string close_tag = "</";
          close_tag += s;
          const std::size_t close = ifind(html, close_tag, i);
          const std::size_t gt = close == std::string_view::npos ? close : html.find('>', close);
          i = gt == std::string_view::npos ? html.size() : gt + 1;
          skip = true;
          break;
        }
      }
      if (skip) continue;
    }
    if (iequal(name, "br")) {
      sink.line_break(1);
    } else if (iequal(name, "td") || iequal(name, "th")) {
      sink.text(" ");
    } else if (iequal(name, "a")) {
      if (!closing) {
        href = attribute_value(tag, "href");
        link_start = sink.size();
      } else {
        const bool web = href.compare(0, 7, "http://") == 0 ||
                         href.compare(0, 8, "https://") == 0 || href.compare(0, 2, "{{") == 0;
        if (web && sink.tail(link_start).find(href) == std::string_view::npos) {
          sink.text(" (" + href + ")");
        }
        href.clear();
      }
    } else {
      for (std::string_view b : blocks) {
        if (iequal(name, b)) {
          const bool paragraph =
              iequal(name, "p") || (name.size() == 2 && (name[0] == 'h' || name[0] == 'H'));
          sink.line_break(paragraph ? 2 : 1);
          break;
        }
      }
    }
  }
  return sink.finish();
}

std::string html_title(std::string_view html) {
  const std::size_t open = ifind(html, "<title", 0);
  if (open == std::string_view::npos) return {};
  const std::size_t gt = html.find('>', open);
  if (gt == std::string_view::npos) return {};
  const std::size_t close = ifind(html, "</title", gt);
  if (close == std::string_view::npos) return {};
  text_sink sink;
  sink.text(decode_entities(html.substr(gt + 1, close - gt - 1)));
  std::string t = sink.finish();
  if (!t.empty()) t.pop_back();
  return t;
}

}  // namespace email_campaign
