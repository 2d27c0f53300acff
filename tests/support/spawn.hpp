// Test support: temporary directories and outside programs (openssl, nginx, wrk).
// SPDX-License-Identifier: MIT
//
// Header-only so that tests and benchmarks can share it without a library target.
#ifndef PIXEL_TEST_SPAWN_HPP
#define PIXEL_TEST_SPAWN_HPP

#include <fcntl.h>
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

// A child process started with posix_spawnp, its stdout and stderr going to `log_path`.
// The destructor kills it (SIGKILL) and reaps it if it is still running.
class child_process {
 public:
  child_process() = default;
  child_process(const std::vector<std::string>& argv, const std::filesystem::path& log_path) {
    start(argv, log_path);
  }
  ~child_process() { kill_and_reap(); }
  child_process(child_process&& o) noexcept : pid_(std::exchange(o.pid_, -1)), status_(o.status_) {}
  child_process& operator=(child_process&& o) noexcept {
    if (this != &o) {
      kill_and_reap();
      pid_ = std::exchange(o.pid_, -1);
      status_ = o.status_;
    }
    return *this;
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  void start(const std::vector<std::string>& argv, const std::filesystem::path& log_path) {
    kill_and_reap();
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    pid_t pid = -1;
    const int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
    }
    pid_ = pid;
    status_ = -1;
  }

  pid_t pid() const noexcept { return pid_; }

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
};

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

}  // namespace pixel_test

#endif  // PIXEL_TEST_SPAWN_HPP
