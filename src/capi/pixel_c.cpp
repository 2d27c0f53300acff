// SPDX-License-Identifier: MIT
// The C ABI over the C++ library. Every entry point catches everything: no exception
// crosses into C, and bad input gives a pixel_status plus a thread-local message.
#include "pixel/pixel.h"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pixel/consent.hpp"
#include "pixel/error.hpp"
#include "pixel/html.hpp"
#include "pixel/tracker.hpp"
#include "pixel/url.hpp"
#include "pixel/version.hpp"

struct pixel_options {
  pixel::tracker_options cpp;
  pixel_result_callback callback = nullptr;
  void* user = nullptr;
  pixel_log_callback log_callback = nullptr;
  void* log_user = nullptr;
  // Signing: cpp.url.signer is remade from these whenever one changes.
  std::string signing_kid, signing_key;
  std::chrono::seconds signature_ttl = pixel::default_signature_lifetime;
};

struct pixel_tracker {
  explicit pixel_tracker(pixel::tracker t) : cpp(std::move(t)) {}
  pixel::tracker cpp;
};

namespace {

thread_local std::string last_error;

pixel_status to_status(pixel::errc e) noexcept {
  if (pixel::is_endpoint_error(e)) return PIXEL_ERR_INVALID_ENDPOINT;
  if (pixel::is_spool_error(e)) return PIXEL_ERR_SPOOL;
  const int v = static_cast<int>(e);
  if (v >= PIXEL_OK && v <= PIXEL_ERR_INTERNAL) return static_cast<pixel_status>(v);
  return PIXEL_ERR_INTERNAL;
}

// Records `message` for pixel_last_error() and returns `status`. Never throws: if the
// message cannot be stored, the status text stands in.
pixel_status fail(pixel_status status, std::string_view message) noexcept {
  try {
    last_error.assign(message);
  } catch (...) {
    last_error.clear();  // clear() never allocates; pixel_last_error() then says ""
  }
  return status;
}

pixel_status fail(const pixel::error& e) noexcept {
  return fail(to_status(e.code()), e.message());
}

pixel_status ok() noexcept {
  last_error.clear();
  return PIXEL_OK;
}

// Runs `body` (returning pixel_status), mapping any exception to PIXEL_ERR_INTERNAL.
template <typename F>
pixel_status guarded(F&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return fail(PIXEL_ERR_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    return fail(PIXEL_ERR_INTERNAL, e.what());
  } catch (...) {
    return fail(PIXEL_ERR_INTERNAL, "unknown exception");
  }
}

pixel_status null_argument(const char* name) noexcept {
  // A literal, short enough for the small-string buffer: no allocation in practice.
  std::string_view n(name);
  try {
    last_error.assign(n);
    last_error.append(" must not be NULL");
  } catch (...) {
    last_error.clear();
  }
  return PIXEL_ERR_INVALID_ARGUMENT;
}

// Converts a C parameter array into views; NULL keys or values are refused.
pixel_status to_params(const pixel_param* params, std::size_t count,
                       std::vector<pixel::param>& out) {
  if (count == 0) return PIXEL_OK;
  if (params == nullptr) return null_argument("params (with count > 0)");
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    if (params[i].key == nullptr || params[i].value == nullptr) {
      return fail(PIXEL_ERR_INVALID_ARGUMENT,
                  "parameter " + std::to_string(i + 1) + " has a NULL key or value");
    }
    out.push_back({params[i].key, params[i].value});
  }
  return PIXEL_OK;
}

// Copies `text` into the caller's buffer snprintf-style.
pixel_status deliver(std::string_view text, char* buf, std::size_t buf_size,
                     std::size_t* out_len) noexcept {
  if (out_len != nullptr) *out_len = text.size();
  if (text.size() >= buf_size) {
    if (buf != nullptr && buf_size > 0) buf[0] = '\0';
    return fail(PIXEL_ERR_BUFFER_TOO_SMALL, "buffer too small: the result needs " +
                                                std::to_string(text.size() + 1) +
                                                " bytes with its NUL");
  }
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  return ok();
}

// Validates the snprintf-style buffer arguments; on error clears what it can.
pixel_status check_buffer(char* buf, std::size_t buf_size, std::size_t* out_len) noexcept {
  if (out_len != nullptr) *out_len = 0;
  if (buf == nullptr && buf_size > 0) return null_argument("buf (with buf_size > 0)");
  if (buf != nullptr && buf_size > 0) buf[0] = '\0';
  return PIXEL_OK;
}

// The integer a C caller passed for an enum. Read through memcpy: C may pass any int,
// and a typed load of an out-of-range value is undefined in C++ (UBSan's enum check).
template <typename E>
int raw_enum(const E& e) noexcept {
  static_assert(sizeof(E) == sizeof(int), "C enums are int-sized here");
  int v;
  std::memcpy(&v, &e, sizeof v);
  return v;
}

constexpr unsigned known_url_flags = PIXEL_URL_EVENT_ID | PIXEL_URL_TIMESTAMP;

// Every value rule lives in pixel::tracker::create; a setter only stores.
pixel_status set_ms(std::uint32_t ms, std::chrono::milliseconds& dst) noexcept {
  dst = std::chrono::milliseconds(ms);
  return ok();
}

// A C string option: NULL refused, UTF-8 required (the C API's string type).
pixel_status set_text(const char* text, const char* what, std::string& dst) {
  if (text == nullptr) return null_argument(what);
  const std::string_view v(text);
  if (!pixel::is_valid_utf8(v)) {
    return fail(PIXEL_ERR_INVALID_UTF8, std::string(what) + " is not UTF-8");
  }
  dst.assign(v);
  return ok();
}

// PIXEL_TRACKING_* (0: not set) as the C++ mode; false for an unknown value.
bool to_mode(int c, std::optional<pixel::tracking_mode>& out) noexcept {
  switch (c) {
    case PIXEL_TRACKING_DEFAULT:
      out.reset();
      return true;
    case PIXEL_TRACKING_OFF:
      out = pixel::tracking_mode::off;
      return true;
    case PIXEL_TRACKING_AGGREGATE:
      out = pixel::tracking_mode::aggregate;
      return true;
    case PIXEL_TRACKING_PSEUDONYMOUS:
      out = pixel::tracking_mode::pseudonymous;
      return true;
    case PIXEL_TRACKING_IDENTIFIED:
      out = pixel::tracking_mode::identified;
      return true;
    default:
      return false;
  }
}

pixel_status unknown_mode(const char* what, int value) {
  return fail(PIXEL_ERR_INVALID_ARGUMENT,
              std::string("unknown ") + what + ": " + std::to_string(value) +
                  " (PIXEL_TRACKING_DEFAULT, _OFF, _AGGREGATE, _PSEUDONYMOUS or _IDENTIFIED)");
}

// A mode option: DEFAULT restores `fallback`.
pixel_status set_mode(pixel_options* options, int value, const char* what,
                      pixel::tracking_mode pixel::tracker_options::*member) {
  if (options == nullptr) return null_argument("options");
  std::optional<pixel::tracking_mode> m;
  if (!to_mode(value, m)) return unknown_mode(what, value);
  static const pixel::tracker_options defaults;
  options->cpp.*member = m.value_or(defaults.*member);
  return ok();
}

pixel_status track(pixel_tracker* tracker, const pixel_param* params, std::size_t count,
                   const char* user_agent, char* id_out, int mode = PIXEL_TRACKING_DEFAULT,
                   int gpc = 0) {
  if (id_out != nullptr) id_out[0] = '\0';
  if (tracker == nullptr) return null_argument("tracker");
  pixel::event_options how;
  if (!to_mode(mode, how.mode)) return unknown_mode("event->tracking_mode", mode);
  how.gpc = gpc != 0;
  if (user_agent != nullptr) how.user_agent = std::string_view(user_agent);
  std::vector<pixel::param> ps;
  if (auto st = to_params(params, count, ps); st != PIXEL_OK) return st;
  const pixel::params_view view(ps.data(), ps.size());
  auto id = tracker->cpp.track(view, how);
  if (!id) return fail(id.error());
  if (id_out != nullptr) {
    const std::string_view v = id->view();
    std::memcpy(id_out, v.data(), v.size());
    id_out[v.size()] = '\0';
  }
  return ok();
}

static_assert(PIXEL_EVENT_ID_SIZE == pixel::event_id::length + 1, "id buffer size");
static_assert(PIXEL_TRANSPORT_DNS == static_cast<int>(pixel::transport_error::dns) &&
                  PIXEL_TRANSPORT_CERTIFICATE ==
                      static_cast<int>(pixel::transport_error::certificate) &&
                  PIXEL_TRANSPORT_PROTOCOL == static_cast<int>(pixel::transport_error::protocol) &&
                  PIXEL_TRANSPORT_OTHER == static_cast<int>(pixel::transport_error::other),
              "pixel_transport_error mirrors pixel::transport_error");

// ---- size-prefixed structs: the fields both sides know ----

// A field of a size-prefixed struct: where it is and how long.
struct field {
  std::size_t offset;
  std::size_t length;
};
#define PIXEL_FIELD(type, member)                                       \
  field {                                                               \
    offsetof(type, member), sizeof(static_cast<type*>(nullptr)->member) \
  }

// Copies from `from` to `to` the fields (after `size`) that lie wholly inside `size` bytes:
// what both the caller's and the library's version of the struct have.
template <std::size_t N>
void copy_known(void* to, const void* from, std::size_t size, const field (&fields)[N]) noexcept {
  for (const field& f : fields) {
    if (f.offset + f.length > size) continue;
    std::memcpy(static_cast<char*>(to) + f.offset, static_cast<const char*>(from) + f.offset,
                f.length);
  }
}

// `text` into `to` (`size` bytes), NUL-terminated, cut to fit at a UTF-8 character
// boundary.
void copy_truncated(char* to, std::size_t size, const std::string& text) noexcept {
  std::size_t n = std::min(text.size(), size - 1);
  if (n < text.size()) {
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  }
  std::memcpy(to, text.data(), n);
  to[n] = '\0';
}

constexpr field stats_fields[] = {
    PIXEL_FIELD(pixel_stats, queued),
    PIXEL_FIELD(pixel_stats, in_flight),
    PIXEL_FIELD(pixel_stats, delivered),
    PIXEL_FIELD(pixel_stats, retried),
    PIXEL_FIELD(pixel_stats, failed),
    PIXEL_FIELD(pixel_stats, expired),
    PIXEL_FIELD(pixel_stats, dropped),
    PIXEL_FIELD(pixel_stats, concurrency_limit),
    PIXEL_FIELD(pixel_stats, suppressed),
    PIXEL_FIELD(pixel_stats, mode_lowered),
    PIXEL_FIELD(pixel_stats, sampled_out),
    PIXEL_FIELD(pixel_stats, receipts_unwritten),
    PIXEL_FIELD(pixel_stats, endpoint_down_since_ms),
    PIXEL_FIELD(pixel_stats, last_failure),
};
constexpr field event_fields[] = {
    PIXEL_FIELD(pixel_event, params),     PIXEL_FIELD(pixel_event, count),
    PIXEL_FIELD(pixel_event, user_agent), PIXEL_FIELD(pixel_event, tracking_mode),
    PIXEL_FIELD(pixel_event, gpc),
};
// The first pixel_event: size, params, count.
constexpr std::size_t event_min_size = offsetof(pixel_event, count) + sizeof(size_t);
static_assert(offsetof(pixel_stats, size) == 0 && offsetof(pixel_event, size) == 0 &&
                  offsetof(pixel_event_result, size) == 0,
              "size comes first");

// The caller's size field, read without assuming the rest of the struct exists.
std::size_t size_of(const void* s) noexcept {
  std::size_t n;
  std::memcpy(&n, s, sizeof n);
  return n;
}

pixel_transport_error to_c(pixel::transport_error e) noexcept {
  return static_cast<pixel_transport_error>(static_cast<int>(e));
}

}  // namespace

extern "C" {

const char* pixel_version(void) {
  return PIXEL_VERSION_STRING;
}

const char* pixel_status_str(pixel_status status) {
  switch (raw_enum(status)) {
    case PIXEL_OK:
      return "ok";
    case PIXEL_ERR_INVALID_ARGUMENT:
      return "invalid argument";
    case PIXEL_ERR_INVALID_ENDPOINT:
      return "invalid endpoint";
    case PIXEL_ERR_INVALID_UTF8:
      return "invalid UTF-8";
    case PIXEL_ERR_EMPTY_KEY:
      return "empty key";
    case PIXEL_ERR_URL_TOO_LONG:
      return "URL too long";
    case PIXEL_ERR_BUFFER_TOO_SMALL:
      return "buffer too small";
    case PIXEL_ERR_QUEUE_FULL:
      return "queue full";
    case PIXEL_ERR_SHUT_DOWN:
      return "shut down";
    case PIXEL_ERR_TIMEOUT:
      return "timeout";
    case PIXEL_ERR_INTERNAL:
      return "internal error";
    case PIXEL_ERR_SPOOL:
      return "spool error";
  }
  return "unknown status";
}

const char* pixel_transport_error_str(pixel_transport_error error) {
  const int v = raw_enum(error);
  if (v < PIXEL_TRANSPORT_OK || v > PIXEL_TRANSPORT_OTHER) return "unknown";
  return pixel::transport_error_name(static_cast<pixel::transport_error>(v));
}

const char* pixel_last_error(void) {
  return last_error.c_str();
}

pixel_status pixel_url_build(const char* endpoint, const pixel_param* params, size_t count,
                             unsigned flags, char* buf, size_t buf_size, size_t* out_len) {
  return guarded([&] {
    if (auto st = check_buffer(buf, buf_size, out_len); st != PIXEL_OK) return st;
    if (endpoint == nullptr) return null_argument("endpoint");
    if ((flags & ~known_url_flags) != 0) {
      return fail(PIXEL_ERR_INVALID_ARGUMENT, "unknown bits in flags: " + std::to_string(flags));
    }
    std::vector<pixel::param> ps;
    if (auto st = to_params(params, count, ps); st != PIXEL_OK) return st;
    auto ep = pixel::endpoint::parse(endpoint);
    if (!ep) return fail(ep.error());
    pixel::url_options uo;
    uo.event_id = (flags & PIXEL_URL_EVENT_ID) != 0;
    uo.timestamp = (flags & PIXEL_URL_TIMESTAMP) != 0;
    auto builder = pixel::url_builder::create(std::move(*ep), std::move(uo));
    if (!builder) return fail(builder.error());
    std::string url;
    auto id = builder->build_into(pixel::params_view(ps.data(), ps.size()), url);
    if (!id) return fail(id.error());
    return deliver(url, buf, buf_size, out_len);
  });
}

pixel_status pixel_img_tag(const char* url, pixel_img_style style, char* buf, size_t buf_size,
                           size_t* out_len) {
  return guarded([&] {
    if (auto st = check_buffer(buf, buf_size, out_len); st != PIXEL_OK) return st;
    if (url == nullptr) return null_argument("url");
    pixel::img_style s;
    const int style_value = raw_enum(style);
    switch (style_value) {
      case PIXEL_IMG_EMAIL:
        s = pixel::img_style::email;
        break;
      case PIXEL_IMG_PAGE:
        s = pixel::img_style::page;
        break;
      default:
        return fail(PIXEL_ERR_INVALID_ARGUMENT,
                    "unknown image style " + std::to_string(style_value));
    }
    auto tag = pixel::img_tag(url, s);
    if (!tag) return fail(tag.error());
    return deliver(*tag, buf, buf_size, out_len);
  });
}

pixel_options* pixel_options_new(void) {
  try {
    return new pixel_options();
  } catch (...) {
    fail(PIXEL_ERR_INTERNAL, "out of memory");
    return nullptr;
  }
}

void pixel_options_free(pixel_options* options) {
  delete options;
}

pixel_status pixel_options_set_endpoint(pixel_options* options, const char* url) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    return set_text(url, "url", options->cpp.endpoint);
  });
}

pixel_status pixel_options_set_queue_capacity(pixel_options* options, size_t capacity) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    options->cpp.queue_capacity = capacity;
    return ok();
  });
}

pixel_status pixel_options_set_overflow_policy(pixel_options* options,
                                               pixel_overflow_policy policy) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    const int policy_value = raw_enum(policy);
    switch (policy_value) {
      case PIXEL_OVERFLOW_DROP_NEW:
        options->cpp.overflow = pixel::overflow_policy::drop_new;
        break;
      case PIXEL_OVERFLOW_DROP_OLDEST:
        options->cpp.overflow = pixel::overflow_policy::drop_oldest;
        break;
      case PIXEL_OVERFLOW_BLOCK:
        options->cpp.overflow = pixel::overflow_policy::block;
        break;
      default:
        return fail(PIXEL_ERR_INVALID_ARGUMENT,
                    "unknown overflow policy " + std::to_string(policy_value));
    }
    return ok();
  });
}

pixel_status pixel_options_set_block_timeout_ms(pixel_options* options, uint32_t ms) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    return set_ms(ms, options->cpp.block_timeout);
  });
}

pixel_status pixel_options_set_allow_http(pixel_options* options, int allow) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    options->cpp.allow_http = allow != 0;
    return ok();
  });
}

pixel_status pixel_options_set_max_in_flight(pixel_options* options, size_t count) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    options->cpp.max_in_flight = count;
    return ok();
  });
}

pixel_status pixel_options_set_min_in_flight(pixel_options* options, size_t count) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    options->cpp.min_in_flight = count;
    return ok();
  });
}

pixel_status pixel_options_set_worker_threads(pixel_options* options, size_t count) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    options->cpp.worker_threads = count;
    return ok();
  });
}

pixel_status pixel_options_set_connect_timeout_ms(pixel_options* options, uint32_t ms) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    return set_ms(ms, options->cpp.connect_timeout);
  });
}

pixel_status pixel_options_set_request_timeout_ms(pixel_options* options, uint32_t ms) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    return set_ms(ms, options->cpp.request_timeout);
  });
}

pixel_status pixel_options_set_max_attempts(pixel_options* options, uint32_t attempts) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    options->cpp.retry.max_attempts = attempts;
    return ok();
  });
}

pixel_status pixel_options_set_max_age_ms(pixel_options* options, uint32_t ms) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    return set_ms(ms, options->cpp.retry.max_age);
  });
}

pixel_status pixel_options_set_shutdown_timeout_ms(pixel_options* options, uint32_t ms) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    return set_ms(ms, options->cpp.shutdown_timeout);  // 0: drop what is left at once
  });
}

pixel_status pixel_options_set_user_agent(pixel_options* options, const char* user_agent) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    return set_text(user_agent, "user_agent", options->cpp.user_agent);
  });
}

pixel_status pixel_options_set_proxy(pixel_options* options, const char* proxy) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    return set_text(proxy, "proxy", options->cpp.proxy);
  });
}

// ---- durable delivery ----

pixel_status pixel_options_set_spool_dir(pixel_options* options, const char* dir) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    return set_text(dir, "spool_dir", options->cpp.spool_dir);
  });
}

pixel_status pixel_options_set_durability(pixel_options* options, pixel_durability level) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    switch (raw_enum(level)) {
      case PIXEL_DURABILITY_MEMORY:
        options->cpp.durability = pixel::durability::memory;
        return ok();
      case PIXEL_DURABILITY_BATCHED:
        options->cpp.durability = pixel::durability::batched;
        return ok();
      case PIXEL_DURABILITY_SYNC:
        options->cpp.durability = pixel::durability::sync;
        return ok();
    }
    return fail(PIXEL_ERR_INVALID_ARGUMENT, "unknown durability level");
  });
}

pixel_status pixel_options_set_spool_max_bytes(pixel_options* options, uint64_t bytes) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    options->cpp.spool_max_bytes = bytes;
    return ok();
  });
}

pixel_status pixel_options_set_receipts_path(pixel_options* options, const char* path) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    return set_text(path, "path", options->cpp.receipts_path);
  });
}

pixel_status pixel_options_set_max_rate(pixel_options* options, double per_second) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    options->cpp.max_rate = per_second;
    return ok();
  });
}

pixel_status pixel_options_set_sample_rate(pixel_options* options, double rate) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    options->cpp.sample_rate = rate;
    return ok();
  });
}

pixel_status pixel_options_set_sample_key(pixel_options* options, const char* key) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    return set_text(key, "key", options->cpp.sample_key);
  });
}

pixel_status pixel_options_set_sample_salt(pixel_options* options, const void* salt, size_t len) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    if (salt == nullptr && len > 0) return null_argument("salt");
    options->cpp.sample_salt.assign(static_cast<const char*>(salt), len);
    return ok();
  });
}

pixel_status pixel_options_set_tracking_mode(pixel_options* options, pixel_tracking_mode mode) {
  return guarded([&] {
    return set_mode(options, raw_enum(mode), "tracking mode",
                    &pixel::tracker_options::tracking_mode);
  });
}

pixel_status pixel_options_set_gpc_mode(pixel_options* options, pixel_tracking_mode mode) {
  return guarded([&] {
    return set_mode(options, raw_enum(mode), "GPC mode", &pixel::tracker_options::gpc_mode);
  });
}

pixel_status pixel_options_set_identity_params(pixel_options* options, const char* const* names,
                                               size_t count) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    if (names == nullptr && count > 0) return null_argument("names (with count > 0)");
    std::vector<std::string> list(count);
    for (std::size_t i = 0; i < count; ++i) {
      if (names[i] == nullptr) {
        return fail(PIXEL_ERR_INVALID_ARGUMENT,
                    "identity parameter " + std::to_string(i + 1) + " is NULL");
      }
      if (auto st = set_text(names[i], "an identity parameter", list[i]); st != PIXEL_OK) {
        return st;
      }
    }
    options->cpp.identity_params = std::move(list);
    return ok();
  });
}

pixel_status pixel_options_set_pseudonym_key(pixel_options* options, const uint8_t* key,
                                             size_t len) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    if (key == nullptr && len > 0) return null_argument("key (with len > 0)");
    if (len == 0) {
      options->cpp.pseudonym_key.clear();
    } else {
      options->cpp.pseudonym_key.assign(reinterpret_cast<const char*>(key), len);
    }
    return ok();
  });
}

pixel_status pixel_sample_keeps(double rate, const void* salt, size_t salt_len, const char* value,
                                size_t value_len, int* keep) {
  return guarded([&] {
    if (keep == nullptr) return null_argument("keep");
    if (salt == nullptr && salt_len > 0) return null_argument("salt");
    if (value == nullptr && value_len > 0) return null_argument("value");
    *keep = pixel::sample_keeps(rate, std::string_view(static_cast<const char*>(salt), salt_len),
                                std::string_view(value, value_len))
                ? 1
                : 0;
    return ok();
  });
}

pixel_status pixel_options_set_backoff_base_ms(pixel_options* options, uint32_t ms) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    return set_ms(ms, options->cpp.retry.base_delay);
  });
}

pixel_status pixel_options_set_backoff_max_ms(pixel_options* options, uint32_t ms) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    return set_ms(ms, options->cpp.retry.max_delay);
  });
}

pixel_status pixel_options_set_retry_after_cap_ms(pixel_options* options, uint32_t ms) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    return set_ms(ms, options->cpp.retry_after_cap);
  });
}

pixel_status pixel_options_set_outage_threshold(pixel_options* options, uint32_t failures) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    options->cpp.outage_threshold = failures;
    return ok();
  });
}

pixel_status pixel_options_set_probe_interval_ms(pixel_options* options, uint32_t ms) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    return set_ms(ms, options->cpp.probe_interval);
  });
}

pixel_status pixel_options_set_ca_file(pixel_options* options, const char* path) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    return set_text(path, "path", options->cpp.ca_file);
  });
}

pixel_status pixel_options_set_url_flags(pixel_options* options, unsigned flags) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    if ((flags & ~known_url_flags) != 0) {
      return fail(PIXEL_ERR_INVALID_ARGUMENT, "unknown bits in flags: " + std::to_string(flags));
    }
    options->cpp.url.event_id = (flags & PIXEL_URL_EVENT_ID) != 0;
    options->cpp.url.timestamp = (flags & PIXEL_URL_TIMESTAMP) != 0;
    return ok();
  });
}

pixel_status pixel_options_set_result_callback(pixel_options* options,
                                               pixel_result_callback callback, void* user) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    options->callback = callback;
    options->user = callback != nullptr ? user : nullptr;
    return ok();
  });
}

pixel_status pixel_options_set_log_callback(pixel_options* options, pixel_log_callback callback,
                                            void* user) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    options->log_callback = callback;
    options->log_user = callback != nullptr ? user : nullptr;
    return ok();
  });
}

pixel_status pixel_tracker_new(const pixel_options* options, pixel_tracker** out) {
  if (out != nullptr) *out = nullptr;
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    if (out == nullptr) return null_argument("out");
    pixel::tracker_options o = options->cpp;
    if (options->callback != nullptr) {
      o.on_result = [cb = options->callback, user = options->user](const pixel::event_result& r) {
        // The C strings must be NUL-terminated; the C++ views are not.
        char id[pixel::event_id::length + 1] = {};
        const std::size_t n = std::min(r.event_id.size(), pixel::event_id::length);
        std::memcpy(id, r.event_id.data(), n);
        std::string message;
        try {
          message.assign(r.message);
        } catch (...) {
          // Out of memory: the outcome still reaches the caller, without its text.
        }
        pixel_event_result c{};
        c.size = sizeof c;
        c.event_id = id;
        switch (r.outcome) {
          case pixel::outcome::delivered:
            c.outcome = PIXEL_OUTCOME_DELIVERED;
            break;
          case pixel::outcome::failed:
            c.outcome = PIXEL_OUTCOME_FAILED;
            break;
          case pixel::outcome::expired:
            c.outcome = PIXEL_OUTCOME_EXPIRED;
            break;
          case pixel::outcome::dropped:
            c.outcome = PIXEL_OUTCOME_DROPPED;
            break;
          case pixel::outcome::suppressed:
            c.outcome = PIXEL_OUTCOME_SUPPRESSED;
            break;
        }
        c.attempts = r.attempts;
        c.http_status = r.http_status;
        c.transport_error = to_c(r.transport_error);
        c.message = message.c_str();
        cb(&c, user);
      };
    }
    if (options->log_callback != nullptr) {
      o.on_log = [cb = options->log_callback, user = options->log_user](std::string_view line) {
        // The C string must be NUL-terminated; the C++ view is not.
        std::string text;
        try {
          text.assign(line);
        } catch (...) {
          return;  // Out of memory: the line is lost (the outage still shows in the stats).
        }
        cb(text.c_str(), user);
      };
    }
    auto t = pixel::tracker::create(std::move(o));
    if (!t) return fail(t.error());
    *out = new pixel_tracker(std::move(*t));
    return ok();
  });
}

pixel_status pixel_track(pixel_tracker* tracker, const pixel_param* params, size_t count) {
  return guarded([&] { return track(tracker, params, count, nullptr, nullptr); });
}

pixel_status pixel_track_with_user_agent(pixel_tracker* tracker, const pixel_param* params,
                                         size_t count, const char* user_agent) {
  return guarded([&] {
    if (tracker == nullptr) return null_argument("tracker");
    if (user_agent == nullptr) return null_argument("user_agent");
    return track(tracker, params, count, user_agent, nullptr);
  });
}

pixel_status pixel_track_event(pixel_tracker* tracker, const pixel_event* event,
                               char id_out[PIXEL_EVENT_ID_SIZE]) {
  return guarded([&] {
    if (id_out != nullptr) id_out[0] = '\0';
    if (event == nullptr) return null_argument("event");
    const std::size_t size = size_of(event);
    if (size < event_min_size) {
      return fail(PIXEL_ERR_INVALID_ARGUMENT,
                  "event->size is " + std::to_string(size) +
                      ": set it to sizeof(pixel_event) (PIXEL_EVENT_INIT does)");
    }
    pixel_event e = PIXEL_EVENT_INIT;
    copy_known(&e, event, size, event_fields);
    return track(tracker, e.params, e.count, e.user_agent, id_out, raw_enum(e.tracking_mode),
                 e.gpc);
  });
}

pixel_status pixel_tracker_flush(pixel_tracker* tracker, uint32_t timeout_ms) {
  return guarded([&] {
    if (tracker == nullptr) return null_argument("tracker");
    if (tracker->cpp.flush(std::chrono::milliseconds(timeout_ms))) return ok();
    return fail(PIXEL_ERR_TIMEOUT,
                "events still pending after " + std::to_string(timeout_ms) + " ms");
  });
}

pixel_status pixel_tracker_stats(const pixel_tracker* tracker, pixel_stats* out) {
  return guarded([&] {
    if (tracker == nullptr) return null_argument("tracker");
    if (out == nullptr) return null_argument("out");
    const std::size_t size = size_of(out);
    if (size < sizeof(size_t)) {
      return fail(PIXEL_ERR_INVALID_ARGUMENT,
                  "out->size is " + std::to_string(size) +
                      ": set it to sizeof(pixel_stats) (PIXEL_STATS_INIT does)");
    }
    const pixel::tracker_stats s = tracker->cpp.stats();
    pixel_stats all = PIXEL_STATS_INIT;
    all.queued = s.queued;
    all.in_flight = s.in_flight;
    all.delivered = s.delivered;
    all.retried = s.retried;
    all.failed = s.failed;
    all.expired = s.expired;
    all.dropped = s.dropped;
    all.concurrency_limit = s.concurrency_limit;
    all.suppressed = s.suppressed;
    all.mode_lowered = s.mode_lowered;
    all.sampled_out = s.sampled_out;
    all.receipts_unwritten = s.receipts_unwritten;
    all.endpoint_down_since_ms = s.endpoint_down_since;
    copy_truncated(all.last_failure, sizeof all.last_failure, s.last_failure);
    copy_known(out, &all, size, stats_fields);
    return ok();
  });
}

pixel_status pixel_tracker_shutdown(pixel_tracker* tracker, uint32_t timeout_ms) {
  return guarded([&] {
    if (tracker == nullptr) return null_argument("tracker");
    (void)tracker->cpp.shutdown(std::chrono::milliseconds(timeout_ms));
    return ok();
  });
}

void pixel_tracker_free(pixel_tracker* tracker) {
  try {
    delete tracker;  // the C++ destructor shuts down with options.shutdown_timeout
  } catch (...) {
    // A destructor does not throw; nothing may escape into C regardless.
  }
}

}  // extern "C"

// ---- Signed URLs ----------------------------------------------------------------------

namespace {
// A signer for kid/key (C arguments); errors name neither the key nor its bytes.
pixel_status make_signer(const char* kid, const uint8_t* key, std::size_t key_len,
                         std::chrono::seconds ttl, std::shared_ptr<const pixel::url_signer>& out) {
  if (kid == nullptr) return null_argument("kid");
  if (key == nullptr) return null_argument("key");
  auto signer = pixel::make_url_signer(
      kid, std::string_view(reinterpret_cast<const char*>(key), key_len), ttl);
  if (!signer) return fail(signer.error());
  out = std::move(*signer);
  return PIXEL_OK;
}

std::chrono::seconds ttl_or_default(uint32_t seconds) noexcept {
  return seconds == 0 ? pixel::default_signature_lifetime : std::chrono::seconds(seconds);
}
}  // namespace

extern "C" {

pixel_status pixel_options_set_signing_key(pixel_options* options, const char* kid,
                                           const uint8_t* key, size_t key_len) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    if (kid == nullptr) {
      options->cpp.url.signer.reset();
      options->signing_kid.clear();
      options->signing_key.clear();
      return ok();
    }
    std::shared_ptr<const pixel::url_signer> signer;
    if (auto st = make_signer(kid, key, key_len, options->signature_ttl, signer); st != PIXEL_OK) {
      return st;
    }
    options->cpp.url.signer = std::move(signer);
    options->signing_kid = kid;
    options->signing_key.assign(reinterpret_cast<const char*>(key), key_len);
    return ok();
  });
}

pixel_status pixel_options_set_signature_ttl_s(pixel_options* options, uint32_t seconds) {
  return guarded([&] {
    if (options == nullptr) return null_argument("options");
    options->signature_ttl = ttl_or_default(seconds);
    if (options->signing_kid.empty()) return ok();
    std::shared_ptr<const pixel::url_signer> signer;
    const auto* key = reinterpret_cast<const uint8_t*>(options->signing_key.data());
    if (auto st = make_signer(options->signing_kid.c_str(), key, options->signing_key.size(),
                              options->signature_ttl, signer);
        st != PIXEL_OK) {
      return st;
    }
    options->cpp.url.signer = std::move(signer);
    return ok();
  });
}

pixel_status pixel_url_build_signed(const char* endpoint, const pixel_param* params, size_t count,
                                    unsigned flags, const char* kid, const uint8_t* key,
                                    size_t key_len, uint32_t ttl_s, char* buf, size_t buf_size,
                                    size_t* out_len) {
  return guarded([&] {
    if (auto st = check_buffer(buf, buf_size, out_len); st != PIXEL_OK) return st;
    if (endpoint == nullptr) return null_argument("endpoint");
    if ((flags & ~known_url_flags) != 0) {
      return fail(PIXEL_ERR_INVALID_ARGUMENT, "unknown bits in flags: " + std::to_string(flags));
    }
    std::vector<pixel::param> ps;
    if (auto st = to_params(params, count, ps); st != PIXEL_OK) return st;
    pixel::url_options uo;
    if (auto st = make_signer(kid, key, key_len, ttl_or_default(ttl_s), uo.signer);
        st != PIXEL_OK) {
      return st;
    }
    auto ep = pixel::endpoint::parse(endpoint);
    if (!ep) return fail(ep.error());
    uo.event_id = (flags & PIXEL_URL_EVENT_ID) != 0;
    uo.timestamp = (flags & PIXEL_URL_TIMESTAMP) != 0;
    auto builder = pixel::url_builder::create(std::move(*ep), std::move(uo));
    if (!builder) return fail(builder.error());
    std::string url;
    auto id = builder->build_into(pixel::params_view(ps.data(), ps.size()), url);
    if (!id) return fail(id.error());
    return deliver(url, buf, buf_size, out_len);
  });
}

}  // extern "C"
