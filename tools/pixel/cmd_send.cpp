// pixel send: deliver events through the tracker and report what became of them.
// SPDX-License-Identifier: MIT
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "pixel/tracker.hpp"
#include "pixel/url/utf8.hpp"

namespace pixel::cli {
namespace {

struct send_args {
  std::string endpoint;
  std::string endpoint_from;
  bool from_stdin = false;
  std::vector<std::string> params;
  bool allow_http = false;
  bool no_event_id = false;
  bool no_timestamp = false;
  long timeout_ms = 10'000;
  long connect_timeout_ms = 5'000;
  std::uint32_t attempts = 8;
  std::size_t in_flight = 16;
  std::size_t queue = 10'000;
  std::string user_agent;
  std::string ca_file;
  long wait_ms = 120'000;
  bool quiet = false;
  std::string spool;                // durable delivery: the spool directory
  std::string durability = "sync";  // with --spool: sync or batched
  std::string receipts;             // append one receipt per event here
  double max_rate = 0;              // requests started per second, at most; 0: unpaced
  bool max_rate_given = false;      // --max-rate overrides --endpoint-from's capacity
};

// One line of --stdin: a JSON object of string values, each key once, in well-formed UTF-8.
// The error says which of these the line breaks (and where).
result<std::vector<std::pair<std::string, std::string>>> parse_event_line(const std::string& line) {
  using kv_list = std::vector<std::pair<std::string, std::string>>;
  if (const auto u = check_utf8(line); !u.ok()) {
    return error(errc::invalid_utf8, "invalid UTF-8 at byte " + std::to_string(u.offset + 1) +
                                         ": " + utf8_problem_name(u.problem));
  }
  // Keys of the objects being parsed, innermost last: a key seen twice in one object is an
  // error, not a silent choice of one value.
  std::vector<std::vector<std::string>> keys;
  std::string duplicate;
  const auto watch = [&](int depth, nlohmann::json::parse_event_t event,
                         nlohmann::ordered_json& parsed) {
    using ev = nlohmann::json::parse_event_t;
    (void)depth;
    if (event == ev::object_start) {
      keys.emplace_back();
    } else if (event == ev::object_end) {
      if (!keys.empty()) keys.pop_back();
    } else if (event == ev::key && !keys.empty() && duplicate.empty()) {
      auto k = parsed.get<std::string>();
      for (const auto& seen : keys.back()) {
        if (seen == k) duplicate = k;
      }
      keys.back().push_back(std::move(k));
    }
    return true;
  };
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(line, watch);
  } catch (const nlohmann::json::parse_error& e) {
    // "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error ...":
    // the byte and the reason.
    std::string why = e.what();
    if (const auto colon = why.find(": "); colon != std::string::npos) why = why.substr(colon + 2);
    return error(errc::invalid_argument,
                 "invalid JSON at byte " + std::to_string(e.byte) + ": " + why);
  }
  if (!duplicate.empty()) {
    return error(errc::invalid_argument,
                 "key '" + detail::printable(duplicate) + "' appears more than once in the object");
  }
  if (!j.is_object()) {
    return error(errc::invalid_argument,
                 std::string("not a JSON object (a JSON ") + j.type_name() + ")");
  }
  kv_list kv;
  for (const auto& [k, v] : j.items()) {
    if (!v.is_string()) {
      return error(errc::invalid_argument, "value of '" + detail::printable(k) +
                                               "' is not a string (a JSON " + v.type_name() + ")");
    }
    kv.emplace_back(k, v.get<std::string>());
  }
  return kv;
}

// Bad lines of --stdin are each reported by number: the first ten on stderr as they come,
// then a count of the rest.
constexpr std::uint64_t shown_invalid = 10;

// Consecutive endpoint failures that make `send` take it as down (the library's default
// is 5): the first backoff is at most 250 ms, so a dead endpoint is said within a second.
constexpr std::uint32_t send_outage_threshold = 2;

// After SIGINT or SIGTERM: the flush lasts this long at most (--wait-ms if shorter).
constexpr std::chrono::milliseconds stop_grace{2'000};

// SIGINT and SIGTERM blocked in this thread and in every thread started after it (the
// tracker's), so that only interrupt_watch takes them. Declared before the tracker.
class signal_block {
 public:
  signal_block() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
  }
  ~signal_block() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  signal_block(const signal_block&) = delete;
  signal_block& operator=(const signal_block&) = delete;
  const sigset_t& set() const noexcept { return set_; }

 private:
  sigset_t set_{}, old_{};
};

// Takes SIGINT and SIGTERM on a thread of its own (a signalfd). The first makes wake_fd()
// readable (input stops) and runs `on_first` on another thread (the short flush); a second
// ends the process at once, with status 128 + the signal. Declared after the tracker, so
// it is gone (its threads joined) before the tracker is.
class interrupt_watch {
 public:
  interrupt_watch(const sigset_t& set, std::function<void()> on_first)
      : on_first_(std::move(on_first)) {
    sfd_ = signalfd(-1, &set, SFD_CLOEXEC);
    wake_ = eventfd(0, EFD_CLOEXEC);
    quit_ = eventfd(0, EFD_CLOEXEC);
    if (sfd_ >= 0 && wake_ >= 0 && quit_ >= 0) thread_ = std::thread([this] { watch(); });
  }
  ~interrupt_watch() {
    const std::uint64_t one = 1;
    if (quit_ >= 0) (void)!::write(quit_, &one, sizeof one);
    if (thread_.joinable()) thread_.join();
    finish_stop();
    for (int fd : {sfd_, wake_, quit_}) {
      if (fd >= 0) ::close(fd);
    }
  }
  interrupt_watch(const interrupt_watch&) = delete;
  interrupt_watch& operator=(const interrupt_watch&) = delete;

  int signal() const noexcept { return sig_.load(); }  // 0, or the first signal taken
  int wake_fd() const noexcept { return wake_; }       // readable once a signal came
  // Waits for on_first to return (the flush it started to end).
  void finish_stop() {
    std::lock_guard<std::mutex> lock(m_);
    if (stopper_.joinable()) stopper_.join();
  }

 private:
  void watch() {
    pollfd fds[2] = {{sfd_, POLLIN, 0}, {quit_, POLLIN, 0}};
    for (;;) {
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[1].revents != 0) return;
      signalfd_siginfo info{};
      if (::read(sfd_, &info, sizeof info) != static_cast<ssize_t>(sizeof info)) continue;
      const int sig = static_cast<int>(info.ssi_signo);
      if (const int first = sig_.load(); first != 0) {
        // The status the first signal set: a second says "now", not another reason.
        std::fprintf(stderr, "\npixel: %s again: exiting without waiting\n", sigabbrev(sig));
        std::fflush(stderr);
        // exit_group ends every thread now. _exit can be slower to: a sanitizer's _exit
        // finalizes first, and meanwhile the main thread printed its summary.
        ::syscall(SYS_exit_group, 128 + first);
        ::_exit(128 + first);  // not reached
      }
      {
        // The short flush is under way before anyone can see the signal: finish_stop()
        // after signal() != 0 always waits for it.
        std::lock_guard<std::mutex> lock(m_);
        stopper_ = std::thread(on_first_);
      }
      sig_.store(sig);
      const std::uint64_t one = 1;
      (void)!::write(wake_, &one, sizeof one);
    }
  }
  static const char* sigabbrev(int sig) { return sig == SIGINT ? "SIGINT" : "SIGTERM"; }

  std::function<void()> on_first_;
  int sfd_ = -1, wake_ = -1, quit_ = -1;
  std::atomic<int> sig_{0};
  std::mutex m_;
  std::thread stopper_;
  std::thread thread_;
};

// Lines of standard input, read with poll so that a signal (interrupt_watch::wake_fd)
// stops the reading even while no input comes.
class stdin_lines {
 public:
  explicit stdin_lines(int wake_fd) : wake_(wake_fd) {}
  // False at the end of the input, on a read error, or once woken (woken() says).
  bool next(std::string& line) {
    for (;;) {
      if (const auto nl = buf_.find('\n', pos_); nl != std::string::npos) {
        line.assign(buf_, pos_, nl - pos_);
        pos_ = nl + 1;
        return true;
      }
      if (eof_) {
        if (pos_ >= buf_.size()) return false;
        line.assign(buf_, pos_, std::string::npos);  // a last line without '\n'
        pos_ = buf_.size();
        return true;
      }
      buf_.erase(0, pos_);
      pos_ = 0;
      pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {wake_, POLLIN, 0}};
      const int n = ::poll(fds, wake_ >= 0 ? 2 : 1, -1);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return false;
      if (wake_ >= 0 && fds[1].revents != 0) {
        woken_ = true;
        return false;
      }
      char chunk[64 * 1024];
      const ssize_t got = ::read(STDIN_FILENO, chunk, sizeof chunk);
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (got <= 0) {
        eof_ = true;
        continue;
      }
      buf_.append(chunk, static_cast<std::size_t>(got));
    }
  }
  bool woken() const noexcept { return woken_; }

 private:
  int wake_;
  std::string buf_;
  std::size_t pos_ = 0;
  bool eof_ = false, woken_ = false;
};

struct counts {
  std::atomic<std::uint64_t> delivered{0}, failed{0}, expired{0}, dropped{0};
  // Once stopping (a signal, or the end of --wait-ms): drops are events left undelivered.
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> left{0};
  std::mutex m;
  std::string first_problem;               // the first non-delivered outcome, for the summary
  std::atomic<const tracker*> t{nullptr};  // for on_log, once created
  std::atomic<bool> tty{false};            // a progress line to clear first
};

int run_send(const send_args& a) {
  if (!a.from_stdin && a.params.empty() && a.spool.empty()) {
    return fail("nothing to send: give KEY=VALUE parameters or --stdin (or --spool DIR to drain)");
  }
  auto c = std::make_shared<counts>();
  tracker_options o;
  o.endpoint = a.endpoint;
  o.max_rate = a.max_rate;
  if (!a.endpoint_from.empty()) {
    auto from = outputs_of(a.endpoint_from);
    if (!from) return fail(from.error().message());
    o.endpoint = std::move(from->endpoint);
    // Paced to the stream's capacity unless --max-rate says otherwise.
    if (!a.max_rate_given && from->records_per_second) {
      o.max_rate = *from->records_per_second;
      std::fprintf(stderr, "pixel: paced to %g events/s (StreamRecordsPerSecond of %s)\n",
                   o.max_rate, a.endpoint_from.c_str());
    }
  }
  o.allow_http = a.allow_http;
  o.url.event_id = !a.no_event_id;
  o.url.timestamp = !a.no_timestamp;
  o.request_timeout = std::chrono::milliseconds(a.timeout_ms);
  o.connect_timeout = std::chrono::milliseconds(a.connect_timeout_ms);
  o.retry.max_attempts = a.attempts;
  // A person waits at the terminal: the endpoint is taken as down (and said so) after two
  // consecutive failures, not five.
  o.outage_threshold = send_outage_threshold;
  o.max_in_flight = a.in_flight;
  o.queue_capacity = a.queue;
  // Reading a file or a pipe: wait for room rather than drop.
  o.overflow = overflow_policy::block;
  o.block_timeout = std::chrono::milliseconds(a.wait_ms);
  if (!a.user_agent.empty()) o.user_agent = a.user_agent;
  o.ca_file = a.ca_file;
  o.receipts_path = a.receipts;
  if (!a.spool.empty()) {
    o.spool_dir = a.spool;
    o.durability = a.durability == "batched" ? durability::batched : durability::sync;
  }
  o.on_result = [c](const event_result& r) {
    switch (r.outcome) {
      case outcome::delivered:
        ++c->delivered;
        return;
      case outcome::failed:
        ++c->failed;
        break;
      case outcome::expired:
        ++c->expired;
        break;
      case outcome::dropped:
      case outcome::suppressed:  // `send` sets no tracking mode: never reported
        ++c->dropped;
        if (c->stopping.load()) ++c->left;
        break;
    }
    std::lock_guard<std::mutex> lock(c->m);
    if (c->first_problem.empty()) {
      c->first_problem = std::string(outcome_name(r.outcome)) + ": " + std::string(r.message);
    }
  };
  // The endpoint's health, said as it changes (on the tracker's worker thread).
  o.on_log = [c, wait_ms = a.wait_ms](std::string_view line) {
    const tracker* t = c->t.load();
    const char* clear = c->tty.load() ? "\r\033[K" : "";
    if (t != nullptr && line.rfind("endpoint unreachable: ", 0) == 0) {
      const std::string reason = t->stats().last_failure;
      std::fprintf(stderr, "%spixel: endpoint unreachable: %s; waiting up to %g s (Ctrl-C stops)\n",
                   clear, reason.c_str(), static_cast<double>(wait_ms) / 1000);
    } else {
      std::fprintf(stderr, "%spixel: %.*s\n", clear, static_cast<int>(line.size()), line.data());
    }
  };
  const signal_block blocked;  // before the tracker starts its threads
  auto created = tracker::create(std::move(o));
  if (!created.has_value()) return fail(explain(created.error()));
  tracker* t = &created.value();
  c->t = t;
  // SIGINT/SIGTERM: input stops, and the tracker gets a short flush, then shuts down (what
  // is left is counted: dropped without a spool, kept in it with one).
  const auto grace = std::min(stop_grace, std::chrono::milliseconds(a.wait_ms));
  interrupt_watch watch(blocked.set(), [t, c, grace] {
    c->stopping = true;
    t->shutdown(grace);
  });
  // Events an earlier run left in the spool are delivered (and counted) with these.
  const auto at_start = t->stats();
  const std::uint64_t recovered = at_start.queued + at_start.in_flight + at_start.delivered +
                                  at_start.failed + at_start.expired + at_start.dropped;

  std::uint64_t sent = 0, invalid = 0;
  const bool tty = isatty(STDERR_FILENO) != 0 && !a.quiet;
  c->tty = tty;
  auto note_invalid = [&](std::string msg) {
    if (++invalid > shown_invalid) return;
    if (tty) std::fprintf(stderr, "\r\033[K");  // the progress line
    std::fprintf(stderr, "pixel: %s\n", msg.c_str());
  };

  std::uint64_t line_no = 0;
  if (!a.from_stdin && !a.params.empty()) {
    const auto kv = parse_key_values(a.params);
    std::vector<param> ps;
    for (const auto& [k, v] : kv) ps.push_back({k, v});
    auto id = t->track(ps);
    if (!id) return fail(id.error().message());
    ++sent;
  } else {
    auto last_progress = std::chrono::steady_clock::now();
    std::string line;
    std::vector<param> ps;
    stdin_lines input(watch.wake_fd());
    while (input.next(line)) {
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      auto kv = parse_event_line(line);
      if (!kv) {
        note_invalid("line " + std::to_string(line_no) + ": " + kv.error().message());
        continue;
      }
      ps.clear();
      for (const auto& [k, v] : *kv) ps.push_back({k, v});
      auto id = t->track(ps);
      if (!id.has_value()) {
        // Queue-full drops are counted by on_result; anything else is bad input.
        const pixel::error& e = id.error();
        if (e == errc::shut_down) {  // a signal: this line was not taken
          --line_no;
          break;
        }
        if (e != errc::queue_full) {
          note_invalid("line " + std::to_string(line_no) + ": " + e.message());
        }
        continue;
      }
      ++sent;
      if (tty) {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_progress > std::chrono::milliseconds(200)) {
          last_progress = now;
          std::fprintf(stderr, "\rsent %llu, delivered %llu", static_cast<unsigned long long>(sent),
                       static_cast<unsigned long long>(c->delivered.load()));
        }
      }
    }
    if (tty) std::fprintf(stderr, "\r\033[K");
  }

  // Every outcome, up to --wait-ms. A signal cuts this short: its flush ends in a shutdown
  // that settles every event, which ends this wait too.
  if (watch.signal() == 0) t->flush(std::chrono::milliseconds(a.wait_ms));
  c->stopping = true;  // events still waiting now are left
  // A signal's short flush runs to its end first: a shutdown(0) here could win the race to
  // the tracker and cut the flush to nothing.
  if (watch.signal() != 0) watch.finish_stop();
  bool done = t->shutdown(std::chrono::milliseconds(0));
  const int sig = watch.signal();
  if (sig != 0) {
    watch.finish_stop();  // every event settled by the signal's shutdown
    done = t->shutdown(std::chrono::milliseconds(0));
  }
  const auto s = t->stats();
  const std::uint64_t delivered = c->delivered.load();
  const std::uint64_t not_delivered = c->failed + c->expired + c->dropped;
  std::fprintf(stderr, "delivered %llu, failed %llu, expired %llu, dropped %llu",
               static_cast<unsigned long long>(delivered),
               static_cast<unsigned long long>(c->failed.load()),
               static_cast<unsigned long long>(c->expired.load()),
               static_cast<unsigned long long>(c->dropped.load()));
  if (a.from_stdin)
    std::fprintf(stderr, ", invalid %llu", static_cast<unsigned long long>(invalid));
  if (!a.spool.empty()) {
    std::fprintf(stderr, ", recovered %llu, kept %llu in the spool",
                 static_cast<unsigned long long>(recovered),
                 static_cast<unsigned long long>(s.queued + s.in_flight));
  }
  std::fprintf(stderr, " (%llu retries)\n", static_cast<unsigned long long>(s.retried));
  if (invalid > shown_invalid) {
    std::fprintf(stderr, "pixel: %llu more invalid lines not shown (%llu in all)\n",
                 static_cast<unsigned long long>(invalid - shown_invalid),
                 static_cast<unsigned long long>(invalid));
  }
  if (not_delivered > 0) {
    std::lock_guard<std::mutex> lock(c->m);
    std::fprintf(stderr, "pixel: %s\n", c->first_problem.c_str());
  }
  if (s.endpoint_down_since != 0) {
    std::fprintf(stderr, "pixel: endpoint still unreachable: %s\n", s.last_failure.c_str());
  }
  if (!done && sig == 0 && not_delivered == 0 && delivered < sent + recovered) {
    std::fprintf(stderr, "pixel: not all events finished within %ld ms\n", a.wait_ms);
  }
  if (sig != 0) {
    // Every accepted event, counted once: delivered + failed + expired + dropped + left.
    const std::uint64_t kept = a.spool.empty() ? 0 : s.queued + s.in_flight;
    const std::uint64_t left = c->left.load() + kept;
    std::string where = a.from_stdin ? " after line " + std::to_string(line_no) : "";
    std::fprintf(stderr,
                 "pixel: stopped by %s%s: %llu events accepted, %llu delivered, %llu failed, "
                 "%llu expired, %llu dropped, %llu left ",
                 sig == SIGINT ? "SIGINT" : "SIGTERM", where.c_str(),
                 static_cast<unsigned long long>(sent + recovered),
                 static_cast<unsigned long long>(delivered),
                 static_cast<unsigned long long>(c->failed.load()),
                 static_cast<unsigned long long>(c->expired.load()),
                 static_cast<unsigned long long>(c->dropped.load() - c->left.load()),
                 static_cast<unsigned long long>(left));
    if (a.spool.empty()) {
      std::fprintf(stderr, "undelivered (lost: kept only with --spool)\n");
    } else {
      std::fprintf(stderr, "in the spool %s (the next pixel send --spool %s delivers them)\n",
                   a.spool.c_str(), a.spool.c_str());
    }
    return 128 + sig;
  }
  return delivered == sent + recovered && not_delivered == 0 && invalid == 0 ? exit_ok
                                                                             : exit_failure;
}

}  // namespace

void add_send_command(CLI::App& app, context& ctx) {
  auto a = std::make_shared<send_args>();
  CLI::App* cmd = app.add_subcommand("send", "Send events through the tracker and wait for them");
  CLI::Option* ep =
      cmd->add_option("--endpoint", a->endpoint, "Pixel endpoint, https://host[:port][/path]");
  cmd->add_option("--endpoint-from", a->endpoint_from,
                  "Endpoint from a cdk outputs file (PixelUrl; deploy/README.md)")
      ->excludes(ep);
  CLI::Option* in = cmd->add_flag("--stdin", a->from_stdin,
                                  "Read events as JSON Lines (objects of string values)");
  cmd->add_option("params", a->params,
                  "KEY=VALUE parameters, in order (use -- before a key starting with '-')")
      ->excludes(in);
  cmd->add_flag("--allow-http", a->allow_http, "Allow http:// to a non-loopback host");
  cmd->add_flag("--no-event-id", a->no_event_id, "Leave out the eid parameter");
  cmd->add_flag("--no-timestamp", a->no_timestamp, "Leave out the ts parameter");
  cmd->add_option("--timeout-ms", a->timeout_ms, "Whole-request timeout")
      ->check(CLI::Range(1L, 3'600'000L))
      ->capture_default_str();
  cmd->add_option("--connect-timeout-ms", a->connect_timeout_ms, "Connect timeout")
      ->check(CLI::Range(1L, 3'600'000L))
      ->capture_default_str();
  cmd->add_option("--attempts", a->attempts,
                  "Attempts per event, the first included, while the endpoint answers (an "
                  "unreachable one is probed until --wait-ms)")
      ->check(CLI::Range(1u, 1000u))
      ->capture_default_str();
  cmd->add_option("--in-flight", a->in_flight, "Concurrent transfers")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1024}))
      ->capture_default_str();
  cmd->add_option("--queue", a->queue, "Events queued at most")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}))
      ->capture_default_str();
  cmd->add_option("--user-agent", a->user_agent, "User-Agent header (default pixel-cpp/VERSION)");
  cmd->add_option("--ca-file", a->ca_file, "PEM bundle of trusted CAs")->check(CLI::ExistingFile);
  cmd->add_option("--wait-ms", a->wait_ms, "Longest wait for queue room and for the final flush")
      ->check(CLI::Range(0L, 86'400'000L))
      ->capture_default_str();
  cmd->add_flag("--quiet", a->quiet, "No progress line on a terminal");
  CLI::Option* spool =
      cmd->add_option("--spool", a->spool,
                      "Keep events in a spool in DIR until each has an outcome; what an earlier "
                      "run left there is delivered too (alone: drain it)");
  CLI::Option* max_rate =
      cmd->add_option("--max-rate", a->max_rate,
                      "Start at most N requests per second (the sink's capacity; 0: unpaced; "
                      "default with --endpoint-from: the stack's StreamRecordsPerSecond)")
          ->check(CLI::NonNegativeNumber);
  cmd->add_option("--receipts", a->receipts,
                  "Append one JSON receipt per event to FILE (for pixel reconcile)");
  cmd->add_option("--durability", a->durability,
                  "With --spool: sync (each event on disk before the next) or batched")
      ->check(CLI::IsMember({"sync", "batched"}))
      ->needs(spool)
      ->capture_default_str();
  cmd->footer(
      "Exit status: 0 every event delivered; 1 an event not delivered, an invalid line or a "
      "bad argument; 2 usage error; 130 or 143 stopped by SIGINT or SIGTERM (input stops, a "
      "flush of 2 s at most, the summary says what was delivered and what is left where; a "
      "second signal exits at once).");
  cmd->callback([a, cmd, max_rate, &ctx] {
    a->max_rate_given = max_rate->count() > 0;
    if (cmd->get_option("--endpoint")->count() == 0 &&
        cmd->get_option("--endpoint-from")->count() == 0) {
      throw CLI::RequiredError("--endpoint or --endpoint-from");
    }
    ctx.exit_code = run_send(*a);
  });
}

}  // namespace pixel::cli
