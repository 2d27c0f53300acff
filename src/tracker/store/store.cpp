// SPDX-License-Identifier: MIT
#include "tracker/store/store.hpp"

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "tracker/store/journal.hpp"

namespace pixel::detail {

namespace {
class memory_store final : public event_store {
 public:
  explicit memory_store(const store_options& options)
      : options_(options), ring_(std::max<std::size_t>(options.capacity, 1)) {
    if (options_.journal) recover();
  }

  std::size_t recovered() const noexcept override { return recovered_; }

  void take_dropped_at_open(std::vector<stored_event>& out) override {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& e : dropped_at_open_) out.push_back(std::move(e));
    dropped_at_open_.clear();
    dropped_at_open_.shrink_to_fit();
  }

  put_status put(stored_event&& e, steady_clock::time_point block_until,
                 std::vector<stored_event>& evicted, error* why) override {
    std::unique_lock<std::mutex> lock(mutex_);
    if (closed_) return put_status::closed;
    const std::uint64_t size = bytes_of(e);
    // Room: capacity, and the byte bound (an event alone over it never fits).
    auto full = [&] {
      return ledger_.outstanding() + reserved_ >= options_.capacity ||
             (options_.max_bytes != 0 && bytes_ + reserved_bytes_ + size > options_.max_bytes);
    };
    if (options_.max_bytes != 0 && size > options_.max_bytes) {
      ledger_.move(std::nullopt, event_state::dropped);  // can never fit: evict nothing
      return put_status::full;
    }
    if (full()) {
      switch (options_.overflow) {
        case overflow_policy::drop_new:
          break;
        case overflow_policy::drop_oldest:
          // The oldest waiting events make room (on disk too), as many as it takes.
          while (full()) {
            evicted.emplace_back();
            if (!pop_oldest(evicted.back())) {
              evicted.pop_back();  // everything left is in flight: nothing to evict
              break;
            }
            ledger_.move(event_state::queued, event_state::dropped);
            if (options_.journal) options_.journal->settled(evicted.back());
          }
          break;
        case overflow_policy::block:
          if (block_until > steady_clock::now()) {
            room_.wait_until(lock, block_until, [&] { return closed_ || !full(); });
          }
          if (closed_) return put_status::closed;
          break;
      }
      if (full()) {
        ledger_.move(std::nullopt, event_state::dropped);
        return put_status::full;
      }
    }
    if (options_.journal) {
      // Written without the lock (a sync journal waits for its fsync); the room stays
      // reserved meanwhile.
      ++reserved_;
      reserved_bytes_ += size;
      lock.unlock();
      result<void> kept = options_.journal->append(e);
      lock.lock();
      --reserved_;
      reserved_bytes_ -= size;
      if (!kept) {
        ledger_.move(std::nullopt, event_state::dropped);
        if (why != nullptr) *why = kept.error();
        lock.unlock();
        room_.notify_all();
        return put_status::unwritable;
      }
    }
    push_new(std::move(e));
    ledger_.move(std::nullopt, event_state::queued);
    return put_status::accepted;
  }

  std::size_t take_ready(steady_clock::time_point now, std::size_t max,
                         std::vector<stored_event>& out) override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::size_t n = 0;
    for (; n < max; ++n) {
      if (!retries_.empty() && retries_.front().not_before <= now) {
        out.emplace_back();
        pop_retry(out.back());
      } else if (count_ > 0 && ring_[head_].not_before <= now) {
        out.emplace_back();
        pop_front(out.back());
      } else {
        break;
      }
      taken(out.back());
    }
    if (n > 0 && options_.max_bytes != 0) room_.notify_all();  // waiting bytes went down
    return n;
  }

  bool take_oldest(stored_event& out) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!pop_oldest(out)) return false;
    taken(out);
    return true;
  }

  void settle(const stored_event& e, outcome o) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ledger_.move(event_state::in_flight, state_of(o));
      if (options_.journal) options_.journal->settled(e);
    }
    room_.notify_all();
  }

  void requeue(stored_event&& e) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (options_.journal) options_.journal->requeued(e);
    push_retry(std::move(e));
    ledger_.move(event_state::in_flight, event_state::queued);
  }

  void release_all(steady_clock::time_point now) override {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& e : retries_) e.not_before = std::min(e.not_before, now);
    std::make_heap(retries_.begin(), retries_.end(), later);
  }

  std::size_t take_expired(std::int64_t cutoff_ms, std::vector<stored_event>& out) override {
    std::size_t n = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      // New events are in acceptance order, and so (nearly always) in creation order.
      while (count_ > 0 && ring_[head_].created_ms < cutoff_ms) {
        out.emplace_back();
        pop_front(out.back());
        ++n;
      }
      if (oldest_retry() < cutoff_ms) {
        auto keep = std::partition(retries_.begin(), retries_.end(), [&](const stored_event& e) {
          return e.created_ms >= cutoff_ms;
        });
        for (auto it = keep; it != retries_.end(); ++it) {
          bytes_ -= bytes_of(*it);
          out.push_back(std::move(*it));
        }
        n += static_cast<std::size_t>(retries_.end() - keep);
        retries_.erase(keep, retries_.end());
        std::make_heap(retries_.begin(), retries_.end(), later);
        oldest_retry_dirty_ = true;
      }
      ledger_.move(event_state::queued, event_state::expired, n);
      if (options_.journal) {
        for (std::size_t i = out.size() - n; i < out.size(); ++i) options_.journal->settled(out[i]);
      }
    }
    if (n > 0) room_.notify_all();
    return n;
  }

  std::optional<steady_clock::time_point> next_deadline() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::optional<steady_clock::time_point> due;
    if (!retries_.empty()) due = retries_.front().not_before;
    if (count_ > 0 && (!due || ring_[head_].not_before < *due)) due = ring_[head_].not_before;
    return due;
  }

  std::optional<std::int64_t> oldest_created_ms() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::optional<std::int64_t> oldest;
    if (!retries_.empty()) oldest = oldest_retry();
    if (count_ > 0 && (!oldest || ring_[head_].created_ms < *oldest)) {
      oldest = ring_[head_].created_ms;
    }
    return oldest;
  }

  void stop_accepting() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      closed_ = true;
    }
    room_.notify_all();
  }

  bool abandon(const stored_event& e) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (options_.journal) {
      // Kept for the next run: it waits again (on disk it never stopped waiting).
      ledger_.move(event_state::in_flight, event_state::queued);
      push_retry(stored_event(e));
      return false;
    }
    ledger_.move(event_state::in_flight, event_state::dropped);
    return true;
  }

  void close(std::vector<stored_event>& dropped) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      closed_ = true;
      // With a journal, what waits stays there for the next run.
      std::size_t n = 0;
      dropped.emplace_back();
      while (!options_.journal && pop_oldest(dropped.back())) {
        dropped.emplace_back();
        ++n;
      }
      dropped.pop_back();
      ledger_.move(event_state::queued, event_state::dropped, n);
    }
    room_.notify_all();
  }

  tracker_stats stats() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return ledger_.stats();
  }

  std::size_t outstanding() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<std::size_t>(ledger_.outstanding());
  }

 private:
  static bool later(const stored_event& a, const stored_event& b) {
    return a.not_before > b.not_before || (a.not_before == b.not_before && a.seq > b.seq);
  }

  // An event leaves the waiting sets for an attempt.
  void taken(const stored_event& e) noexcept {
    ledger_.move(event_state::queued, event_state::in_flight, 1, e.attempts > 0);
  }

  static std::uint64_t bytes_of(const stored_event& e) noexcept {
    return e.url.size() + e.user_agent.size();
  }

  void push_new(stored_event&& e) {
    bytes_ += bytes_of(e);
    ring_[(head_ + count_) % ring_.size()] = std::move(e);
    ++count_;
  }

  // Events from the journal's earlier run, queued in their order before any new one, as
  // many as the bounds allow (the oldest first); the rest are dropped, to be reported.
  void recover() {
    std::vector<stored_event> found = options_.journal->recover();
    std::size_t kept = 0;
    std::uint64_t bytes = 0;
    for (; kept < found.size() && kept < ring_.size(); ++kept) {
      bytes += bytes_of(found[kept]);
      if (options_.max_bytes != 0 && bytes > options_.max_bytes) break;
    }
    // Those tried before wait for their next attempt time; the others are due in order.
    for (std::size_t i = 0; i < kept; ++i) {
      stored_event& e = found[i];
      e.attempts > 0 ? push_retry(std::move(e)) : push_new(std::move(e));
    }
    ledger_.move(std::nullopt, event_state::queued, kept);
    recovered_ = kept;
    for (std::size_t i = kept; i < found.size(); ++i) {
      options_.journal->settled(found[i]);
      dropped_at_open_.push_back(std::move(found[i]));
    }
    ledger_.move(std::nullopt, event_state::dropped, dropped_at_open_.size());
  }

  void push_retry(stored_event&& e) {
    bytes_ += bytes_of(e);
    oldest_retry_ = retries_.empty() ? e.created_ms : std::min(oldest_retry(), e.created_ms);
    oldest_retry_dirty_ = false;
    retries_.push_back(std::move(e));
    std::push_heap(retries_.begin(), retries_.end(), later);
  }

  void pop_retry(stored_event& out) {
    std::pop_heap(retries_.begin(), retries_.end(), later);
    out = std::move(retries_.back());
    retries_.pop_back();
    bytes_ -= bytes_of(out);
    oldest_retry_dirty_ = true;
  }

  void pop_front(stored_event& out) {
    out = std::move(ring_[head_]);
    bytes_ -= bytes_of(out);
    ring_[head_] = stored_event();  // release the URL's memory now
    head_ = (head_ + 1) % ring_.size();
    --count_;
  }

  // The waiting event accepted first (drop_oldest, probes, shutdown).
  bool pop_oldest(stored_event& out) {
    if (retries_.empty() && count_ == 0) return false;
    if (retries_.empty()) {
      pop_front(out);
      return true;
    }
    // Retries are usually older than new events, but not always: compare acceptance order.
    auto oldest = std::min_element(
        retries_.begin(), retries_.end(),
        [](const stored_event& a, const stored_event& b) { return a.seq < b.seq; });
    if (count_ > 0 && ring_[head_].seq < oldest->seq) {
      pop_front(out);
      return true;
    }
    out = std::move(*oldest);
    bytes_ -= bytes_of(out);
    retries_.erase(oldest);
    std::make_heap(retries_.begin(), retries_.end(), later);
    oldest_retry_dirty_ = true;
    return true;
  }

  // The earliest creation time among retries (cached; recomputed after removals).
  std::int64_t oldest_retry() const {
    if (retries_.empty()) return INT64_MAX;
    if (oldest_retry_dirty_) {
      oldest_retry_ = retries_.front().created_ms;
      for (const auto& e : retries_) oldest_retry_ = std::min(oldest_retry_, e.created_ms);
      oldest_retry_dirty_ = false;
    }
    return oldest_retry_;
  }

  const store_options options_;
  mutable std::mutex mutex_;
  std::condition_variable room_;  // outstanding fell below capacity, or closed
  ledger ledger_;
  std::size_t recovered_ = 0;
  std::vector<stored_event> dropped_at_open_;  // until take_dropped_at_open()
  std::uint64_t bytes_ = 0;                    // URL + User-Agent bytes of waiting events
  std::size_t reserved_ = 0;                   // events being written to the journal
  std::uint64_t reserved_bytes_ = 0;           // and their bytes
  bool closed_ = false;
  std::vector<stored_event> ring_;  // new events, FIFO
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  std::vector<stored_event> retries_;  // a min-heap on (not_before, seq)
  mutable std::int64_t oldest_retry_ = INT64_MAX;
  mutable bool oldest_retry_dirty_ = false;
};
}  // namespace

std::unique_ptr<event_store> make_memory_store(const store_options& options) {
  return std::make_unique<memory_store>(options);
}

}  // namespace pixel::detail
