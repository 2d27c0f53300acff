// Loopback HTTP servers for tests: a scriptable cpp-httplib server and raw-socket servers
// for faults that HTTP cannot express (a blackhole, a reset before the response, a
// refused port).
// SPDX-License-Identifier: MIT
//
// CMake target: pixel_test_server (defined in tests/tracker/CMakeLists.txt); link it and
// #include "test_server.hpp" (tests/support is on every pixel_add_test include path).
//
//   pixel::test::http_server server;                  // 127.0.0.1, port chosen by the OS
//   server.script({{503, "1"}, {200}});               // first request 503 Retry-After: 1, then 200
//   opts.endpoint = server.url();                     // "http://127.0.0.1:PORT/1x1.png"
//   ...
//   ASSERT_TRUE(server.wait_for_requests(2, std::chrono::seconds(10)));
//   auto reqs = server.requests();                    // every request: query, params, headers,
//   time
//
// Every server stops in its destructor and never blocks it for long (stalled handlers are
// released first). All member functions are thread-safe.
#ifndef PIXEL_TEST_SERVER_HPP
#define PIXEL_TEST_SERVER_HPP

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "spawn.hpp"  // pixel_test, also named pixel::test

namespace pixel_test {

using steady = std::chrono::steady_clock;

// One request as the server saw it.
struct recorded_request {
  std::string method;
  std::string path;                                         // e.g. "/1x1.png"
  std::string query;                                        // raw, without '?'
  std::vector<std::pair<std::string, std::string>> params;  // decoded, in order
  std::multimap<std::string, std::string> headers;          // names as sent (httplib compares
                                                            // them case-insensitively on lookup)
  std::string user_agent;
  int remote_port = 0;  // tells connections apart
  steady::time_point received;

  // The decoded value of the first parameter named `key`, or "" when absent.
  std::string param(const std::string& key) const;
};

// What the server answers to one request.
struct response_step {
  int status = 200;
  std::string retry_after;             // Retry-After header value; empty: none
  std::string location;                // Location header value; empty: none
  std::chrono::milliseconds delay{0};  // hold the response this long first (a stall)
  bool close_connection = false;       // "Connection: close": the server closes after answering

  response_step() = default;
  response_step(int s) : status(s) {}  // NOLINT(google-explicit-constructor)
  response_step(int s, std::string ra) : status(s), retry_after(std::move(ra)) {}
};

// A cpp-httplib server on 127.0.0.1. Answers every path with a 1x1 GIF body (43 bytes) and
// the status of the next scripted step, or of the default step once the script is used up.
class http_server {
 public:
  // port 0: any free port. A given port is bound with SO_REUSEADDR (to come up on a port
  // that a test reserved earlier). Fails the test (ADD_FAILURE) if it cannot listen.
  explicit http_server(int port = 0);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  int port() const { return port_; }
  std::string base_url() const;  // "http://127.0.0.1:PORT"
  std::string url() const;       // base_url() + "/1x1.png"

  // Responses for the next requests, in order (appended to what is left of the script).
  void script(std::vector<response_step> steps);
  // The answer once the script is used up (initially 200).
  void set_default(response_step step);
  // Ends every delay in progress now (the held requests are answered).
  void release_stalls();

  std::vector<recorded_request> requests() const;
  std::size_t request_count() const;
  void clear_requests();
  // Waits until at least n requests were received; false on timeout.
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const;

  // Stops listening and closes connections; idempotent (the destructor calls it).
  void stop();

 private:
  struct state;
  std::shared_ptr<state> state_;
  std::thread thread_;
  int port_ = 0;
};

// Raw TCP servers for faults. Each counts the connections it accepted.
class raw_server {
 public:
  enum class mode {
    blackhole,  // accept, read and discard, never answer, keep the socket open
    reset,      // accept, read the request, then close with RST (SO_LINGER 0)
  };
  explicit raw_server(mode m);
  ~raw_server();
  raw_server(const raw_server&) = delete;
  raw_server& operator=(const raw_server&) = delete;

  int port() const { return port_; }
  std::string url() const;  // "http://127.0.0.1:PORT/1x1.png"
  std::size_t connections() const { return connections_.load(); }
  // Waits until at least n connections were accepted; false on timeout.
  bool wait_for_connections(std::size_t n, std::chrono::milliseconds timeout) const;
  void stop();

 private:
  void run();
  mode mode_;
  int listen_fd_ = -1;
  int wake_fd_[2] = {-1, -1};
  int port_ = 0;
  std::atomic<std::size_t> connections_{0};
  std::thread thread_;
  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  bool stopped_ = false;
};

// A port on 127.0.0.1 that refuses connections: bound but not listening, so no one else
// gets it while the test holds it. release() frees it (e.g. to start an http_server there).
class refused_port {
 public:
  refused_port();
  ~refused_port();
  refused_port(const refused_port&) = delete;
  refused_port& operator=(const refused_port&) = delete;
  int port() const { return port_; }
  std::string url() const;  // "http://127.0.0.1:PORT/1x1.png"
  void release();

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace pixel_test

#endif  // PIXEL_TEST_SERVER_HPP
