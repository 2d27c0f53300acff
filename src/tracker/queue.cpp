// SPDX-License-Identifier: MIT
#include "tracker/queue.hpp"

#include <algorithm>

namespace pixel::detail {

namespace {
class memory_queue final : public event_queue {
 public:
  explicit memory_queue(std::size_t capacity) : ring_(capacity) {}

  std::size_t size() const noexcept override { return count_ + retries_.size(); }

  void push(queued_event&& e) override {
    // The tracker never holds more than `capacity` events, so there is always a slot.
    ring_[(head_ + count_) % ring_.size()] = std::move(e);
    ++count_;
  }

  void push_retry(queued_event&& e) override {
    retries_.push_back(std::move(e));
    std::push_heap(retries_.begin(), retries_.end(), later);
  }

  bool pop_due(steady_clock::time_point now, queued_event& out) override {
    if (!retries_.empty() && retries_.front().not_before <= now) {
      pop_retry(out);
      return true;
    }
    if (count_ > 0 && ring_[head_].not_before <= now) {
      pop_front(out);
      return true;
    }
    return false;
  }

  bool pop_oldest(queued_event& out) override {
    if (retries_.empty() && count_ == 0) return false;
    if (count_ == 0) {
      pop_retry(out);
      return true;
    }
    if (retries_.empty()) {
      pop_front(out);
      return true;
    }
    // Retries are usually older, but not always: compare acceptance order.
    auto oldest = std::min_element(
        retries_.begin(), retries_.end(),
        [](const queued_event& a, const queued_event& b) { return a.seq < b.seq; });
    if (oldest->seq < ring_[head_].seq) {
      out = std::move(*oldest);
      retries_.erase(oldest);
      std::make_heap(retries_.begin(), retries_.end(), later);
    } else {
      pop_front(out);
    }
    return true;
  }

  std::optional<steady_clock::time_point> next_due() const override {
    std::optional<steady_clock::time_point> due;
    if (!retries_.empty()) due = retries_.front().not_before;
    if (count_ > 0 && (!due || ring_[head_].not_before < *due)) due = ring_[head_].not_before;
    return due;
  }

  void release_all(steady_clock::time_point now) override {
    for (auto& e : retries_) e.not_before = std::min(e.not_before, now);
    std::make_heap(retries_.begin(), retries_.end(), later);
  }

  void take_expired(steady_clock::time_point cutoff, std::vector<queued_event>& out) override {
    // New events are in creation order: only the front can be expired.
    while (count_ > 0 && ring_[head_].created < cutoff) {
      out.emplace_back();
      pop_front(out.back());
    }
    const auto old_size = retries_.size();
    auto keep = std::partition(retries_.begin(), retries_.end(),
                               [&](const queued_event& e) { return !(e.created < cutoff); });
    for (auto it = keep; it != retries_.end(); ++it) out.push_back(std::move(*it));
    retries_.erase(keep, retries_.end());
    if (retries_.size() != old_size) std::make_heap(retries_.begin(), retries_.end(), later);
  }

 private:
  static bool later(const queued_event& a, const queued_event& b) {
    return a.not_before > b.not_before || (a.not_before == b.not_before && a.seq > b.seq);
  }

  void pop_front(queued_event& out) {
    out = std::move(ring_[head_]);
    ring_[head_] = queued_event();  // release the URL's memory now
    head_ = (head_ + 1) % ring_.size();
    --count_;
  }

  void pop_retry(queued_event& out) {
    std::pop_heap(retries_.begin(), retries_.end(), later);
    out = std::move(retries_.back());
    retries_.pop_back();
  }

  std::vector<queued_event> ring_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  std::vector<queued_event> retries_;  // a min-heap on (not_before, seq)
};
}  // namespace

std::unique_ptr<event_queue> make_memory_queue(std::size_t capacity) {
  return std::make_unique<memory_queue>(capacity);
}

}  // namespace pixel::detail
