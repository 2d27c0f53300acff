// email-campaign: the MIME pieces of a message (RFC 2045, 2047, 5322, 6532).
// SPDX-License-Identifier: MIT
#ifndef EMAIL_CAMPAIGN_MIME_HPP
#define EMAIL_CAMPAIGN_MIME_HPP

#include <cstdint>
#include <string>
#include <string_view>

namespace email_campaign {

// Appends `in` as quoted-printable (RFC 2045 6.7) with CRLF line breaks: each '\n' (or
// "\r\n") of the input is a hard break, output lines are at most 76 characters (soft
// breaks "=\r\n"), and a space or tab before a break is encoded. No trailing CRLF is
// added after the last line.
void qp_encode_append(std::string_view in, std::string& out);

// Appends `in` as base64 in lines of 76 characters, each ended by CRLF.
void base64_lines_append(std::string_view in, std::string& out);

// Appends a header field `name: value` for unstructured text (Subject): printable ASCII is
// kept and folded at spaces; text with non-ASCII or control bytes (or "=?") becomes RFC 2047
// encoded-words (UTF-8, B), each line at most 76 characters. Ends with CRLF.
void append_text_header(std::string_view name, std::string_view value, std::string& out);

// Appends `name: display <address>` (or `name: address` without a display name). ASCII
// names go in a quoted-string; names with non-ASCII or control bytes become encoded-words.
// The address is written as is: a UTF-8 mailbox stays UTF-8, as RFC 6532 allows. Ends with
// CRLF.
void append_mailbox_header(std::string_view name, std::string_view display,
                           std::string_view address, std::string& out);

// Checks an address well enough to write it in a header: one '@' splitting a non-empty
// dot-atom local part (ASCII atext or UTF-8) from a domain of labels. Returns the problem,
// or an empty string when it is acceptable.
std::string check_address(std::string_view address);

// True when any byte is outside ASCII.
bool has_non_ascii(std::string_view s) noexcept;

// RFC 5322 date-time in UTC: "Fri, 27 Nov 2026 02:35:37 +0000".
std::string rfc5322_date(std::int64_t unix_seconds);

}  // namespace email_campaign

#endif  // EMAIL_CAMPAIGN_MIME_HPP
