// The field catalog's names and types, and field lists (the columns of a record).
// SPDX-License-Identifier: MIT
#include <algorithm>
#include <array>
#include <string>

#include "log_internal.hpp"

namespace pixel::log {

using detail::all_digits;

namespace detail {

bool valid_number(std::string_view s, field_type t) noexcept {
  if (s.empty()) return false;
  if (t == field_type::integer) {
    std::size_t i = s[0] == '-' && s.size() > 1 ? 1 : 0;
    return all_digits(s.substr(i));
  }
  // decimal: digits, optionally a point and more digits; a sign allowed.
  std::size_t i = s[0] == '-' && s.size() > 1 ? 1 : 0;
  const std::size_t dot = s.find('.', i);
  if (dot == std::string_view::npos) return all_digits(s.substr(i));
  return all_digits(s.substr(i, dot - i)) && all_digits(s.substr(dot + 1));
}

bool looks_like_standard_line(std::string_view line) noexcept {
  return line.size() > 11 && all_digits(line.substr(0, 4)) && line[4] == '-' &&
         all_digits(line.substr(5, 2)) && line[7] == '-' && all_digits(line.substr(8, 2)) &&
         line[10] == '\t';
}

const standard_column_info* standard_info(field f) noexcept {
  if (static_cast<std::size_t>(f) <= field_count) return nullptr;
  for (const auto& c : standard_columns) {
    if (c.id == f) return &c;
  }
  return nullptr;
}

}  // namespace detail

std::string_view field_name(field f) noexcept {
  const auto i = static_cast<std::size_t>(f);
  if (i < field_count) return field_catalog[i].name;
  if (const auto* s = detail::standard_info(f)) return s->name;
  return {};
}

std::optional<field> field_from_name(std::string_view name) noexcept {
  for (std::size_t i = 0; i < field_count; ++i) {
    if (field_catalog[i].name == name) return static_cast<field>(i);
  }
  return std::nullopt;
}

bool is_escaped(field f) noexcept {
  const auto i = static_cast<std::size_t>(f);
  if (i < field_count) return field_catalog[i].escaped;
  if (const auto* s = detail::standard_info(f)) return s->escaped;
  return f == unknown_field;
}

field_type type_of(field f) noexcept {
  const auto i = static_cast<std::size_t>(f);
  if (i < field_count) return field_catalog[i].type;
  if (const auto* s = detail::standard_info(f)) return s->type;
  return field_type::text;
}

// ---------------------------------------------------------------------------------------
// Field lists.

field_list::field_list(std::initializer_list<field> fields) : ids_(fields), names_(fields.size()) {}

field_list::field_list(std::vector<field> fields, log_kind kind)
    : ids_(std::move(fields)), names_(ids_.size()), kind_(kind) {}

void field_list::push_back(field f, std::string_view name) {
  ids_.push_back(f);
  names_.emplace_back(name == field_name(f) ? std::string_view() : name);
}

bool field_list::contains(field f) const noexcept {
  return std::find(ids_.begin(), ids_.end(), f) != ids_.end();
}

std::string_view field_list::name(std::size_t i) const noexcept {
  return names_[i].empty() ? field_name(ids_[i]) : std::string_view(names_[i]);
}

std::string field_list::key(std::size_t i) const {
  if (const auto* s = detail::standard_info(ids_[i])) return std::string(s->key);
  std::string k(ids_[i] == unknown_field ? name(i) : field_name(ids_[i]));
  std::replace(k.begin(), k.end(), '-', '_');
  return k;
}

std::string field_list::to_string() const {
  std::string s;
  for (std::size_t i = 0; i < size(); ++i) {
    if (i) s += ',';
    s += name(i);
  }
  return s;
}

result<field_list> parse_fields(std::string_view list, field_order order) {
  std::array<bool, field_count> on{};
  field_list given;
  std::vector<std::string> seen_unknown;
  auto ok = detail::for_each_field_name(list, [&](std::string_view name) -> result<void> {
    const auto f = field_from_name(name);
    if (order == field_order::canonical) {
      if (!f) {
        return error(errc::invalid_argument,
                     "unknown log field '" + std::string(name) +
                         "': not a CloudFront real-time field this version knows");
      }
      on[static_cast<std::size_t>(*f)] = true;
      return {};
    }
    for (std::size_t i = 0; i < given.size(); ++i) {
      if (given.name(i) == name) {
        return error(errc::invalid_argument, "field '" + std::string(name) + "' listed twice");
      }
    }
    if (name.find_first_of("\r\n") != std::string_view::npos) {
      return error(errc::invalid_argument, "control character in a field name");
    }
    given.push_back(f ? *f : unknown_field, name);
    return {};
  });
  if (!ok) return ok.error();
  if (order == field_order::as_given) return given;
  field_list out;
  for (std::size_t i = 0; i < field_count; ++i) {
    if (on[i]) out.push_back(static_cast<field>(i));
  }
  return out;
}

const field_list& default_fields() {
  static const field_list f(
      std::vector<field>(std::begin(default_field_list), std::end(default_field_list)));
  return f;
}

}  // namespace pixel::log
