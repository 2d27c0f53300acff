// Living through fork(): the pid the library last saw, and a gate that the library's own
// threads hold while they run code that may take a lock of libcurl, OpenSSL or SQLite. A
// pthread_atfork prepare handler closes the gate and waits until no thread is inside, so
// the child starts with none of those locks held by a thread it does not have. The child
// handler records the new pid (a tracker compares it on each call and starts a worker of
// its own, docs/tracker.md "fork") and closes the descriptors registered with
// close_in_child (a spool's lock, so that the child never keeps the parent's spool locked).
// SPDX-License-Identifier: MIT
#ifndef PIXEL_SRC_TRACKER_FORK_HPP
#define PIXEL_SRC_TRACKER_FORK_HPP

#include <sys/types.h>

namespace pixel::detail {

// Installs the pthread_atfork handlers, once per process. Called by every tracker::create.
void install_fork_handlers() noexcept;

// This process's id, as of the last fork the handlers saw: a load, not a system call.
pid_t current_pid() noexcept;

// While held, fork() waits. Nested holds on one thread count once.
void enter_active() noexcept;
void leave_active() noexcept;

// Holds the gate for a scope.
class active_scope {
 public:
  active_scope() noexcept { enter_active(); }
  ~active_scope() { leave_active(); }
  active_scope(const active_scope&) = delete;
  active_scope& operator=(const active_scope&) = delete;
};

// Lets go of the gate for a scope (a blocking wait, a call into the user's code) if this
// thread holds it, and takes it again after.
class idle_scope {
 public:
  idle_scope() noexcept;
  ~idle_scope();
  idle_scope(const idle_scope&) = delete;
  idle_scope& operator=(const idle_scope&) = delete;

 private:
  int depth_;
};

// `fd` is closed (with close(2), nothing else) in a forked child; forget it before closing
// it yourself.
void close_in_child(int fd) noexcept;
void forget_in_child(int fd) noexcept;

}  // namespace pixel::detail

#endif  // PIXEL_SRC_TRACKER_FORK_HPP
