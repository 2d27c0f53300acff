// pixel: the URL builder. Header-only, part of <pixel/url.hpp>.
// SPDX-License-Identifier: MIT
#ifndef PIXEL_URL_BUILDER_HPP
#define PIXEL_URL_BUILDER_HPP

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "pixel/error.hpp"
#include "pixel/url/encoding.hpp"
#include "pixel/url/endpoint.hpp"
#include "pixel/url/event_id.hpp"
#include "pixel/url/params.hpp"
#include "pixel/url/sign.hpp"

namespace pixel {

// ---------------------------------------------------------------------------------------
// URL builder

struct url_options {
  bool event_id = true;   // add the event id (consumers de-duplicate with it)
  bool timestamp = true;  // add the client time in Unix milliseconds
  std::string event_id_key = "eid";
  std::string timestamp_key = "ts";
  // Longest URL produced, in bytes, counting all of it (scheme to the end of the query).
  // At most cloudfront_max_url_length: anything longer gets a 413 and is never logged.
  std::size_t max_length = cloudfront_max_url_length;
  // When set, every URL is signed: kid, exp and sig are appended (pixel/url/sign.hpp), and
  // a parameter named kid, exp or sig is refused. make_url_signer() makes one (compiled,
  // libpixelcpp); without a signer the builder needs only the headers.
  std::shared_ptr<const url_signer> signer;
};

// Builds pixel URLs for one endpoint. Immutable once made; safe to share between threads.
class url_builder {
 public:
  // Default options: eid and ts on, 8,192-byte limit.
  explicit url_builder(endpoint ep) : endpoint_(std::move(ep)) {}

  // Checks the options: max_length in 1..8192, non-empty distinct UTF-8 keys.
  static result<url_builder> create(endpoint ep, url_options options) {
    if (options.max_length == 0 || options.max_length > cloudfront_max_url_length) {
      return error(errc::invalid_argument,
                   "max_length must be between 1 and " + std::to_string(cloudfront_max_url_length));
    }
    if (options.event_id) {
      if (auto ok = validate_param({options.event_id_key, {}}, 0); !ok) {
        return error(ok.error().code(), "event id key: " + ok.error().message());
      }
    }
    if (options.timestamp) {
      if (auto ok = validate_param({options.timestamp_key, {}}, 0); !ok) {
        return error(ok.error().code(), "timestamp key: " + ok.error().message());
      }
    }
    if (options.event_id && options.timestamp && options.event_id_key == options.timestamp_key) {
      return error(errc::invalid_argument, "event id and timestamp keys must differ");
    }
    if (options.signer && ((options.event_id && is_signature_param(options.event_id_key)) ||
                           (options.timestamp && is_signature_param(options.timestamp_key)))) {
      return error(errc::invalid_argument,
                   "event id and timestamp keys must not be kid, exp or sig when signing");
    }
    url_builder b(std::move(ep));
    b.options_ = std::move(options);
    return b;
  }

  const endpoint& target() const noexcept { return endpoint_; }
  const url_options& options() const noexcept { return options_; }

  // Writes the URL for `params` into `out` (replacing its contents) with the given event
  // id and timestamp, each added only when enabled in the options. Nothing is written on
  // error. Once `out` has grown to fit, this allocates nothing.
  // With a signer, the URL expires at timestamp_ms / 1000 + the signer's lifetime.
  result<void> build_with(params_view params, std::string_view id, std::uint64_t timestamp_ms,
                          std::string& out) const {
    const std::uint64_t expires =
        options_.signer
            ? timestamp_ms / 1000 + static_cast<std::uint64_t>(options_.signer->lifetime().count())
            : 0;
    return build_with(params, id, timestamp_ms, expires, out);
  }

  // The same with the expiry (Unix seconds) given; it is used only with a signer.
  result<void> build_with(params_view params, std::string_view id, std::uint64_t timestamp_ms,
                          std::uint64_t expires_unix_s, std::string& out) const {
    // Validate everything first, and bound the size: every byte encodes to at most three.
    // The exact length is only computed when the bound is over the limit.
    std::size_t bound = endpoint_.url().size();
    for (std::size_t i = 0; i < params.size(); ++i) {
      const param& p = params[i];
      if (auto ok = validate_param(p, i); !ok) return ok;
      if ((options_.event_id && p.key == options_.event_id_key) ||
          (options_.timestamp && p.key == options_.timestamp_key)) {
        return error(errc::invalid_argument, "key '" + detail::printable(p.key) +
                                                 "' is reserved for the event id or timestamp");
      }
      if (options_.signer && is_signature_param(p.key)) {
        return error(errc::invalid_argument, "key '" + std::string(p.key) +
                                                 "' is reserved for the signature (kid, exp, sig)");
      }
      bound += 2 + 3 * (p.key.size() + p.value.size());
    }
    char ts_text[24];
    std::size_t ts_len = 0;
    if (options_.event_id) bound += 2 + 3 * (options_.event_id_key.size() + id.size());
    if (options_.timestamp) {
      ts_len = static_cast<std::size_t>(
          std::to_chars(ts_text, ts_text + sizeof ts_text, timestamp_ms).ptr - ts_text);
      bound += 2 + 3 * options_.timestamp_key.size() + ts_len;
    }
    char exp_text[24];
    std::size_t exp_len = 0;
    if (options_.signer) {
      exp_len = static_cast<std::size_t>(
          std::to_chars(exp_text, exp_text + sizeof exp_text, expires_unix_s).ptr - exp_text);
      bound += signature_suffix_length(exp_len);
    }
    if (bound > options_.max_length) {
      const std::size_t total = exact_length(params, id, ts_len) +
                                (options_.signer ? signature_suffix_length(exp_len) : 0);
      if (total > options_.max_length) {
        return error(errc::url_too_long, "URL would be " + std::to_string(total) +
                                             " bytes, over the limit of " +
                                             std::to_string(options_.max_length));
      }
      bound = total;
    }
    out.resize(bound + 3);  // slack for the encoder's four-byte stores
    char* const begin = out.data();
    char* w = begin;
    std::memcpy(w, endpoint_.url().data(), endpoint_.url().size());
    w += endpoint_.url().size();
    char sep = '?';
    auto put = [&](std::string_view k, std::string_view v) {
      *w++ = sep;
      sep = '&';
      w = detail::percent_encode_to(k, w);
      *w++ = '=';
      w = detail::percent_encode_to(v, w);
    };
    for (const param& p : params) put(p.key, p.value);
    if (options_.event_id) put(options_.event_id_key, id);
    if (options_.timestamp) put(options_.timestamp_key, std::string_view(ts_text, ts_len));
    if (options_.signer) {
      put(signature_key_id_param, options_.signer->key_id());
      put(signature_expiry_param, std::string_view(exp_text, exp_len));
      const std::size_t query_at = endpoint_.url().size() + 1;
      const std::string_view query(begin + query_at,
                                   static_cast<std::size_t>(w - begin) - query_at);
      std::string to_sign;
      detail::signature_fields fields;
      (void)detail::string_to_sign(endpoint_.path(), query, to_sign, fields);  // our own encoding
      *w++ = '&';
      std::memcpy(w, signature_param.data(), signature_param.size());
      w += signature_param.size();
      *w++ = '=';
      options_.signer->sign(to_sign, w);
      w += signature_length;
    }
    out.resize(static_cast<std::size_t>(w - begin));
    return {};
  }

  // The exact length of the URL build_with would produce (parameters already valid).
  std::size_t exact_length(params_view params, std::string_view id, std::size_t ts_len) const {
    std::size_t total = endpoint_.url().size();
    for (const param& p : params) total += 2 + encoded_length(p.key) + encoded_length(p.value);
    if (options_.event_id) total += 2 + encoded_length(options_.event_id_key) + encoded_length(id);
    if (options_.timestamp) total += 2 + encoded_length(options_.timestamp_key) + ts_len;
    return total;
  }

  // The bytes the signature adds: "&kid=" KID "&exp=" EXP "&sig=" SIG.
  std::size_t signature_suffix_length(std::size_t exp_len) const noexcept {
    return 5 + options_.signer->key_id().size() + 5 + exp_len + 5 + signature_length;
  }

  // Generates an event id, reads the clock, and writes the URL into `out`. Returns the id.
  result<event_id> build_into(params_view params, std::string& out) const {
    const event_id id = event_id::generate();
    auto ok = build_with(params, id.view(), detail::unix_millis(), out);
    if (!ok) return ok.error();
    return id;
  }

  result<std::string> build(params_view params) const {
    std::string out;
    auto ok = build_into(params, out);
    if (!ok) return ok.error();
    return out;
  }

 private:
  endpoint endpoint_;
  url_options options_;
};

// One-shot convenience: parse `endpoint_url`, then build. Prefer a url_builder in loops.
inline result<std::string> build_url(std::string_view endpoint_url, params_view params,
                                     const url_options& options = {},
                                     const endpoint_options& endpoint_opts = {}) {
  auto ep = endpoint::parse(endpoint_url, endpoint_opts);
  if (!ep) return ep.error();
  auto builder = url_builder::create(std::move(*ep), options);
  if (!builder) return builder.error();
  return builder->build(params);
}

}  // namespace pixel

#endif  // PIXEL_URL_BUILDER_HPP
