// email-campaign: templates with {{column}} merge fields, and HTML-to-text.
// SPDX-License-Identifier: MIT
#ifndef EMAIL_CAMPAIGN_MERGE_TEMPLATE_HPP
#define EMAIL_CAMPAIGN_MERGE_TEMPLATE_HPP

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace email_campaign {

// A template compiled once into literal runs, merge fields and pixel slots, so that
// rendering a recipient is a walk over the pieces, not a search of the text.
class merge_template {
 public:
  merge_template() = default;

  // `{{ name }}` (spaces optional) refers to the column called `name` (exact match first,
  // then ignoring ASCII case). `pixel_marker` (when non-empty) marks where the pixel goes.
  // Fields naming no column render empty and are listed in `unknown`.
  static merge_template compile(std::string text, const std::vector<std::string>& columns,
                                std::string_view pixel_marker, std::vector<std::string>& unknown);

  // Appends the template with `values[i]` for column i, HTML-escaped, and `pixel` (as is)
  // in each pixel slot. Returns the offset in `out` of the first pixel, or npos.
  std::size_t render_html(const std::vector<std::string>& values, std::string_view pixel,
                          std::string& out) const;
  // The same with values written as they are (text/plain, header text).
  std::size_t render_raw(const std::vector<std::string>& values, std::string_view pixel,
                         std::string& out) const;
  // The same with values percent-encoded (RFC 3986: all but unreserved characters), for a
  // template that is a URL: a value cannot end the query or start a new parameter.
  std::size_t render_url(const std::vector<std::string>& values, std::string_view pixel,
                         std::string& out) const;

  std::size_t pixel_slots() const noexcept { return pixel_slots_; }
  std::size_t literal_size() const noexcept { return literal_size_; }

 private:
  enum class kind { literal, field, pixel };
  struct piece {
    kind k;
    std::size_t begin;  // literal: offset in text_; field: column index
    std::size_t size;
  };
  enum class escaping { none, html, url };
  template <escaping Escape>
  std::size_t render(const std::vector<std::string>& values, std::string_view pixel,
                     std::string& out) const;

  std::string text_;
  std::vector<piece> pieces_;
  std::size_t pixel_slots_ = 0;
  std::size_t literal_size_ = 0;
};

// Plain text from an HTML email: comments (Outlook's conditional ones included), head,
// style and script dropped; block elements and <br> become line breaks; links keep their
// URL in parentheses; character references decoded; whitespace collapsed. Merge fields
// ({{name}}) pass through, so the result is itself a template.
std::string html_to_text(std::string_view html);

// The text of the document's <title>, entity-decoded and trimmed; empty when there is none.
std::string html_title(std::string_view html);

}  // namespace email_campaign

#endif  // EMAIL_CAMPAIGN_MERGE_TEMPLATE_HPP
