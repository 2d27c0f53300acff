// SPDX-License-Identifier: MIT
#include "pixel/version.hpp"

namespace pixel {
// Keeps the compiled library's version next to the headers' for mismatch checks.
const char* compiled_version() noexcept {
  return PIXEL_VERSION_STRING;
}
}  // namespace pixel
