// Test support: temporary directories and outside programs (openssl, nginx, wrk, pixel).
// SPDX-License-Identifier: MIT
//
// The one temporary-folder class (temp_dir) and the one child-process class
// (child_process) of the tests, in the tests' one namespace, pixel_test (also reachable as
// pixel::test). Header-only so that benchmarks can use it without the support library.
#ifndef PIXEL_TEST_SPAWN_HPP
#define PIXEL_TEST_SPAWN_HPP

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace pixel_test {

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_file(const std::filesystem::path& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class temp_dir {
 public:
  explicit temp_dir(const std::string& prefix = "pixel-test") {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base && *base ? base : "/tmp") + "/" + prefix + "-XXXXXX";
    std::vector<char> buf(templ.begin(), templ.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) {
      throw std::runtime_error("mkdtemp(" + templ + "): " + std::strerror(errno));
    }
    path_ = buf.data();
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const noexcept { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// A child process started with posix_spawnp. Either its stdout and stderr both go to
// `log_path`, or (the three-argument form) its stdout is a pipe read with read_line() /
// read_rest() and its stderr goes to `stderr_file`. The destructor kills it (SIGKILL) and
// reaps it if it is still running.
class child_process {
 public:
  child_process() = default;
  child_process(const std::vector<std::string>& argv, const std::filesystem::path& log_path) {
    start(argv, log_path);
  }
  child_process(const std::string& program, const std::vector<std::string>& args,
                const std::filesystem::path& stderr_file) {
    std::vector<std::string> argv = {program};
    argv.insert(argv.end(), args.begin(), args.end());
    start_piped(argv, stderr_file);
  }
  ~child_process() {
    kill_and_reap();
    close_out();
  }
  child_process(child_process&& o) noexcept
      : pid_(std::exchange(o.pid_, -1)),
        status_(o.status_),
        out_(std::exchange(o.out_, -1)),
        stderr_file_(std::move(o.stderr_file_)) {}
  child_process& operator=(child_process&& o) noexcept {
    if (this != &o) {
      kill_and_reap();
      close_out();
      pid_ = std::exchange(o.pid_, -1);
      status_ = o.status_;
      out_ = std::exchange(o.out_, -1);
      stderr_file_ = std::move(o.stderr_file_);
    }
    return *this;
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  void start(const std::vector<std::string>& argv, const std::filesystem::path& log_path) {
    kill_and_reap();
    close_out();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    spawn(argv, actions);
  }

  // stdout on a pipe (read_line, read_rest), stderr into `stderr_file`.
  void start_piped(const std::vector<std::string>& argv, const std::filesystem::path& stderr_file) {
    kill_and_reap();
    close_out();
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe: " + std::string(std::strerror(errno)));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_addopen(&actions, 2, stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addclose(&actions, fds[1]);
    try {
      spawn(argv, actions);
    } catch (...) {
      ::close(fds[0]);
      ::close(fds[1]);
      throw;
    }
    ::close(fds[1]);
    out_ = fds[0];
    stderr_file_ = stderr_file;
  }

  pid_t pid() const noexcept { return pid_; }

  // One line of the piped stdout (without '\n'); what was read so far at end of stream or
  // after `timeout`.
  std::string read_line(std::chrono::seconds timeout = std::chrono::seconds(120)) {
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            deadline - std::chrono::steady_clock::now())
                            .count();
      if (left <= 0 || out_ < 0) return line;
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char c;
      const ssize_t n = ::read(out_, &c, 1);
      if (n <= 0 || c == '\n') return line;
      line += c;
    }
  }

  // The rest of the piped stdout, until the child closes it.
  std::string read_rest() {
    std::string s;
    char buf[4096];
    ssize_t n;
    while (out_ >= 0 && (n = ::read(out_, buf, sizeof buf)) > 0) {
      s.append(buf, static_cast<std::size_t>(n));
    }
    return s;
  }

  // What the child wrote on stderr (the three-argument form).
  std::string stderr_text() const { return read_file(stderr_file_); }

  void signal(int sig) {
    if (pid_ > 0) ::kill(pid_, sig);
  }

  // Waits for the exit, however long it takes: the exit code, or 128 + signal.
  int wait() {
    if (pid_ > 0) {
      int st = 0;
      while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
      }
      status_ = st;
      pid_ = -1;
    }
    return exit_code();
  }

  // True while the child has not exited (reaps it when it has).
  bool running() {
    if (pid_ < 0) return false;
    int st = 0;
    const pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      status_ = st;
      pid_ = -1;
      return false;
    }
    return r == 0;
  }

  // Waits up to `timeout` for the child to exit. Returns its exit code, 128 + signal when
  // killed by one, or -1 when it is still running at the deadline.
  int wait_for(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    // Polling an outside process with a deadline: waitpid has no timed form.
    while (running()) {
      if (std::chrono::steady_clock::now() >= deadline) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return exit_code();
  }

  // Sends `sig`, waits up to `grace` for an exit, then SIGKILLs. Returns the exit code.
  int stop(int sig, std::chrono::milliseconds grace) {
    if (pid_ < 0) return exit_code();
    ::kill(pid_, sig);
    if (wait_for(grace) >= 0 || pid_ < 0) return exit_code();
    kill_and_reap();
    return exit_code();
  }

  int exit_code() const noexcept {
    if (status_ < 0) return -1;
    if (WIFEXITED(status_)) return WEXITSTATUS(status_);
    if (WIFSIGNALED(status_)) return 128 + WTERMSIG(status_);
    return -1;
  }

 private:
  void spawn(const std::vector<std::string>& argv, posix_spawn_file_actions_t& actions) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    const int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
    }
    pid_ = pid;
    status_ = -1;
  }

  void close_out() noexcept {
    if (out_ >= 0) ::close(out_);
    out_ = -1;
  }

  void kill_and_reap() noexcept {
    if (pid_ < 0) return;
    ::kill(pid_, SIGKILL);
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    status_ = st;
    pid_ = -1;
  }

  pid_t pid_ = -1;
  int status_ = -1;
  int out_ = -1;
  std::filesystem::path stderr_file_;
};

// The name the edge tests used.
using child = child_process;

// Runs a command to completion (at most `timeout`); returns its exit code and output.
struct command_result {
  int exit_code = -1;
  std::string output;
};

inline command_result run_command(const std::vector<std::string>& argv,
                                  const std::filesystem::path& log_path,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  std::filesystem::remove(log_path);
  child_process p(argv, log_path);
  command_result r;
  r.exit_code = p.wait_for(timeout);
  if (r.exit_code < 0) p.stop(SIGKILL, std::chrono::seconds(5));
  r.output = read_file(log_path);
  return r;
}

inline std::string join_command(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) {
    if (!s.empty()) s += ' ';
    s += a;
  }
  return s;
}

// As run_command, throwing with the command and its output when it does not exit with 0.
inline std::string run_checked(const std::vector<std::string>& argv,
                               const std::filesystem::path& log_path,
                               std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  auto r = run_command(argv, log_path, timeout);
  if (r.exit_code != 0) {
    throw std::runtime_error("command failed (exit " + std::to_string(r.exit_code) +
                             "): " + join_command(argv) + "\n" + r.output);
  }
  return r.output;
}

// Runs `program` with `args` (raw bytes) to completion, `stdin_data` on its stdin: its exit
// code, stdout and stderr apart.
struct process_result {
  int exit_code = -1;  // -1 when killed by a signal
  std::string out;
  std::string err;
};

inline process_result run_process(const std::string& program, const std::vector<std::string>& args,
                                  const std::string& stdin_data = {}) {
  int in[2], out[2], err[2];
  if (pipe(in) != 0 || pipe(out) != 0 || pipe(err) != 0) throw std::runtime_error("pipe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) {
    posix_spawn_file_actions_addclose(&fa, fd);
  }
  std::vector<std::string> storage;
  storage.push_back(program);
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);
  pid_t pid;
  const int rc = posix_spawn(&pid, program.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (rc != 0) throw std::runtime_error("posix_spawn " + program);
  // Feed stdin and drain both outputs together so no pipe fills up.
  std::size_t written = 0;
  if (stdin_data.empty()) {
    close(in[1]);
    in[1] = -1;
  }
  process_result r;
  bool out_open = true, err_open = true;
  while (out_open || err_open) {
    pollfd fds[3] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}, {in[1], POLLOUT, 0}};
    const nfds_t n = in[1] >= 0 ? 3 : 2;
    if (poll(fds, n, -1) < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("poll");
    }
    char buf[65536];
    for (int i = 0; i < 2; ++i) {
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        const ssize_t got = read(fds[i].fd, buf, sizeof buf);
        if (got > 0) {
          (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(got));
        } else if (got == 0 || errno != EINTR) {
          (i == 0 ? out_open : err_open) = false;
        }
      }
    }
    if (n == 3 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
      const ssize_t put = write(in[1], stdin_data.data() + written, stdin_data.size() - written);
      if (put > 0) written += static_cast<std::size_t>(put);
      if (put < 0 || written == stdin_data.size()) {
        close(in[1]);
        in[1] = -1;
      }
    }
  }
  if (in[1] >= 0) close(in[1]);
  close(out[0]);
  close(err[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace pixel_test

// The tests' one namespace under its other name (the edge and tracker tests use it).
namespace pixel {
namespace test = ::pixel_test;
}  // namespace pixel

#endif  // PIXEL_TEST_SPAWN_HPP
