// pixel: the pixel as HTML. Header-only, standard library only, C++17.
// SPDX-License-Identifier: MIT
//
//   auto tag = pixel::img_tag(url, pixel::img_style::email).value();
//   auto doc = pixel::place_pixel(template_html, tag);
//   if (doc.where == pixel::placement::appended) warn("no <body> and no {{pixel}}");
#ifndef PIXEL_HTML_HPP
#define PIXEL_HTML_HPP

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

#include "pixel/error.hpp"
#include "pixel/url.hpp"

namespace pixel {

// Appends `in` to `out` escaped for a double-quoted attribute value or for text:
// & < > " ' become &amp; &lt; &gt; &quot; &#39;.
inline void html_escape_append(std::string_view in, std::string& out) {
  std::size_t extra = 0;
  for (char c : in) {
    switch (c) {
      case '&':
        extra += 4;
        break;
      case '<':
      case '>':
        extra += 3;
        break;
      case '"':
        extra += 5;
        break;
      case '\'':
        extra += 4;
        break;
      default:
        break;
    }
  }
  out.reserve(out.size() + in.size() + extra);
  for (char c : in) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
        break;
    }
  }
}

inline std::string html_escape(std::string_view in) {
  std::string out;
  html_escape_append(in, out);
  return out;
}

enum class img_style {
  // width="1" height="1" alt="" border="0" and an inline 1px, zero margin/padding/border
  // style. Never display:none or loading="lazy": mail clients would not fetch it.
  email,
  // The email attributes plus aria-hidden="true" (screen readers skip it) and
  // referrerpolicy="no-referrer" (the page URL is not sent to the pixel host).
  page,
};

struct html_attribute {
  std::string_view name;
  std::string_view value;
};

namespace detail {
inline bool valid_attribute_name(std::string_view name) noexcept {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == ':' || c == '.';
    if (!ok) return false;
  }
  const char f = name.front();
  return (f >= 'a' && f <= 'z') || (f >= 'A' && f <= 'Z') || f == '_';
}

inline bool starts_with_icase(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

inline constexpr std::string_view email_style = "width:1px;height:1px;border:0;margin:0;padding:0;";
}  // namespace detail

// Checks that `url` may be an <img src>: http:// or https:// with a host, UTF-8, and no
// whitespace or control bytes.
inline result<void> validate_src_url(std::string_view url) {
  std::string_view rest;
  if (detail::starts_with_icase(url, "https://")) {
    rest = url.substr(8);
  } else if (detail::starts_with_icase(url, "http://")) {
    rest = url.substr(7);
  } else {
    return error(errc::invalid_argument,
                 "image URL '" + detail::printable(url) + "' is not an http or https URL");
  }
  if (rest.empty() || rest.front() == '/' || rest.front() == '?' || rest.front() == '#') {
    return error(errc::invalid_argument, "image URL '" + detail::printable(url) + "' has no host");
  }
  if (auto u = check_utf8(url); !u.ok()) {
    return error(errc::invalid_utf8, "invalid UTF-8 in image URL at byte " +
                                         std::to_string(u.offset) + ": " +
                                         utf8_problem_name(u.problem));
  }
  for (char ch : url) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7F) {
      return error(errc::invalid_argument, "image URL '" + detail::printable(url) +
                                               "' contains whitespace or a control byte");
    }
  }
  return {};
}

// The <img> tag for `url` in the given style. `extra` attributes are appended, values
// escaped; one named like a preset attribute replaces the preset's value, except `src`.
// Errors: a non-http(s) URL, an invalid attribute name, `src` in extra, loading="lazy".
inline result<std::string> img_tag(std::string_view url, img_style style = img_style::email,
                                   std::initializer_list<html_attribute> extra = {}) {
  if (auto ok = validate_src_url(url); !ok) return ok.error();
  for (const auto& a : extra) {
    if (!detail::valid_attribute_name(a.name)) {
      return error(errc::invalid_argument,
                   "invalid attribute name '" + detail::printable(a.name) + "'");
    }
    if (detail::iequals(a.name, "src")) {
      return error(errc::invalid_argument, "the src attribute comes from the URL");
    }
    if (detail::iequals(a.name, "loading") && detail::iequals(a.value, "lazy")) {
      return error(errc::invalid_argument,
                   "loading=\"lazy\" would stop the pixel from loading out of view");
    }
    if (auto u = check_utf8(a.value); !u.ok()) {
      return error(errc::invalid_utf8, "invalid UTF-8 in attribute '" + std::string(a.name) + "'");
    }
  }
  html_attribute preset[] = {
      {"width", "1"},
      {"height", "1"},
      {"alt", ""},
      {"border", "0"},
      {"style", detail::email_style},
      {"aria-hidden", "true"},
      {"referrerpolicy", "no-referrer"},
  };
  const std::size_t preset_count = style == img_style::page ? 7 : 5;
  auto override_of = [&](std::string_view name) -> const html_attribute* {
    for (const auto& a : extra) {
      if (detail::iequals(a.name, name)) return &a;
    }
    return nullptr;
  };
  std::string out;
  out.reserve(url.size() + 160);
  out += "<img src=\"";
  html_escape_append(url, out);
  out += '"';
  for (std::size_t i = 0; i < preset_count; ++i) {
    const html_attribute* o = override_of(preset[i].name);
    out += ' ';
    out += preset[i].name;
    out += "=\"";
    html_escape_append(o ? o->value : preset[i].value, out);
    out += '"';
  }
  for (const auto& a : extra) {
    bool is_preset = false;
    for (std::size_t i = 0; i < preset_count; ++i) {
      if (detail::iequals(a.name, preset[i].name)) is_preset = true;
    }
    if (is_preset) continue;
    out += ' ';
    out += a.name;
    out += "=\"";
    html_escape_append(a.value, out);
    out += '"';
  }
  out += '>';
  return out;
}

// ---------------------------------------------------------------------------------------
// Placing a pixel in a document

enum class placement {
  placeholder,  // every {{pixel}} placeholder was replaced
  after_body,   // inserted right after the opening <body ...> tag
  appended,     // no placeholder and no <body>: added at the end
};

struct placed_document {
  std::string html;
  placement where = placement::appended;
  std::size_t offset = 0;  // byte offset of the (first) pixel in `html`
  std::size_t count = 0;   // how many pixels were placed
};

namespace detail {
inline bool is_ascii_alpha(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
inline bool is_html_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

// Offset of '>' closing the tag whose name starts at `i`, honouring quoted attribute
// values; npos when the document ends first.
inline std::size_t tag_end(std::string_view doc, std::size_t i) noexcept {
  char quote = 0;
  for (; i < doc.size(); ++i) {
    const char c = doc[i];
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      // Only a quote that opens an attribute value (after '=' and optional spaces).
      std::size_t j = i;
      while (j > 0 && is_html_space(doc[j - 1])) --j;
      if (j > 0 && doc[j - 1] == '=') quote = c;
    } else if (c == '>') {
      return i;
    }
  }
  return std::string_view::npos;
}

// Offset of the case-insensitive `needle` at or after `from`, or npos.
inline std::size_t ifind(std::string_view hay, std::string_view needle, std::size_t from) noexcept {
  if (needle.size() > hay.size()) return std::string_view::npos;
  for (std::size_t i = from; i + needle.size() <= hay.size(); ++i) {
    if (iequals(hay.substr(i, needle.size()), needle)) return i;
  }
  return std::string_view::npos;
}
}  // namespace detail

// Offset just after the opening <body ...> tag, or npos. Skips comments (including
// Outlook's conditional comments), doctype and processing instructions, quoted
// attribute values, and the contents of <script>, <style>, <title>, <textarea>,
// <noscript> and <xmp>.
inline std::size_t find_body_start(std::string_view doc) noexcept {
  std::size_t i = 0;
  while (i < doc.size()) {
    const std::size_t lt = doc.find('<', i);
    if (lt == std::string_view::npos) return std::string_view::npos;
    if (doc.substr(lt, 4) == "<!--") {
      const std::size_t end = doc.find("-->", lt + 4);
      if (end == std::string_view::npos) return std::string_view::npos;
      i = end + 3;
      continue;
    }
    if (lt + 1 < doc.size() && (doc[lt + 1] == '!' || doc[lt + 1] == '?')) {
      const std::size_t end = doc.find('>', lt + 2);
      if (end == std::string_view::npos) return std::string_view::npos;
      i = end + 1;
      continue;
    }
    if (lt + 1 >= doc.size() || !detail::is_ascii_alpha(doc[lt + 1])) {
      i = lt + 1;  // "</x>", "< ", "<3": not an opening tag
      continue;
    }
    std::size_t name_end = lt + 1;
    while (name_end < doc.size() && !detail::is_html_space(doc[name_end]) && doc[name_end] != '>' &&
           doc[name_end] != '/') {
      ++name_end;
    }
    const std::string_view name = doc.substr(lt + 1, name_end - lt - 1);
    const std::size_t gt = detail::tag_end(doc, name_end);
    if (gt == std::string_view::npos) return std::string_view::npos;
    if (detail::iequals(name, "body")) return gt + 1;
    i = gt + 1;
    for (std::string_view raw : {"script", "style", "title", "textarea", "noscript", "xmp"}) {
      if (detail::iequals(name, raw)) {
        std::string closing = "</";
        closing += raw;
        const std::size_t end = detail::ifind(doc, closing, i);
        if (end == std::string_view::npos) return std::string_view::npos;
        i = end;
        break;
      }
    }
  }
  return std::string_view::npos;
}

// Puts `tag` into `document`: in place of every `placeholder` when there is one, else
// right after the opening <body> tag, else at the end. Early placement matters: Gmail
// clips bodies over about 102 KB, and a pixel after the clip is never fetched.
inline placed_document place_pixel(std::string_view document, std::string_view tag,
                                   std::string_view placeholder = "{{pixel}}") {
  placed_document out;
  if (!placeholder.empty()) {
    std::size_t pos = document.find(placeholder);
    if (pos != std::string_view::npos) {
      out.where = placement::placeholder;
      out.offset = pos;
      out.html.reserve(document.size() + tag.size());
      std::size_t from = 0;
      while (pos != std::string_view::npos) {
        out.html.append(document.substr(from, pos - from));
        out.html.append(tag);
        ++out.count;
        from = pos + placeholder.size();
        pos = document.find(placeholder, from);
      }
      out.html.append(document.substr(from));
      return out;
    }
  }
  const std::size_t at = find_body_start(document);
  out.count = 1;
  out.html.reserve(document.size() + tag.size());
  if (at != std::string_view::npos) {
    out.where = placement::after_body;
    out.offset = at;
    out.html.append(document.substr(0, at));
    out.html.append(tag);
    out.html.append(document.substr(at));
  } else {
    out.where = placement::appended;
    out.offset = document.size();
    out.html.append(document);
    out.html.append(tag);
  }
  return out;
}

}  // namespace pixel

#endif  // PIXEL_HTML_HPP
