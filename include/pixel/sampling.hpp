// Deterministic sampling: the same person is in or out of a sample on every producer, in
// every language, so a sampled count can be weighted back up (docs/capacity.md).
// SPDX-License-Identifier: MIT
//
//   pixel::tracker_options o;
//   o.sample_rate = 0.25;  // keep one person in four; kept events carry sr=0.25
//   o.sample_key = "userid";
#ifndef PIXEL_SAMPLING_HPP
#define PIXEL_SAMPLING_HPP

#include <string_view>

#include "pixel/config.hpp"

namespace pixel {

// True when an event whose sample key has the value `value` is kept at `rate` (0 < rate <= 1):
// the first 8 bytes of SHA-256(salt bytes followed by value bytes), read as a big-endian
// unsigned 64-bit number, are below rate x 2^64 (compared exactly, as Python compares an
// int with a float). A rate of 1 or more keeps everything; 0 or less (or NaN) keeps nothing.
PIXEL_CXX_API bool sample_keeps(double rate, std::string_view salt,
                                std::string_view value) noexcept;

}  // namespace pixel

#endif  // PIXEL_SAMPLING_HPP
