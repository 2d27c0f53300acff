// What a tracker is made of, for code inside the library and its tests: the clock, the
// event store, the transport and the random source, each replaceable. tracker::create uses
// the production ones (system clocks, the memory store, the curl transport).
// SPDX-License-Identifier: MIT
#ifndef PIXEL_SRC_TRACKER_SEAMS_HPP
#define PIXEL_SRC_TRACKER_SEAMS_HPP

#include <cstddef>
#include <functional>
#include <memory>

#include "pixel/error.hpp"
#include "pixel/tracker.hpp"
#include "tracker/clock.hpp"
#include "tracker/policy/policy.hpp"
#include "tracker/store/store.hpp"
#include "tracker/transport/transport.hpp"

namespace pixel::detail {

struct tracker_seams {
  // Must outlive the tracker. Null: system_clock_source().
  clock_source* clock = nullptr;
  // Null: the memory store.
  std::function<result<std::unique_ptr<event_store>>(const store_options&)> make_store;
  // `capacity`: transfers at once; `secure`: the endpoint is https. Null: the curl one.
  std::function<result<std::unique_ptr<transport>>(const tracker_options&, bool secure,
                                                   std::size_t capacity)>
      make_transport;
  // Numbers in [0, 1) for the backoff jitter. Null: a generator seeded from the OS.
  random_source random;
};

// Checks every option once; the C API and the bindings rely on it.
result<void> validate(const tracker_options& options);

struct tracker_access {
  // tracker::create with the given seams.
  static result<tracker> create(tracker_options options, tracker_seams seams);
};

}  // namespace pixel::detail

#endif  // PIXEL_SRC_TRACKER_SEAMS_HPP
