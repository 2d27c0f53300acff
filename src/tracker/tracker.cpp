// SPDX-License-Identifier: MIT
// The tracker: track() on the callers' threads, one worker thread that owns the CURLM.
//
// Everything shared between them (the queue, counters, flush waiters) sits behind one
// mutex held only for short, allocation-free steps. The worker alone touches libcurl and
// the endpoint's health (outage, Retry-After), so those need no lock.
#include "pixel/tracker.hpp"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "tracker/backoff.hpp"
#include "tracker/queue.hpp"
#include "tracker/retry_after.hpp"
#include "tracker/curl_transport.hpp"

namespace pixel {

using detail::queued_event;
using detail::steady_clock;
using std::chrono::milliseconds;

namespace {
// How often the worker looks for expired events when nothing else wakes it.
constexpr milliseconds k_sweep_interval{250};
// A redirect chain longer than this is treated as a loop.
constexpr std::uint32_t k_max_redirects = 5;

// One outcome waiting to be reported after the lock is released.
struct report {
  queued_event event;
  outcome what;
  std::string message;
};

// flush() callers: each waits for the events accepted before it (seq < target).
struct flush_waiter {
  std::uint64_t target;
  std::uint64_t remaining;
};
}  // namespace

class tracker::impl {
 public:
  impl(tracker_options options, url_builder builder)
      : options_(std::move(options)),
        builder_(std::move(builder)),
        queue_(detail::make_memory_queue(options_.queue_capacity)),
        jitter_(std::random_device{}() ^
                static_cast<std::uint64_t>(steady_clock::now().time_since_epoch().count())) {}

  ~impl() {
    stop_worker();
    for (auto& t : transfers_) {
      if (t->easy != nullptr) curl_easy_cleanup(t->easy);
    }
    if (multi_ != nullptr) curl_multi_cleanup(multi_);
  }

  result<void> start() {
    if (!detail::curl_global_ready()) return error(errc::internal, "curl_global_init failed");
    multi_ = curl_multi_init();
    if (multi_ == nullptr) return error(errc::internal, "curl_multi_init failed");
    curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(options_.max_in_flight));
    transfers_.reserve(options_.max_in_flight);
    for (std::size_t i = 0; i < options_.max_in_flight; ++i) {
      auto t = std::make_unique<transfer>();
      t->easy = curl_easy_init();
      if (t->easy == nullptr) return error(errc::internal, "curl_easy_init failed");
      const CURLcode rc = detail::configure_easy(t->easy, options_, builder_.target().secure(),
                                                 &on_header, t.get());
      if (rc != CURLE_OK) {
        return error(errc::internal,
                     std::string("cannot configure libcurl: ") + curl_easy_strerror(rc));
      }
      free_.push_back(t.get());
      transfers_.push_back(std::move(t));
    }
    try {
      worker_ = std::thread([this] { run(); });
    } catch (const std::system_error& e) {
      return error(errc::internal, std::string("cannot start the worker thread: ") + e.what());
    }
    return {};
  }

  result<event_id> track(params_view params, const std::string_view* user_agent) {
    queued_event e;
    e.id = event_id::generate();
    // Build into this thread's scratch buffer (sized for the worst case, reused), then copy
    // the exact bytes: a waiting event holds only its URL's length.
    thread_local std::string scratch;
    if (auto built = builder_.build_with(params, e.id.view(), detail::unix_millis(), scratch);
        !built) {
      return built.error();
    }
    e.url.assign(scratch);
    if (user_agent != nullptr) e.user_agent.assign(user_agent->data(), user_agent->size());
    const event_id id = e.id;
    e.created = steady_clock::now();
    e.not_before = e.created;

    queued_event evicted;
    bool have_evicted = false;
    bool refused = false;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (!accepting_) return error(errc::shut_down, "the tracker is shut down");
      if (outstanding_ >= options_.queue_capacity) {
        switch (options_.overflow) {
          case overflow_policy::drop_new:
            refused = true;
            break;
          case overflow_policy::drop_oldest:
            if (queue_->pop_oldest(evicted)) {
              have_evicted = true;
              --stats_.queued;
              ++stats_.dropped;
              --outstanding_;
            } else {
              refused = true;  // every slot is in flight: nothing to evict
            }
            break;
          case overflow_policy::block:
            // The worker must never wait for itself (a callback calling track()).
            if (std::this_thread::get_id() != worker_id_) {
              space_cv_.wait_for(lock, options_.block_timeout, [&] {
                return !accepting_ || outstanding_ < options_.queue_capacity;
              });
              if (!accepting_) return error(errc::shut_down, "the tracker is shut down");
            }
            refused = outstanding_ >= options_.queue_capacity;
            break;
        }
      }
      if (refused) {
        ++stats_.dropped;
      } else {
        e.seq = next_seq_++;
        ++outstanding_;
        ++unsettled_;
        ++stats_.queued;
        queue_->push(std::move(e));
      }
    }
    if (have_evicted) {
      notify(evicted, outcome::dropped, "queue full: evicted by a newer event (drop_oldest)");
      std::lock_guard<std::mutex> lock(mutex_);
      settle_locked(evicted.seq);
    }
    if (refused) {
      notify(e, outcome::dropped, "queue full");
      return error(errc::queue_full,
                   "the queue is full (" + std::to_string(options_.queue_capacity) + " events)");
    }
    wake();
    return id;
  }

  bool flush(milliseconds timeout) { return flush_until(steady_clock::now() + timeout); }

  bool shutdown(milliseconds timeout) {
    const auto deadline = steady_clock::now() + timeout;
    {
      // One shutdown at a time; a concurrent caller waits for it, up to its own deadline.
      std::unique_lock<std::mutex> guard(shutdown_mutex_);
      if (!shutdown_cv_.wait_until(guard, deadline, [&] { return !shutdown_busy_; })) {
        return false;
      }
      if (shut_down_) return shutdown_result_;
      shutdown_busy_ = true;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      accepting_ = false;
    }
    space_cv_.notify_all();
    const bool flushed = flush_until(deadline);
    stop_worker();
    std::size_t dropped = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      dropped = dropped_at_exit_;
    }
    bool ok = false;
    {
      std::lock_guard<std::mutex> guard(shutdown_mutex_);
      shut_down_ = true;
      shutdown_busy_ = false;
      ok = shutdown_result_ = flushed && dropped == 0;
    }
    shutdown_cv_.notify_all();
    return ok;
  }

  tracker_stats stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

  const tracker_options& options() const noexcept { return options_; }

 private:
  struct transfer {
    CURL* easy = nullptr;
    queued_event event;
    std::string retry_after;  // the last Retry-After header seen
    bool probe = false;
  };

  static size_t on_header(char* data, size_t size, size_t nitems, void* context) {
    const size_t n = size * nitems;
    constexpr std::string_view name = "retry-after:";
    if (n > name.size()) {
      bool match = true;
      for (size_t i = 0; i < name.size() && match; ++i) {
        char c = data[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        match = c == name[i];
      }
      if (match) {
        static_cast<transfer*>(context)->retry_after.assign(data + name.size(), n - name.size());
      }
    }
    return n;
  }

  // Wakes the worker if no wake-up is pending since it last looked at the queue: at most
  // one syscall per worker iteration, however many producers.
  void wake() noexcept {
    if (!wake_pending_.exchange(true)) curl_multi_wakeup(multi_);
  }

  void stop_worker() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      accepting_ = false;
      stop_ = true;
    }
    space_cv_.notify_all();
    if (worker_.joinable()) {
      if (multi_ != nullptr) curl_multi_wakeup(multi_);
      worker_.join();
    }
  }

  bool flush_until(steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (unsettled_ == 0) return true;
    flush_waiter w{next_seq_, unsettled_};
    waiters_.push_back(&w);
    done_cv_.wait_until(lock, deadline, [&] { return w.remaining == 0; });
    waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &w));
    return w.remaining == 0;
  }

  // Tells flush() callers that an event has its outcome and its callback has returned;
  // call with mutex_ held, then notify done_cv_.
  void settle_locked(std::uint64_t seq) {
    --unsettled_;
    for (flush_waiter* w : waiters_) {
      if (seq < w->target && w->remaining > 0) --w->remaining;
    }
    if (!waiters_.empty()) done_cv_.notify_all();
  }

  template <typename Range, typename Seq>
  void settle(const Range& events, Seq seq_of) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& e : events) settle_locked(seq_of(e));
  }

  void notify(const queued_event& e, outcome what, std::string_view message) noexcept {
    if (!options_.on_result) return;
    event_result r;
    r.event_id = e.id.view();
    r.outcome = what;
    r.attempts = e.attempts;
    r.http_status = e.last_status;
    r.curl_code = e.last_curl;
    r.message = message;
    try {
      options_.on_result(r);
    } catch (...) {
      // The callback must not throw; if it does, the worker keeps going.
    }
  }

  // ---- worker ------------------------------------------------------------------------

  void run() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      worker_id_ = std::this_thread::get_id();
    }
    std::vector<queued_event> batch;
    std::vector<queued_event> expired;
    batch.reserve(options_.max_in_flight);
    auto next_sweep = steady_clock::now();
    for (;;) {
      wake_pending_.store(false);
      auto now = steady_clock::now();
      bool stop = false;
      std::optional<steady_clock::time_point> next_due;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        stop = stop_;
        if (!stop) {
          if (now >= next_sweep) {
            queue_->take_expired(now - options_.retry.max_age, expired);
            next_sweep = now + k_sweep_interval;
          }
          stats_.queued -= expired.size();
          stats_.expired += expired.size();
          outstanding_ -= expired.size();
          const std::size_t active = options_.max_in_flight - free_.size();
          if (now >= endpoint_not_before_) {
            if (outage_) {
              if (active == 0 && now >= next_probe_) {
                queued_event e;
                if (queue_->pop_oldest(e)) {
                  batch.push_back(std::move(e));
                  next_probe_ = now + options_.probe_interval;
                }
              }
            } else {
              for (std::size_t n = active; n < options_.max_in_flight; ++n) {
                queued_event e;
                if (!queue_->pop_due(now, e)) break;
                batch.push_back(std::move(e));
              }
            }
          }
          stats_.queued -= batch.size();
          stats_.in_flight += batch.size();
          next_due = queue_->next_due();
        }
      }
      if (!expired.empty()) {
        space_cv_.notify_all();
        for (auto& e : expired) notify(e, outcome::expired, "older than retry_policy::max_age");
        settle(expired, [](const queued_event& e) { return e.seq; });
        expired.clear();
      }
      if (stop) break;
      for (auto& e : batch) start_transfer(std::move(e), outage_);
      batch.clear();

      int running = 0;
      curl_multi_perform(multi_, &running);
      if (collect_finished(steady_clock::now())) continue;  // requeued or released: look again

      // Sleep until something is due, a transfer progresses, or a producer wakes us.
      now = steady_clock::now();
      auto until = now + k_sweep_interval;
      const std::size_t active = options_.max_in_flight - free_.size();
      if (outage_) {
        if (active == 0 && next_due) until = std::min(until, next_probe_);
      } else if (next_due && active < options_.max_in_flight) {
        until = std::min(until, *next_due);
      }
      until = std::max(until, std::min(endpoint_not_before_, now + k_sweep_interval));
      const auto wait = std::chrono::duration_cast<milliseconds>(until - now).count();
      if (wait > 0 && !wake_pending_.load()) {
        curl_multi_poll(multi_, nullptr, 0, static_cast<int>(wait), nullptr);
      }
    }
    abort_all();
  }

  void start_transfer(queued_event&& e, bool probe) {
    transfer* t = free_.back();
    free_.pop_back();
    ++e.attempts;
    if (!probe) ++e.budget_used;
    if (e.attempts > 1) ++retried_pending_;
    t->event = std::move(e);
    t->probe = probe;
    t->retry_after.clear();
    curl_easy_setopt(t->easy, CURLOPT_URL, t->event.url.c_str());
    curl_easy_setopt(
        t->easy, CURLOPT_USERAGENT,
        t->event.user_agent.empty() ? options_.user_agent.c_str() : t->event.user_agent.c_str());
    const CURLMcode mc = curl_multi_add_handle(multi_, t->easy);
    if (mc != CURLM_OK) {
      // Cannot happen with a healthy multi handle; do not lose the event over it.
      t->event.last_curl = CURLE_FAILED_INIT;
      finished_.push_back({std::move(t->event), outcome::failed,
                           std::string("curl_multi_add_handle: ") + curl_multi_strerror(mc)});
      free_.push_back(t);
    }
  }

  // Judges finished transfers and publishes the outcomes. True when events went back to
  // the queue (the worker should look at it again before sleeping).
  bool collect_finished(steady_clock::time_point now) {
    bool release = false;
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      const CURLcode code = msg->data.result;
      transfer* t = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
      long status = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
      char* location = nullptr;
      if (detail::is_redirect_status(status)) {
        curl_easy_getinfo(easy, CURLINFO_REDIRECT_URL, &location);
      }
      std::string redirect_to = location != nullptr ? location : "";
      curl_multi_remove_handle(multi_, easy);
      queued_event e = std::move(t->event);
      const bool probe = t->probe;
      std::string retry_after = std::move(t->retry_after);
      free_.push_back(t);
      e.last_status = status;
      e.last_curl = static_cast<int>(code);
      release |= judge(std::move(e), code, status, probe, redirect_to, retry_after, now);
    }
    if (finished_.empty() && requeue_.empty() && retried_pending_ == 0 && !release) return false;
    const bool requeued = !requeue_.empty() || release;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stats_.retried += retried_pending_;
      for (auto& e : requeue_) queue_->push_retry(std::move(e));
      stats_.in_flight -= requeue_.size();
      stats_.queued += requeue_.size();
      for (auto& r : finished_) {
        --stats_.in_flight;
        switch (r.what) {
          case outcome::delivered:
            ++stats_.delivered;
            break;
          case outcome::failed:
            ++stats_.failed;
            break;
          case outcome::expired:
            ++stats_.expired;
            break;
          case outcome::dropped:
            ++stats_.dropped;
            break;
        }
        --outstanding_;
      }
      if (release) queue_->release_all(now);
    }
    retried_pending_ = 0;
    requeue_.clear();
    if (!finished_.empty()) {
      space_cv_.notify_all();
      for (auto& r : finished_) notify(r.event, r.what, r.message);
      settle(finished_, [](const report& r) { return r.event.seq; });
      finished_.clear();
    }
    return requeued;
  }

  // Decides what happens to an event after an attempt. True when the endpoint just came
  // back from an outage (everything waiting is released).
  bool judge(queued_event&& e, CURLcode code, long status, bool probe, const std::string& location,
             const std::string& retry_after_text, steady_clock::time_point now) {
    const bool answered = code == CURLE_OK;
    const bool endpoint_failure = answered ? status >= 500 : detail::is_retryable_curl_error(code);
    bool released = false;
    if (endpoint_failure) {
      ++consecutive_failures_;
      if (!outage_ && options_.outage_threshold > 0 &&
          consecutive_failures_ >= options_.outage_threshold) {
        outage_ = true;
        next_probe_ = now + options_.probe_interval;
      }
    } else if (answered) {
      consecutive_failures_ = 0;
      if (outage_) {
        outage_ = false;
        released = true;
      }
    }

    if (answered && status >= 200 && status < 400 && !detail::is_redirect_status(status)) {
      e.last_curl = 0;
      finished_.push_back({std::move(e), outcome::delivered, std::string()});
      return released;
    }
    if (answered && detail::is_redirect_status(status)) {
      if (!location.empty() && e.redirects < k_max_redirects &&
          detail::redirect_allowed(location, builder_.target().host())) {
        ++e.redirects;
        e.url = location;
        e.not_before = now;
        requeue_.push_back(std::move(e));
      } else {
        std::string why =
            location.empty() ? "redirect without a Location"
            : e.redirects >= k_max_redirects
                ? "too many redirects"
                : "redirect to " + location + " not followed (only https on the same host is)";
        finished_.push_back({std::move(e), outcome::failed, std::move(why)});
      }
      return released;
    }
    const bool retryable =
        answered ? detail::is_retryable_status(status) : detail::is_retryable_curl_error(code);
    if (!retryable) {
      std::string why = answered ? "final HTTP status " + std::to_string(status)
                                 : std::string("transfer failed: ") + curl_easy_strerror(code);
      finished_.push_back({std::move(e), outcome::failed, std::move(why)});
      return released;
    }
    milliseconds retry_after{0};
    if (answered && !retry_after_text.empty()) {
      if (auto ra = detail::parse_retry_after(retry_after_text, std::chrono::system_clock::now())) {
        retry_after = std::min(*ra, options_.retry_after_cap);
        endpoint_not_before_ = std::max(endpoint_not_before_, now + retry_after);
      }
    }
    if (!probe && e.budget_used >= options_.retry.max_attempts) {
      std::string why =
          "gave up after " + std::to_string(e.attempts) + " attempts: " +
          (answered ? "HTTP " + std::to_string(status) : std::string(curl_easy_strerror(code)));
      finished_.push_back({std::move(e), outcome::failed, std::move(why)});
      return released;
    }
    if (now - e.created >= options_.retry.max_age) {
      finished_.push_back({std::move(e), outcome::expired, "older than retry_policy::max_age"});
      return released;
    }
    e.not_before = detail::next_attempt_at(now, options_.retry, std::max(e.budget_used, 1u),
                                           jitter_(), retry_after);
    requeue_.push_back(std::move(e));
    return released;
  }

  // At stop: abort transfers in flight and drop everything left.
  void abort_all() {
    for (auto& t : transfers_) {
      if (std::find(free_.begin(), free_.end(), t.get()) != free_.end()) continue;
      curl_multi_remove_handle(multi_, t->easy);
      finished_.push_back({std::move(t->event), outcome::dropped, "aborted in flight at shutdown"});
      free_.push_back(t.get());
    }
    std::size_t from_queue = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stats_.retried += retried_pending_;
      retried_pending_ = 0;
      stats_.in_flight -= finished_.size();
      stats_.dropped += finished_.size();
      outstanding_ -= finished_.size();
      queued_event e;
      while (queue_->pop_oldest(e)) {
        finished_.push_back({std::move(e), outcome::dropped, "left in the queue at shutdown"});
        --stats_.queued;
        ++stats_.dropped;
        --outstanding_;
        ++from_queue;
      }
      dropped_at_exit_ = finished_.size();
    }
    (void)from_queue;
    space_cv_.notify_all();
    for (auto& r : finished_) notify(r.event, r.what, r.message);
    settle(finished_, [](const report& r) { return r.event.seq; });
    finished_.clear();
  }

  const tracker_options options_;
  const url_builder builder_;

  // Shared state, guarded by mutex_.
  mutable std::mutex mutex_;
  std::condition_variable space_cv_;  // room in the queue (overflow_policy::block)
  std::condition_variable done_cv_;   // outcomes (flush)
  std::unique_ptr<detail::event_queue> queue_;
  std::size_t outstanding_ = 0;  // queued + in flight: what capacity limits
  std::size_t unsettled_ = 0;    // accepted, outcome callback not yet returned
  std::uint64_t next_seq_ = 0;
  tracker_stats stats_;
  std::vector<flush_waiter*> waiters_;
  bool accepting_ = true;
  bool stop_ = false;
  std::size_t dropped_at_exit_ = 0;
  std::thread::id worker_id_;

  std::atomic<bool> wake_pending_{false};

  // shutdown() callers, one at a time. (Not std::timed_mutex: TSan in GCC 12 does not
  // see pthread_mutex_clocklock and reports false unlock errors.)
  std::mutex shutdown_mutex_;
  std::condition_variable shutdown_cv_;
  bool shutdown_busy_ = false;
  bool shut_down_ = false;
  bool shutdown_result_ = false;

  // Worker only.
  CURLM* multi_ = nullptr;
  std::thread worker_;
  std::vector<std::unique_ptr<transfer>> transfers_;
  std::vector<transfer*> free_;
  std::vector<report> finished_;
  std::vector<queued_event> requeue_;
  std::uint64_t retried_pending_ = 0;
  detail::jitter_source jitter_;
  std::uint32_t consecutive_failures_ = 0;
  bool outage_ = false;
  steady_clock::time_point next_probe_{};
  steady_clock::time_point endpoint_not_before_{};
};

// ---- public API ----------------------------------------------------------------------

result<tracker> tracker::create(tracker_options options) {
  endpoint_options eo;
  eo.allow_http = options.allow_http;
  auto ep = endpoint::parse(options.endpoint, eo);
  if (!ep) return ep.error();
  auto builder = url_builder::create(std::move(ep).value(), options.url);
  if (!builder) return builder.error();
  auto bad = [](const char* what) { return error(errc::invalid_argument, what); };
  if (options.queue_capacity == 0) return bad("queue_capacity must be at least 1");
  if (options.max_in_flight == 0) return bad("max_in_flight must be at least 1");
  if (options.max_in_flight > 1024) return bad("max_in_flight must be at most 1024");
  if (options.connect_timeout.count() <= 0) return bad("connect_timeout must be positive");
  if (options.request_timeout.count() <= 0) return bad("request_timeout must be positive");
  if (options.block_timeout.count() < 0) return bad("block_timeout must not be negative");
  if (options.retry.max_attempts == 0) return bad("retry.max_attempts must be at least 1");
  if (options.retry.base_delay.count() < 0 || options.retry.max_delay.count() < 0) {
    return bad("retry delays must not be negative");
  }
  if (options.retry.max_age.count() <= 0) return bad("retry.max_age must be positive");
  if (options.retry_after_cap.count() < 0) return bad("retry_after_cap must not be negative");
  if (options.probe_interval.count() <= 0) return bad("probe_interval must be positive");
  if (options.shutdown_timeout.count() < 0) return bad("shutdown_timeout must not be negative");
  if (options.user_agent.find_first_of("\r\n") != std::string::npos) {
    return bad("user_agent must not contain CR or LF");
  }
  if (!options.ca_file.empty() && ::access(options.ca_file.c_str(), R_OK) != 0) {
    return error(errc::invalid_argument, "ca_file '" + options.ca_file + "' is not readable");
  }
  std::unique_ptr<impl> p;
  try {
    p = std::make_unique<impl>(std::move(options), std::move(builder).value());
  } catch (const std::exception& e) {  // allocating the queue, seeding the jitter
    return error(errc::internal, std::string("cannot create the tracker: ") + e.what());
  }
  if (auto ok = p->start(); !ok) return ok.error();
  return tracker(std::move(p));
}

tracker::tracker(std::unique_ptr<impl> p) noexcept : impl_(std::move(p)) {}
tracker::tracker(tracker&&) noexcept = default;

tracker& tracker::operator=(tracker&& other) noexcept {
  if (this != &other) {
    if (impl_) impl_->shutdown(impl_->options().shutdown_timeout);
    impl_ = std::move(other.impl_);
  }
  return *this;
}

tracker::~tracker() {
  if (impl_) impl_->shutdown(impl_->options().shutdown_timeout);
}

result<event_id> tracker::track(params_view params) {
  if (!impl_) return error(errc::shut_down, "moved-from tracker");
  return impl_->track(params, nullptr);
}

result<event_id> tracker::track(params_view params, std::string_view user_agent) {
  if (!impl_) return error(errc::shut_down, "moved-from tracker");
  if (user_agent.find_first_of("\r\n") != std::string_view::npos) {
    return error(errc::invalid_argument, "user agent must not contain CR or LF");
  }
  return impl_->track(params, &user_agent);
}

bool tracker::flush(std::chrono::milliseconds timeout) {
  return impl_ ? impl_->flush(timeout) : true;
}

bool tracker::shutdown(std::chrono::milliseconds timeout) {
  return impl_ ? impl_->shutdown(timeout) : true;
}

tracker_stats tracker::stats() const noexcept {
  return impl_ ? impl_->stats() : tracker_stats{};
}

const tracker_options& tracker::options() const noexcept {
  static const tracker_options empty;
  return impl_ ? impl_->options() : empty;
}

}  // namespace pixel
