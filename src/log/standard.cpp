// CloudFront standard access logs, legacy and v2: the names of their columns (fields.json
// "standard"), the W3C '#Fields:' header, and field lists chosen by the user.
// SPDX-License-Identifier: MIT
#include <string>

#include "log_internal.hpp"

namespace pixel::log {
namespace {

// Splits `list` on any of `seps`, calling `f(name)` for each non-empty name; a name `f`
// refuses ends the walk with its error.
template <class F>
result<void> for_each_name(std::string_view list, std::string_view seps, F&& f) {
  std::size_t pos = 0;
  while (pos < list.size()) {
    const std::size_t start = list.find_first_not_of(seps, pos);
    if (start == std::string_view::npos) break;
    std::size_t stop = list.find_first_of(seps, start);
    if (stop == std::string_view::npos) stop = list.size();
    pos = stop;
    auto ok = f(list.substr(start, stop - start));
    if (!ok) return ok;
  }
  return {};
}

}  // namespace

namespace detail {

result<void> add_column(field_list& l, std::string_view name, std::string_view what) {
  const field f = standard_column(name);
  for (std::size_t i = 0; i < l.size(); ++i) {
    if (l.name(i) == name || (f != unknown_field && l[i] == f)) {
      return error(errc::invalid_argument,
                   std::string(what) + " lists " + std::string(name) + " twice");
    }
  }
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      return error(errc::invalid_argument, "control character in a field name");
    }
  }
  l.push_back(f, name);
  return {};
}

}  // namespace detail

field standard_column(std::string_view name) noexcept {
  for (const auto& c : standard_columns) {
    if (c.name == name) return c.id;
  }
  if (auto f = field_from_name(name)) return *f;
  return unknown_field;
}

bool names_standard_columns(std::string_view list) noexcept {
  bool found = false;
  (void)for_each_name(list, ", \t", [&](std::string_view name) -> result<void> {
    for (const auto& c : standard_columns) {
      if (c.name == name) found = true;
    }
    return {};
  });
  return found;
}

const field_list& standard_default_fields() {
  // The documented layout of a legacy standard log line, in file order.
  static const field_list f = [] {
    field_list l;
    l.set_kind(log_kind::standard);
    for (std::string_view n : standard_default_names) l.push_back(standard_column(n), n);
    return l;
  }();
  return f;
}

result<field_list> parse_standard_fields_line(std::string_view line) {
  constexpr std::string_view tag = "#Fields:";
  if (line.substr(0, tag.size()) != tag) {
    return error(errc::invalid_argument, "not a '#Fields:' line");
  }
  line.remove_prefix(tag.size());
  field_list l;
  l.set_kind(log_kind::standard);
  auto ok = for_each_name(line, " \t\r", [&](std::string_view name) {
    return detail::add_column(l, name, "'#Fields:' line");
  });
  if (!ok) return ok.error();
  if (l.empty()) return error(errc::invalid_argument, "'#Fields:' line names no field");
  return l;
}

result<field_list> parse_standard_fields(std::string_view list) {
  field_list l;
  l.set_kind(log_kind::standard);
  auto ok = detail::for_each_field_name(
      list, [&](std::string_view name) { return detail::add_column(l, name, "the field list"); });
  if (!ok) return ok.error();
  return l;
}

}  // namespace pixel::log
