// SPDX-License-Identifier: MIT
// The tracker: track() on the callers' threads, one worker thread in a short loop over the
// three seams (tracker/seams.hpp). The event store holds the events and their ledger, the
// delivery policy decides, the transport moves bytes (with worker_threads > 1, on transfer
// threads of its own: tracker/transport/parallel_transport.hpp).
//
// Locks: the store synchronises itself. The tracker's own mutex guards only flush()
// bookkeeping (acceptance numbers, unsettled events, waiters), held for short steps and
// never across a store call, a transport call or a callback.
#include "pixel/tracker.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <new>
#include <random>
#include <thread>
#include <vector>

#include "tracker/fork.hpp"
#include "tracker/policy/backoff.hpp"
#include "tracker/receipts.hpp"
#include "tracker/seams.hpp"
#include "tracker/store/store_sqlite.hpp"
#include "tracker/transport/curl_transport.hpp"
#include "tracker/transport/parallel_transport.hpp"

namespace pixel {

using detail::completion;
using detail::decision;
using detail::instant;
using detail::steady_clock;
using detail::stored_event;
using std::chrono::milliseconds;

namespace {
// The longest the worker sleeps without looking around, whatever the deadlines say: a
// guard against a transfer the transport forgets to report.
constexpr milliseconds k_max_wait{250};
// tracker_options::worker_threads, at most.
constexpr std::size_t k_max_worker_threads = 64;

// One outcome waiting to be reported after the store has it.
struct report {
  stored_event event;
  outcome what;
  std::string message;
  bool settle_in_store = false;  // the store still holds it (a finished attempt)
};

// flush() callers: each waits for the events accepted before it (seq < target).
struct flush_waiter {
  std::uint64_t target;
  std::uint64_t remaining;
};

bool valid_user_agent(std::string_view ua) noexcept {
  for (char ch : ua) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F) return false;
  }
  return true;
}

result<void> check_user_agent(std::string_view ua, const char* what) {
  if (!is_valid_utf8(ua)) return error(errc::invalid_utf8, std::string(what) + " is not UTF-8");
  if (!valid_user_agent(ua)) {
    return error(errc::invalid_argument, std::string(what) + " must not contain control bytes");
  }
  return {};
}
}  // namespace

namespace {
// One process's delivery: the store, the transport, the worker and flush() bookkeeping.
// A tracker has one; a forked child that uses it starts another (tracker::impl below).
class engine {
 public:
  engine(const tracker_options& options, const url_builder& builder, detail::clock_source& clock,
         std::unique_ptr<detail::event_store> store, std::unique_ptr<detail::transport> transport,
         std::unique_ptr<detail::receipts_writer> receipts, detail::random_source random,
         std::string notice)
      : options_(options),
        builder_(builder),
        clock_(clock),
        store_(std::move(store)),
        transport_(std::move(transport)),
        receipts_(std::move(receipts)),
        notice_(std::move(notice)),
        policy_(detail::policy_options::from(options_, builder_.target().host()),
                std::move(random)) {
    // Events from an earlier run: those kept are queued; those beyond the bounds are
    // reported as dropped by the worker's first round (flush() waits for them too).
    std::vector<stored_event> dropped;
    store_->take_dropped_at_open(dropped);
    for (auto& e : dropped) {
      reports_.push_back({std::move(e), outcome::dropped,
                          "found in the spool at open beyond the bounds (queue_capacity " +
                              std::to_string(options_.queue_capacity) + ", spool_max_bytes " +
                              std::to_string(options_.spool_max_bytes) + ")"});
    }
    next_seq_ = store_->recovered() + reports_.size();
    unsettled_ = next_seq_;
  }

  ~engine() {
    stop_worker();
    clock_.unsubscribe(this);
  }

  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  result<void> start() {
    limit_.store(policy_.in_flight_limit());
    transport_->set_in_flight_limit(policy_.in_flight_limit());
    clock_.subscribe(this, [this] { wake(); });
    try {
      worker_ = std::thread([this] { run(); });
    } catch (const std::system_error& e) {
      return error(errc::internal, std::string("cannot start the worker thread: ") + e.what());
    }
    return {};
  }

  result<event_id> track(params_view params, const event_options& how) {
    stored_event e;
    e.id = event_id::generate();
    // The mode first: everything after (sampling, the URL, its signature) sees only what
    // the mode lets out.
    const tracking_mode asked = how.mode.value_or(options_.tracking_mode);
    tracking_mode mode = most_restrictive(asked, options_.tracking_mode);
    if (how.gpc) mode = most_restrictive(mode, options_.gpc_mode);
    const bool lowered = mode != asked;  // counted once the event is taken
    if (mode == tracking_mode::off) return suppress(e.id, lowered);
    thread_local std::vector<param> allowed;
    thread_local std::vector<std::string> pseudonyms;
    if (mode != tracking_mode::identified) {
      if (mode == tracking_mode::pseudonymous && options_.pseudonym_key.empty()) {
        return error(errc::invalid_argument,
                     "a pseudonymous event needs tracker_options::pseudonym_key");
      }
      if (auto ok = apply_tracking_mode(mode, params, options_.identity_params,
                                        options_.pseudonym_key, allowed, pseudonyms);
          !ok) {
        return ok.error();
      }
      params = allowed;
    }
    const instant now = clock_.now();
    thread_local std::vector<param> with_rate;
    if (sampling_) {
      const param* key = nullptr;
      for (const param& p : params) {
        if (p.key == k_sample_rate_key) {
          return error(errc::invalid_argument,
                       "parameter 'sr' is reserved for the sample rate when sampling is on");
        }
        if (key == nullptr && p.key == options_.sample_key) key = &p;
      }
      if (key != nullptr) {
        if (!sample_keeps(options_.sample_rate, options_.sample_salt, key->value)) {
          sampled_out_.fetch_add(1, std::memory_order_relaxed);
          if (lowered) mode_lowered_.fetch_add(1, std::memory_order_relaxed);
          return e.id;
        }
        with_rate.assign(params.begin(), params.end());
        with_rate.push_back({k_sample_rate_key, sample_rate_text_});
        params = with_rate;
      }
    }
    // Build into this thread's scratch buffer (sized for the worst case, reused), then copy
    // the exact bytes: a waiting event holds only its URL's length.
    thread_local std::string scratch;
    if (auto built = builder_.build_with(params, e.id.view(),
                                         static_cast<std::uint64_t>(now.unix_ms), scratch);
        !built) {
      return built.error();
    }
    e.url.assign(scratch);
    if (lowered) mode_lowered_.fetch_add(1, std::memory_order_relaxed);
    if (how.user_agent) e.user_agent.assign(how.user_agent->data(), how.user_agent->size());
    e.created_ms = now.unix_ms;
    e.not_before = now.steady;
    const event_id id = e.id;

    bool on_worker = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!accepting_) return error(errc::shut_down, "the tracker is shut down");
      e.seq = next_seq_++;
      ++unsettled_;
      on_worker = std::this_thread::get_id() == worker_id_;
    }
    // The worker must never wait for itself (a callback calling track()).
    const auto block_until =
        on_worker ? steady_clock::time_point::min() : steady_clock::now() + options_.block_timeout;
    std::vector<stored_event> evicted;
    const std::uint64_t seq = e.seq;
    error why(errc::ok);
    const detail::put_status put = store_->put(std::move(e), block_until, evicted, &why);
    if (!evicted.empty()) {
      for (auto& ev : evicted) {
        receipt(ev, outcome::dropped);
        notify(ev, outcome::dropped, "queue full: evicted by a newer event (drop_oldest)");
      }
      settle(evicted, [](const stored_event& ev) { return ev.seq; });
    }
    switch (put) {
      case detail::put_status::accepted:
        wake();
        return id;
      case detail::put_status::full:
        receipt(e, outcome::dropped);
        notify(e, outcome::dropped, "queue full");
        settle_one(seq);
        return error(errc::queue_full,
                     "the queue is full (" + std::to_string(options_.queue_capacity) + " events)");
      case detail::put_status::closed:
        break;
      case detail::put_status::unwritable:
        receipt(e, outcome::dropped);
        notify(e, outcome::dropped, why.message());
        settle_one(seq);
        return why;
    }
    settle_one(seq);
    return error(errc::shut_down, "the tracker is shut down");
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
    stop_accepting();
    const bool flushed = flush_until(deadline);
    stop_worker();
    bool ok = false;
    {
      std::lock_guard<std::mutex> guard(shutdown_mutex_);
      shut_down_ = true;
      shutdown_busy_ = false;
      ok = shutdown_result_ = flushed && dropped_at_exit_ == 0;
    }
    shutdown_cv_.notify_all();
    return ok;
  }

  tracker_stats stats() const {
    tracker_stats s = store_->stats();
    s.concurrency_limit = limit_.load(std::memory_order_relaxed);
    if (receipts_) s.receipts_unwritten = receipts_->unwritten();
    s.sampled_out = sampled_out_.load(std::memory_order_relaxed);
    s.suppressed = suppressed_.load(std::memory_order_relaxed);
    s.mode_lowered = mode_lowered_.load(std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(health_mutex_);
    s.endpoint_down_since = down_since_ms_;
    try {
      s.last_failure = last_failure_;
    } catch (const std::bad_alloc&) {  // stats() does not throw: the text is left out
    }
    return s;
  }

  const tracker_options& options() const noexcept { return options_; }

 private:
  // ---- the worker -------------------------------------------------------------------

  void run() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      worker_id_ = std::this_thread::get_id();
    }
    // Inside the fork gate except while it waits (in the transport) or calls the user.
    const detail::active_scope active;
    publish();  // what the store dropped at open
    while (!stop_.load()) {
      wake_pending_.store(false);
      const instant now = clock_.now();
      expire(now);
      start_ready(now);
      transport_->poll(wait_time(now), done_);
      if (!done_.empty()) {
        const instant after = clock_.now();
        for (auto& c : done_) judge(std::move(c), after);
        done_.clear();
        if (release_) store_->release_all(after.steady);
        release_ = false;
      }
      publish();
    }
    abort_all();
  }

  // Events too old to send leave the store, when the oldest may have reached max_age.
  void expire(const instant& now) {
    if (now.steady < next_expiry_) return;
    // Expired at an age of max_age exactly, as the policy judges it: created <= now - max_age.
    store_->take_expired(now.unix_ms - options_.retry.max_age.count() + 1, expired_);
    for (auto& e : expired_) reports_.push_back({std::move(e), outcome::expired, k_too_old});
    expired_.clear();
    // The next event to reach max_age is the oldest waiting now, or one not yet tracked.
    const auto oldest = store_->oldest_created_ms();
    const std::int64_t age = oldest ? now.unix_ms - *oldest : 0;
    next_expiry_ = now.steady + options_.retry.max_age - milliseconds(age);
  }

  // Takes what the policy admits from the store and starts it.
  void start_ready(const instant& now) {
    const detail::admission a = policy_.admit(now.steady, transport_->in_flight());
    if (a.probe) {
      stored_event e;
      if (!store_->take_oldest(e)) return;
      policy_.probe_started(now.steady);
      policy_.note_started(now.steady, 1);
      probe_seq_ = e.seq;
      start(std::move(e), true);
    } else if (a.count > 0 && store_->take_ready(now.steady, a.count, batch_) > 0) {
      // Taken up to the limit and more are due: demand the limit held back.
      if (batch_.size() == a.count && !a.paced) {
        if (auto due = store_->next_deadline(); due && *due <= now.steady) policy_.note_limited();
      }
      policy_.note_started(now.steady, batch_.size());
      for (auto& e : batch_) start(std::move(e), false);
      batch_.clear();
    } else if (a.count == 0 && !a.paced && !policy_.in_outage()) {
      if (auto due = store_->next_deadline(); due && *due <= now.steady) policy_.note_limited();
    }
  }

  void start(stored_event&& e, bool probe) {
    ++e.attempts;
    if (!probe) ++e.budget_used;
    transport_->start(std::move(e));
  }

  // How long the transport may wait for progress before the next deadline (something falls
  // due, a probe, an expiry) or a wake-up.
  milliseconds wait_time(const instant& now) {
    if (wake_pending_.load()) return milliseconds(0);
    auto until = now.steady + k_max_wait;
    if (auto at =
            policy_.next_admission(now.steady, transport_->in_flight(), store_->next_deadline())) {
      until = std::min(until, *at);
    }
    until = std::min(until, next_expiry_);
    const auto wait = std::chrono::ceil<milliseconds>(until - now.steady);
    return std::max(wait, milliseconds(0));
  }

  // Asks the policy about a finished attempt and tells the store.
  void judge(completion&& c, const instant& now) {
    stored_event& e = c.event;
    const detail::attempt_result& r = c.result;
    e.last_status = r.status;  // for the outcome and its receipt
    e.last_error = r.error;
    detail::attempt_context ctx;
    ctx.attempts = e.attempts;
    ctx.budget_used = e.budget_used;
    ctx.redirects = e.redirects;
    ctx.created_ms = e.created_ms;
    ctx.probe = probe_seq_ && *probe_seq_ == e.seq;
    if (ctx.probe) probe_seq_.reset();
    decision d = policy_.judge(r, ctx, now);
    release_ |= d.outage_left;
    note_health(r, d, now);
    if (d.refund_budget && e.budget_used > 0) --e.budget_used;
    publish_limit();
    switch (d.what) {
      case decision::verdict::delivered:
        finish(std::move(e), outcome::delivered, std::string());
        break;
      case decision::verdict::failed:
        finish(std::move(e), outcome::failed, std::move(d.message));
        break;
      case decision::verdict::expired:
        finish(std::move(e), outcome::expired, std::move(d.message));
        break;
      case decision::verdict::redirect:
        ++e.redirects;
        e.url = std::move(d.redirect_to);
        requeue(std::move(e), d.not_before, now);
        break;
      case decision::verdict::retry:
        requeue(std::move(e), d.not_before, now);
        break;
    }
  }

  // The endpoint's health as stats() shows it, and the outage said as it starts and ends.
  void note_health(const detail::attempt_result& r, const decision& d, const instant& now) {
    const bool failed_attempt =
        d.what != decision::verdict::delivered && d.what != decision::verdict::redirect;
    if (!failed_attempt && !d.outage_left) return;
    std::string line;
    {
      std::lock_guard<std::mutex> lock(health_mutex_);
      if (failed_attempt) last_failure_ = detail::describe(r);
      if (d.outage_entered) {
        down_since_ms_ = static_cast<std::uint64_t>(now.unix_ms);
        if (options_.on_log) {
          line = "endpoint unreachable: " + last_failure_ + "; events wait (one probe every " +
                 std::to_string(options_.probe_interval.count()) + " ms, until retry.max_age)";
        }
      } else if (d.outage_left) {
        if (options_.on_log) {
          line = "endpoint reachable again after " +
                 std::to_string(now.unix_ms - static_cast<std::int64_t>(down_since_ms_)) + " ms";
        }
        down_since_ms_ = 0;
      }
    }
    if (!line.empty()) log(line);
  }

  void log(std::string_view line) noexcept {
    const detail::idle_scope calling_the_user;
    try {
      options_.on_log(line);
    } catch (...) {
      // Must not throw; if it does, the worker keeps going.
    }
  }

  // The limit as stats() shows it; the transport sizes its connections by it.
  void publish_limit() {
    const std::size_t limit = policy_.in_flight_limit();
    if (limit == limit_.load(std::memory_order_relaxed)) return;
    limit_.store(limit, std::memory_order_relaxed);
    transport_->set_in_flight_limit(limit);
  }

  void requeue(stored_event&& e, steady_clock::time_point not_before, const instant& now) {
    // It waits again: it may now be the next to reach max_age.
    const auto age = milliseconds(now.unix_ms - e.created_ms);
    next_expiry_ = std::min(next_expiry_, now.steady + options_.retry.max_age - age);
    e.not_before = not_before;
    store_->requeue(std::move(e));
  }

  // The store settles it in publish(), after its receipt is written.
  void finish(stored_event&& e, outcome what, std::string message) {
    reports_.push_back({std::move(e), what, std::move(message), true});
  }

  // Writes the receipts (on disk first under durability::sync), settles finished events in
  // the store, reports outcomes (no lock held), then tells flush() callers.
  void publish() {
    if (reports_.empty()) return;
    if (receipts_) {
      for (const auto& r : reports_) receipt(r.event, r.what);
      receipts_->write(options_.durability == durability::sync);
    }
    for (const auto& r : reports_) {
      if (r.settle_in_store) store_->settle(r.event, r.what);
    }
    for (auto& r : reports_) notify(r.event, r.what, r.message);
    settle(reports_, [](const report& r) { return r.event.seq; });
    reports_.clear();
  }

  // At stop: abort transfers in flight; the store says what is dropped.
  void abort_all() {
    std::vector<stored_event> left;
    transport_->abort_all(left);
    for (auto& e : left) {
      if (store_->abandon(e)) {
        reports_.push_back({std::move(e), outcome::dropped, "aborted in flight at shutdown"});
      }
    }
    left.clear();
    store_->close(left);
    for (auto& e : left) {
      reports_.push_back({std::move(e), outcome::dropped, "left in the queue at shutdown"});
    }
    dropped_at_exit_ = reports_.size();
    publish();
  }

  // ---- shared with track(), flush(), shutdown() --------------------------------------

  void receipt(const stored_event& e, outcome what) {
    if (!receipts_) return;
    receipts_->add(e.id.view(), what, e.last_status, e.attempts, clock_.now().unix_ms);
  }

  // An event under tracking mode off: counted and reported here, never stored or sent.
  result<event_id> suppress(const event_id& id, bool lowered) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!accepting_) return error(errc::shut_down, "the tracker is shut down");
    }
    suppressed_.fetch_add(1, std::memory_order_relaxed);
    if (lowered) mode_lowered_.fetch_add(1, std::memory_order_relaxed);
    if (options_.on_result) {
      event_result r;
      r.event_id = id.view();
      r.outcome = outcome::suppressed;
      r.message = "tracking mode off: not sent";
      call_user(r);
    }
    return id;
  }

  void call_user(const event_result& r) noexcept {
    const detail::idle_scope calling_the_user;
    try {
      options_.on_result(r);
    } catch (...) {
      // The callback must not throw; if it does, the worker keeps going.
    }
  }

  void notify(const stored_event& e, outcome what, std::string_view message) noexcept {
    if (!options_.on_result) return;
    std::string with_notice;
    if (e.seq == 0 && !notice_.empty()) {
      // Said once: with the first event this engine accepted.
      try {
        with_notice = message.empty() ? notice_ : std::string(message) + "; " + notice_;
        message = with_notice;
      } catch (...) {
      }
    }
    event_result r;
    r.event_id = e.id.view();
    r.outcome = what;
    r.attempts = e.attempts;
    r.http_status = e.last_status;
    r.transport_error = what == outcome::delivered ? transport_error::none : e.last_error;
    r.message = message;
    call_user(r);
  }

  // Wakes the worker if no wake-up is pending since it last looked at the store: at most
  // one syscall per worker iteration, however many producers.
  void wake() noexcept {
    if (!wake_pending_.exchange(true)) transport_->wake();
  }

  void stop_accepting() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      accepting_ = false;
    }
    store_->stop_accepting();
  }

  void stop_worker() {
    stop_accepting();
    stop_.store(true);
    if (worker_.joinable()) {
      transport_->wake();
      worker_.join();
    }
    // Receipts of queue-full drops that raced the worker's last write.
    if (receipts_) receipts_->write(options_.durability == durability::sync);
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

  // An event has its outcome and its callback has returned; call with mutex_ held.
  void settle_locked(std::uint64_t seq) {
    --unsettled_;
    for (flush_waiter* w : waiters_) {
      if (seq < w->target && w->remaining > 0) --w->remaining;
    }
  }

  void settle_one(std::uint64_t seq) {
    std::lock_guard<std::mutex> lock(mutex_);
    settle_locked(seq);
    if (!waiters_.empty()) done_cv_.notify_all();
  }

  template <typename Range, typename Seq>
  void settle(const Range& events, Seq seq_of) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& e : events) settle_locked(seq_of(e));
    if (!waiters_.empty()) done_cv_.notify_all();
  }

  static constexpr const char* k_too_old = "older than retry_policy::max_age";
  static constexpr std::string_view k_sample_rate_key = "sr";

  static std::string rate_text(double rate) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, rate);
    return std::string(buf, r.ptr);
  }

  const tracker_options& options_;
  const url_builder& builder_;
  detail::clock_source& clock_;
  const std::unique_ptr<detail::event_store> store_;
  const std::unique_ptr<detail::transport> transport_;
  const std::unique_ptr<detail::receipts_writer> receipts_;  // null without receipts_path
  const std::string notice_;  // told with the first event's outcome; empty: none
  const bool sampling_ = options_.sample_rate < 1.0;
  const std::string sample_rate_text_ = rate_text(options_.sample_rate);
  std::atomic<std::uint64_t> sampled_out_{0};
  std::atomic<std::uint64_t> suppressed_{0};
  std::atomic<std::uint64_t> mode_lowered_{0};

  // The endpoint's health (stats()), written by the worker.
  mutable std::mutex health_mutex_;
  std::uint64_t down_since_ms_ = 0;  // Unix ms; 0: up
  std::string last_failure_;

  // flush() bookkeeping, guarded by mutex_.
  mutable std::mutex mutex_;
  std::condition_variable done_cv_;  // outcomes reported (flush)
  std::uint64_t next_seq_ = 0;
  std::uint64_t unsettled_ = 0;  // accepted, outcome callback not yet returned
  std::vector<flush_waiter*> waiters_;
  bool accepting_ = true;
  std::thread::id worker_id_;

  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> limit_{0};  // policy_.in_flight_limit(), for stats()
  std::atomic<bool> wake_pending_{false};
  std::size_t dropped_at_exit_ = 0;  // written by the worker, read after join

  // shutdown() callers, one at a time. (Not std::timed_mutex: TSan in GCC 12 does not
  // see pthread_mutex_clocklock and reports false unlock errors.)
  std::mutex shutdown_mutex_;
  std::condition_variable shutdown_cv_;
  bool shutdown_busy_ = false;
  bool shut_down_ = false;
  bool shutdown_result_ = false;

  // Worker only.
  std::thread worker_;
  detail::delivery_policy policy_;
  std::vector<stored_event> batch_;
  std::vector<stored_event> expired_;
  std::vector<completion> done_;
  std::vector<report> reports_;
  std::optional<std::uint64_t> probe_seq_;
  steady_clock::time_point next_expiry_{};
  bool release_ = false;
};

}  // namespace

// The tracker across fork(): the options and the URL builder, and the engine of the process
// that uses it. In a forked child the parent's engine is left as it is (its threads do not
// exist here; its locks, sockets and queue belong to the parent) and a new one starts on
// the first call that needs it.
class tracker::impl {
 public:
  impl(tracker_options options, url_builder builder, detail::tracker_seams seams, bool own_random)
      : options_(std::move(options)),
        builder_(std::move(builder)),
        seams_(std::move(seams)),
        own_random_(own_random),
        clock_(seams_.clock != nullptr ? *seams_.clock : detail::system_clock_source()) {}

  ~impl() {
    if (pid_.load() != detail::current_pid()) {
      (void)owned_.release();  // the parent's: never stopped nor freed here
    }
  }

  // The first engine, in the process that creates the tracker.
  result<void> start() {
    detail::install_fork_handlers();
    pid_.store(detail::current_pid());
    auto e = make_engine(false);
    if (!e) return e.error();
    owned_ = std::move(*e);
    engine_.store(owned_.get(), std::memory_order_release);
    return {};
  }

  result<event_id> track(params_view params, const event_options& how) {
    auto e = current();
    if (!e) return e.error();
    return (*e)->track(params, how);
  }

  bool flush(milliseconds timeout) {
    if (stale()) return true;  // nothing tracked in this process yet
    return engine_.load(std::memory_order_acquire)->flush(timeout);
  }

  bool shutdown(milliseconds timeout) {
    auto e = current();
    if (!e) return false;
    return (*e)->shutdown(timeout);
  }

  // At destruction: a child that never used the tracker has nothing to deliver.
  void shutdown_if_used(milliseconds timeout) {
    if (!stale()) engine_.load(std::memory_order_acquire)->shutdown(timeout);
  }

  tracker_stats stats() const {
    if (stale()) return tracker_stats{};
    return engine_.load(std::memory_order_acquire)->stats();
  }

  const tracker_options& options() const noexcept { return options_; }

 private:
  bool stale() const noexcept {
    return pid_.load(std::memory_order_acquire) != detail::current_pid();
  }

  // This process's engine, started now if the tracker comes from a parent process.
  result<engine*> current() {
    if (!stale()) return engine_.load(std::memory_order_acquire);
    // Inside the gate: a fork from another thread waits until the new engine is whole.
    const detail::active_scope active;
    std::lock_guard<std::mutex> lock(respawn_mutex_);
    if (!stale()) return engine_.load(std::memory_order_acquire);
    result<std::unique_ptr<engine>> e = error(errc::internal, "out of memory");
    try {
      e = make_engine(true);
    } catch (const std::exception& x) {
      e = error(errc::internal, x.what());
    }
    if (!e) {
      return error(e.code(), "cannot start the tracker in a forked child: " + e.error().message());
    }
    (void)owned_.release();  // the parent's engine stays untouched in this process
    owned_ = std::move(*e);
    engine_.store(owned_.get(), std::memory_order_release);
    pid_.store(detail::current_pid(), std::memory_order_release);
    return owned_.get();
  }

  // A store, a transport and a worker. In a forked child, a spool stays the parent's: the
  // child's events wait in memory, and the first one's outcome says so.
  result<std::unique_ptr<engine>> make_engine(bool in_child) {
    using namespace detail;
    store_options so;
    so.capacity = options_.queue_capacity;
    so.overflow = options_.overflow;
    const bool spooled = !options_.spool_dir.empty();
    auto store = seams_.make_store ? seams_.make_store(so)
                 : in_child        ? result<std::unique_ptr<event_store>>(make_memory_store(so))
                                   : make_store(options_, so, seams_.clock);
    if (!store) return store.error();
    // One transport per transfer thread, each with its share of min_in_flight (the
    // transfers it prepares at once) and of the capacity.
    const bool secure = builder_.target().secure();
    const std::size_t threads = options_.worker_threads;
    auto make_lane = [&](std::size_t index,
                         std::size_t capacity) -> result<std::unique_ptr<transport>> {
      tracker_options lane = options_;
      lane.min_in_flight = lane_share(options_.min_in_flight, threads, index);
      return seams_.make_transport ? seams_.make_transport(lane, secure, capacity)
                                   : make_curl_transport(lane, secure, capacity);
    };
    auto transport = threads > 1
                         ? make_parallel_transport(threads, options_.max_in_flight, make_lane)
                         : make_lane(0, options_.max_in_flight);
    if (!transport) return transport.error();
    random_source random = seams_.random;
    if (own_random_ || !random) {
      jitter_source jitter(
          std::random_device{}() ^
          static_cast<std::uint64_t>(steady_clock::now().time_since_epoch().count()) ^
          static_cast<std::uint64_t>(::getpid()));
      random = [jitter]() mutable { return jitter(); };
    }
    std::string notice;
    if (in_child && spooled) {
      notice = "tracked in a forked child: kept in memory, not in the spool " + options_.spool_dir +
               " (a spool belongs to the process that opened it)";
    }
    // Receipts: each process appends to the file through its own descriptor (O_APPEND).
    std::unique_ptr<receipts_writer> receipts;
    if (!options_.receipts_path.empty()) {
      auto opened = receipts_writer::open(options_.receipts_path, options_.receipts_max_bytes);
      if (!opened) return opened.error();
      receipts = std::move(opened).value();
    }
    auto e = std::make_unique<engine>(options_, builder_, clock_, std::move(*store),
                                      std::move(*transport), std::move(receipts), std::move(random),
                                      std::move(notice));
    if (auto ok = e->start(); !ok) return ok.error();
    return e;
  }

  const tracker_options options_;
  const url_builder builder_;
  const detail::tracker_seams seams_;
  const bool own_random_;  // seams_.random unset: each engine seeds its own
  detail::clock_source& clock_;

  std::atomic<pid_t> pid_{0};  // the process engine_ belongs to
  std::atomic<engine*> engine_{nullptr};
  std::unique_ptr<engine> owned_;  // engine_, when this process made it
  std::mutex respawn_mutex_;
};

// ---- creation ------------------------------------------------------------------------

namespace detail {

result<void> validate(const tracker_options& options) {
  auto bad = [](const char* what) { return error(errc::invalid_argument, what); };
  if (options.queue_capacity == 0) return bad("queue_capacity must be at least 1");
  if (options.max_in_flight == 0) return bad("max_in_flight must be at least 1");
  if (options.max_in_flight > 1024) return bad("max_in_flight must be at most 1024");
  if (options.min_in_flight == 0) return bad("min_in_flight must be at least 1");
  if (options.worker_threads == 0) return bad("worker_threads must be at least 1");
  if (options.worker_threads > k_max_worker_threads)
    return bad("worker_threads must be at most 64");
  if (options.worker_threads > options.max_in_flight) {
    return bad("worker_threads must not exceed max_in_flight");
  }
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
  if (!(options.sample_rate > 0 && options.sample_rate <= 1)) {
    return bad("sample_rate must be in (0, 1]");
  }
  if (options.sample_rate < 1 && options.sample_key.empty()) {
    return bad("sample_key must not be empty");
  }
  if (!(options.max_rate >= 0) || !std::isfinite(options.max_rate)) {
    return bad("max_rate must be a finite number of events per second, >= 0");
  }
  if (options.shutdown_timeout.count() < 0) return bad("shutdown_timeout must not be negative");
  constexpr auto most = static_cast<std::uint8_t>(tracking_mode::identified);
  if (static_cast<std::uint8_t>(options.tracking_mode) > most ||
      static_cast<std::uint8_t>(options.gpc_mode) > most) {
    return bad("tracking_mode and gpc_mode must be off, aggregate, pseudonymous or identified");
  }
  if (!options.pseudonym_key.empty()) {
    if (auto ok = validate_pseudonym_key(options.pseudonym_key); !ok) {
      return error(errc::invalid_argument, "pseudonym_key: " + ok.error().message());
    }
  } else if (options.tracking_mode == tracking_mode::pseudonymous ||
             options.gpc_mode == tracking_mode::pseudonymous) {
    return bad("a pseudonymous tracking_mode or gpc_mode needs a pseudonym_key");
  }
  for (const auto& name : options.identity_params) {
    if (name.empty()) return bad("identity_params must not contain an empty name");
  }
  if (auto ok = check_user_agent(options.user_agent, "user_agent"); !ok) return ok.error();
  if (options.proxy.find_first_of("\r\n") != std::string::npos) {
    return bad("proxy must not contain CR or LF");
  }
  if (!options.ca_file.empty() && ::access(options.ca_file.c_str(), R_OK) != 0) {
    return error(errc::invalid_argument, "ca_file '" + options.ca_file + "' is not readable");
  }
  if (auto ok = validate_spool(options); !ok) return ok.error();
  return {};
}

result<tracker> tracker_access::create(tracker_options options, tracker_seams seams) {
  endpoint_options eo;
  eo.allow_http = options.allow_http;
  auto ep = endpoint::parse(options.endpoint, eo);
  if (!ep) return ep.error();
  auto builder = url_builder::create(std::move(ep).value(), options.url);
  if (!builder) return builder.error();
  if (auto ok = validate(options); !ok) return ok.error();
  try {
    const bool own_random = !seams.random;
    auto p = std::make_unique<tracker::impl>(std::move(options), std::move(builder).value(),
                                             std::move(seams), own_random);
    if (auto ok = p->start(); !ok) return ok.error();
    return tracker(std::move(p));
  } catch (const std::exception& e) {  // allocating the store, seeding the jitter
    return error(errc::internal, std::string("cannot create the tracker: ") + e.what());
  }
}

}  // namespace detail

// ---- public API ----------------------------------------------------------------------

result<tracker> tracker::create(tracker_options options) {
  return detail::tracker_access::create(std::move(options), {});
}

tracker::tracker(std::unique_ptr<impl> p) noexcept : impl_(std::move(p)) {}
tracker::tracker(tracker&&) noexcept = default;

tracker& tracker::operator=(tracker&& other) noexcept {
  if (this != &other) {
    if (impl_) impl_->shutdown_if_used(impl_->options().shutdown_timeout);
    impl_ = std::move(other.impl_);
  }
  return *this;
}

tracker::~tracker() {
  if (impl_) impl_->shutdown_if_used(impl_->options().shutdown_timeout);
}

result<event_id> tracker::track(params_view params) {
  return track(params, event_options{});
}

result<event_id> tracker::track(params_view params, std::string_view user_agent) {
  event_options how;
  how.user_agent = user_agent;
  return track(params, how);
}

result<event_id> tracker::track(params_view params, const event_options& options) {
  if (!impl_) return error(errc::shut_down, "moved-from tracker");
  if (options.user_agent) {
    if (auto ok = check_user_agent(*options.user_agent, "user agent"); !ok) return ok.error();
  }
  if (options.mode && static_cast<std::uint8_t>(*options.mode) >
                          static_cast<std::uint8_t>(tracking_mode::identified)) {
    return error(errc::invalid_argument, "unknown tracking mode");
  }
  return impl_->track(params, options);
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
