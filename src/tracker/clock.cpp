// SPDX-License-Identifier: MIT
#include "tracker/clock.hpp"

namespace pixel::detail {

namespace {
class system_clocks final : public clock_source {
 public:
  instant now() const noexcept override {
    instant i;
    i.steady = steady_clock::now();
    i.unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
    return i;
  }
};
}  // namespace

clock_source& system_clock_source() noexcept {
  static system_clocks clocks;
  return clocks;
}

}  // namespace pixel::detail
