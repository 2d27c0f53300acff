// pixel: typed errors and an exception-free result type.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_ERROR_HPP
#define PIXEL_ERROR_HPP

#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace pixel {

// Every way a pixel operation can fail. The first eleven values equal the C API's
// pixel_status codes; the endpoint_* values all map to PIXEL_ERR_INVALID_ENDPOINT there, the
// spool_* values to PIXEL_ERR_SPOOL.
enum class errc : int {
  ok = 0,
  invalid_argument = 1,  // a bad option value, a reserved key, a bad attribute name
  invalid_endpoint = 2,  // generic endpoint refusal (see the endpoint_* values)
  invalid_utf8 = 3,      // a key or value is not well-formed UTF-8
  empty_key = 4,         // a parameter key is empty
  url_too_long = 5,      // the URL would exceed the configured limit
  buffer_too_small = 6,  // a caller's fixed buffer cannot hold the result
  queue_full = 7,        // the tracker's queue is at capacity
  shut_down = 8,         // the tracker no longer accepts events
  timeout = 9,           // a deadline passed
  internal = 10,         // an unexpected failure (allocation, transport setup)

  endpoint_syntax = 100,  // not an absolute URL
  endpoint_scheme,        // scheme other than http or https
  endpoint_insecure,      // http:// to a non-loopback host without allow_http
  endpoint_userinfo,      // user:password@ present
  endpoint_query,         // a ?query present
  endpoint_fragment,      // a #fragment present
  endpoint_host,          // empty or malformed host
  endpoint_port,          // port not in 1..65535
  endpoint_path,          // path with characters that need encoding

  spool_locked = 200,  // the spool directory belongs to another tracker (this or another process)
  spool_full,          // the disk (or the file size limit) holding the spool is full
  spool_readonly,      // the spool directory or database cannot be written
  spool_corrupt,       // the spool database is damaged or not a spool
  spool_io,            // another I/O failure of the spool
};

constexpr bool is_endpoint_error(errc e) noexcept {
  return e == errc::invalid_endpoint ||
         (static_cast<int>(e) >= static_cast<int>(errc::endpoint_syntax) &&
          static_cast<int>(e) <= static_cast<int>(errc::endpoint_path));
}

constexpr bool is_spool_error(errc e) noexcept {
  return static_cast<int>(e) >= static_cast<int>(errc::spool_locked) &&
         static_cast<int>(e) <= static_cast<int>(errc::spool_io);
}

// Short, static description of a code; never null.
constexpr const char* errc_name(errc e) noexcept {
  switch (e) {
    case errc::ok:
      return "ok";
    case errc::invalid_argument:
      return "invalid argument";
    case errc::invalid_endpoint:
      return "invalid endpoint";
    case errc::invalid_utf8:
      return "invalid UTF-8";
    case errc::empty_key:
      return "empty key";
    case errc::url_too_long:
      return "URL too long";
    case errc::buffer_too_small:
      return "buffer too small";
    case errc::queue_full:
      return "queue full";
    case errc::shut_down:
      return "shut down";
    case errc::timeout:
      return "timeout";
    case errc::internal:
      return "internal error";
    case errc::endpoint_syntax:
      return "endpoint is not an absolute URL";
    case errc::endpoint_scheme:
      return "endpoint scheme must be https or http";
    case errc::endpoint_insecure:
      return "http endpoint needs a loopback host or allow_http";
    case errc::endpoint_userinfo:
      return "endpoint must not contain user information";
    case errc::endpoint_query:
      return "endpoint must not contain a query";
    case errc::endpoint_fragment:
      return "endpoint must not contain a fragment";
    case errc::endpoint_host:
      return "endpoint host is invalid";
    case errc::endpoint_port:
      return "endpoint port is invalid";
    case errc::endpoint_path:
      return "endpoint path is invalid";
    case errc::spool_locked:
      return "spool in use by another tracker";
    case errc::spool_full:
      return "no space left for the spool";
    case errc::spool_readonly:
      return "spool not writable";
    case errc::spool_corrupt:
      return "spool database corrupt";
    case errc::spool_io:
      return "spool I/O error";
  }
  return "unknown error";
}

namespace detail {
class error_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "pixel"; }
  std::string message(int value) const override { return errc_name(static_cast<errc>(value)); }
};
}  // namespace detail

inline const std::error_category& error_category() noexcept {
  static const detail::error_category_impl category;
  return category;
}

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

// A failure: its code plus a message that names the offending key, part or value.
class error {
 public:
  error(errc code, std::string message) : code_(code), message_(std::move(message)) {}
  explicit error(errc code) : code_(code), message_(errc_name(code)) {}

  errc code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  std::error_code error_code() const noexcept { return make_error_code(code_); }

  friend bool operator==(const error& e, errc c) noexcept { return e.code_ == c; }
  friend bool operator!=(const error& e, errc c) noexcept { return e.code_ != c; }

 private:
  errc code_;
  std::string message_;
};

namespace detail {
// value() on a result that holds an error: a bug in the caller. Say what it was, then stop.
[[noreturn]] inline void bad_result_access(const error& e) noexcept {
  std::fprintf(stderr, "pixel: value() called on an error result: %s\n", e.message().c_str());
  std::abort();
}
}  // namespace detail

// Either a T or an error, without exceptions (a small subset of std::expected).
// value() on an error prints the error and aborts; operator* and -> only assert.
template <typename T>
class [[nodiscard]] result {
 public:
  using value_type = T;

  template <typename U = T,
            typename = std::enable_if_t<std::is_constructible_v<T, U&&> &&
                                        !std::is_same_v<std::decay_t<U>, result> &&
                                        !std::is_same_v<std::decay_t<U>, pixel::error>>>
  result(U&& value) : storage_(std::in_place_index<0>, std::forward<U>(value)) {}  // NOLINT
  result(pixel::error e) : storage_(std::in_place_index<1>, std::move(e)) {}       // NOLINT

  bool has_value() const noexcept { return storage_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & {
    if (!has_value()) detail::bad_result_access(*std::get_if<1>(&storage_));
    return *std::get_if<0>(&storage_);
  }
  const T& value() const& {
    if (!has_value()) detail::bad_result_access(*std::get_if<1>(&storage_));
    return *std::get_if<0>(&storage_);
  }
  T&& value() && {
    if (!has_value()) detail::bad_result_access(*std::get_if<1>(&storage_));
    return std::move(*std::get_if<0>(&storage_));
  }
  T& operator*() & {
    assert(has_value());
    return *std::get_if<0>(&storage_);
  }
  const T& operator*() const& {
    assert(has_value());
    return *std::get_if<0>(&storage_);
  }
  T&& operator*() && {
    assert(has_value());
    return std::move(*std::get_if<0>(&storage_));
  }
  T* operator->() {
    assert(has_value());
    return std::get_if<0>(&storage_);
  }
  const T* operator->() const {
    assert(has_value());
    return std::get_if<0>(&storage_);
  }

  const pixel::error& error() const& {
    assert(!has_value());
    return *std::get_if<1>(&storage_);
  }
  errc code() const noexcept { return has_value() ? errc::ok : std::get_if<1>(&storage_)->code(); }

 private:
  std::variant<T, pixel::error> storage_;
};

template <>
class [[nodiscard]] result<void> {
 public:
  using value_type = void;

  result() = default;
  result(pixel::error e) : error_(std::move(e)), failed_(true) {}  // NOLINT

  bool has_value() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return has_value(); }
  const pixel::error& error() const& {
    assert(failed_);
    return error_;
  }
  errc code() const noexcept { return failed_ ? error_.code() : errc::ok; }

 private:
  pixel::error error_{errc::ok, std::string()};
  bool failed_ = false;
};

}  // namespace pixel

template <>
struct std::is_error_code_enum<pixel::errc> : std::true_type {};

#endif  // PIXEL_ERROR_HPP
