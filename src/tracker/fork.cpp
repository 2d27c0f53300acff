// SPDX-License-Identifier: MIT
#include "tracker/fork.hpp"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

namespace pixel::detail {

namespace {
std::atomic<pid_t> g_pid{::getpid()};

// The gate: threads inside, and a fork waiting for them to leave. Plain atomics and short
// sleeps rather than a condition variable: a condition variable with waiters at fork time
// cannot be used safely in the child, and the wait lasts one worker iteration at most.
std::atomic<int> g_active{0};
std::atomic<bool> g_forking{false};
thread_local int t_depth = 0;

// One fork at a time through the handlers; held from prepare to parent/child.
std::mutex g_fork_mutex;

// Descriptors to close in a child, under g_fds_mutex (held across the fork).
std::mutex g_fds_mutex;
std::vector<int>& fds() {
  static auto* v = new std::vector<int>();  // never destroyed: used by the atfork handlers
  return *v;
}

void pause_briefly(int& round) {
  // Spin a little, then sleep up to a millisecond: the other side is one worker
  // iteration from done.
  if (round < 64) {
    ++round;
    std::this_thread::yield();
  } else {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

void prepare() {
  g_fork_mutex.lock();
  g_fds_mutex.lock();
  // A thread forking from inside the gate would wait for itself.
  const int own = t_depth > 0 ? 1 : 0;
  g_forking.store(true);
  int round = 0;
  while (g_active.load() > own) pause_briefly(round);
}

void parent() {
  g_forking.store(false);
  g_fds_mutex.unlock();
  g_fork_mutex.unlock();
}

void child() {
  g_pid.store(::getpid());
  // The threads that were inside are not in this process.
  g_active.store(t_depth > 0 ? 1 : 0);
  g_forking.store(false);
  for (int fd : fds()) ::close(fd);
  fds().clear();
  g_fds_mutex.unlock();
  g_fork_mutex.unlock();
}
}  // namespace

void install_fork_handlers() noexcept {
  static std::once_flag once;
  std::call_once(once, [] { ::pthread_atfork(&prepare, &parent, &child); });
}

pid_t current_pid() noexcept {
  return g_pid.load(std::memory_order_relaxed);
}

void enter_active() noexcept {
  if (t_depth++ > 0) return;
  int round = 0;
  for (;;) {
    g_active.fetch_add(1);
    if (!g_forking.load()) return;
    g_active.fetch_sub(1);
    while (g_forking.load()) pause_briefly(round);
  }
}

void leave_active() noexcept {
  if (--t_depth > 0) return;
  g_active.fetch_sub(1);
}

idle_scope::idle_scope() noexcept : depth_(t_depth) {
  if (depth_ == 0) return;
  t_depth = 1;
  leave_active();
}

idle_scope::~idle_scope() {
  if (depth_ == 0) return;
  enter_active();
  t_depth = depth_;
}

void close_in_child(int fd) noexcept {
  try {
    std::lock_guard<std::mutex> lock(g_fds_mutex);
    fds().push_back(fd);
  } catch (...) {
    // Out of memory: the child keeps the descriptor open, as any fork would.
  }
}

void forget_in_child(int fd) noexcept {
  std::lock_guard<std::mutex> lock(g_fds_mutex);
  auto& v = fds();
  v.erase(std::remove(v.begin(), v.end(), fd), v.end());
}

}  // namespace pixel::detail
