// A transport made of N lanes: each lane is a transport of its own (the curl one: its own
// multi handle, connections and TLS sessions) driven by its own thread, with an equal share
// of the capacity and of the in-flight limit. tracker_options::worker_threads > 1 uses it.
// SPDX-License-Identifier: MIT
//
// The tracker's worker still runs the store and the policy, and sees one transport:
//   - start() hands the event to the lane with the fewest transfers running, through that
//     lane's own inbox (a mutex only that lane and the worker take) and wakes it;
//   - each lane thread starts what its inbox holds, drives its transfers, and moves what
//     finished to its outbox, then signals the worker through an eventfd;
//   - poll() collects the outboxes that have something, and otherwise waits on the eventfd.
// No lock is shared by all threads: a lane's work costs the worker one uncontended lock per
// batch handed over or collected.
#ifndef PIXEL_SRC_TRACKER_TRANSPORT_PARALLEL_TRANSPORT_HPP
#define PIXEL_SRC_TRACKER_TRANSPORT_PARALLEL_TRANSPORT_HPP

#include <cstddef>
#include <functional>
#include <memory>

#include "pixel/error.hpp"
#include "tracker/transport/transport.hpp"

namespace pixel::detail {

// Makes lane `index`'s transport, for `capacity` transfers at most.
using lane_factory =
    std::function<result<std::unique_ptr<transport>>(std::size_t index, std::size_t capacity)>;

// `lanes` lanes (at least 1, at most `capacity`) sharing `capacity` transfers. Each lane's
// transport is made (and later destroyed) on the calling thread, then used only by its lane
// thread, except wake().
result<std::unique_ptr<transport>> make_parallel_transport(std::size_t lanes, std::size_t capacity,
                                                           const lane_factory& make_lane);

// The share of `total` that lane `index` of `lanes` gets: equal parts, the first lanes one
// more when it does not divide, and never zero.
constexpr std::size_t lane_share(std::size_t total, std::size_t lanes, std::size_t index) noexcept {
  const std::size_t share = total / lanes + (index < total % lanes ? 1u : 0u);
  return share > 0 ? share : 1;
}

}  // namespace pixel::detail

#endif  // PIXEL_SRC_TRACKER_TRANSPORT_PARALLEL_TRANSPORT_HPP
