// SPDX-License-Identifier: MIT
#include "tracker/transport/curl_transport.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "tracker/policy/policy.hpp"
#include "tracker/transport/curl_connections.hpp"
#include "tracker/transport/poller.hpp"

namespace pixel::detail {

bool curl_global_ready() noexcept {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] { ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; });
  return ok;
}

transport_error classify(CURLcode code) noexcept {
  switch (code) {
    case CURLE_OK:
      return transport_error::none;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return transport_error::dns;
    case CURLE_COULDNT_CONNECT:
      return transport_error::connect;
    case CURLE_OPERATION_TIMEDOUT:
      return transport_error::timeout;
    case CURLE_SEND_ERROR:
      return transport_error::send;
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
      return transport_error::receive;
    case CURLE_GOT_NOTHING:
      return transport_error::reset;
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_WEIRD_SERVER_REPLY:
      return transport_error::protocol;
    case CURLE_SSL_CONNECT_ERROR:  // a handshake cut short; verification errors differ
      return transport_error::tls;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
      return transport_error::certificate;
    default:
      return transport_error::other;
  }
}

bool not_tls(std::string_view handshake_error) noexcept {
  // OpenSSL reads "HTTP/1.1 400" as a record of an unknown version (or an absurd length);
  // GnuTLS says so in words.
  for (std::string_view sign : {"wrong version number", "packet length too long",
                                "unexpected TLS packet", "http request"}) {
    if (handshake_error.find(sign) != std::string_view::npos) return true;
  }
  return false;
}

namespace {
size_t discard_body(char*, size_t size, size_t nmemb, void*) {
  return size * nmemb;
}
}  // namespace

CURLcode configure_easy(CURL* easy, const tracker_options& options, bool secure,
                        curl_write_callback header_cb, void* context) {
  CURLcode rc = CURLE_OK;
  auto set = [&](CURLoption opt, auto value) {
    if (rc == CURLE_OK) rc = curl_easy_setopt(easy, opt, value);
  };
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_HTTPGET, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500  // 7.85: the string form; the bitmask is deprecated there
  set(CURLOPT_PROTOCOLS_STR, "http,https");
#else
  set(CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  set(CURLOPT_FOLLOWLOCATION, 0L);  // redirects are judged by the delivery policy
  set(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  if (secure) set(CURLOPT_PIPEWAIT, 1L);  // prefer an HTTP/2 stream to a new connection
  set(CURLOPT_TCP_KEEPALIVE, 1L);
  set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
  set(CURLOPT_TIMEOUT_MS, static_cast<long>(options.request_timeout.count()));
  set(CURLOPT_SSL_VERIFYPEER, 1L);
  set(CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options.ca_file.empty()) set(CURLOPT_CAINFO, options.ca_file.c_str());
  // An empty string turns proxies off, http_proxy and friends included: a library should
  // not route events through whatever the environment says unless asked to.
  set(CURLOPT_PROXY, options.proxy.c_str());
  set(CURLOPT_WRITEFUNCTION, &discard_body);
  set(CURLOPT_HEADERFUNCTION, header_cb);
  set(CURLOPT_HEADERDATA, context);
  set(CURLOPT_PRIVATE, context);
  return rc;
}

namespace {
// One multi handle and its easy handles, driven by the poller of this build
// (tracker/transport/poller.hpp): which sockets are waited on, and how, is the poller's business.
class curl_transport final : public transport {
 public:
  curl_transport(const tracker_options& options, bool secure)
      : options_(options), secure_(secure) {}

  ~curl_transport() override {
    for (auto& t : transfers_) {
      if (t->easy == nullptr) continue;
      if (t->busy) curl_multi_remove_handle(multi_, t->easy);
      curl_easy_cleanup(t->easy);
    }
    if (multi_ != nullptr) curl_multi_cleanup(multi_);  // may still tell the poller
    poller_.reset();
    if (share_ != nullptr) curl_share_cleanup(share_);
  }

  // Easy handles for the floor now (a configuration error shows at create), the others
  // when the in-flight limit first needs them.
  result<void> init(std::size_t capacity) {
    if (!curl_global_ready()) return error(errc::internal, "curl_global_init failed");
    multi_ = curl_multi_init();
    if (multi_ == nullptr) return error(errc::internal, "curl_multi_init failed");
    auto p = make_poller(multi_);
    if (!p) return p.error();
    poller_ = std::move(*p);
    capacity_ = capacity;
    // TLS sessions shared by every easy handle: a new connection (after a GOAWAY, say)
    // resumes the session whichever handle opens it. One thread uses them: no lock.
    share_ = curl_share_init();
    if (share_ == nullptr) return error(errc::internal, "curl_share_init failed");
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    const std::size_t now = std::min(options_.min_in_flight, capacity);
    connections_.init(multi_, secure_, capacity, now);
    transfers_.reserve(capacity);
    free_.reserve(capacity);
    for (std::size_t i = 0; i < now; ++i) {
      if (auto ok = add_transfer(); !ok) return ok;
    }
    return {};
  }

  std::size_t capacity() const noexcept override { return capacity_; }
  std::size_t in_flight() const noexcept override { return transfers_.size() - free_.size(); }

  void set_in_flight_limit(std::size_t limit) noexcept override {
    if (connections_.set_in_flight(limit)) unpark(std::chrono::steady_clock::now(), true);
  }

  void start(stored_event&& e) override {
    if (free_.empty()) {
      if (auto ok = add_transfer(); !ok) {
        refuse(std::move(e), ok.error().message());  // out of memory
        return;
      }
    }
    transfer* t = free_.back();
    free_.pop_back();
    t->event = std::move(e);
    t->retry_after.clear();
    t->error_buffer[0] = '\0';
    curl_easy_setopt(t->easy, CURLOPT_URL, t->event.url.c_str());
    curl_easy_setopt(
        t->easy, CURLOPT_USERAGENT,
        t->event.user_agent.empty() ? options_.user_agent.c_str() : t->event.user_agent.c_str());
    const CURLMcode mc = curl_multi_add_handle(multi_, t->easy);
    if (mc != CURLM_OK) {
      // Cannot happen with a healthy multi handle.
      refuse(std::move(t->event), std::string("curl_multi_add_handle: ") + curl_multi_strerror(mc));
      free_.push_back(t);
      return;
    }
    t->busy = true;
    t->started = t->since = std::chrono::steady_clock::now();
    t->patience = k_park_patience;
  }

  // Waits at most `timeout`, at most until libcurl's next timer, and at most k_park_check
  // while transfers run: libcurl 7.88 can leave transfers parked with no socket and no
  // timer due (curl_connections.hpp). A timeout of 0 still runs the sockets that are
  // ready: a worker woken again and again by producers must not starve its transfers.
  void poll(std::chrono::milliseconds timeout, std::vector<completion>& out) override {
    const std::size_t before = out.size();
    poller_->drive();
    collect(out);
    if (out.size() != before) return;
    timeout = std::max(timeout, std::chrono::milliseconds(0));
    if (in_flight() > 0) timeout = std::min(timeout, k_park_check);
    poller_->wait_and_drive(timeout);
    collect(out);
  }

  void wake() noexcept override { poller_->wake(); }

  void abort_all(std::vector<stored_event>& out) override {
    for (auto& t : transfers_) {
      if (!t->busy) continue;
      curl_multi_remove_handle(multi_, t->easy);
      t->busy = false;
      out.push_back(std::move(t->event));
      free_.push_back(t.get());
    }
    for (auto& c : refused_) out.push_back(std::move(c.event));
    refused_.clear();
  }

 private:
  using clock = std::chrono::steady_clock;

  struct transfer {
    CURL* easy = nullptr;
    bool busy = false;
    stored_event event;
    std::string retry_after;                  // the last Retry-After header seen
    char error_buffer[CURL_ERROR_SIZE] = {};  // libcurl's words for a failure (the details)
    clock::time_point started;                // start()
    clock::time_point since;                  // added to the multi handle (again)
    std::chrono::milliseconds patience{k_park_patience};
  };

  result<void> add_transfer() {
    if (transfers_.size() >= capacity_) return error(errc::internal, "no transfer left");
    auto t = std::make_unique<transfer>();
    t->easy = curl_easy_init();
    if (t->easy == nullptr) return error(errc::internal, "curl_easy_init failed");
    CURLcode rc = configure_easy(t->easy, options_, secure_, &on_header, t.get());
    if (rc == CURLE_OK) rc = curl_easy_setopt(t->easy, CURLOPT_SHARE, share_);
    if (rc == CURLE_OK) rc = curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, t->error_buffer);
    if (rc != CURLE_OK) {
      curl_easy_cleanup(t->easy);
      return error(errc::internal,
                   std::string("cannot configure libcurl: ") + curl_easy_strerror(rc));
    }
    free_.push_back(t.get());
    transfers_.push_back(std::move(t));
    return {};
  }

  static size_t on_header(char* data, size_t size, size_t nitems, void* context) {
    const size_t n = size * nitems;
    constexpr std::string_view name = "retry-after:";
    if (n > name.size() && iequals(std::string_view(data, name.size()), name)) {
      std::string_view value(data + name.size(), n - name.size());
      static_cast<transfer*>(context)->retry_after.assign(value.data(), value.size());
    }
    return n;
  }

  // An event the transport could not start (or restart), back at the next poll as a local
  // failure (transport_error::other): never lost over it.
  void refuse(stored_event&& e, std::string why) {
    completion c;
    c.event = std::move(e);
    c.result.error = transport_error::other;
    c.result.error_text = std::move(why);
    refused_.push_back(std::move(c));
  }

  // Removes and re-adds transfers libcurl parked waiting for a connection: all of them
  // when `all` (the connection limit just changed), else those parked longer than their
  // patience, which then doubles.
  void unpark(clock::time_point now, bool all) {
    if (!all && now < next_park_check_) return;
    next_park_check_ = now + k_park_check;
    for (auto& t : transfers_) {
      if (!t->busy || (!all && now - t->since < t->patience) || !parked(t->easy)) continue;
      curl_multi_remove_handle(multi_, t->easy);
      if (curl_multi_add_handle(multi_, t->easy) != CURLM_OK) {
        // Cannot happen with a healthy multi handle.
        refuse(std::move(t->event), "curl_multi_add_handle failed re-driving a parked transfer");
        t->busy = false;
        free_.push_back(t.get());
        continue;
      }
      t->since = now;
      if (!all) t->patience = std::min<std::chrono::milliseconds>(t->patience * 2, k_park_max);
    }
  }

  // Moves the finished transfers (and any refused by start) to `out`.
  void collect(std::vector<completion>& out) {
    for (auto& c : refused_) out.push_back(std::move(c));
    refused_.clear();
    const clock::time_point now = clock::now();
    bool relimit = false;
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      const CURLcode code = msg->data.result;
      transfer* t = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
      out.emplace_back();
      completion& c = out.back();
      attempt_result& r = c.result;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r.status);
      if (is_redirect_status(r.status)) {
        char* location = nullptr;
        curl_easy_getinfo(easy, CURLINFO_REDIRECT_URL, &location);
        if (location != nullptr) r.location = location;
      }
      r.error = classify(code);
      if (code != CURLE_OK) {
        // The details ("Failed to connect to 127.0.0.1 port 1 ...") when libcurl gave any.
        r.error_text = t->error_buffer[0] != '\0' ? t->error_buffer : curl_easy_strerror(code);
        r.misconfigured = code == CURLE_SSL_CONNECT_ERROR && not_tls(r.error_text);
      }
      if (code == CURLE_SEND_ERROR && r.status == 0) {
        // Not sent on a connection reused from an earlier transfer: the server had closed
        // it (GOAWAY, keep-alive timeout) and cannot have seen the request.
        long connects = 0;
        curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects);
        r.unprocessed = connects == 0;
      }
      relimit |= connections_.learn(easy, code);
      r.latency = now - t->started;
      curl_multi_remove_handle(multi_, easy);
      t->busy = false;
      c.event = std::move(t->event);
      r.retry_after = std::move(t->retry_after);
      free_.push_back(t);
    }
    unpark(now, relimit);
  }

  const tracker_options options_;
  const bool secure_;
  std::size_t capacity_ = 0;
  CURLM* multi_ = nullptr;
  CURLSH* share_ = nullptr;
  connection_plan connections_;
  std::vector<std::unique_ptr<transfer>> transfers_;
  std::vector<transfer*> free_;
  std::vector<completion> refused_;  // start() could not add them
  clock::time_point next_park_check_{};
  std::unique_ptr<poller> poller_;  // after multi_ in destruction (see the destructor)
};
}  // namespace

result<std::unique_ptr<transport>> make_curl_transport(const tracker_options& options, bool secure,
                                                       std::size_t capacity) {
  auto t = std::make_unique<curl_transport>(options, secure);
  if (auto ok = t->init(capacity); !ok) return ok.error();
  return std::unique_ptr<transport>(std::move(t));
}

}  // namespace pixel::detail
