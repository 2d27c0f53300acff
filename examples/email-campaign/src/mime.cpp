// SPDX-License-Identifier: MIT
#include "mime.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace email_campaign {

namespace {
constexpr char hex_digits[] = "0123456789ABCDEF";
constexpr std::size_t qp_line_max = 76;       // RFC 2045: encoded lines at most 76 characters
constexpr std::size_t header_line_soft = 78;  // RFC 5322 2.1.1: lines SHOULD be at most 78
constexpr std::size_t encoded_line_max = 76;  // RFC 2047 2: lines with encoded-words
constexpr std::string_view word_prefix = "=?UTF-8?B?";
constexpr std::string_view word_suffix = "?=";

std::size_t utf8_length(unsigned char lead) noexcept {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;  // not a lead byte: treat it alone rather than run past the end
}

// Header text cannot carry line breaks or other controls (an encoded CR LF would decode
// into a broken header for the reader): each run of them becomes one space.
std::string_view without_controls(std::string_view s, std::string& buffer) {
  bool any = false;
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) any = true;
  }
  if (!any) return s;
  buffer.clear();
  bool last_control = false;
  for (char c : s) {
    const bool control = static_cast<unsigned char>(c) < 0x20 || c == 0x7F;
    if (control) {
      if (!last_control) buffer += ' ';
    } else {
      buffer += c;
    }
    last_control = control;
  }
  return buffer;
}

bool needs_encoded_words(std::string_view s) noexcept {
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7F) return true;
  }
  return s.find("=?") != std::string_view::npos;
}

// Writes `text` as encoded-words starting at column `col`, each line at most 76 characters.
// Returns the column after the last word.
std::size_t append_encoded_words(std::string_view text, std::size_t col, std::string& out) {
  std::size_t i = 0;
  unsigned char b64[64];
  do {
    std::size_t avail = encoded_line_max - std::min(encoded_line_max, col + 1);
    std::size_t max_bytes = avail > word_prefix.size() + word_suffix.size()
                                ? (avail - word_prefix.size() - word_suffix.size()) / 4 * 3
                                : 0;
    if (max_bytes < 4 && col > 1) {
      out += "\r\n";
      col = 0;
      continue;
    }
    max_bytes = std::min<std::size_t>(max_bytes, 45);
    std::size_t end = i;
    while (end < text.size()) {
      const std::size_t len = utf8_length(static_cast<unsigned char>(text[end]));
      if (end + len - i > max_bytes) break;
      end += std::min(len, text.size() - end);
    }
    out += ' ';
    out += word_prefix;
    const int n = EVP_EncodeBlock(b64, reinterpret_cast<const unsigned char*>(text.data() + i),
                                  static_cast<int>(end - i));
    out.append(reinterpret_cast<const char*>(b64), static_cast<std::size_t>(n));
    out += word_suffix;
    col += 1 + word_prefix.size() + static_cast<std::size_t>(n) + word_suffix.size();
    i = end;
  } while (i < text.size());
  return col;
}
}  // namespace

bool has_non_ascii(std::string_view s) noexcept {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  }
  return false;
}

namespace {
// 0: written as is (a space or tab before a line break is fixed afterwards); 1: =XX;
// 3: '\n'; 4: '\r'.
constexpr std::array<unsigned char, 256> make_qp_classes() noexcept {
  std::array<unsigned char, 256> t{};
  for (int c = 0; c < 256; ++c)
    t[static_cast<std::size_t>(c)] = (c >= 33 && c <= 126 && c != '=') ? 0 : 1;
  t[' '] = t['\t'] = 0;
  t['\n'] = 3;
  t['\r'] = 4;
  return t;
}
constexpr std::array<unsigned char, 256> qp_class = make_qp_classes();
constexpr std::size_t qp_room = qp_line_max - 1;  // characters before a soft break's '='

// A space or tab that ended up last on a line must be encoded (RFC 2045 rule 3), since
// transports may strip trailing whitespace. Rewrites it in place at the end of the output.
char* encode_trailing_space(char* w, std::size_t& col) {
  if (col == 0 || (w[-1] != ' ' && w[-1] != '\t')) return w;
  const char c = w[-1];
  --w;
  --col;
  if (col + 3 > qp_room) {
    *w++ = '=';
    *w++ = '\r';
    *w++ = '\n';
    col = 0;
  }
  *w++ = '=';
  *w++ = hex_digits[static_cast<unsigned char>(c) >> 4];
  *w++ = hex_digits[static_cast<unsigned char>(c) & 0xF];
  col += 3;
  return w;
}
}  // namespace

void qp_encode_append(std::string_view in, std::string& out) {
  // Worst case: every byte as =XX, plus a soft break per 25 of those.
  const std::size_t old = out.size();
  out.resize(old + in.size() * 3 + (in.size() / 25 + 2) * 3);
  char* w = out.data() + old;
  const char* p = in.data();
  const std::size_t n = in.size();
  std::size_t col = 0;
  std::size_t i = 0;
  while (i < n) {
    // The common case: a run of bytes written as they are, up to the end of the line.
    const std::size_t limit = std::min(n, i + (qp_room - col));
    std::size_t j = i;
    while (j < limit && qp_class[static_cast<unsigned char>(p[j])] == 0) ++j;
    std::memcpy(w, p + i, j - i);
    w += j - i;
    col += j - i;
    i = j;
    if (i == n) break;
    const auto c = static_cast<unsigned char>(p[i]);
    const unsigned char cls = qp_class[c];
    if (cls == 3 || (cls == 4 && i + 1 < n && p[i + 1] == '\n')) {
      w = encode_trailing_space(w, col);
      *w++ = '\r';
      *w++ = '\n';
      col = 0;
      i += cls == 3 ? 1 : 2;
      continue;
    }
    const std::size_t width = cls == 0 ? 1 : 3;
    if (col + width > qp_room) {
      *w++ = '=';
      *w++ = '\r';
      *w++ = '\n';
      col = 0;
    }
    if (cls == 0) {
      *w++ = static_cast<char>(c);
    } else {
      *w++ = '=';
      *w++ = hex_digits[c >> 4];
      *w++ = hex_digits[c & 0xF];
    }
    col += width;
    ++i;
  }
  w = encode_trailing_space(w, col);
  out.resize(static_cast<std::size_t>(w - out.data()));
}

void base64_lines_append(std::string_view in, std::string& out) {
  constexpr std::size_t chunk = 57;  // 57 bytes -> 76 characters
  const std::size_t old = out.size();
  out.resize(old + (in.size() / chunk + 1) * 78 + 4);
  auto* w = reinterpret_cast<unsigned char*>(out.data() + old);
  const auto* r = reinterpret_cast<const unsigned char*>(in.data());
  for (std::size_t i = 0; i < in.size(); i += chunk) {
    const std::size_t len = std::min(chunk, in.size() - i);
    w += EVP_EncodeBlock(w, r + i, static_cast<int>(len));
    *w++ = '\r';
    *w++ = '\n';
  }
  out.resize(static_cast<std::size_t>(reinterpret_cast<char*>(w) - out.data()));
}

void append_text_header(std::string_view name, std::string_view value, std::string& out) {
  std::string clean;
  value = without_controls(value, clean);
  out += name;
  out += ':';
  std::size_t col = name.size() + 1;
  bool encode = needs_encoded_words(value);
  if (!encode) {
    // A word too long for any line (998 is the hard limit) is encoded instead.
    std::size_t run = 0;
    for (char c : value) {
      run = c == ' ' ? 0 : run + 1;
      if (run > 900) encode = true;
    }
  }
  if (encode) {
    append_encoded_words(value, col, out);
    out += "\r\n";
    return;
  }
  // Fold before a space when the next word would pass 78 columns; unfolding (removing the
  // CRLF) gives back the exact text.
  out += ' ';
  ++col;
  std::size_t i = 0;
  bool first = true;
  while (i <= value.size()) {
    std::size_t sp = value.find(' ', i);
    if (sp == std::string_view::npos) sp = value.size();
    const std::string_view word = value.substr(i, sp - i);
    if (!first) {
      if (col + 1 + word.size() > header_line_soft && !word.empty()) {
        out += "\r\n";
        col = 0;
      }
      out += ' ';
      ++col;
    }
    out += word;
    col += word.size();
    first = false;
    i = sp + 1;
  }
  out += "\r\n";
}

void append_mailbox_header(std::string_view name, std::string_view display,
                           std::string_view address, std::string& out) {
  std::string clean;
  display = without_controls(display, clean);
  out += name;
  out += ':';
  std::size_t col = name.size() + 1;
  if (display.empty()) {
    out += ' ';
    out += address;
    out += "\r\n";
    return;
  }
  if (!needs_encoded_words(display) && display.size() <= 900) {
    out += " \"";
    for (char c : display) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += "\" <";
    out += address;
    out += ">\r\n";
    return;
  }
  col = append_encoded_words(display, col, out);
  if (col + 3 + address.size() > encoded_line_max) out += "\r\n";
  out += " <";
  out += address;
  out += ">\r\n";
}

std::string check_address(std::string_view address) {
  const std::size_t at = address.find('@');
  if (at == std::string_view::npos) return "no '@' in the address";
  if (address.find('@', at + 1) != std::string_view::npos) return "more than one '@'";
  const std::string_view local = address.substr(0, at);
  const std::string_view domain = address.substr(at + 1);
  if (local.empty()) return "empty local part";
  if (domain.empty()) return "empty domain";
  static constexpr std::string_view atext_specials = "!#$%&'*+-/=?^_`{|}~";
  char prev = '.';
  for (char ch : local) {
    const auto c = static_cast<unsigned char>(ch);
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c >= 0x80 || ch == '.' || atext_specials.find(ch) != std::string_view::npos;
    if (!ok) return "character not allowed in the local part";
    if (ch == '.' && prev == '.') return "misplaced '.' in the local part";
    prev = ch;
  }
  if (prev == '.') return "misplaced '.' in the local part";
  prev = '.';
  for (char ch : domain) {
    const auto c = static_cast<unsigned char>(ch);
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c >= 0x80 || ch == '-' || ch == '.';
    if (!ok) return "character not allowed in the domain";
    if (ch == '.' && prev == '.') return "empty label in the domain";
    prev = ch;
  }
  if (prev == '.') return "empty label in the domain";
  return {};
}

std::string rfc5322_date(std::int64_t unix_seconds) {
  static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7],
                tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

}  // namespace email_campaign
