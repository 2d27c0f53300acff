// SPDX-License-Identifier: MIT
#include "tracker/curl_transport.hpp"

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "tracker/policy.hpp"

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
class curl_transport final : public transport {
 public:
  explicit curl_transport(std::string user_agent) : user_agent_(std::move(user_agent)) {}

  ~curl_transport() override {
    for (auto& t : transfers_) {
      if (t->easy == nullptr) continue;
      if (t->busy) curl_multi_remove_handle(multi_, t->easy);
      curl_easy_cleanup(t->easy);
    }
    if (multi_ != nullptr) curl_multi_cleanup(multi_);
  }

  result<void> init(const tracker_options& options, bool secure, std::size_t capacity) {
    if (!curl_global_ready()) return error(errc::internal, "curl_global_init failed");
    multi_ = curl_multi_init();
    if (multi_ == nullptr) return error(errc::internal, "curl_multi_init failed");
    curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(capacity));
    transfers_.reserve(capacity);
    free_.reserve(capacity);
    for (std::size_t i = 0; i < capacity; ++i) {
      auto t = std::make_unique<transfer>();
      t->easy = curl_easy_init();
      if (t->easy == nullptr) return error(errc::internal, "curl_easy_init failed");
      const CURLcode rc = configure_easy(t->easy, options, secure, &on_header, t.get());
      if (rc != CURLE_OK) {
        return error(errc::internal,
                     std::string("cannot configure libcurl: ") + curl_easy_strerror(rc));
      }
      free_.push_back(t.get());
      transfers_.push_back(std::move(t));
    }
    return {};
  }

  std::size_t capacity() const noexcept override { return transfers_.size(); }
  std::size_t in_flight() const noexcept override { return transfers_.size() - free_.size(); }

  void start(stored_event&& e) override {
    transfer* t = free_.back();
    free_.pop_back();
    t->event = std::move(e);
    t->retry_after.clear();
    curl_easy_setopt(t->easy, CURLOPT_URL, t->event.url.c_str());
    curl_easy_setopt(
        t->easy, CURLOPT_USERAGENT,
        t->event.user_agent.empty() ? user_agent_.c_str() : t->event.user_agent.c_str());
    const CURLMcode mc = curl_multi_add_handle(multi_, t->easy);
    if (mc != CURLM_OK) {
      // Cannot happen with a healthy multi handle; do not lose the event over it.
      completion c;
      c.event = std::move(t->event);
      c.error = transport_error::other;
      c.error_text = std::string("curl_multi_add_handle: ") + curl_multi_strerror(mc);
      refused_.push_back(std::move(c));
      free_.push_back(t);
      return;
    }
    t->busy = true;
  }

  void poll(std::chrono::milliseconds timeout, std::vector<completion>& out) override {
    const std::size_t before = out.size();
    drive(out);
    if (out.size() != before || timeout.count() <= 0) return;
    curl_multi_poll(multi_, nullptr, 0, static_cast<int>(timeout.count()), nullptr);
    drive(out);
  }

  void wake() noexcept override { curl_multi_wakeup(multi_); }

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
  struct transfer {
    CURL* easy = nullptr;
    bool busy = false;
    stored_event event;
    std::string retry_after;  // the last Retry-After header seen
  };

  static size_t on_header(char* data, size_t size, size_t nitems, void* context) {
    const size_t n = size * nitems;
    constexpr std::string_view name = "retry-after:";
    if (n > name.size() && iequals(std::string_view(data, name.size()), name)) {
      std::string_view value(data + name.size(), n - name.size());
      static_cast<transfer*>(context)->retry_after.assign(value.data(), value.size());
    }
    return n;
  }

  // Runs the transfers and moves the finished ones (and any refused by start) to `out`.
  void drive(std::vector<completion>& out) {
    for (auto& c : refused_) out.push_back(std::move(c));
    refused_.clear();
    int running = 0;
    curl_multi_perform(multi_, &running);
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      const CURLcode code = msg->data.result;
      transfer* t = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
      out.emplace_back();
      completion& c = out.back();
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &c.status);
      if (is_redirect_status(c.status)) {
        char* location = nullptr;
        curl_easy_getinfo(easy, CURLINFO_REDIRECT_URL, &location);
        if (location != nullptr) c.location = location;
      }
      c.error = classify(code);
      if (code != CURLE_OK) c.error_text = curl_easy_strerror(code);
      curl_multi_remove_handle(multi_, easy);
      t->busy = false;
      c.event = std::move(t->event);
      c.retry_after = std::move(t->retry_after);
      free_.push_back(t);
    }
  }

  const std::string user_agent_;
  CURLM* multi_ = nullptr;
  std::vector<std::unique_ptr<transfer>> transfers_;
  std::vector<transfer*> free_;
  std::vector<completion> refused_;  // start() could not add them
};
}  // namespace

result<std::unique_ptr<transport>> make_curl_transport(const tracker_options& options, bool secure,
                                                       std::size_t capacity) {
  auto t = std::make_unique<curl_transport>(options.user_agent);
  if (auto ok = t->init(options, secure, capacity); !ok) return ok.error();
  return std::unique_ptr<transport>(std::move(t));
}

}  // namespace pixel::detail
