// pixel send.
// SPDX-License-Identifier: MIT
#include "cli.hpp"

namespace pixel::cli {
void add_send_command(CLI::App&, context&) {}
}  // namespace pixel::cli
