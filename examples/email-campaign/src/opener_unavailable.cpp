// SPDX-License-Identifier: MIT
#include "opener.hpp"

namespace email_campaign {
std::unique_ptr<opener> make_tracker_opener(const std::string&, bool, std::string& error) {
  error = "--simulate-opens needs the pixel tracker, which this build lacks";
  return nullptr;
}
}  // namespace email_campaign
