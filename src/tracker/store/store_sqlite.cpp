// SPDX-License-Identifier: MIT
#include "tracker/store/store_sqlite.hpp"

#include <utility>

#include "tracker/store/spool.hpp"

namespace pixel::detail {

namespace {
using std::chrono::milliseconds;

// The part of a URL after its '?' (empty without one): what the spool keeps of an event.
std::string query_of(const std::string& url) {
  const auto q = url.find('?');
  return q == std::string::npos ? std::string() : url.substr(q + 1);
}

// Keys on disk: events found at open keep theirs (by seq, 0 .. n-1); new events take
// first_new + (seq - n), so a key never needs a table of its own.
class sqlite_journal final : public store_journal {
 public:
  sqlite_journal(std::unique_ptr<spool> s, std::vector<spool_row> rows, durability level,
                 const clock_source& clock, std::string endpoint_url)
      : spool_(std::move(s)),
        rows_(std::move(rows)),
        level_(level),
        clock_(clock),
        endpoint_url_(std::move(endpoint_url)) {}

  std::vector<stored_event> recover() override {
    const instant now = clock_.now();
    std::vector<stored_event> events;
    events.reserve(rows_.size());
    keys_.reserve(rows_.size());
    for (auto& row : rows_) {
      stored_event e;
      if (!event_id::parse(row.id, e.id)) {
        spool_->remove(row.key);  // unusable: nothing could deliver or report it
        continue;
      }
      e.seq = keys_.size();
      e.url.reserve(endpoint_url_.size() + 1 + row.query.size());
      e.url = endpoint_url_;
      if (!row.query.empty()) e.url.append(1, '?').append(row.query);
      e.user_agent = std::move(row.user_agent);
      e.created_ms = row.created_ms;
      e.not_before = now.steady + milliseconds(row.not_before_ms - now.unix_ms);
      e.attempts = row.attempts;
      e.budget_used = row.budget_used;
      keys_.push_back(row.key);
      events.push_back(std::move(e));
    }
    rows_.clear();
    rows_.shrink_to_fit();
    first_new_ = spool_->next_key();
    return events;
  }

  result<void> append(const stored_event& e) override {
    spool_row row;
    row.key = key_of(e.seq);
    row.id.assign(e.id.view());
    row.query = query_of(e.url);
    row.user_agent = e.user_agent;
    row.attempts = e.attempts;
    row.budget_used = e.budget_used;
    row.created_ms = e.created_ms;
    row.not_before_ms = wall_ms(e.not_before);
    auto r = level_ == durability::sync ? spool_->insert_durable(std::move(row))
                                        : spool_->insert(std::move(row));
    if (!r) return r.error();
    return {};
  }

  void requeued(const stored_event& e) override {
    spool_->update(key_of(e.seq), e.attempts, e.budget_used, wall_ms(e.not_before));
  }

  void settled(const stored_event& e) override { spool_->remove(key_of(e.seq)); }

 private:
  std::uint64_t key_of(std::uint64_t seq) const noexcept {
    return seq < keys_.size() ? keys_[seq] : first_new_ + (seq - keys_.size());
  }

  std::int64_t wall_ms(steady_clock::time_point t) const noexcept {
    const instant now = clock_.now();
    return now.unix_ms + std::chrono::duration_cast<milliseconds>(t - now.steady).count();
  }

  std::unique_ptr<spool> spool_;
  std::vector<spool_row> rows_;  // found at open, until recover()
  std::vector<std::uint64_t> keys_;
  std::uint64_t first_new_ = 1;
  const durability level_;
  const clock_source& clock_;
  const std::string endpoint_url_;
};
}  // namespace

result<std::unique_ptr<store_journal>> open_sqlite_journal(const sqlite_journal_options& options) {
  if (options.level != durability::batched && options.level != durability::sync) {
    return error(errc::invalid_argument, "a spool needs durability batched or sync");
  }
  spool_config config;
  config.dir = options.dir;
  config.commit_interval = options.commit_interval;
  config.commit_batch = options.commit_batch;
  config.recreate_if_corrupt = options.recreate_if_corrupt;
  spool_recovery found;
  auto s = spool::open(config, found);
  if (!s) return s.error();
  return std::unique_ptr<store_journal>(std::make_unique<sqlite_journal>(
      std::move(*s), std::move(found.rows), options.level,
      options.clock != nullptr ? *options.clock : system_clock_source(), options.endpoint_url));
}

result<void> validate_spool(const tracker_options& options) {
  const bool durable = options.durability != durability::memory;
  if (options.durability != durability::memory && options.durability != durability::batched &&
      options.durability != durability::sync) {
    return error(errc::invalid_argument, "durability must be memory, batched or sync");
  }
  if (durable && options.spool_dir.empty()) {
    return error(errc::invalid_argument, "durability batched or sync needs a spool_dir");
  }
  if (!durable && !options.spool_dir.empty()) {
    return error(errc::invalid_argument,
                 "a spool_dir needs durability batched or sync (memory keeps no spool)");
  }
  if (durable && (options.spool_commit_interval.count() <= 0 || options.spool_commit_batch == 0)) {
    return error(errc::invalid_argument,
                 "spool_commit_interval and spool_commit_batch must be positive");
  }
  return {};
}

result<std::unique_ptr<event_store>> make_store(const tracker_options& options,
                                                const store_options& store,
                                                const clock_source* clock) {
  if (options.spool_dir.empty()) return make_memory_store(store);
  endpoint_options eo;
  eo.allow_http = options.allow_http;
  auto ep = endpoint::parse(options.endpoint, eo);
  if (!ep) return ep.error();
  sqlite_journal_options j;
  j.dir = options.spool_dir;
  j.endpoint_url = ep->url();
  j.level = options.durability;
  j.commit_interval = options.spool_commit_interval;
  j.commit_batch = options.spool_commit_batch;
  j.recreate_if_corrupt = options.spool_recreate_if_corrupt;
  j.clock = clock;
  auto opened = open_sqlite_journal(j);
  if (!opened) return opened.error();
  store_options with_journal = store;
  with_journal.journal = std::move(*opened);
  with_journal.max_bytes = options.spool_max_bytes;
  return make_memory_store(with_journal);
}

}  // namespace pixel::detail
